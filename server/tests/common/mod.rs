//! Shared harness: a real server on 127.0.0.1:0, a raw HTTP/1.1 client, and a WebSocket client
//! (tokio-tungstenite) with helpers that read frames as the vectors show them.
#![allow(dead_code)] // each test file uses a different subset

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use durable_iterator_protocol::{sign_token, TokenPayload};
use durable_iterator_server::{Compat, Config, DbLocation, Server};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const KEY: &str = "test-signing-key";
pub const ROOM: &str = "some-room";
/// How long a test waits for a frame that should come.
pub const WAIT: Duration = Duration::from_secs(5);

/// A test configuration: in-memory storage, test endpoints on, resume off.
pub fn config() -> Config {
    let mut config = Config::new(KEY);
    config.db = DbLocation::Memory;
    config.test_endpoints = true;
    config
}

/// Same, with resume on for `seconds`.
pub fn resume_config(seconds: u64) -> Config {
    let mut config = config();
    config.resume_retention = Some(Duration::from_secs(seconds));
    config
}

/// `config` behaving like the real oRPC object where it differs from ours (`--compat upstream`).
pub fn upstream(mut config: Config) -> Config {
    config.compat = Compat::Upstream;
    config
}

pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// A server listening on a free loopback port until dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    pub server: Server,
    task: JoinHandle<()>,
}

impl TestServer {
    pub async fn start(config: Config) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::start_on(config, listener).await
    }

    /// Same, on a listener the test prepared (e.g. with small socket buffers).
    pub async fn start_on(config: Config, listener: tokio::net::TcpListener) -> Self {
        let server = Server::open(config).expect("server opens");
        let addr = listener.local_addr().unwrap();
        let router = server.router();
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        TestServer { addr, server, task }
    }

    /// A token for the demo room valid for an hour, adjusted by `edit`.
    pub fn token(&self, edit: impl FnOnce(&mut TokenPayload)) -> String {
        token(edit)
    }

    pub fn ws_url(&self, id: &str, token: &str) -> String {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("id", id)
            .append_pair("token", token)
            .finish();
        format!("ws://{}/chat-room?{query}", self.addr)
    }

    /// Opens a socket as client `id` with a default token.
    pub async fn connect(&self, id: &str) -> Client {
        self.connect_with(id, &self.token(|_| {})).await
    }

    pub async fn connect_with(&self, id: &str, token: &str) -> Client {
        let (ws, response) = tokio_tungstenite::connect_async(self.ws_url(id, token))
            .await
            .expect("upgrade accepted");
        assert_eq!(response.status(), 101);
        Client { ws, next_id: 0 }
    }

    /// Waits until the channel shows `count` sockets that satisfy `check`.
    pub async fn wait_sockets(
        &self,
        what: &str,
        check: impl Fn(&[durable_iterator_server::SocketInfo]) -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let sockets = self.server.sockets(ROOM);
            if check(&sockets) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}: {sockets:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub async fn http(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> HttpResponse {
        http(self.addr, method, path, headers, body).await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A demo-room token valid for an hour, adjusted by `edit`, signed with [`KEY`].
pub fn token(edit: impl FnOnce(&mut TokenPayload)) -> String {
    let mut payload = TokenPayload::new(ROOM, now().floor(), 3600.0);
    payload.att = Some(json!({"userId": "u1"}));
    payload.rpc = Some(vec!["singleClient".into(), "routerClient".into()]);
    edit(&mut payload);
    sign_token(&payload, KEY)
}

/// A WebSocket client that speaks raw frames.
pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
}

impl Client {
    pub async fn send(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.expect("send");
    }

    pub async fn send_json(&mut self, value: Value) {
        self.send(&value.to_string()).await;
    }

    /// The next text frame; fails the test after [`WAIT`] or on close.
    pub async fn recv(&mut self) -> String {
        loop {
            let message = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a frame within the wait")
                .expect("socket still open")
                .expect("no socket error");
            match message {
                Message::Text(text) => return text.as_str().to_owned(),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    pub async fn recv_json(&mut self) -> Value {
        serde_json::from_str(&self.recv().await).expect("frame is JSON")
    }

    /// Asserts no frame arrives for `ms` milliseconds.
    pub async fn expect_silence(&mut self, ms: u64) {
        if let Ok(Some(Ok(message))) =
            tokio::time::timeout(Duration::from_millis(ms), self.ws.next()).await
        {
            panic!("expected silence, got {message:?}");
        }
    }

    /// Waits for the server's close frame; returns its code and reason.
    pub async fn expect_close(&mut self, within: Duration) -> (u16, String) {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let next = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .expect("a close frame within the wait");
            match next {
                Some(Ok(Message::Close(Some(frame)))) => {
                    return (u16::from(frame.code), frame.reason.as_str().to_owned())
                }
                Some(Ok(Message::Close(None))) => return (1005, String::new()),
                Some(Ok(
                    Message::Text(_) | Message::Binary(_) | Message::Ping(_) | Message::Pong(_),
                )) => continue,
                Some(Ok(Message::Frame(_))) => continue,
                Some(Err(e)) => panic!("socket error instead of a close frame: {e}"),
                None => panic!("connection ended without a close frame"),
            }
        }
    }

    /// Waits for the connection to end without a close frame (an abrupt drop).
    pub async fn expect_abrupt_end(&mut self) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let next = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .expect("the connection ends within the wait");
            match next {
                None | Some(Err(tungstenite::Error::Protocol(_) | tungstenite::Error::Io(_))) => {
                    return
                }
                Some(Err(e)) => panic!("unexpected error: {e}"),
                Some(Ok(Message::Close(frame))) => panic!("expected no close frame, got {frame:?}"),
                Some(Ok(_)) => continue,
            }
        }
    }

    /// A fresh request id, base36 from 1 like oRPC's.
    pub fn id(&mut self) -> String {
        self.next_id += 1;
        durable_iterator_protocol::ids::to_base36(self.next_id)
    }

    /// Sends `/subscribe` (with `last-event-id` when given), checks the stream head frame and
    /// returns the request id.
    pub async fn subscribe(&mut self, last_event_id: Option<&str>) -> String {
        let id = self.id();
        let request = match last_event_id {
            Some(last) => {
                json!({"i": id, "p": {"u": "/subscribe", "b": {}, "h": {"last-event-id": last}}})
            }
            None => json!({"i": id, "p": {"u": "/subscribe", "b": {}}}),
        };
        self.send_json(request).await;
        let head = self.recv().await;
        assert_eq!(
            head,
            format!(r#"{{"i":"{id}","p":{{"h":{{"content-type":"text/event-stream"}}}}}}"#)
        );
        id
    }

    /// Sends a request to `path` with body `b` and returns the response frame text.
    pub async fn request(&mut self, path: &str, body: Value) -> String {
        let id = self.id();
        self.send_json(json!({"i": id, "p": {"u": path, "b": body}}))
            .await;
        self.recv().await
    }

    /// The next event frame of stream `sub`: (payload json, meta id).
    pub async fn event(&mut self, sub: &str) -> (Value, Option<String>) {
        let frame = self.recv_json().await;
        assert_eq!(frame["i"], sub, "event of the subscription: {frame}");
        assert_eq!(frame["t"], 3, "event frame: {frame}");
        assert_eq!(frame["p"]["e"], "message", "message event: {frame}");
        let id = frame["p"]["m"]["id"].as_str().map(str::to_owned);
        (frame["p"]["d"]["json"].clone(), id)
    }
}

/// A response read by [`http`].
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("JSON body")
    }
}

/// One HTTP/1.1 request over a fresh connection (`Connection: close`), read to the end.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> HttpResponse {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        request.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    request.push_str(body.unwrap_or_default());
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut raw))
        .await
        .expect("response in time")
        .unwrap();
    let text = String::from_utf8(raw).expect("UTF-8 response");
    let (head, rest) = text.split_once("\r\n\r\n").expect("head and body");
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    HttpResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut rest: &str) -> String {
    let mut body = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        body.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
    body
}
