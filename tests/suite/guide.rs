//! The guide's code is the examples' code: every Rust block in `docs/guide/` names the example
//! it is quoted from on its first line and must be a piece of that file, line for line (up to
//! its indentation). The examples are built and run by the suite (`examples.rs`), so the guide
//! cannot show code that does not compile or has drifted from what runs. Links between the
//! pages must lead to files that exist.

use std::path::{Path, PathBuf};

fn guide_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/guide")
}

/// Every page of the guide: (file name, text).
fn pages() -> Vec<(String, String)> {
    let mut pages: Vec<(String, String)> = std::fs::read_dir(guide_dir())
        .expect("docs/guide")
        .map(|entry| entry.expect("an entry of docs/guide").path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).expect("a guide page");
            (name, text)
        })
        .collect();
    pages.sort();
    pages
}

/// The bodies of the ```rust blocks of `text`.
fn rust_blocks(text: &str) -> Vec<&str> {
    text.split("```rust\n")
        .skip(1)
        .map(|rest| rest.split_once("```").expect("a closed code block").0)
        .collect()
}

/// Whether `block`'s lines are consecutive lines of `file`, all indented by the same prefix
/// (blank lines stay blank).
fn is_quoted_from(block: &[&str], file: &[&str]) -> bool {
    let Some(first) = block.first() else {
        return false;
    };
    (0..file.len()).any(|start| {
        let Some(indent) = file[start].strip_suffix(first) else {
            return false;
        };
        indent.chars().all(|c| c == ' ')
            && start + block.len() <= file.len()
            && block.iter().zip(&file[start..]).all(|(quoted, line)| {
                if quoted.is_empty() {
                    line.trim().is_empty()
                } else {
                    line.strip_prefix(indent) == Some(*quoted)
                }
            })
    })
}

#[test]
fn every_rust_block_in_the_guide_is_quoted_from_an_example() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut blocks = 0;
    for (page, text) in pages() {
        for block in rust_blocks(&text) {
            let mut lines: Vec<&str> = block.lines().collect();
            let source = lines
                .first()
                .and_then(|line| line.strip_prefix("// "))
                .filter(|path| path.starts_with("examples/"))
                .unwrap_or_else(|| {
                    panic!("a rust block in {page} does not start with `// examples/<file>.rs`")
                })
                .to_owned();
            lines.remove(0);
            let file = std::fs::read_to_string(root.join(&source))
                .unwrap_or_else(|e| panic!("{page} quotes {source}, which cannot be read: {e}"));
            let file: Vec<&str> = file.lines().collect();
            assert!(
                is_quoted_from(&lines, &file),
                "a block in docs/guide/{page} is not a piece of {source} any more:\n{}",
                lines.join("\n")
            );
            blocks += 1;
        }
    }
    assert!(blocks >= 20, "the guide quotes only {blocks} blocks");
}

#[test]
fn the_guide_index_links_every_page_and_every_link_leads_somewhere() {
    let pages = pages();
    let index = &pages
        .iter()
        .find(|(name, _)| name == "README.md")
        .expect("docs/guide/README.md")
        .1;
    for (name, text) in &pages {
        if name != "README.md" {
            assert!(
                index.contains(&format!("]({name})")),
                "docs/guide/README.md does not link {name}"
            );
        }
        // Relative links: `](target)` or `](target#anchor)`.
        for link in text.split("](").skip(1) {
            let target = link.split_once(')').expect("a closed link").0;
            let path = target.split('#').next().unwrap_or_default();
            if path.is_empty() || path.contains("://") {
                continue;
            }
            assert!(
                guide_dir().join(path).exists(),
                "docs/guide/{name} links {target}, which does not exist"
            );
        }
    }
}

#[test]
fn the_quote_check_refuses_a_changed_or_reindented_line() {
    let file = ["fn main() {", "    let a = 1;", "", "    let b = 2;", "}"];
    assert!(is_quoted_from(&["let a = 1;", "", "let b = 2;"], &file));
    assert!(!is_quoted_from(&["let a = 1;", "", "let b = 3;"], &file));
    assert!(!is_quoted_from(&["let a = 1;", "let b = 2;"], &file));
    assert!(!is_quoted_from(&["  let a = 1;", "", "let b = 2;"], &file));
    assert!(!is_quoted_from(&["let b = 2;", "}", "more"], &file));
}
