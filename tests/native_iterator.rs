//! The native Rust API against the real reference server over real sockets: typed events,
//! token refresh (same tags keep the socket, other tags rebuild it), RPC, close, expiry,
//! and use from `tokio::spawn`. Mirrors tests-wasm/tests/iterator.rs.
#![cfg(feature = "native")]

mod native_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use durable_iterator_wasm::native::{DurableIterator, Options, Rpc};
use durable_iterator_wasm::Notice;
use futures_util::StreamExt;
use native_support::*;
use serde_json::{json, Value};

#[tokio::test]
async fn receives_typed_events_with_ids() {
    let server = TestServer::start().await;
    let tag = unique_tag("receive");
    let options = server.options().input(&json!({"tags": [tag]})).unwrap();
    let mut it = DurableIterator::<Burst>::connect(options).await.unwrap();
    wait_until_subscribed(&server, &it).await;
    let published = server.publish(&tag, 5, 64).await;
    let events = take(&mut it, 5).await;
    let seqs: Vec<u64> = events.iter().map(|(e, _)| e.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
    let ids: Vec<u64> = events.iter().map(|(_, id)| id.parse().unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ids not increasing: {ids:?}"
    );
    assert_eq!(
        Some(ids[4].to_string().as_str()),
        published["lastId"].as_str()
    );
    assert_eq!(it.token_payload().chn, ROOM);
}

#[tokio::test]
async fn a_refresh_with_the_same_tags_keeps_the_socket() {
    let server = TestServer::start().await;
    let tag = unique_tag("same");
    let notices = Notices::default();
    // `connect` refreshes by calling the procedure again with the same input: same tags.
    let options = server
        .options()
        .input(&json!({"tags": [tag], "ttlSeconds": 8}))
        .unwrap()
        .refresh_before_expire(Duration::from_secs(3))
        .on_notice(notices.listener());
    let mut it = DurableIterator::<Burst>::connect(options).await.unwrap();
    wait_until_subscribed(&server, &it).await;
    let first = server.server_socket(&it.client_id()).await.unwrap();
    let first_exp = it.token_payload().exp;
    wait_for("a token update", || {
        notices.all().contains(&Notice::TokenUpdated)
    })
    .await;
    // Past the first token's expiry (8 s after issue; the update came ~4 s in): the server
    // would have closed a socket it still held.
    tokio::time::sleep(Duration::from_millis(4_500)).await;
    let later = server.server_socket(&it.client_id()).await.unwrap();
    assert_eq!(
        later["conn"], first["conn"],
        "socket rebuilt: {first} -> {later}"
    );
    assert!(
        later["exp"].as_f64() > first["exp"].as_f64(),
        "{first} -> {later}"
    );
    assert!(it.token_payload().exp > first_exp);
    assert_eq!(notices.opens(), 1);
    server.publish(&tag, 2, 16).await;
    assert_eq!(take(&mut it, 2).await.len(), 2);
}

#[tokio::test]
async fn a_refresh_with_other_tags_rebuilds_the_socket() {
    let server = Arc::new(TestServer::start().await);
    let tags = [unique_tag("first"), unique_tag("second")];
    let calls = Arc::new(AtomicUsize::new(0));
    let (source_server, source_calls, source_tags) = (server.clone(), calls.clone(), tags.clone());
    let mut it = DurableIterator::<Burst>::from_token_source(
        move || {
            let n = source_calls.fetch_add(1, Ordering::SeqCst);
            let tag = source_tags[n.min(1)].clone();
            let server = source_server.clone();
            async move { server.token(json!({"tags": [tag], "ttlSeconds": 8})).await }
        },
        server
            .options()
            .refresh_before_expire(Duration::from_secs(3)),
    )
    .await
    .unwrap();
    wait_until_subscribed(&server, &it).await;
    let first = server.server_socket(&it.client_id()).await.unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    let later = loop {
        let now = server.server_socket(&it.client_id()).await;
        if let Some(now) = now.filter(|s| s["conn"] != first["conn"]) {
            break now;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the socket was kept"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(later["tags"], json!([tags[1]]));
    assert!(calls.load(Ordering::SeqCst) >= 2);
    assert_eq!(it.token_payload().tags, Some(vec![tags[1].clone()]));
    // The rebuilt socket subscribes with the new tags.
    wait_until_subscribed(&server, &it).await;
    server.publish(&tags[1], 2, 16).await;
    assert_eq!(take(&mut it, 2).await.len(), 2);
}

#[tokio::test]
async fn rpc_calls_allowed_forbidden_nested_and_not_found() {
    let server = TestServer::start().await;
    let it = DurableIterator::<Value>::connect(server.options())
        .await
        .unwrap();
    let echo: String = it
        .rpc(["routerClient", "echo"])
        .call(&json!({"text": "Hello"}))
        .await
        .unwrap();
    assert_eq!(echo, "Echo: Hello");
    let pong: String = it
        .rpc(["routerClient", "ping"])
        .call_without_input()
        .await
        .unwrap();
    assert_eq!(pong, "pong");
    let forbidden = it
        .rpc(["publishEvent"])
        .call::<_, Value>(&json!({}))
        .await
        .unwrap_err();
    assert_eq!(forbidden.code(), "RPC_NOT_ALLOWED", "{forbidden}");
    let missing = it
        .rpc(["routerClient", "nope"])
        .call_without_input::<Value>()
        .await
        .unwrap_err();
    let (code, status) = unknown_nested_path();
    assert_eq!(missing.code(), code, "{missing}");
    assert_eq!(missing.rpc().map(|e| e.status), Some(status));
    let invalid = it
        .rpc(["routerClient", "echo"])
        .retries(1, Duration::from_millis(50))
        .call::<_, Value>(&json!({"text": 1}))
        .await
        .unwrap_err();
    assert_eq!(invalid.code(), "BAD_REQUEST", "{invalid}");
    let wrong_type = it
        .rpc(["routerClient", "echo"])
        .call::<_, u64>(&json!({"text": "not a number"}))
        .await
        .unwrap_err();
    assert_eq!(wrong_type.code(), "DECODE_ERROR", "{wrong_type}");
}

#[tokio::test]
async fn close_ends_the_stream_and_the_socket() {
    let server = TestServer::start().await;
    let mut it = DurableIterator::<Value>::connect(server.options())
        .await
        .unwrap();
    wait_until_subscribed(&server, &it).await;
    let client_id = it.client_id();
    let rpc = it.rpc(["routerClient", "ping"]);
    it.close();
    let end = tokio::time::timeout(WAIT, it.next()).await;
    assert!(matches!(end, Ok(None)), "stream did not end: {end:?}");
    let after = rpc.call_without_input::<String>().await.unwrap_err();
    assert_eq!(after.code(), "ITERATOR_ENDED", "{after}");
    let deadline = tokio::time::Instant::now() + WAIT;
    while server.server_socket(&client_id).await.is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server still holds the socket after close"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_expired_token_without_refresh_ends_with_token_expired() {
    let server = TestServer::start().await;
    let notices = Notices::default();
    let options = server
        .options()
        .input(&json!({"ttlSeconds": 1}))
        .unwrap()
        .on_notice(notices.listener());
    let mut it = DurableIterator::<Value>::connect(options).await.unwrap();
    let client_id = it.client_id();
    let end = tokio::time::timeout(WAIT, it.next()).await;
    let Ok(Some(Err(error))) = end else {
        panic!("expected a TokenExpired error, got {end:?}");
    };
    assert_eq!(error.code(), "TOKEN_EXPIRED", "{error}");
    assert!(it.next().await.is_none());
    // No reconnect loop with a dead token: one open, and no socket comes back.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(notices.opens(), 1, "{:?}", notices.all());
    assert!(server.server_socket(&client_id).await.is_none());
}

#[tokio::test]
async fn a_plain_output_or_a_procedure_error_is_not_an_iterator() {
    let server = TestServer::start().await;
    let plain = Options::new(server.rpc_url(), "sendMessage", server.object_url(None))
        .input(&json!({"message": "hi"}))
        .unwrap();
    let error = DurableIterator::<Value>::connect(plain)
        .await
        .err()
        .unwrap();
    assert_eq!(error.code(), "INVALID_TOKEN", "{error}");
    let refused = server.options().input(&json!({"tags": 1})).unwrap();
    let error = DurableIterator::<Value>::connect(refused)
        .await
        .err()
        .unwrap();
    assert_eq!(error.code(), "BAD_REQUEST", "{error}");
}

#[tokio::test]
async fn the_iterator_and_its_calls_run_in_spawned_tasks() {
    fn send_static<T: Send + 'static>(_: &T) {}
    let server = TestServer::start().await;
    let tag = unique_tag("spawn");
    let options = server.options().input(&json!({"tags": [tag]})).unwrap();
    let it = DurableIterator::<Burst>::connect(options).await.unwrap();
    wait_until_subscribed(&server, &it).await;
    let rpc: Rpc = it.rpc(["routerClient", "echo"]);
    send_static(&it);
    send_static(&rpc);
    let echo = tokio::spawn(async move { rpc.call::<_, String>(&json!({"text": "x"})).await });
    let consumer = tokio::spawn(async move {
        let mut it = it;
        take(&mut it, 3).await.len()
    });
    server.publish(&tag, 3, 16).await;
    assert_eq!(echo.await.unwrap().unwrap(), "Echo: x");
    assert_eq!(consumer.await.unwrap(), 3);
}

#[test]
fn starting_outside_a_tokio_runtime_is_an_error() {
    let token = durable_iterator_protocol::sign_token(
        &durable_iterator_protocol::TokenPayload::new(ROOM, 1.0, 1e10),
        "key",
    );
    let options = Options::new("http://127.0.0.1:9/rpc", "onMessage", "ws://127.0.0.1:9/x");
    let error = DurableIterator::<Value>::from_token(token, options)
        .err()
        .unwrap();
    assert_eq!(error.code(), "INVALID_OPTION", "{error}");
}
