//! Our client (the typed API over `transport::websocket`, or `http::BatchClient` for scenario e)
//! running scenarios a, b, c, d, e, h and i.

use std::future::IntoFuture;
use std::time::Instant;

use capnweb_runtime::http::BatchClient;
use capnweb_runtime::transport::websocket;
use capnweb_runtime::value::Bytes;
use capnweb_runtime::{RpcError, RpcStream};
use futures_util::future::join_all;
use futures_util::{StreamExt, TryStreamExt, stream};

use super::{Context, Job, Meter, Report, check};
use crate::api::{BenchApiClient, ChainClient};
use crate::plan;
use crate::stats::quantile;

/// Calls in flight in scenario b.
const IN_FLIGHT: usize = 256;
/// Calls per HTTP batch in scenario e.
const BATCH_CALLS: i64 = 10;
/// Links per chain in scenario c.
const CHAIN: i64 = 10;

/// Runs `job` with our client.
pub async fn run(job: &Job) -> Result<Report, String> {
    if job.scenario == 'e' {
        return batches(job).await;
    }
    let session = websocket::connect(&job.url).await.ctx("connect")?;
    let api = BenchApiClient::from(session.main());
    let report = match job.scenario {
        'a' => sequential(&api, job).await?,
        'b' | 'f' => {
            in_flight(&api, 0, job.warmup).await?;
            let meter = Meter::start(job.server_pid);
            in_flight(&api, job.warmup, job.count).await?;
            meter.stop(job.count)
        }
        'c' => chains(&api, job).await?,
        'd' => echoes(&api, job).await?,
        'h' => maps(&api, job).await?,
        'i' => streams(&api, job).await?,
        other => return Err(format!("our client has no scenario {other}")),
    };
    // Leak check: after one more round trip every handle of the run has been dropped and its
    // release sent, so the tables should hold the main objects only.
    api.add(0, 0).await.ctx("final add")?;
    // A stream's pipe is released by the session's task that pumped it, once the peer has
    // answered its `close`; npm capnweb may send that answer with (after) the final add's, so
    // give that task a moment before calling anything left a leak.
    let mut stats = session.stats();
    for _ in 0..100 {
        if stats.imports <= 1 && stats.exports <= 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        stats = session.stats();
    }
    let mut report = report;
    report.set("client_imports", stats.imports as f64);
    report.set("client_exports", stats.exports as f64);
    session.close();
    Ok(report)
}

async fn sequential(api: &BenchApiClient, job: &Job) -> Result<Report, String> {
    for i in 0..job.warmup as i64 {
        check("add", api.add(i, 1).await.ctx("add")?, i + 1)?;
    }
    let mut latencies = Vec::with_capacity(job.count as usize);
    let meter = Meter::start(job.server_pid);
    for i in 0..job.count as i64 {
        let started = Instant::now();
        let sum = api.add(i, 1).await.ctx("add")?;
        latencies.push(started.elapsed().as_secs_f64() * 1e6);
        check("add", sum, i + 1)?;
    }
    let mut report = meter.stop(job.count);
    report.set("p50_us", quantile(&latencies, 0.5).unwrap_or(0.0));
    report.set("p99_us", quantile(&latencies, 0.99).unwrap_or(0.0));
    Ok(report)
}

/// `count` calls `add(i, 1)` for i from `first`, with [`IN_FLIGHT`] in flight.
async fn in_flight(api: &BenchApiClient, first: u64, count: u64) -> Result<(), String> {
    let first = first as i64;
    stream::iter(first..first + count as i64)
        .map(|i| {
            let sum = api.add(i, 1);
            async move { Ok::<_, String>((i, sum.await.ctx("add")?)) }
        })
        .buffer_unordered(IN_FLIGHT)
        .try_for_each(|(i, sum)| std::future::ready(check("add", sum, i + 1)))
        .await
}

/// `api.next(1).next(2)...next(10)`, then one await.
async fn pipelined_chain(api: &BenchApiClient) -> Result<ChainClient, RpcError> {
    let mut chain = api.next(1);
    for n in 2..=CHAIN {
        chain = chain.next(n);
    }
    chain.resolve().await
}

/// The same ten calls, each awaited before the next is made.
async fn awaited_chain(api: &BenchApiClient) -> Result<ChainClient, RpcError> {
    let mut chain = api.next(1).resolve().await?;
    for n in 2..=CHAIN {
        chain = chain.next(n).resolve().await?;
    }
    Ok(chain)
}

async fn chains(api: &BenchApiClient, job: &Job) -> Result<Report, String> {
    let want = CHAIN * (CHAIN + 1) / 2;
    for _ in 0..job.warmup {
        pipelined_chain(api).await.ctx("pipelined chain")?;
        awaited_chain(api).await.ctx("awaited chain")?;
    }
    // The results are right (outside the timed part).
    let total = pipelined_chain(api).await.ctx("chain")?.total().await;
    check("pipelined chain total", total.ctx("total")?, want)?;
    let total = awaited_chain(api).await.ctx("chain")?.total().await;
    check("awaited chain total", total.ctx("total")?, want)?;

    let meter = Meter::start(job.server_pid);
    let started = Instant::now();
    for _ in 0..job.count {
        pipelined_chain(api).await.ctx("pipelined chain")?;
    }
    let pipelined = started.elapsed().as_secs_f64();
    let started = Instant::now();
    for _ in 0..job.count {
        awaited_chain(api).await.ctx("awaited chain")?;
    }
    let awaited = started.elapsed().as_secs_f64();
    let mut report = meter.stop(job.count * 2);
    report.set("pipelined_us", pipelined / job.count as f64 * 1e6);
    report.set("awaited_us", awaited / job.count as f64 * 1e6);
    Ok(report)
}

async fn echoes(api: &BenchApiClient, job: &Job) -> Result<Report, String> {
    let text = std::fs::read_to_string(&job.extra).ctx("payload file")?;
    let payload: serde_json::Value = serde_json::from_str(&text).ctx("payload")?;
    let echoed = api.echo(&payload).await.ctx("echo")?;
    check("echo", &echoed, &payload)?;
    for _ in 0..job.warmup {
        api.echo(&payload).await.ctx("echo")?;
    }
    let meter = Meter::start(job.server_pid);
    for _ in 0..job.count {
        let echoed = api.echo(&payload).await.ctx("echo")?;
        check("echo keys", echoed.as_object().map(|o| o.len()), Some(30))?;
    }
    let mut report = meter.stop(job.count);
    report.set("bytes", text.len() as f64);
    Ok(report)
}

async fn batch(client: &BatchClient, round: i64) -> Result<(), String> {
    let session = client.session();
    let api = BenchApiClient::from(session.main());
    // Awaiting the calls sends the batch, once all ten are queued: one POST (see `BatchSession`).
    let sums = join_all((0..BATCH_CALLS).map(|k| api.add(round, k).into_future())).await;
    for (k, sum) in sums.into_iter().enumerate() {
        check("batched add", sum.ctx("batched add")?, round + k as i64)?;
    }
    Ok(())
}

async fn batches(job: &Job) -> Result<Report, String> {
    let client = BatchClient::new(&job.url).ctx("batch client")?;
    for round in 0..job.warmup as i64 {
        batch(&client, round).await?;
    }
    let meter = Meter::start(job.server_pid);
    for round in 0..job.count as i64 {
        batch(&client, round).await?;
    }
    Ok(meter.stop(job.count))
}

/// `api.ids(n).map(|id| users.get(id))`, `users` captured: one round trip per map.
async fn one_map(
    api: &BenchApiClient,
    users: &crate::api::UsersClient,
    n: u32,
) -> Result<Vec<String>, RpcError> {
    api.ids(n).map(|id| users.get(id)).await
}

async fn maps(api: &BenchApiClient, job: &Job) -> Result<Report, String> {
    let n: u32 = job.extra.parse().ctx("elements per map")?;
    let users = api.users();
    let names = one_map(api, &users, n).await.ctx("map")?;
    check("map length", names.len(), n as usize)?;
    check("map last", names.last().cloned(), Some(format!("user-{n}")))?;
    for _ in 0..job.warmup {
        one_map(api, &users, n).await.ctx("map")?;
    }
    let meter = Meter::start(job.server_pid);
    for _ in 0..job.count {
        let names = one_map(api, &users, n).await.ctx("map")?;
        check("map length", names.len(), n as usize)?;
    }
    Ok(meter.stop(job.count))
}

/// Sends one stream of `chunks` chunks of [`plan::STREAM_CHUNK_BYTES`] bytes to `consume` and
/// checks the byte count it answers.
async fn one_stream(api: &BenchApiClient, chunk: &[u8], chunks: u64) -> Result<(), String> {
    let data = chunk.to_vec();
    let stream = RpcStream::new(stream::iter(0..chunks).map(move |_| Bytes::new(data.clone())));
    let read = api.consume(stream).await.ctx("consume")?;
    check("bytes consumed", read, chunks * chunk.len() as u64)
}

async fn streams(api: &BenchApiClient, job: &Job) -> Result<Report, String> {
    let per_stream: u64 = job.extra.parse().ctx("chunks per stream")?;
    // Not all zeros (a compressing transport would flatter it); the content is not checked.
    let chunk: Vec<u8> = (0..plan::STREAM_CHUNK_BYTES)
        .map(|i| (i % 251) as u8)
        .collect();
    one_stream(api, &chunk, job.warmup).await?;
    let meter = Meter::start(job.server_pid);
    let mut left = job.count;
    while left > 0 {
        let chunks = left.min(per_stream);
        one_stream(api, &chunk, chunks).await?;
        left -= chunks;
    }
    let mut report = meter.stop(job.count);
    report.set("bytes", plan::STREAM_CHUNK_BYTES as f64);
    Ok(report)
}
