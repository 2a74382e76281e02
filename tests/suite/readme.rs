//! The README's code is the examples' verbatim, so it compiles (the examples are built with the
//! tests) and cannot drift from what the crate really accepts.

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

#[test]
fn the_readmes_deployment_client_is_the_resilient_client_example_verbatim() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).expect("README.md");
    let example = std::fs::read_to_string(format!("{root}/examples/resilient_client.rs"))
        .expect("examples/resilient_client.rs");
    let block = readme
        .split("```rust\n")
        .nth(2)
        .and_then(|rest| rest.split_once("```").map(|(block, _)| block))
        .expect("a second rust block in README.md");
    // The example's lines, one indentation level less (they are inside `main`).
    let dedented: String = example
        .lines()
        .map(|line| format!("{}\n", line.strip_prefix("    ").unwrap_or(line)))
        .collect();
    assert!(
        block.contains("wss://") && dedented.contains(block),
        "README.md's second rust block differs from examples/resilient_client.rs"
    );
}
