//! The jsonrpsee 0.26 WebSocket client (no TLS) running scenarios a, b and d.

use std::time::Instant;

use futures_util::{StreamExt, TryStreamExt, stream};
use jsonrpsee::client_transport::ws::{Url, WsTransportClientBuilder};
use jsonrpsee::core::client::{Client, ClientBuilder, ClientT};

use super::{Context, Job, Meter, Report, check};
use crate::stats::quantile;

/// Calls in flight in scenario b (also jsonrpsee's default request limit).
const IN_FLIGHT: usize = 256;

/// Runs `job` with the jsonrpsee client.
pub async fn run(job: &Job) -> Result<Report, String> {
    let url = Url::parse(&job.url).ctx("url")?;
    let (sender, receiver) = WsTransportClientBuilder::default()
        .build(url)
        .await
        .ctx("connect")?;
    let client = ClientBuilder::default()
        .max_concurrent_requests(IN_FLIGHT)
        .build_with_tokio(sender, receiver);
    match job.scenario {
        'a' => sequential(&client, job).await,
        'b' => {
            in_flight(&client, 0, job.warmup).await?;
            let meter = Meter::start(job.server_pid);
            in_flight(&client, job.warmup, job.count).await?;
            Ok(meter.stop(job.count))
        }
        'd' => echoes(&client, job).await,
        other => Err(format!("the jsonrpsee client has no scenario {other}")),
    }
}

async fn add(client: &Client, i: i64) -> Result<(), String> {
    let sum: i64 = client.request("add", (i, 1)).await.ctx("add")?;
    check("add", sum, i + 1)
}

async fn sequential(client: &Client, job: &Job) -> Result<Report, String> {
    for i in 0..job.warmup as i64 {
        add(client, i).await?;
    }
    let mut latencies = Vec::with_capacity(job.count as usize);
    let meter = Meter::start(job.server_pid);
    for i in 0..job.count as i64 {
        let started = Instant::now();
        add(client, i).await?;
        latencies.push(started.elapsed().as_secs_f64() * 1e6);
    }
    let mut report = meter.stop(job.count);
    report.set("p50_us", quantile(&latencies, 0.5).unwrap_or(0.0));
    report.set("p99_us", quantile(&latencies, 0.99).unwrap_or(0.0));
    Ok(report)
}

async fn in_flight(client: &Client, first: u64, count: u64) -> Result<(), String> {
    let first = first as i64;
    stream::iter(first..first + count as i64)
        .map(|i| add(client, i))
        .buffer_unordered(IN_FLIGHT)
        .try_collect::<()>()
        .await
}

async fn echo(client: &Client, payload: &serde_json::Value) -> Result<serde_json::Value, String> {
    client.request("echo", (payload,)).await.ctx("echo")
}

async fn echoes(client: &Client, job: &Job) -> Result<Report, String> {
    let text = std::fs::read_to_string(&job.extra).ctx("payload file")?;
    let payload: serde_json::Value = serde_json::from_str(&text).ctx("payload")?;
    check("echo", &echo(client, &payload).await?, &payload)?;
    for _ in 0..job.warmup {
        echo(client, &payload).await?;
    }
    let meter = Meter::start(job.server_pid);
    for _ in 0..job.count {
        let echoed = echo(client, &payload).await?;
        check("echo keys", echoed.as_object().map(|o| o.len()), Some(30))?;
    }
    let mut report = meter.stop(job.count);
    report.set("bytes", text.len() as f64);
    Ok(report)
}
