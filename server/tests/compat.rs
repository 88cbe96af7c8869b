//! `--compat upstream`: the real oRPC 1.x object's behaviour where it differs from ours
//! (PROTOCOL.md section 10), so clients can be tested against it. Checked against oRPC 1.x
//! `packages/durable-iterator/src/`: resume storage orders by `CAST(id AS TEXT) as id`; the
//! handler calls `closeIfExpired` on each received message and before each send; `/call` does
//! `get(router, path)(input)` (an unknown path throws: 500) under a schema whose `input` key is
//! required (`v.unknown()`).

mod common;

use common::{config, now, resume_config, token, upstream, Client, TestServer, ROOM, WAIT};
use durable_iterator_protocol::RichBody;
use durable_iterator_server::PublishOptions;
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

fn publish(server: &TestServer, value: Value) {
    server
        .server
        .publish_event(ROOM, RichBody::plain(value), PublishOptions::everyone());
}

#[tokio::test]
async fn replay_is_in_text_order_of_ids_then_live() {
    let server = TestServer::start(upstream(resume_config(60))).await;
    for seq in 1..=1001 {
        publish(&server, json!(seq));
    }
    let mut client = server.connect("text-order").await;
    let sub = client.subscribe(Some("8")).await;
    let mut expected: Vec<String> = (9..=1001).map(|id: u64| id.to_string()).collect();
    expected.sort();
    // Crossing 9->10, 99->100 and 999->1000: "10" < "9", "100" < "99", "1000" < "999".
    let position = |id: &str| expected.iter().position(|e| e == id).unwrap();
    assert!(position("10") < position("9"));
    assert!(position("100") < position("99") && position("101") < position("99"));
    assert!(position("1000") < position("999"));
    for id in &expected {
        let (data, event_id) = client.event(&sub).await;
        assert_eq!(event_id.as_deref(), Some(id.as_str()));
        assert_eq!(data, json!(id.parse::<u64>().unwrap()));
    }
    publish(&server, json!("live"));
    assert_eq!(
        client.event(&sub).await,
        (json!("live"), Some("1002".to_owned()))
    );
}

/// The next message must be the 1008 close: the event that met the expiry is not sent.
async fn expect_expired_close(client: &mut Client) {
    match tokio::time::timeout(WAIT, client.ws.next()).await {
        Ok(Some(Ok(Message::Close(Some(frame))))) => {
            assert_eq!(
                (u16::from(frame.code), frame.reason.as_str()),
                (1008, "Token expired")
            );
        }
        other => panic!("expected the 1008 close, got {other:?}"),
    }
}

/// Opens a subscribed socket whose token expires in about a second, and shows it serves until
/// then; returns it and its `exp`.
async fn short_lived(server: &TestServer, id: &str) -> (Client, String, f64) {
    let exp = now() + 1.0;
    let mut client = server.connect_with(id, &token(|p| p.exp = exp)).await;
    let sub = client.subscribe(None).await;
    publish(server, json!("before"));
    assert_eq!(client.event(&sub).await.0, json!("before"));
    // Idle past exp: upstream leaves the socket open.
    let idle = (exp - now() + 1.0).max(0.0);
    client.expect_silence((idle * 1000.0) as u64).await;
    assert!(now() > exp + 0.5);
    assert_eq!(server.server.sockets(ROOM).len(), 1, "still open after exp");
    (client, sub, exp)
}

#[tokio::test]
async fn an_expired_socket_closes_on_its_next_send() {
    let server = TestServer::start(upstream(resume_config(60))).await;
    let (mut client, _sub, _) = short_lived(&server, "lazy-send").await;
    publish(&server, json!("after"));
    expect_expired_close(&mut client).await;
    server
        .wait_sockets("the expired socket to go", |s| s.is_empty())
        .await;
}

#[tokio::test]
async fn an_expired_socket_closes_on_its_next_receive() {
    let server = TestServer::start(upstream(config())).await;
    let (mut client, _sub, _) = short_lived(&server, "lazy-receive").await;
    let id = client.id();
    client
        .send_json(json!({"i": id, "p": {"u": "/call", "b": {"json": {"path": ["routerClient", "ping"], "input": null}, "meta": [[3, "input"]]}}}))
        .await;
    expect_expired_close(&mut client).await;
}

fn status_and_code(frame: &str) -> (u64, String) {
    let frame: Value = serde_json::from_str(frame).expect("JSON answer");
    (
        frame["p"]["s"].as_u64().unwrap_or(200),
        frame["p"]["b"]["json"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

#[tokio::test]
async fn unknown_nested_path_is_500_and_call_without_input_is_400() {
    let server = TestServer::start(upstream(config())).await;
    let mut client = server.connect("errors").await;
    let undefined_input =
        |path: Value| json!({"json": {"path": path, "input": null}, "meta": [[3, "input"]]});

    let frame = client
        .request("/call", undefined_input(json!(["routerClient", "nope"])))
        .await;
    assert_eq!(
        status_and_code(&frame),
        (500, "INTERNAL_SERVER_ERROR".to_owned()),
        "{frame}"
    );

    let frame = client
        .request("/call", json!({"json": {"path": ["routerClient", "ping"]}}))
        .await;
    assert_eq!(
        status_and_code(&frame),
        (400, "BAD_REQUEST".to_owned()),
        "{frame}"
    );

    // `"input": null` marked undefined is "no input", and works.
    let frame = client
        .request("/call", undefined_input(json!(["routerClient", "ping"])))
        .await;
    assert!(frame.ends_with(r#"{"b":{"json":"pong"}}}"#), "{frame}");
}

#[tokio::test]
async fn our_mode_keeps_404_and_optional_input() {
    let server = TestServer::start(config()).await;
    let mut client = server.connect("ours").await;
    let frame = client
        .request("/call", json!({"json": {"path": ["routerClient", "nope"]}}))
        .await;
    assert_eq!(status_and_code(&frame).0, 404, "{frame}");
    let frame = client
        .request("/call", json!({"json": {"path": ["routerClient", "ping"]}}))
        .await;
    assert!(frame.ends_with(r#"{"b":{"json":"pong"}}}"#), "{frame}");
}
