//! Completion in the REPL: member names from introspection (`$meta`), variables, keywords and
//! the dot-commands. The logic is a plain function of the line, so it is tested without a
//! terminal.

use std::collections::BTreeMap;

use crate::expr::is_identifier_char;

/// The REPL's dot-commands.
pub const COMMANDS: &[&str] = &[".clear", ".exit", ".help", ".vars"];

/// Words that are values, offered inside an argument list.
const VALUE_WORDS: &[&str] = &["bytes(", "date(", "false", "null", "true", "undefined"];

/// What completion knows.
#[derive(Clone, Debug, Default)]
pub struct Completions {
    /// The members of the main object (from `$meta`; empty without introspection).
    pub main_members: Vec<String>,
    /// Each variable, with the members of its capability when the server described it.
    pub variables: BTreeMap<String, Vec<String>>,
}

/// The candidates for the word that ends at `pos` in `line`, and where that word starts (a
/// byte offset), as rustyline expects.
pub fn complete(line: &str, pos: usize, data: &Completions) -> (usize, Vec<String>) {
    let before = &line[..pos];
    let start = word_start(before);
    let word = &before[start..];
    let trimmed = before.trim_start();
    if trimmed.starts_with('.') && trimmed[1..].chars().all(is_identifier_char) {
        let at = pos - trimmed.len();
        return (at, matching(COMMANDS.iter().copied(), trimmed));
    }
    let ahead = &before[..start];
    if ahead.ends_with('.') {
        let members = match receiver(line, pos).and_then(|name| data.variables.get(name)) {
            Some(members) => members.as_slice(),
            None => &[],
        };
        return (start, matching(members.iter().map(String::as_str), word));
    }
    let mut names: Vec<&str> = data
        .variables
        .keys()
        .chain(data.main_members.iter())
        .map(String::as_str)
        .collect();
    if ahead.trim().is_empty() {
        names.push("let");
    }
    if ahead.matches('(').count() > ahead.matches(')').count() {
        names.extend(VALUE_WORDS);
    }
    (start, matching(names.into_iter(), word))
}

/// For a member being completed after `name.`, where `name` starts a chain (a variable, if
/// there is one by that name): that name. `None` elsewhere, including after a call or another
/// member (`users().x`, `a.b.x`), whose members are unknown until evaluated.
pub fn receiver(line: &str, pos: usize) -> Option<&str> {
    let before = &line[..pos];
    let receiver_end = before[..word_start(before)].strip_suffix('.')?;
    let receiver_start = word_start(receiver_end);
    let receiver = &receiver_end[receiver_start..];
    let bare = !receiver_end[..receiver_start]
        .trim_end()
        .ends_with(['.', ')', ']']);
    (bare && !receiver.is_empty()).then_some(receiver)
}

/// Where the identifier that ends `text` starts (`text.len()` if it ends in none).
fn word_start(text: &str) -> usize {
    text.char_indices()
        .rev()
        .take_while(|(_, c)| is_identifier_char(*c))
        .last()
        .map_or(text.len(), |(i, _)| i)
}

fn matching<'a>(names: impl Iterator<Item = &'a str>, prefix: &str) -> Vec<String> {
    let mut found: Vec<String> = names
        .filter(|name| name.starts_with(prefix))
        .map(str::to_owned)
        .collect();
    found.sort();
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> Completions {
        Completions {
            main_members: vec!["users".into(), "ping".into(), "price".into()],
            variables: BTreeMap::from([
                ("u".into(), vec!["name".into(), "profile".into()]),
                ("plain".into(), vec![]),
            ]),
        }
    }

    fn words(line: &str) -> (usize, Vec<String>) {
        complete(line, line.len(), &data())
    }

    #[test]
    fn members_of_the_main_object_and_variables() {
        assert_eq!(
            words("p"),
            (0, vec!["ping".into(), "plain".into(), "price".into()])
        );
        assert_eq!(words("pr"), (0, vec!["price".into()]));
        assert_eq!(words("let x = us"), (8, vec!["users".into()]));
        assert_eq!(words("l"), (0, vec!["let".into()]));
    }

    #[test]
    fn members_of_a_described_variable() {
        assert_eq!(words("u."), (2, vec!["name".into(), "profile".into()]));
        assert_eq!(words("echo(u.pro"), (7, vec!["profile".into()]));
        assert_eq!(words("plain.x"), (6, vec![]));
        // What a chained call returns is unknown until it is evaluated.
        assert_eq!(words("users().u."), (10, vec![]));
        assert_eq!(receiver("echo(u.pro", 10), Some("u"));
        assert_eq!(receiver("a.b.c", 5), None);
        assert_eq!(receiver("abc", 3), None);
    }

    #[test]
    fn values_inside_arguments_and_commands() {
        assert_eq!(
            words("price(\"a\", u"),
            (11, vec!["u".into(), "undefined".into(), "users".into()])
        );
        assert_eq!(words(".e"), (0, vec![".exit".into()]));
        assert_eq!(
            words("  ."),
            (2, COMMANDS.iter().map(|c| (*c).to_owned()).collect())
        );
    }
}
