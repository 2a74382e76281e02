//! The three ways an input reaches the session engine, and the conversation the two
//! session-keeping ones share: send the input and a sentinel call, answer what the server asks
//! of us, and watch for the sentinel's answer or the end of the session.

pub mod batch;
pub mod memory;
pub mod websocket;

use std::future::Future;

use serde_json::Value as Json;

use crate::oracles::{HANG_LIMIT, Oracle, Violation, check_frame};
use crate::rng::Rng;

/// What one exec produced.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Oracles that fired.
    pub violations: Vec<Violation>,
    /// Kinds of behaviour seen (message tags, error texts with the numbers taken out): an input
    /// that shows a new one is kept in the corpus.
    pub features: Vec<String>,
}

/// A connection to the server under test, as the conversation needs it.
pub(crate) trait Wire: Send {
    /// Sends text frames in order; false if the connection is gone.
    fn send(&mut self, frames: Vec<String>) -> impl Future<Output = bool> + Send;
    /// The next frame, or `None` once the server closed (or the connection failed).
    fn recv(&mut self) -> impl Future<Output = Option<String>> + Send;
    /// Closes our side.
    fn close(&mut self) -> impl Future<Output = ()> + Send;
}

/// The sentinel's text: a value no input produces.
pub(crate) const SENTINEL: &str = "__fuzz_sentinel__";

/// The sentinel call and its pull, for an input whose messages allocated `pushes` IDs.
pub(crate) fn sentinel_frames(pushes: i64) -> Vec<String> {
    vec![
        format!(r#"["push",["pipeline",0,["echo"],["{SENTINEL}"]]]"#),
        format!(r#"["pull",{}]"#, pushes + 1),
    ]
}

/// How many IDs `frames` allocate on the server (`push`, `stream`, `pipe`), counted the way the
/// server would if it accepted them all.
pub(crate) fn allocated_ids(frames: &[String]) -> i64 {
    frames
        .iter()
        .filter(|f| matches!(tag_of(f).as_deref(), Some("push" | "stream" | "pipe")))
        .count() as i64
}

/// A frame's tag, its first element. serde_json refuses some frames the engine reads as
/// JSON.parse does (a lone surrogate escape, a number beyond a double); for those the tag is
/// read from the text. (Miscounting a frame the engine refuses does no harm: the session ends
/// on it, and the sentinel is not awaited.)
fn tag_of(frame: &str) -> Option<String> {
    match serde_json::from_str::<Json>(frame) {
        Ok(json) => json.get(0)?.as_str().map(str::to_owned),
        Err(_) => {
            let rest = frame.trim_start().strip_prefix('[')?.trim_start();
            let rest = rest.strip_prefix('"')?;
            Some(rest[..rest.find('"')?].to_owned())
        }
    }
}

/// The features of one server frame: its tag, and for aborts and rejections the error without
/// its numbers.
pub(crate) fn features_of(frame: &str, out: &mut Vec<String>) {
    let Ok(json) = serde_json::from_str::<Json>(frame) else {
        return;
    };
    let tag = json.get(0).and_then(Json::as_str).unwrap_or("?");
    let detail = match tag {
        "abort" => json.get(1),
        "reject" => json.get(2),
        _ => None,
    };
    let detail: String = detail
        .map(|d| d.to_string())
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_ascii_digit())
        .take(80)
        .collect();
    out.push(format!("{tag}{detail}"));
}

/// Runs one input over `wire`: the input, the sentinel, the server's requests answered, until
/// the sentinel is answered or the session ends; then closes and waits for the server to close.
pub(crate) async fn converse<W: Wire>(wire: &mut W, input: &[String], rng: &mut Rng) -> Outcome {
    let mut outcome = Outcome::default();
    let sentinel_id = allocated_ids(input) + 1;
    let mut frames = input.to_vec();
    frames.extend(sentinel_frames(sentinel_id - 1));
    let mut open = wire.send(frames).await;
    let deadline = tokio::time::Instant::now() + HANG_LIMIT;
    let mut answered = false;
    while open && !answered {
        let Ok(next) = tokio::time::timeout_at(deadline, wire.recv()).await else {
            outcome.violations.push(Violation::new(
                Oracle::Hang,
                format!("the sentinel call (ID {sentinel_id}) was not answered and the session did not end within {HANG_LIMIT:?}"),
            ));
            break;
        };
        let Some(frame) = next else {
            break;
        };
        if let Err(v) = check_frame(&frame) {
            outcome.violations.push(v);
        }
        features_of(&frame, &mut outcome.features);
        let json: Json = serde_json::from_str(&frame).unwrap_or(Json::Null);
        let tag = json.get(0).and_then(Json::as_str).unwrap_or("");
        let id = json.get(1).and_then(Json::as_i64);
        let reply = match (tag, id) {
            ("resolve" | "reject", Some(id)) if id == sentinel_id => {
                answered = true;
                None
            }
            ("abort", _) => {
                open = false;
                None
            }
            ("pull", Some(id)) => Some(answer(rng, id)),
            ("resolve" | "reject", Some(id)) if rng.one_in(2) => {
                Some(format!(r#"["release",{id},1]"#))
            }
            _ => None,
        };
        if let Some(reply) = reply {
            open = wire.send(vec![reply]).await;
        }
    }
    wire.close().await;
    // The server must close its side too; what it still sends is checked like the rest.
    let deadline = tokio::time::Instant::now() + HANG_LIMIT;
    loop {
        match tokio::time::timeout_at(deadline, wire.recv()).await {
            Ok(Some(frame)) => {
                if let Err(v) = check_frame(&frame) {
                    outcome.violations.push(v);
                }
                features_of(&frame, &mut outcome.features);
            }
            Ok(None) => break,
            Err(_) => {
                outcome.violations.push(Violation::new(
                    Oracle::Hang,
                    format!("the server did not close within {HANG_LIMIT:?} after we closed"),
                ));
                break;
            }
        }
    }
    outcome
}

/// Our answer to the server's `pull` of one of our exports.
fn answer(rng: &mut Rng, id: i64) -> String {
    match rng.below(5) {
        0 => format!(r#"["reject",{id},["error","Error","the fuzz client says no"]]"#),
        1 => format!(r#"["resolve",{id},["undefined"]]"#),
        2 => format!(r#"["resolve",{id},{{"a":[[1,2]]}}]"#),
        _ => format!(r#"["resolve",{id},{}]"#, rng.range(-1, 9)),
    }
}

#[cfg(test)]
mod tests {
    use super::allocated_ids;

    /// The engine reads lone surrogates and huge numbers as JSON.parse does and allocates an
    /// ID for such a push; counting it too keeps the sentinel's ID right (a miscount made a
    /// "hang" of an input the engine answered correctly).
    #[test]
    fn pushes_serde_json_refuses_are_counted_as_the_engine_counts_them() {
        let frames = [
            r#"["push",["pipeline",0,["f"],["\ud800"]]]"#,
            r#" [ "push",["pipeline",0,["f"],[1e999]]]"#,
            r#"["pipe"]"#,
            r#"["pull",1]"#,
            r#"["release",1,1,"\udc00"]"#,
            "not json",
        ]
        .map(String::from);
        assert_eq!(allocated_ids(&frames), 3);
    }
}
