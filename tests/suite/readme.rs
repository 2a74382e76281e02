//! The README's code is the `readme` example verbatim, so it compiles (the example is built with
//! the tests) and cannot drift from what the crate really accepts.

#[test]
fn the_readme_shows_the_readme_example_verbatim() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).expect("README.md");
    let example =
        std::fs::read_to_string(format!("{root}/examples/readme.rs")).expect("examples/readme.rs");
    // The example's own doc comment (about the README) is not shown there.
    let (_, shown) = example
        .split_once("\n\n")
        .expect("the example starts with a doc comment and a blank line");
    let block = format!("```rust\n{shown}```");
    assert!(
        readme.contains(&block),
        "README.md's rust block differs from examples/readme.rs (below its doc comment)"
    );
}
