//! Quick throughput and footprint figures for the reference server (not a benchmark suite).
//!
//! Starts the release binary given as the first argument on 127.0.0.1:0 (in-memory storage,
//! test endpoints on) and measures, from a client in this process on the same machine:
//! events/s to one socket and to 100 sockets (resume off and on), sockets opened per second,
//! and RSS per idle subscribed socket. Usage:
//!
//! ```text
//! cargo build --release -p durable-iterator-server --example measure
//! target/release/examples/measure target/release/durable-iterator-server
//! ```

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use durable_iterator_protocol::{sign_token, TokenPayload};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

const KEY: &str = "measure-key";
type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Running {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(bin: &str, resume: bool) -> Running {
    // MEASURE_DB=<file> measures resume on a SQLite file instead of in memory.
    let db = std::env::var("MEASURE_DB").unwrap_or_else(|_| ":memory:".to_owned());
    let mut args = vec![
        "--addr",
        "127.0.0.1:0",
        "--signing-key",
        KEY,
        "--db",
        &db,
        "--test-endpoints",
    ];
    if resume {
        args.extend(["--resume-retention-seconds", "600"]);
    }
    let mut child = Command::new(bin)
        .args(&args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("server starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("line");
    let addr = line
        .trim()
        .rsplit("http://")
        .next()
        .and_then(|a| a.parse().ok())
        .expect("listening line");
    Running { child, addr }
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

async fn connect(addr: SocketAddr, id: String) -> Ws {
    let payload = TokenPayload::new("some-room", now().floor(), 3600.0);
    let token: String =
        form_urlencoded::byte_serialize(sign_token(&payload, KEY).as_bytes()).collect();
    let url = format!("ws://{addr}/chat-room?id={id}&token={token}");
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("upgrade");
    ws.send(Message::text(r#"{"i":"1","p":{"u":"/subscribe","b":{}}}"#))
        .await
        .expect("send");
    let _head = ws.next().await;
    ws
}

async fn post(addr: SocketAddr, path: &str, body: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "POST {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    response
}

async fn drain(mut ws: Ws, count: usize) -> Ws {
    let mut seen = 0;
    while seen < count {
        match ws.next().await {
            Some(Ok(Message::Text(_))) => seen += 1,
            Some(Ok(_)) => {}
            other => panic!("stream ended after {seen}: {other:?}"),
        }
    }
    ws
}

/// Events/s for `sockets` subscribers receiving `count` events of `size` bytes each.
async fn fan_out(addr: SocketAddr, sockets: usize, count: usize, size: usize) -> f64 {
    let mut clients = Vec::new();
    for i in 0..sockets {
        clients.push(connect(addr, format!("fan-{sockets}-{i}")).await);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let readers: Vec<_> = clients
        .into_iter()
        .map(|ws| tokio::spawn(drain(ws, count)))
        .collect();
    let body = format!(r#"{{"channel":"some-room","count":{count},"size":{size}}}"#);
    let response = post(addr, "/test/publish", &body).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    for reader in readers {
        let mut ws = reader.await.expect("reader");
        let _ = ws.close(None).await;
    }
    count as f64 / started.elapsed().as_secs_f64()
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let bin = std::env::args().nth(1).expect("path to the server binary");
    for resume in [false, true] {
        let server = start(&bin, resume);
        let label = if resume { "resume on " } else { "resume off" };
        let one = fan_out(server.addr, 1, 200_000, 100).await;
        println!("{label}: 1 socket:    {one:>10.0} events/s (100-byte events)");
        let hundred = fan_out(server.addr, 100, 20_000, 100).await;
        println!(
            "{label}: 100 sockets: {hundred:>10.0} events/s = {:.0} deliveries/s",
            hundred * 100.0
        );
    }

    let server = start(&bin, false);
    let pid = server.child.id();
    // Sockets opened per second: upgrade + subscribe, 32 at a time.
    let total: usize = std::env::var("MEASURE_SOCKETS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(4000);
    let started = Instant::now();
    let mut open = Vec::with_capacity(total);
    for batch in 0..total / 32 {
        let handles: Vec<_> = (0..32)
            .map(|i| tokio::spawn(connect(server.addr, format!("open-{batch}-{i}"))))
            .collect();
        for handle in handles {
            open.push(handle.await.expect("connect"));
        }
    }
    let rate = total as f64 / started.elapsed().as_secs_f64();
    println!("sockets opened (upgrade + subscribe, 32 concurrent): {rate:.0}/s");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let with = rss_kib(pid);
    drop(open);
    // Compare with the same process after those sockets closed and a fresh, equal set.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let base_server = start(&bin, false);
    let base_pid = base_server.child.id();
    let mut warm = Vec::new();
    for i in 0..32 {
        warm.push(connect(base_server.addr, format!("warm-{i}")).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let base = rss_kib(base_pid);
    println!(
        "RSS: {base} KiB with 32 sockets, {with} KiB with {total} sockets: {:.1} KiB per idle subscribed socket",
        (with.saturating_sub(base)) as f64 / (total - 32) as f64
    );
}
