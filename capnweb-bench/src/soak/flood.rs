//! The never-reading client: a raw tokio-tungstenite connection that sends `echo` calls of a
//! 1 KiB string (each `push` followed by its `pull`, so the server owes an answer) and never
//! reads, for a fixed time. With back-pressure the server stops reading once its unsent
//! answers pass its bound, TCP pushes back on the sender, and the server's memory stays flat.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;

use super::{SoakServer, memory_kib, mib};
use crate::client::Context;

/// Runs the flood for `secs` seconds and prints its report.
pub fn run(
    runtime: &tokio::runtime::Runtime,
    server: &mut SoakServer,
    secs: u64,
) -> Result<(), String> {
    let pid = server.pid();
    let url = server.url.clone();
    let (rss_before, _) = memory_kib(pid);
    let text = "x".repeat(1024);
    let (sent, samples, ws) = runtime.block_on(async move {
        let (mut ws, _) = tokio_tungstenite::connect_async_with_config(&url, None, true)
            .await
            .ctx("connect")?;
        let sent = AtomicU64::new(0);
        let sending = async {
            loop {
                let id = sent.load(Ordering::Relaxed) + 1;
                let push = format!(r#"["push",["pipeline",0,["echo"],["{text}"]]]"#);
                // A send blocks once the server stops reading and the socket buffers are full.
                if let Err(e) = ws.feed(Message::text(push)).await {
                    return format!("send: {e}");
                }
                let pull = format!(r#"["pull",{id}]"#);
                if let Err(e) = ws.send(Message::text(pull)).await {
                    return format!("send: {e}");
                }
                sent.store(id, Ordering::Relaxed);
            }
        };
        let sampling = async {
            let mut samples = Vec::new();
            for second in 1..=secs {
                tokio::time::sleep(Duration::from_secs(1)).await;
                samples.push((second, sent.load(Ordering::Relaxed), memory_kib(pid)));
            }
            samples
        };
        // The sender is cancelled (mid-frame, perhaps) when the sampling ends: the connection
        // is dropped right after, so a torn frame does not matter.
        let samples = tokio::select! {
            error = sending => return Err(error),
            samples = sampling => samples,
        };
        Ok::<_, String>((sent.load(Ordering::Relaxed), samples, ws))
    })?;
    let (rss_end, hwm) = memory_kib(pid);
    drop(ws);
    let (gone, _) = server.wait_for(Duration::from_secs(30), |s| s[0] == 0)?;
    std::thread::sleep(Duration::from_millis(500));
    let (rss_after, _) = memory_kib(pid);
    println!("### A client that never reads, {secs} s of 1 KiB `echo` calls\n");
    println!("| second | calls sent so far | server VmRSS MiB | server VmHWM MiB |");
    println!("|---:|---:|---:|---:|");
    println!("| 0 | 0 | {} | |", mib(rss_before));
    // About ten rows whatever the length.
    let every = (secs / 10).max(1);
    for (second, calls, (rss, hwm)) in samples.iter().filter(|s| s.0 % every == 0 || s.0 == secs) {
        println!("| {second} | {calls} | {} | {} |", mib(*rss), mib(*hwm));
    }
    println!();
    println!(
        "{sent} calls sent ({:.1} MiB of `push` frames); server VmRSS {} MiB at the start, {} MiB \
         at the end, peak (VmHWM) {} MiB; {} MiB 0.5 s after the client left{}.\n",
        sent as f64 * 1070.0 / 1048576.0,
        mib(rss_before),
        mib(rss_end),
        mib(hwm),
        mib(rss_after),
        if gone.is_some() {
            ""
        } else {
            " (its session had NOT ended within 30 s)"
        }
    );
    Ok(())
}
