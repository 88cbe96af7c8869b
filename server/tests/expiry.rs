//! Token expiry: a socket is closed with 1008 "Token expired" once `exp` passes, idle or not;
//! `/updateToken` moves the deadline; what it missed stays in resume storage.

mod common;

use std::time::Duration;

use common::{now, resume_config, token, TestServer, ROOM};
use durable_iterator_protocol::RichBody;
use durable_iterator_server::PublishOptions;
use serde_json::json;
use tokio_tungstenite::tungstenite;

#[tokio::test]
async fn an_idle_socket_is_closed_when_its_token_expires() {
    let server = TestServer::start(resume_config(60)).await;
    let exp = now() + 1.2;
    let short = token(|p| p.exp = exp);
    let mut client = server.connect_with("idle", &short).await;
    let sub = client.subscribe(None).await;
    server.server.publish_event(
        ROOM,
        RichBody::plain(json!("before")),
        PublishOptions::everyone(),
    );
    assert_eq!(client.event(&sub).await.1.as_deref(), Some("1"));

    let (code, reason) = client.expect_close(Duration::from_secs(4)).await;
    assert_eq!((code, reason.as_str()), (1008, "Token expired"));
    assert!(now() >= exp, "not closed before exp");
    server
        .wait_sockets("the expired socket to go", |s| s.is_empty())
        .await;

    // The expired token is refused from now on, like upstream's endless 401s.
    match tokio_tungstenite::connect_async(server.ws_url("idle", &short)).await {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("expected 401, got {other:?}"),
    }

    // What was published after the close is kept for the client's next token.
    server.server.publish_event(
        ROOM,
        RichBody::plain(json!("after")),
        PublishOptions::everyone(),
    );
    let mut again = server.connect("idle").await;
    let sub = again.subscribe(Some("1")).await;
    assert_eq!(
        again.event(&sub).await,
        (json!("after"), Some("2".to_owned()))
    );
}

#[tokio::test]
async fn update_token_moves_the_deadline() {
    let server = TestServer::start(resume_config(60)).await;
    let mut client = server
        .connect_with("refresh", &token(|p| p.exp = now() + 1.0))
        .await;
    let sub = client.subscribe(None).await;
    let fresh = token(|p| p.exp = now() + 60.0);
    let frame = client
        .request("/updateToken", json!({"json": {"token": fresh}}))
        .await;
    assert!(frame.ends_with(r#""p":{"b":{}}}"#), "{frame}");

    // Well past the first token's expiry the socket is still open and serving.
    client.expect_silence(1500).await;
    server.server.publish_event(
        ROOM,
        RichBody::plain(json!("still here")),
        PublishOptions::everyone(),
    );
    assert_eq!(client.event(&sub).await.0, json!("still here"));

    // An expired token cannot be used to refresh.
    let stale = token(|p| {
        p.iat -= 100.0;
        p.exp = now() - 1.0;
    });
    let frame = client
        .request("/updateToken", json!({"json": {"token": stale}}))
        .await;
    assert!(frame.contains(r#""message":"Invalid Token""#), "{frame}");
}

#[tokio::test]
async fn a_shorter_refresh_shortens_the_deadline() {
    let server = TestServer::start(resume_config(60)).await;
    let mut client = server.connect("shorter").await;
    client.subscribe(None).await;
    let short = token(|p| p.exp = now() + 1.0);
    let frame = client
        .request("/updateToken", json!({"json": {"token": short}}))
        .await;
    assert!(frame.ends_with(r#""p":{"b":{}}}"#), "{frame}");
    let (code, reason) = client.expect_close(Duration::from_secs(4)).await;
    assert_eq!((code, reason.as_str()), (1008, "Token expired"));
}
