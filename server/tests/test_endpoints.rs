//! The test-only endpoints: absent by default; publish bursts, drop sockets, list sockets.

mod common;

use common::{config, resume_config, TestServer};
use serde_json::json;

const JSON: &[(&str, &str)] = &[("content-type", "application/json")];

#[tokio::test]
async fn they_are_absent_unless_enabled() {
    let mut off = config();
    off.test_endpoints = false;
    let server = TestServer::start(off).await;
    let body = r#"{"channel":"some-room","count":1,"size":10}"#;
    assert_eq!(
        server
            .http("POST", "/test/publish", JSON, Some(body))
            .await
            .status,
        404
    );
    assert_eq!(
        server
            .http("GET", "/test/sockets?channel=some-room", &[], None)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn publish_drop_and_sockets() {
    let server = TestServer::start(resume_config(60)).await;
    let mut client = server.connect("watcher").await;
    let sub = client.subscribe(None).await;

    let body = r#"{"channel":"some-room","count":3,"size":100}"#;
    let response = server.http("POST", "/test/publish", JSON, Some(body)).await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.json(),
        json!({"published": 3, "firstId": "1", "lastId": "3"})
    );
    for seq in 1..=3u64 {
        let (payload, id) = client.event(&sub).await;
        assert_eq!(payload["seq"], seq);
        assert_eq!(payload.to_string().len(), 100, "about `size` bytes");
        assert_eq!(id, Some(seq.to_string()));
    }

    let response = server
        .http("GET", "/test/sockets?channel=some-room", &[], None)
        .await;
    let sockets = response.json()["sockets"].clone();
    assert_eq!(sockets.as_array().unwrap().len(), 1);
    assert_eq!(sockets[0]["id"], "watcher");
    assert_eq!(sockets[0]["subscribed"], true);
    assert!(sockets[0]["conn"].as_u64().is_some());
    assert!(sockets[0]["exp"].as_f64().is_some());
    assert_eq!(sockets[0]["tags"], serde_json::Value::Null);

    let tagged = r#"{"channel":"some-room","count":1,"size":10,"tags":["nobody"]}"#;
    let response = server
        .http("POST", "/test/publish", JSON, Some(tagged))
        .await;
    assert_eq!(response.json()["firstId"], "4");
    client.expect_silence(200).await;

    let response = server
        .http(
            "POST",
            "/test/drop",
            JSON,
            Some(r#"{"channel":"some-room"}"#),
        )
        .await;
    assert_eq!(response.json(), json!({"dropped": 1}));
    client.expect_abrupt_end().await;

    let bad = server
        .http("POST", "/test/publish", JSON, Some(r#"{"count":1}"#))
        .await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn ids_are_null_without_resume_and_bursts_beyond_the_queue_arrive_whole() {
    let mut cfg = config();
    cfg.max_queued_events = 8;
    let server = TestServer::start(cfg).await;
    let mut client = server.connect("burst").await;
    let sub = client.subscribe(None).await;
    let reader = tokio::spawn(async move {
        for seq in 1..=500u64 {
            assert_eq!(client.event(&sub).await.0["seq"], seq);
        }
    });
    let body = r#"{"channel":"some-room","count":500,"size":64}"#;
    let response = server.http("POST", "/test/publish", JSON, Some(body)).await;
    assert_eq!(
        response.json(),
        json!({"published": 500, "firstId": null, "lastId": null})
    );
    // Paced: a reading client is never judged slow by a burst 60 times its queue.
    reader.await.unwrap();
    assert_eq!(server.server.sockets(common::ROOM).len(), 1);
}

#[tokio::test]
async fn drop_can_target_one_client() {
    let server = TestServer::start(config()).await;
    let mut kept = server.connect("kept").await;
    let kept_sub = kept.subscribe(None).await;
    let mut dropped = server.connect("dropped").await;
    dropped.subscribe(None).await;

    let response = server
        .http(
            "POST",
            "/test/drop",
            JSON,
            Some(r#"{"channel":"some-room","id":"dropped"}"#),
        )
        .await;
    assert_eq!(response.json(), json!({"dropped": 1}));
    dropped.expect_abrupt_end().await;

    let burst = r#"{"channel":"some-room","count":1,"size":10}"#;
    server
        .http("POST", "/test/publish", JSON, Some(burst))
        .await;
    assert_eq!(kept.event(&kept_sub).await.0["seq"], 1);
}
