//! Shared harness of the native suites: the real reference server in-process on 127.0.0.1:0
//! with its test endpoints, helpers that drive those endpoints over HTTP, and a TCP proxy that
//! can freeze or cut connections (for liveness and reconnect tests).
#![allow(dead_code)] // each suite uses a different subset

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use durable_iterator_server::{Compat, Config, DbLocation, Server};
use durable_iterator_wasm::native::{DurableIterator, Options, ProcedureCall, ProcedureOutput};
use durable_iterator_wasm::{ConnectionState, Notice};
use futures_util::StreamExt;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The demo channel.
pub const ROOM: &str = "some-room";
/// How long a test waits for something that should happen.
pub const WAIT: Duration = Duration::from_secs(10);

/// Which object the suites' server plays: ours, or the real oRPC object's behaviour when
/// `DURABLE_ITERATOR_COMPAT=upstream` (`cargo xtask test` runs the client suites both ways).
pub fn compat() -> Compat {
    match std::env::var("DURABLE_ITERATOR_COMPAT").as_deref() {
        Ok("upstream") => Compat::Upstream,
        _ => Compat::Ours,
    }
}

/// How a call of an unknown nested path fails: ours matches no procedure, the real object
/// fails inside its router client.
pub fn unknown_nested_path() -> (&'static str, u16) {
    match compat() {
        Compat::Upstream => ("INTERNAL_SERVER_ERROR", 500),
        Compat::Ours => ("NOT_FOUND", 404),
    }
}

/// The reference server with test endpoints and resume on, until dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    pub server: Server,
    task: JoinHandle<()>,
}

impl TestServer {
    pub async fn start() -> Self {
        let mut config = Config::new("native-test-key");
        config.db = DbLocation::Memory;
        config.test_endpoints = true;
        config.resume_retention = Some(Duration::from_secs(120));
        config.compat = compat();
        Self::start_with(config).await
    }

    pub async fn start_with(config: Config) -> Self {
        let server = Server::open(config).expect("server opens");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let router = server.router();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        TestServer { addr, server, task }
    }

    pub fn rpc_url(&self) -> String {
        format!("http://{}/rpc", self.addr)
    }

    /// The object URL, reached directly or through `via` (a proxy).
    pub fn object_url(&self, via: Option<SocketAddr>) -> String {
        format!("ws://{}/chat-room", via.unwrap_or(self.addr))
    }

    /// Options for the demo procedure and room.
    pub fn options(&self) -> Options {
        Options::new(self.rpc_url(), "onMessage", self.object_url(None))
    }

    /// `method path` with a JSON body; the answer as JSON. Panics unless it is a 2xx.
    pub async fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let stream = TcpStream::connect(self.addr).await.expect("connect");
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .expect("handshake");
        tokio::spawn(connection);
        let request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", self.addr.to_string())
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(
                body.map(Value::to_string).unwrap_or_default(),
            )))
            .expect("request");
        let response = sender.send_request(request).await.expect("response");
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        assert!(status.is_success(), "{method} {path}: {status} {bytes:?}");
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    }

    /// Publishes `count` events `{seq, pad}` of about `size` bytes to sockets holding `tag`.
    pub async fn publish(&self, tag: &str, count: u32, size: u32) -> Value {
        let body =
            serde_json::json!({"channel": ROOM, "count": count, "size": size, "tags": [tag]});
        self.request("POST", "/test/publish", Some(&body)).await
    }

    /// Drops every socket of the room without a close frame, like a network loss.
    pub async fn drop_sockets(&self) -> u64 {
        let body = serde_json::json!({"channel": ROOM});
        self.request("POST", "/test/drop", Some(&body)).await["dropped"]
            .as_u64()
            .unwrap_or(0)
    }

    /// The server's view of the sockets of `client_id` (more than one while an abandoned
    /// link is still open on the server's side).
    pub async fn server_sockets(&self, client_id: &str) -> Vec<Value> {
        let listing = self
            .request("GET", &format!("/test/sockets?channel={ROOM}"), None)
            .await;
        let sockets = listing["sockets"].as_array().cloned().unwrap_or_default();
        sockets
            .into_iter()
            .filter(|s| s["id"] == client_id)
            .collect()
    }

    /// The server's view of the socket of `client_id`, if it has one.
    pub async fn server_socket(&self, client_id: &str) -> Option<Value> {
        self.server_sockets(client_id).await.into_iter().next()
    }

    /// Calls `onMessage` with `input` and returns the token.
    pub async fn token(&self, input: Value) -> Result<String, String> {
        let call = ProcedureCall {
            base_url: self.rpc_url(),
            path: vec!["onMessage".to_owned()],
            body: serde_json::json!({ "json": input }).to_string(),
            ..ProcedureCall::default()
        };
        match call.send().await.map_err(|e| e.to_string())? {
            ProcedureOutput::DurableIterator(token) => Ok(token),
            other => Err(format!("onMessage did not return a token: {other:?}")),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A tag no other test of this binary uses.
pub fn unique_tag(name: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("{name}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The events `/test/publish` sends.
#[derive(Debug, serde::Deserialize, PartialEq)]
pub struct Burst {
    pub seq: u64,
    pub pad: String,
}

/// Takes `n` events with their ids, failing instead of hanging if they do not come.
pub async fn take<T: serde::de::DeserializeOwned>(
    it: &mut DurableIterator<T>,
    n: usize,
) -> Vec<(T, String)> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        match tokio::time::timeout(WAIT, it.next()).await {
            Ok(Some(Ok(event))) => {
                let id = it.last_event_id().unwrap_or_default().to_owned();
                out.push((event, id));
            }
            Ok(other) => panic!("stream ended early: {:?}", other.map(|r| r.err())),
            Err(_) => panic!("timed out after {} of {n} events", out.len()),
        }
    }
    out
}

/// Waits until `check` holds, polling every 20 ms; panics with `what` after [`WAIT`].
pub async fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the iterator's socket is open and its subscription has reached the server.
pub async fn wait_until_subscribed<T>(server: &TestServer, it: &DurableIterator<T>) {
    wait_for("the socket to open", || it.state() == ConnectionState::Open).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let socket = server.server_socket(&it.client_id()).await;
        if socket.is_some_and(|s| s["subscribed"] == true) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "never subscribed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Collects every notice an iterator gives, for assertions.
#[derive(Clone, Default)]
pub struct Notices(Arc<std::sync::Mutex<Vec<Notice>>>);

impl Notices {
    pub fn listener(&self) -> impl Fn(&Notice) + Send + Sync + 'static {
        let seen = self.0.clone();
        move |notice| seen.lock().expect("notices").push(notice.clone())
    }

    pub fn all(&self) -> Vec<Notice> {
        self.0.lock().expect("notices").clone()
    }

    /// How many times the connection opened.
    pub fn opens(&self) -> usize {
        self.all()
            .iter()
            .filter(|n| matches!(n, Notice::State(ConnectionState::Open)))
            .count()
    }
}

/// A TCP proxy in front of the server that can make the network misbehave: `freeze` leaves
/// the current connections open but silent (a link that died without a word), `cut` ends
/// them and refuses new ones until `restore`.
pub struct Proxy {
    pub addr: SocketAddr,
    faults: watch::Sender<Faults>,
    task: JoinHandle<()>,
}

#[derive(Clone, Copy, Default, PartialEq)]
struct Faults {
    /// Connections opened before the latest freeze stay silent.
    freezes: u64,
    /// Connections opened before the latest cut end.
    cuts: u64,
    /// New connections are refused.
    refusing: bool,
}

impl Proxy {
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let (faults, watcher) = watch::channel(Faults::default());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let watcher = watcher.clone();
                if watcher.borrow().refusing {
                    continue; // dropping the stream closes it
                }
                tokio::spawn(relay(client, upstream, watcher));
            }
        });
        Proxy { addr, faults, task }
    }

    /// The current connections go silent; new ones work.
    pub fn freeze(&self) {
        self.faults.send_modify(|f| f.freezes += 1);
    }

    /// The current connections end; new ones are refused.
    pub fn cut(&self) {
        self.faults.send_modify(|f| {
            f.cuts += 1;
            f.refusing = true;
        });
    }

    /// New connections work again.
    pub fn restore(&self) {
        self.faults.send_modify(|f| f.refusing = false);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        self.cut();
    }
}

async fn relay(mut client: TcpStream, upstream: SocketAddr, mut faults: watch::Receiver<Faults>) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let born = *faults.borrow_and_update();
    let (mut up, mut down) = ([0u8; 16 * 1024], [0u8; 16 * 1024]);
    loop {
        tokio::select! {
            read = client.read(&mut up) => match read {
                Ok(n) if n > 0 && server.write_all(&up[..n]).await.is_ok() => {}
                _ => return,
            },
            read = server.read(&mut down) => match read {
                Ok(n) if n > 0 && client.write_all(&down[..n]).await.is_ok() => {}
                _ => return,
            },
            changed = faults.changed() => {
                let now = *faults.borrow_and_update();
                if changed.is_err() || now.cuts > born.cuts {
                    return;
                }
                if now.freezes > born.freezes {
                    // Hold both sockets open, forwarding nothing, until a cut.
                    while faults.changed().await.is_ok() {
                        if faults.borrow_and_update().cuts > born.cuts {
                            return;
                        }
                    }
                    return;
                }
            }
        }
    }
}
