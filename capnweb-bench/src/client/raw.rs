//! The raw tokio-tungstenite reference: a push-sized text frame out, its echo back. Scenario a
//! awaits each echo; scenario b keeps 256 frames in flight, writing each frame with its own
//! flush or (`batched`) every ready frame with one flush, against a server that does the same;
//! scenario d sends the 64 KiB payload as one frame and awaits its echo (the ceiling: framing
//! and the kernel's copies, no JSON at all).

use std::time::Instant;

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use super::{Context, Job, Meter, Report, push_frame};
use crate::stats::quantile;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Frames in flight in scenario b.
const IN_FLIGHT: u64 = 256;

/// Runs `job` against a raw echo server.
pub async fn run(job: &Job, batched: bool) -> Result<Report, String> {
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(&job.url, None, true)
        .await
        .ctx("connect")?;
    match job.scenario {
        'a' if !batched => sequential(&mut ws, job).await,
        'd' if !batched => payload_echoes(&mut ws, job).await,
        'b' => {
            window(&mut ws, 0, job.warmup, batched).await?;
            let meter = Meter::start(job.server_pid);
            window(&mut ws, job.warmup, job.count, batched).await?;
            Ok(meter.stop(job.count))
        }
        other => Err(format!("the raw echo client has no scenario {other}")),
    }
}

/// Waits for the next data frame.
async fn next_echo(ws: &mut Ws) -> Result<(), String> {
    loop {
        match ws.next().await {
            Some(Ok(m)) if m.is_text() || m.is_binary() => return Ok(()),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(format!("echo: {e}")),
            None => return Err("echo: connection closed".into()),
        }
    }
}

async fn sequential(ws: &mut Ws, job: &Job) -> Result<Report, String> {
    for i in 0..job.warmup {
        ws.send(Message::text(push_frame(i))).await.ctx("send")?;
        next_echo(ws).await?;
    }
    let mut latencies = Vec::with_capacity(job.count as usize);
    let meter = Meter::start(job.server_pid);
    for i in 0..job.count {
        let started = Instant::now();
        ws.send(Message::text(push_frame(i))).await.ctx("send")?;
        next_echo(ws).await?;
        latencies.push(started.elapsed().as_secs_f64() * 1e6);
    }
    let mut report = meter.stop(job.count);
    report.set("p50_us", quantile(&latencies, 0.5).unwrap_or(0.0));
    report.set("p99_us", quantile(&latencies, 0.99).unwrap_or(0.0));
    Ok(report)
}

async fn payload_echoes(ws: &mut Ws, job: &Job) -> Result<Report, String> {
    let text = std::fs::read_to_string(&job.extra).ctx("payload file")?;
    for _ in 0..job.warmup {
        ws.send(Message::text(text.clone())).await.ctx("send")?;
        next_echo(ws).await?;
    }
    let meter = Meter::start(job.server_pid);
    for _ in 0..job.count {
        ws.send(Message::text(text.clone())).await.ctx("send")?;
        next_echo(ws).await?;
    }
    let mut report = meter.stop(job.count);
    report.set("bytes", text.len() as f64);
    Ok(report)
}

/// Sends `count` frames numbered from `first` with [`IN_FLIGHT`] outstanding, until every echo
/// is back.
async fn window(ws: &mut Ws, first: u64, count: u64, batched: bool) -> Result<(), String> {
    let mut sent = 0;
    let mut received = 0;
    let mut ready = IN_FLIGHT.min(count);
    while received < count {
        let to_send = ready.min(count - sent);
        for _ in 0..to_send {
            let frame = Message::text(push_frame(first + sent));
            if batched {
                ws.feed(frame).await.ctx("feed")?;
            } else {
                ws.send(frame).await.ctx("send")?;
            }
            sent += 1;
        }
        if batched && to_send > 0 {
            ws.flush().await.ctx("flush")?;
        }
        next_echo(ws).await?;
        received += 1;
        ready = 1;
        if batched {
            // Every echo that is already here frees a slot: refill them with one flush.
            while let Some(Some(message)) = ws.next().now_or_never() {
                let message = message.ctx("echo")?;
                if message.is_text() || message.is_binary() {
                    received += 1;
                    ready += 1;
                }
            }
        }
    }
    Ok(())
}
