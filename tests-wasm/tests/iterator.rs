//! The Rust API (`DurableIterator` stream and typed RPC) in headless Chromium against the
//! real reference server.
#![cfg(target_arch = "wasm32")]

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use durable_iterator_wasm::DurableIterator;
use durable_iterator_wasm_tests::*;
use futures_util::StreamExt;
use serde_json::{json, Value};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn receives_typed_events_with_ids() {
    let tag = unique_tag("receive");
    let mut it =
        DurableIterator::<Burst>::connect(options().input(&json!({"tags": [tag]})).unwrap())
            .await
            .unwrap();
    wait_until_open(&it).await;
    publish(&tag, 5, 64).await;
    let events = take(&mut it, 5).await;
    let seqs: Vec<u64> = events.iter().map(|(e, _)| e.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
    let ids: Vec<u64> = events.iter().map(|(_, id)| id.parse().unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ids not increasing: {ids:?}"
    );
}

#[wasm_bindgen_test]
async fn refresh_with_the_same_tags_keeps_the_socket() {
    let tag = unique_tag("same");
    let calls = Rc::new(Cell::new(0));
    let counter = calls.clone();
    let tags = vec![tag.clone()];
    let it = DurableIterator::<Value>::from_token_source(
        move || {
            counter.set(counter.get() + 1);
            let tags = tags.clone();
            async move { Ok(token(json!({"tags": tags, "ttlSeconds": 8})).await) }
        },
        options().refresh_before_expire(Duration::from_secs(3)),
    )
    .await
    .unwrap();
    wait_until_open(&it).await;
    let first = server_socket(&it.client_id())
        .await
        .expect("socket on the server");
    for _ in 0..120 {
        sleep(100).await;
        if calls.get() >= 2 {
            break;
        }
    }
    assert!(calls.get() >= 2, "no refresh happened");
    sleep(300).await;
    let later = server_socket(&it.client_id())
        .await
        .expect("socket on the server");
    assert_eq!(
        later["conn"], first["conn"],
        "the socket was rebuilt: {first} -> {later}"
    );
    assert!(
        later["exp"].as_f64() > first["exp"].as_f64(),
        "exp not updated: {first} -> {later}"
    );
}

#[wasm_bindgen_test]
async fn refresh_with_other_tags_rebuilds_the_socket() {
    let (first_tag, second_tag) = (unique_tag("first"), unique_tag("second"));
    let calls = Rc::new(Cell::new(0));
    let counter = calls.clone();
    let tags = [first_tag.clone(), second_tag.clone()];
    let mut it = DurableIterator::<Burst>::from_token_source(
        move || {
            let n = counter.get();
            counter.set(n + 1);
            let tag = tags[n.min(1)].clone();
            async move { Ok(token(json!({"tags": [tag], "ttlSeconds": 8})).await) }
        },
        options().refresh_before_expire(Duration::from_secs(3)),
    )
    .await
    .unwrap();
    wait_until_open(&it).await;
    let first = server_socket(&it.client_id())
        .await
        .expect("socket on the server");
    for _ in 0..120 {
        sleep(100).await;
        let now = server_socket(&it.client_id()).await;
        if now.as_ref().is_some_and(|s| s["conn"] != first["conn"]) {
            break;
        }
    }
    let later = server_socket(&it.client_id())
        .await
        .expect("socket on the server");
    assert_ne!(
        later["conn"], first["conn"],
        "the socket was kept: {first} -> {later}"
    );
    assert_eq!(later["tags"], json!([second_tag]));
    // The rebuilt socket subscribes with the new tags.
    wait_until_open(&it).await;
    publish(&second_tag, 2, 16).await;
    assert_eq!(take(&mut it, 2).await.len(), 2);
}

#[wasm_bindgen_test]
async fn rpc_calls_allowed_forbidden_and_nested() {
    let it = DurableIterator::<Value>::connect(options()).await.unwrap();
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
    assert_eq!(missing.code(), "NOT_FOUND", "{missing}");
    assert_eq!(missing.rpc().map(|e| e.status), Some(404));
    let invalid = it
        .rpc(["routerClient", "echo"])
        .call::<_, Value>(&json!({"text": 1}))
        .await
        .unwrap_err();
    assert_eq!(invalid.code(), "BAD_REQUEST", "{invalid}");
}

#[wasm_bindgen_test]
async fn close_ends_the_stream_and_the_socket() {
    let mut it = DurableIterator::<Value>::connect(options()).await.unwrap();
    wait_until_open(&it).await;
    let client_id = it.client_id();
    assert!(server_socket(&client_id).await.is_some());
    it.close();
    let end = futures_util::future::select(it.next(), Box::pin(sleep(3_000))).await;
    assert!(
        matches!(end, futures_util::future::Either::Left((None, _))),
        "stream did not end"
    );
    for _ in 0..50 {
        if server_socket(&client_id).await.is_none() {
            return;
        }
        sleep(20).await;
    }
    panic!("the server still holds the socket after close");
}

#[wasm_bindgen_test]
async fn an_expired_token_without_refresh_ends_with_token_expired() {
    let opened = Rc::new(Cell::new(0u32));
    let counter = opened.clone();
    let mut it = DurableIterator::<Value>::connect(
        options()
            .input(&json!({"ttlSeconds": 1}))
            .unwrap()
            .on_notice(move |notice| {
                if matches!(
                    notice,
                    durable_iterator_wasm::Notice::State(
                        durable_iterator_wasm::ConnectionState::Open
                    )
                ) {
                    counter.set(counter.get() + 1);
                }
            }),
    )
    .await
    .unwrap();
    let end = futures_util::future::select(it.next(), Box::pin(sleep(8_000))).await;
    let futures_util::future::Either::Left((Some(Err(error)), _)) = end else {
        panic!("expected a TokenExpired error");
    };
    assert_eq!(error.code(), "TOKEN_EXPIRED", "{error}");
    assert!(it.next().await.is_none());
    assert_eq!(opened.get(), 1, "reconnected with a dead token");
}
