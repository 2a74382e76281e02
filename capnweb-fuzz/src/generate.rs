//! Structural generation: sequences of protocol messages whose expressions use every form of
//! protocol.md section 5, with IDs, paths and argument lists that are mostly right (so the
//! input gets past the first check) and sometimes slightly wrong.

use serde_json::{Value as Json, json};

use crate::rng::Rng;

/// Methods and properties of the served API (api.rs), plus names that must be refused.
const NAMES: &[&str] = &[
    "ping",
    "echo",
    "add",
    "users",
    "makeCounter",
    "makeMultiplier",
    "callCb",
    "notify",
    "callbackSum",
    "useListener",
    "holdCallback",
    "callHeld",
    "dropHeld",
    "callbackAndReturn",
    "wrapCallback",
    "describeUser",
    "awaitArg",
    "delay",
    "fail",
    "failLater",
    "record",
    "recorded",
    "returnPromise",
    "getSpecial",
    "getNested",
    "get",
    "find",
    "list",
    "profile",
    "friendIds",
    "increment",
    "value",
    "name",
    "email",
    "nested",
    "inner",
    "counter",
    "special",
    "cb",
    "noSuchMethod",
    "toString",
    "constructor",
    "__proto__",
    "then",
    "valueOf",
    "",
];

/// What the generator knows about the session so far, so IDs can be right.
#[derive(Default)]
struct State {
    /// Pushes (and streams, pipes) sent: the server's exports 1..=pushes.
    pushes: i64,
    /// Our next export ID is `-(exports + 1)`.
    exports: i64,
    /// Our promise exports not yet resolved or rejected.
    open_promises: Vec<i64>,
}

/// Generates one input: between 1 and `max_frames` messages.
pub fn input(rng: &mut Rng, max_frames: usize) -> Vec<String> {
    let mut st = State::default();
    let n = 1 + rng.below(max_frames);
    let mut frames: Vec<String> = (0..n).map(|_| message(rng, &mut st).to_string()).collect();
    // Settle most promises we introduced, so calls waiting on them can finish.
    while let Some(id) = st.open_promises.pop() {
        if !rng.one_in(4) {
            let kind = if rng.one_in(3) { "reject" } else { "resolve" };
            frames.push(json!([kind, id, expr(rng, &mut st, 2)]).to_string());
        }
    }
    frames
}

/// One message, appended to what `st` knows.
pub fn message_text(rng: &mut Rng) -> String {
    let mut st = State {
        pushes: rng.range(0, 4),
        exports: rng.range(0, 3),
        open_promises: Vec::new(),
    };
    message(rng, &mut st).to_string()
}

fn message(rng: &mut Rng, st: &mut State) -> Json {
    match rng.below(20) {
        0..=8 => {
            let e = call(rng, st, 3);
            st.pushes += 1;
            json!(["push", e])
        }
        9..=11 => json!(["pull", import_id(rng, st)]),
        12 | 13 => {
            let count = if rng.one_in(5) { rng.range(0, 3) } else { 1 };
            json!(["release", import_id(rng, st), count])
        }
        14 | 15 => {
            let id = match st.open_promises.pop() {
                Some(id) if !rng.one_in(4) => id,
                _ => wrong_id(rng, st),
            };
            let kind = if rng.one_in(3) { "reject" } else { "resolve" };
            json!([kind, id, expr(rng, st, 3)])
        }
        16 => {
            st.pushes += 1;
            json!(["stream", call(rng, st, 2)])
        }
        17 => {
            st.pushes += 1;
            json!(["push", expr(rng, st, 3)])
        }
        18 => {
            if rng.one_in(2) {
                st.pushes += 1;
                json!(["pipe"])
            } else {
                json!(["push", remap(rng, st)])
            }
        }
        _ => match rng.below(4) {
            0 => json!(["abort", ["error", "Error", "fuzz gave up"]]),
            1 => json!([rng.pick(&["hello", "push", "pull", "abort"])]),
            2 => json!(["push", call(rng, st, 2), 1]),
            _ => json!(["release", import_id(rng, st), -1]),
        },
    }
}

/// A call or property read on something the server has: the usual payload of a push.
fn call(rng: &mut Rng, st: &mut State, depth: u32) -> Json {
    let tag = if rng.one_in(6) { "import" } else { "pipeline" };
    let target = import_id(rng, st);
    let path = path(rng);
    if rng.one_in(5) {
        json!([tag, target, path])
    } else {
        json!([tag, target, path, args(rng, st, depth)])
    }
}

fn args(rng: &mut Rng, st: &mut State, depth: u32) -> Json {
    let n = rng.below(4);
    Json::Array((0..n).map(|_| expr(rng, st, depth)).collect())
}

fn path(rng: &mut Rng) -> Json {
    let n = match rng.below(8) {
        0 => 0,
        1 => 2,
        _ => 1,
    };
    Json::Array(
        (0..n)
            .map(|_| {
                if rng.one_in(8) {
                    json!(rng.range(-1, 3))
                } else {
                    json!(rng.pick(NAMES))
                }
            })
            .collect(),
    )
}

/// An ID the server exports to us (0 = its main, 1..=pushes), sometimes a wrong one.
fn import_id(rng: &mut Rng, st: &mut State) -> Json {
    if rng.one_in(10) {
        return json!(wrong_id(rng, st));
    }
    if rng.one_in(3) || st.pushes == 0 {
        json!(0)
    } else {
        json!(rng.range(1, st.pushes))
    }
}

/// A slightly wrong ID: one past the end, a negative, our own side's, far away.
fn wrong_id(rng: &mut Rng, st: &State) -> i64 {
    match rng.below(6) {
        0 => st.pushes + 1,
        1 => -(st.exports + 1),
        2 => -rng.range(1, 3),
        3 => rng.range(1, 3),
        4 => 1 << 53,
        _ => -(1 << 31),
    }
}

/// An ID for an export of ours: usually fresh, sometimes reused, positive or zero.
fn export_id(rng: &mut Rng, st: &mut State) -> i64 {
    match rng.below(12) {
        0 if st.exports > 0 => -rng.range(1, st.exports),
        1 => rng.range(0, 2),
        _ => {
            st.exports += 1;
            -st.exports
        }
    }
}

/// Any expression, `depth` levels of nesting at most.
fn expr(rng: &mut Rng, st: &mut State, depth: u32) -> Json {
    if depth == 0 {
        return scalar(rng);
    }
    match rng.below(16) {
        0..=4 => scalar(rng),
        5 => json!([(0..rng.below(3))
            .map(|_| expr(rng, st, depth - 1))
            .collect::<Vec<_>>()]),
        6 => {
            let mut map = serde_json::Map::new();
            for _ in 0..rng.below(3) {
                let key = if rng.one_in(4) {
                    (*rng.pick(&["__proto__", "toJSON", "constructor", "then"])).to_owned()
                } else {
                    format!("k{}", rng.below(4))
                };
                map.insert(key, expr(rng, st, depth - 1));
            }
            Json::Object(map)
        }
        7..=8 => special(rng, st, depth),
        9 => {
            let id = export_id(rng, st);
            json!(["export", id])
        }
        10 => {
            let id = export_id(rng, st);
            if id < 0 && !st.open_promises.contains(&id) {
                st.open_promises.push(id);
            }
            json!(["promise", id])
        }
        11 | 12 => call(rng, st, depth - 1),
        13 => {
            let tag = if rng.one_in(2) { "pipeline" } else { "import" };
            json!([tag, import_id(rng, st)])
        }
        14 => remap(rng, st),
        _ => malformed(rng),
    }
}

fn scalar(rng: &mut Rng) -> Json {
    match rng.below(10) {
        0 => Json::Null,
        1 => json!(rng.one_in(2)),
        2 => json!(rng.range(-3, 10)),
        3 => json!(*rng.pick(&[1.5, -0.0, 1e308, -1e-300, 9007199254740993.0, 4294967296.0])),
        4 => json!(*rng.pick(&["", "a", "\u{0}", "é\u{1F600}", "\\\"", "sentinel"])),
        _ => json!(format!("s{}", rng.below(100))),
    }
}

/// The special values of protocol.md section 5.3, mostly well-formed.
fn special(rng: &mut Rng, st: &mut State, depth: u32) -> Json {
    match rng.below(17) {
        0 => json!(["undefined"]),
        1 => json!([*rng.pick(&["inf", "-inf", "nan"])]),
        2 => json!([
            "bigint",
            *rng.pick(&[
                "0",
                "-42",
                "0x10",
                "123456789012345678901234567890",
                "-",
                "12abc",
                ""
            ])
        ]),
        3 => json!([
            "date",
            rng.pick(&[json!(0), json!(1.7e12), Json::Null, json!(8.64e15 + 1.0)])
                .clone()
        ]),
        4 => json!(["bytes", *rng.pick(&["aGk", "aGk=", "", "AQD+/ywB", "!!"])]),
        5 => json!([
            "bytes",
            "AQD+/ywB",
            *rng.pick(&[
                "Int16Array",
                "Float64Array",
                "ArrayBuffer",
                "DataView",
                "Bogus",
                "Int32Array"
            ])
        ]),
        6 => json!(["error", "TypeError", "msg"]),
        7 => json!(["error", "Error", "msg", Json::Null, {"code": expr(rng, st, depth - 1)}]),
        8 => json!(["url", *rng.pick(&["https://example.com/", "not a url", ""])]),
        9 => json!(["headers", [["x-a", "1"], ["X-B", "2"]]]),
        10 => json!(["headers", "not pairs"]),
        11 => {
            json!(["request", "https://example.com/x", {"method": "POST", "headers": [["a", "b"]], "body": expr(rng, st, depth - 1)}])
        }
        12 => {
            json!(["response", expr(rng, st, depth - 1), {"status": *rng.pick(&[200, 404, 99, 600])}])
        }
        13 => json!(["blob", "text/plain", ["readable", rng.range(0, 2)]]),
        14 => json!(["readable", rng.range(0, 2)]),
        15 => {
            let id = export_id(rng, st);
            json!(["writable", id])
        }
        _ => json!(["request", "https://example.com/", {"signal": 1}]),
    }
}

/// A `.map()` over one of the server's results: captures, then instructions that refer to the
/// element (0), earlier instructions (k) and captures (-j).
fn remap(rng: &mut Rng, st: &mut State) -> Json {
    let captures: Vec<Json> = (0..rng.below(3))
        .map(|_| {
            if rng.one_in(2) {
                json!(["import", import_id(rng, st)])
            } else {
                let id = export_id(rng, st);
                json!(["export", id])
            }
        })
        .collect();
    let ncap = captures.len() as i64;
    let n = 1 + rng.below(3);
    let instructions: Vec<Json> = (0..n as i64)
        .map(|i| {
            let var = if rng.one_in(8) {
                i + 1
            } else {
                rng.range(-ncap, i)
            };
            match rng.below(5) {
                0 => json!(["pipeline", var]),
                1 => json!(["pipeline", var, path(rng)]),
                2 => json!({"v": ["pipeline", var, path(rng)]}),
                3 if rng.one_in(3) => remap(rng, st),
                _ => json!(["pipeline", var, path(rng), args(rng, st, 1)]),
            }
        })
        .collect();
    json!([
        "remap",
        import_id(rng, st),
        path(rng),
        captures,
        instructions
    ])
}

/// A reference form with the wrong arity or types, or an unknown tag.
fn malformed(rng: &mut Rng) -> Json {
    rng.pick(&[
        json!([]),
        json!(["whatever", 1]),
        json!(["import"]),
        json!(["pipeline", "0"]),
        json!(["pipeline", 0, "echo"]),
        json!(["pipeline", 0, ["echo"], "args"]),
        json!(["pipeline", 0, [{}], []]),
        json!(["export", 1.5]),
        json!(["promise"]),
        json!(["remap", 0, [], [["pipeline", 0]], []]),
        json!(["undefined", 1]),
        json!(["bigint", 5]),
        json!(["date", "x"]),
        json!(["error", 1, 2]),
    ])
    .clone()
}
