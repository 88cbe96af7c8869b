//! Resume storage: integer ids, replay after `last-event-id` in integer order with the event's
//! recipients rule, no gap and no duplicate against concurrent publishes, retention, restart.

mod common;

use std::time::Duration;

use common::{config, resume_config, TestServer, ROOM};
use durable_iterator_protocol::RichBody;
use durable_iterator_server::{DbLocation, PublishOptions, Recipients};
use futures_util::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

fn publish_n(server: &TestServer, n: u64) -> (u64, u64) {
    let payloads: Vec<RichBody> = (0..n).map(|k| RichBody::plain(json!({"k": k}))).collect();
    let receipt = server
        .server
        .publish_events(ROOM, &payloads, &PublishOptions::everyone());
    (receipt.first_id.unwrap(), receipt.last_id.unwrap())
}

#[tokio::test]
async fn without_retention_events_have_no_id_and_nothing_replays() {
    let server = TestServer::start(config()).await;
    let mut client = server.connect("plain").await;
    let sub = client.subscribe(None).await;
    server.server.publish_event(
        ROOM,
        RichBody::plain(json!({"message": "hi"})),
        PublishOptions::everyone(),
    );
    assert_eq!(
        client.recv().await,
        format!(r#"{{"i":"{sub}","t":3,"p":{{"e":"message","d":{{"json":{{"message":"hi"}}}}}}}}"#)
    );
    let mut late = server.connect("late").await;
    late.subscribe(Some("0")).await;
    late.expect_silence(200).await;
}

#[tokio::test]
async fn replay_is_in_integer_order_then_live() {
    let server = TestServer::start(resume_config(60)).await;
    assert_eq!(publish_n(&server, 12), (1, 12));

    // The upstream object replays 10, 11, 12, 5..9 here (text order); we do not.
    let mut client = server.connect("resumer").await;
    let sub = client.subscribe(Some("4")).await;
    assert_eq!(
        client.recv().await,
        format!(
            r#"{{"i":"{sub}","t":3,"p":{{"e":"message","d":{{"json":{{"k":4}}}},"m":{{"id":"5"}}}}}}"#
        )
    );
    for id in 6..=12 {
        assert_eq!(
            client.event(&sub).await.1.as_deref(),
            Some(id.to_string().as_str())
        );
    }
    assert_eq!(publish_n(&server, 1), (13, 13));
    assert_eq!(client.event(&sub).await.1.as_deref(), Some("13"));
    client.expect_silence(100).await;

    // Without last-event-id there is no replay; odd ids read like upstream's SQL comparison.
    let mut fresh = server.connect("fresh").await;
    fresh.subscribe(None).await;
    fresh.expect_silence(100).await;
    let mut text = server.connect("text").await;
    text.subscribe(Some("abc")).await;
    text.expect_silence(100).await;
    let mut all = server.connect("all").await;
    let sub = all.subscribe(Some("-1")).await;
    assert_eq!(all.event(&sub).await.1.as_deref(), Some("1"));
}

#[tokio::test]
async fn replay_applies_each_event_rule_to_the_resuming_socket() {
    let server = TestServer::start(resume_config(60)).await;
    let publish = |tag: &str, options: PublishOptions| {
        server
            .server
            .publish_event(ROOM, RichBody::plain(json!(tag)), options)
            .first_id
    };
    publish("all", PublishOptions::everyone());
    publish("red", PublishOptions::tags(["red"]));
    publish(
        "to-x",
        PublishOptions {
            targets: Some(Recipients::ids(["x"])),
            ..Default::default()
        },
    );
    publish(
        "not-x",
        PublishOptions {
            exclude: Some(Recipients::ids(["x"])),
            ..Default::default()
        },
    );
    // A predicate is resolved at publish time: nobody is connected, so nobody is targeted.
    publish(
        "pred",
        PublishOptions {
            targets: Some(Recipients::matching(|_| true)),
            ..Default::default()
        },
    );

    let replay = |id: &'static str, tags: Option<Vec<String>>| {
        let server = &server;
        async move {
            let token = server.token(|p| p.tags = tags);
            let mut client = server.connect_with(id, &token).await;
            let sub = client.subscribe(Some("0")).await;
            let mut got = Vec::new();
            while let Ok(frame) =
                tokio::time::timeout(Duration::from_millis(300), client.recv_json()).await
            {
                assert_eq!(frame["i"], sub.as_str());
                got.push(frame["p"]["d"]["json"].as_str().unwrap().to_owned());
            }
            got
        }
    };
    assert_eq!(
        replay("x", Some(vec!["red".into()])).await,
        ["all", "red", "to-x"]
    );
    assert_eq!(replay("y", None).await, ["all", "not-x"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribing_during_publishes_loses_and_repeats_nothing() {
    let server = TestServer::start(resume_config(60)).await;
    const TOTAL: u64 = 3000;
    const RESUME_FROM: u64 = 100;
    publish_n(&server, 500);

    let publisher = {
        let server = server.server.clone();
        tokio::spawn(async move {
            for k in 500..TOTAL {
                if k == 1000 {
                    // Make sure the socket is there while two thirds are still to come.
                    while server.sockets(ROOM).is_empty() {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
                server.publish_event(
                    ROOM,
                    RichBody::plain(json!({"k": k})),
                    PublishOptions::everyone(),
                );
                if k % 16 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        })
    };
    // Subscribe while the publisher runs; the replay and the live tail must join exactly.
    let mut client = server.connect("racer").await;
    let sub = client.subscribe(Some(&RESUME_FROM.to_string())).await;
    let mut expected = RESUME_FROM + 1;
    while expected <= TOTAL {
        let (_, id) = client.event(&sub).await;
        assert_eq!(
            id,
            Some(expected.to_string()),
            "ids arrive in order without gap or repeat"
        );
        expected += 1;
    }
    publisher.await.unwrap();
    client.expect_silence(100).await;
}

#[tokio::test]
async fn events_older_than_the_retention_are_not_replayed() {
    let server = TestServer::start(resume_config(1)).await;
    publish_n(&server, 2);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        publish_n(&server, 1),
        (3, 3),
        "ids keep counting past expired events"
    );
    let mut client = server.connect("late").await;
    let sub = client.subscribe(Some("0")).await;
    assert_eq!(client.event(&sub).await.1.as_deref(), Some("3"));
    client.expect_silence(100).await;
}

#[tokio::test]
async fn events_survive_a_restart_within_retention() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nested").join("events.sqlite3");
    let mut config = resume_config(60);
    config.db = DbLocation::File(file.clone());

    let first = TestServer::start(config.clone()).await;
    assert_eq!(publish_n(&first, 5), (1, 5));
    drop(first);

    let second = TestServer::start(config).await;
    let mut client = second.connect("after-restart").await;
    let sub = client.subscribe(Some("2")).await;
    for id in 3..=5 {
        assert_eq!(client.event(&sub).await.1, Some(id.to_string()));
    }
    assert_eq!(
        publish_n(&second, 1),
        (6, 6),
        "ids continue after the restart"
    );
    assert_eq!(client.event(&sub).await.1.as_deref(), Some("6"));
    assert!(file.exists());
}

/// Clients tell that a replay is complete by a request sent after the stream head (oRPC's
/// object sends the whole replay in the turn that sends the head): its answer must come after
/// every replayed event, in both modes, even when the request is already waiting.
#[tokio::test]
async fn the_replay_goes_out_before_the_answer_to_a_later_request() {
    for server_config in [resume_config(60), common::upstream(resume_config(60))] {
        let server = TestServer::start(server_config).await;
        let (_, last) = publish_n(&server, 300);
        let mut client = server.connect("barrier").await;
        // Pipelined in one write: the barrier waits in the socket while the subscribe is
        // handled (a stricter order than a client that waits for the stream head).
        let subscribe = r#"{"i":"s","p":{"u":"/subscribe","b":{},"h":{"last-event-id":"0"}}}"#;
        let barrier = r#"{"i":"b","p":{"u":"/__barrier","b":{}}}"#;
        for text in [subscribe, barrier] {
            client.ws.feed(Message::text(text)).await.unwrap();
        }
        client.ws.flush().await.unwrap();
        let head = client.recv_json().await;
        assert_eq!(head["i"], "s");
        let mut replayed = 0;
        loop {
            let frame = client.recv_json().await;
            if frame["i"] == "b" {
                assert_eq!(frame["p"]["s"], 404);
                break;
            }
            assert_eq!(frame["t"], 3, "{frame}");
            replayed += 1;
        }
        assert_eq!(replayed, last, "every replayed event precedes the answer");
    }
}
