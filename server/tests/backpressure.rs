//! Bounded per-socket queues: a client that stops reading is closed (it may resume), and never
//! holds back the others. Also the other ways the server ends a socket.

mod common;

use std::time::Duration;

use common::{resume_config, TestServer, ROOM};
use durable_iterator_protocol::RichBody;
use durable_iterator_server::PublishOptions;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_socket_is_closed_and_the_others_keep_flowing() {
    let mut config = resume_config(60);
    config.max_queued_events = 4;
    let server = TestServer::start(config).await;

    let mut fast = server.connect("fast").await;
    let fast_sub = fast.subscribe(None).await;

    // The stalled client: a tiny receive window, and it never reads after subscribing.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(server.addr).await.unwrap();
    let url = server.ws_url("stalled", &server.token(|_| {}));
    let (mut stalled, _) = tokio_tungstenite::client_async(url, stream).await.unwrap();
    stalled
        .send(Message::text(r#"{"i":"1","p":{"u":"/subscribe","b":{}}}"#))
        .await
        .unwrap();
    server
        .wait_sockets("both subscribed", |s| {
            s.len() == 2 && s.iter().all(|s| s.subscribed)
        })
        .await;

    let pad = "x".repeat(32 * 1024);
    let mut kicked_after = None;
    for k in 0..600u64 {
        server.server.publish_event(
            ROOM,
            RichBody::plain(json!({"k": k, "pad": pad})),
            PublishOptions::everyone(),
        );
        // The fast client gets every event, in order, however stuck the other one is.
        let (payload, id) = fast.event(&fast_sub).await;
        assert_eq!(payload["k"], k);
        assert_eq!(id, Some((k + 1).to_string()));
        if kicked_after.is_none() && server.server.sockets(ROOM).len() == 1 {
            kicked_after = Some(k);
        }
    }
    let kicked_after = kicked_after.expect("the stalled socket was closed");
    assert_eq!(server.server.sockets(ROOM)[0].client_id, "fast");

    // What the stalled client did receive is an in-order prefix; then its connection ends.
    let mut expected = 1u64;
    loop {
        match tokio::time::timeout(Duration::from_secs(5), stalled.next())
            .await
            .expect("ends")
        {
            Some(Ok(Message::Text(text))) => {
                let frame: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
                if frame.get("t").is_some() {
                    assert_eq!(frame["p"]["m"]["id"], expected.to_string());
                    expected += 1;
                }
            }
            Some(Ok(Message::Close(frame))) => {
                if let Some(frame) = frame {
                    assert_eq!(u16::from(frame.code), 1013);
                }
                break;
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => break,
        }
    }
    assert!(
        expected - 1 <= kicked_after + 1,
        "nothing after the overflow reached it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_blocked_on_a_stalled_peer_still_ends_at_expiry() {
    let server = TestServer::start(resume_config(60)).await;
    // Far more than the socket buffers hold (replayed as one queue item, so nothing
    // overflows): the server's write to the stalled peer blocks.
    let pad = "x".repeat(32 * 1024);
    let events: Vec<RichBody> = (0..300u64)
        .map(|k| RichBody::plain(json!({"k": k, "pad": pad})))
        .collect();
    server
        .server
        .publish_events(ROOM, &events, &PublishOptions::everyone());

    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(server.addr).await.unwrap();
    let exp = common::now() + 2.0;
    let short = server.token(|p| p.exp = exp);
    let (mut stalled, _) =
        tokio_tungstenite::client_async(server.ws_url("stalled", &short), stream)
            .await
            .unwrap();
    stalled
        .send(Message::text(
            r#"{"i":"1","p":{"u":"/subscribe","b":{},"h":{"last-event-id":"0"}}}"#,
        ))
        .await
        .unwrap();
    server
        .wait_sockets("subscribed", |s| s.len() == 1 && s[0].subscribed)
        .await;
    if common::now() < exp - 0.5 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            server.server.sockets(ROOM).len(),
            1,
            "blocked, not closed, before exp"
        );
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !server.server.sockets(ROOM).is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the blocked socket outlived its token"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(common::now() >= exp, "not before exp");
    drop(stalled);
}

#[tokio::test]
async fn stopping_closes_with_going_away_and_drop_has_no_close_frame() {
    let server = TestServer::start(resume_config(60)).await;
    let mut leaving = server.connect("leaving").await;
    leaving.subscribe(None).await;
    assert_eq!(server.server.close_all(), 1);
    let (code, reason) = leaving.expect_close(common::WAIT).await;
    assert_eq!((code, reason.as_str()), (1001, "Server shutting down"));

    let mut dropped = server.connect("dropped").await;
    dropped.subscribe(None).await;
    server.wait_sockets("one socket", |s| s.len() == 1).await;
    assert_eq!(server.server.drop_sockets(ROOM), 1);
    dropped.expect_abrupt_end().await;
    server.wait_sockets("no sockets", |s| s.is_empty()).await;
}
