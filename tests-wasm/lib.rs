//! Shared helpers of the browser test suites in `tests/`; they run only on wasm32, in
//! headless Chromium, against the reference server that `cargo xtask test` starts with
//! `--test-endpoints`.
#![cfg(target_arch = "wasm32")]

use serde_json::Value;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Base URL of the reference server under test, fixed at compile time by `cargo xtask test`
/// (a wasm test cannot read the environment at run time).
pub const SERVER_URL: &str = match option_env!("DURABLE_ITERATOR_TEST_SERVER") {
    Some(url) => url,
    None => "http://127.0.0.1:8787",
};

/// The app server's RPC base URL.
pub fn rpc_url() -> String {
    format!("{SERVER_URL}/rpc")
}

/// The object's WebSocket URL.
pub fn object_url() -> String {
    format!("{}/chat-room", SERVER_URL.replacen("http", "ws", 1))
}

/// A tag no other test uses, so concurrent or earlier tests' events never reach this one.
pub fn unique_tag(name: &str) -> String {
    format!("{name}-{}", js_sys::Math::random().to_bits())
}

async fn fetch_json(method: &str, path: &str, body: Option<&Value>) -> Value {
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    if let Some(body) = body {
        init.set_body(&JsValue::from_str(&body.to_string()));
    }
    let request =
        web_sys::Request::new_with_str_and_init(&format!("{SERVER_URL}{path}"), &init).unwrap();
    request
        .headers()
        .set("content-type", "application/json")
        .unwrap();
    let window = web_sys::window().unwrap();
    let response: web_sys::Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .unwrap()
        .dyn_into()
        .unwrap();
    let text = JsFuture::from(response.text().unwrap()).await.unwrap();
    let text = text.as_string().unwrap();
    assert!(
        response.ok(),
        "{method} {path} failed: {} {text}",
        response.status()
    );
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Publishes `count` events `{seq, pad}` of about `size` bytes to sockets holding `tag`.
pub async fn publish(tag: &str, count: u32, size: u32) -> Value {
    let body =
        serde_json::json!({"channel": "some-room", "count": count, "size": size, "tags": [tag]});
    fetch_json("POST", "/test/publish", Some(&body)).await
}

/// Drops every socket of the room without a close frame, like a network loss.
pub async fn drop_sockets() -> u64 {
    let body = serde_json::json!({"channel": "some-room"});
    fetch_json("POST", "/test/drop", Some(&body)).await["dropped"]
        .as_u64()
        .unwrap_or(0)
}

/// The server's view of the socket of `client_id`, if it has one.
pub async fn server_socket(client_id: &str) -> Option<Value> {
    let listing = fetch_json("GET", "/test/sockets?channel=some-room", None).await;
    listing["sockets"]
        .as_array()?
        .iter()
        .find(|socket| socket["id"] == client_id)
        .cloned()
}

/// Calls `onMessage` and returns the token.
pub async fn token(input: Value) -> String {
    let body = serde_json::json!({ "json": input });
    let output = durable_iterator_wasm::link::ProcedureCall {
        base_url: rpc_url(),
        path: vec!["onMessage".to_owned()],
        body: body.to_string(),
        ..Default::default()
    }
    .send(None)
    .await
    .unwrap();
    match output {
        durable_iterator_wasm::link::ProcedureOutput::DurableIterator(token) => token,
        other => panic!("onMessage did not return a token: {other:?}"),
    }
}

/// Waits `ms` milliseconds.
pub async fn sleep(ms: u32) {
    gloo_timers::future::TimeoutFuture::new(ms).await;
}

/// The events `/test/publish` sends.
#[derive(Debug, serde::Deserialize, PartialEq)]
pub struct Burst {
    /// Position in its burst, from 1.
    pub seq: u64,
    /// Filler that makes the event the requested size.
    pub pad: String,
}

/// Options for the demo procedure and room of the server under test.
pub fn options() -> durable_iterator_wasm::Options {
    durable_iterator_wasm::Options::new(rpc_url(), "onMessage", object_url())
}

/// Takes `n` events, failing instead of hanging if they do not come.
pub async fn take<T: serde::de::DeserializeOwned>(
    it: &mut durable_iterator_wasm::DurableIterator<T>,
    n: usize,
) -> Vec<(T, String)> {
    let mut out = Vec::new();
    while out.len() < n {
        let next = futures_util::future::select(
            futures_util::StreamExt::next(it),
            Box::pin(sleep(10_000)),
        )
        .await;
        match next {
            futures_util::future::Either::Left((Some(Ok(event)), _)) => {
                let id = it.last_event_id().unwrap_or_default().to_owned();
                out.push((event, id));
            }
            futures_util::future::Either::Left((other, _)) => {
                panic!("stream ended early: {:?}", other.map(|r| r.err()))
            }
            futures_util::future::Either::Right(_) => {
                panic!("timed out after {} of {n} events", out.len())
            }
        }
    }
    out
}

/// Waits until the iterator's socket is open and subscribed.
pub async fn wait_until_open<T>(it: &durable_iterator_wasm::DurableIterator<T>) {
    for _ in 0..200 {
        if it.state() == durable_iterator_wasm::ConnectionState::Open {
            // Give the subscribe a moment to reach the object.
            sleep(50).await;
            return;
        }
        sleep(10).await;
    }
    panic!("never opened: {:?}", it.state());
}
