//! Real traffic to start from: the client-to-server frames of capnweb 0.12.0's wire trace
//! (seeds/trace.txt), one input per scenario.

const TRACE: &str = include_str!("../seeds/trace.txt");

/// One input per scenario of the trace, in order.
pub fn inputs() -> Vec<Vec<String>> {
    let mut inputs = Vec::new();
    let mut current = Vec::new();
    for line in TRACE.lines() {
        if line.starts_with('#') {
            continue;
        }
        if line.is_empty() {
            if !current.is_empty() {
                inputs.push(std::mem::take(&mut current));
            }
        } else {
            current.push(line.to_owned());
        }
    }
    if !current.is_empty() {
        inputs.push(current);
    }
    inputs
}
