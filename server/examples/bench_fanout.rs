//! The native half of `cargo xtask bench`'s fan-out scenario: many sockets from one Rust client
//! to a running reference server, and the publish-to-delivery latency the server achieves
//! across all of them.
//!
//! It opens `--sockets` WebSockets (32 upgrades at a time) to the object of a fresh channel,
//! subscribes each, asks `/test/publish` for `--events` stamped events at a steady `--rate`
//! events/s, and reads every socket until it has them all. Latency is the receive time minus
//! the publish stamp the server put in each payload (same machine, same clock). It prints one
//! JSON line: `{"sockets","events","deliveries","lost","p50Ms","p99Ms","maxMs","seconds"}`.
//!
//! ```text
//! cargo build --release -p durable-iterator-server --example bench_fanout
//! target/release/examples/bench_fanout --url http://127.0.0.1:8787 --key KEY \
//!     [--sockets 1000] [--events 500] [--rate 100] [--size 100]
//! ```
//! The server must run with `--test-endpoints` and the same `--signing-key`.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use durable_iterator_protocol::{sign_token, TokenPayload};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How long a reader waits for a missing event before it counts the rest as lost.
const STALL: Duration = Duration::from_secs(10);

struct Args {
    url: String,
    key: String,
    sockets: usize,
    events: usize,
    rate: f64,
    size: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        url: String::new(),
        key: String::new(),
        sockets: 1000,
        events: 500,
        rate: 100.0,
        size: 100,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || value.parse::<usize>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--url" => args.url = value.trim_end_matches('/').to_owned(),
            "--key" => args.key = value.clone(),
            "--sockets" => args.sockets = number()?.max(1),
            "--events" => args.events = number()?.max(1),
            "--rate" => args.rate = value.parse().map_err(|e| format!("--rate: {e}"))?,
            "--size" => args.size = number()?,
            other => return Err(format!("unknown option {other}")),
        }
    }
    if args.url.is_empty() || args.key.is_empty() {
        return Err("--url and --key are required".to_owned());
    }
    Ok(args)
}

fn wall_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

async fn connect(args: &Args, channel: &str, id: usize) -> Result<Ws, String> {
    let payload = TokenPayload::new(channel, (wall_ms() / 1000.0).floor(), 3600.0);
    let token: String =
        form_urlencoded::byte_serialize(sign_token(&payload, &args.key).as_bytes()).collect();
    let base = args.url.replacen("http://", "ws://", 1);
    let url = format!("{base}/chat-room?id=fan-{id}&token={token}");
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .map_err(|e| format!("upgrade {id}: {e}"))?;
    ws.send(Message::text(r#"{"i":"1","p":{"u":"/subscribe","b":{}}}"#))
        .await
        .map_err(|e| format!("subscribe {id}: {e}"))?;
    // The stream's head (a response with an event-stream content type) means subscribed.
    match tokio::time::timeout(STALL, ws.next()).await {
        Ok(Some(Ok(_))) => Ok(ws),
        other => Err(format!("no subscribe answer on socket {id}: {other:?}")),
    }
}

/// The publish stamp `"t":<ms>` of an event frame (in the payload, after `"seq"`; the envelope
/// has a `"t"` of its own), without parsing the whole frame.
fn stamp(frame: &str) -> Option<f64> {
    let payload = frame.get(frame.find("\"seq\":")?..)?;
    let start = payload.find("\"t\":")? + 4;
    let rest = payload.get(start..)?;
    let end = rest.find([',', '}'])?;
    rest.get(..end)?.parse().ok()
}

/// Reads `events` stamped events (or until the stream stalls) and returns their latencies.
async fn read(mut ws: Ws, events: usize) -> Vec<f32> {
    let mut latencies = Vec::with_capacity(events);
    while latencies.len() < events {
        match tokio::time::timeout(STALL, ws.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                if let Some(t) = stamp(text.as_str()) {
                    latencies.push((wall_ms() - t) as f32);
                }
            }
            Ok(Some(Ok(_))) => {}
            _ => break,
        }
    }
    let _ = ws.close(None).await;
    latencies
}

async fn post(args: &Args, path: &str, body: &str) -> Result<String, String> {
    let addr = args.url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .map_err(|e| e.to_string())?;
    if response.starts_with("HTTP/1.1 200") {
        Ok(response)
    } else {
        Err(format!("{path}: {response}"))
    }
}

fn percentile(sorted: &[f32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    f64::from(sorted[rank.min(sorted.len() - 1)])
}

async fn run(args: Args) -> Result<String, String> {
    let channel = format!("bench-native-{}", std::process::id());
    let mut sockets = Vec::with_capacity(args.sockets);
    let mut next = 0;
    while next < args.sockets {
        let batch: Vec<_> = (next..(next + 32).min(args.sockets)).collect();
        next += batch.len();
        let opened =
            futures_util::future::join_all(batch.iter().map(|&id| connect(&args, &channel, id)))
                .await;
        for ws in opened {
            sockets.push(ws?);
        }
    }
    let started = Instant::now();
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|ws| tokio::spawn(read(ws, args.events)))
        .collect();
    let body = format!(
        r#"{{"channel":"{channel}","count":{},"size":{},"rate":{},"stamp":true}}"#,
        args.events, args.size, args.rate
    );
    post(&args, "/test/publish", &body).await?;
    let mut latencies = Vec::with_capacity(args.sockets * args.events);
    for reader in readers {
        latencies.extend(reader.await.map_err(|e| e.to_string())?);
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort_by(f32::total_cmp);
    let expected = args.sockets * args.events;
    Ok(format!(
        r#"{{"sockets":{},"events":{},"deliveries":{},"lost":{},"p50Ms":{:.3},"p99Ms":{:.3},"maxMs":{:.3},"seconds":{:.3}}}"#,
        args.sockets,
        args.events,
        latencies.len(),
        expected.saturating_sub(latencies.len()),
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        latencies.last().map_or(f64::NAN, |v| f64::from(*v)),
        seconds,
    ))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let result = match parse_args() {
        Ok(args) => run(args).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(line) => {
            println!("{line}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench_fanout: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
