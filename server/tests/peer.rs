//! The object's procedures on the socket, frame by frame against the recorded upstream probes
//! (vectors/upstream/upstream-ws-probes.json and the transcripts).

mod common;

use common::{config, token, TestServer};
use durable_iterator_protocol::RichBody;
use durable_iterator_server::PublishOptions;
use futures_util::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn probes_get_the_recorded_answers() {
    let server = TestServer::start(config()).await;
    let mut client = server.connect("probe").await;

    client
        .send(r#"{"i":"1","p":{"u":"/call","b":{"json":{"path":["publish"],"input":{"message":"x"}}}}}"#)
        .await;
    assert_eq!(
        client.recv().await,
        r#"{"i":"1","p":{"s":403,"b":{"json":{"defined":false,"code":"FORBIDDEN","status":403,"message":"Method \"publish\" is not allowed."}}}}"#
    );

    client
        .send(r#"{"i":"4","p":{"u":"/updateToken","b":{"json":{"token":"garbage"}}}}"#)
        .await;
    assert_eq!(
        client.recv().await,
        r#"{"i":"4","p":{"s":401,"b":{"json":{"defined":false,"code":"UNAUTHORIZED","status":401,"message":"Invalid Token"}}}}"#
    );

    let tagged = token(|p| p.tags = Some(vec!["a".into()]));
    let frame = client
        .request("/updateToken", json!({"json": {"token": tagged}}))
        .await;
    assert!(
        frame.ends_with(r#""p":{"s":401,"b":{"json":{"defined":false,"code":"UNAUTHORIZED","status":401,"message":"Updated token must have the exact same tags with the original token"}}}}"#),
        "{frame}"
    );

    let same = token(|_| {});
    client
        .send(
            &json!({"i": "6", "p": {"u": "/updateToken", "b": {"json": {"token": same}}}})
                .to_string(),
        )
        .await;
    assert_eq!(client.recv().await, r#"{"i":"6","p":{"b":{}}}"#);

    client.send(r#"{"i":"7","p":{"u":"/nope","b":{}}}"#).await;
    assert_eq!(
        client.recv().await,
        r#"{"i":"7","p":{"s":404,"b":"No procedure matched"}}"#
    );

    client
        .send(r#"{"i":"8","p":{"u":"/subscribe","m":"GET"}}"#)
        .await;
    assert_eq!(
        client.recv().await,
        r#"{"i":"8","p":{"h":{"content-type":"text/event-stream"}}}"#
    );

    client
        .send(r#"{"i":"9","p":{"u":"/subscribe","b":{}}}"#)
        .await;
    assert_eq!(
        client.recv().await,
        r#"{"i":"9","p":{"h":{"content-type":"text/event-stream"}}}"#
    );

    client.send(r#"{"i":"9","t":4}"#).await;
    client.expect_silence(200).await;
}

#[tokio::test]
async fn calls_reach_nested_procedures_with_or_without_input() {
    let server = TestServer::start(config()).await;
    let mut client = server.connect("caller").await;

    // Upstream answers 400 to a call without `input`; we treat it as "no input".
    client
        .send(r#"{"i":"2","p":{"u":"/call","b":{"json":{"path":["routerClient","ping"]}}}}"#)
        .await;
    assert_eq!(
        client.recv().await,
        r#"{"i":"2","p":{"b":{"json":"pong"}}}"#
    );
    client
        .send(r#"{"i":"3","p":{"u":"/call","b":{"json":{"path":["routerClient","ping"],"input":null},"meta":[[3,"input"]]}}}"#)
        .await;
    assert_eq!(
        client.recv().await,
        r#"{"i":"3","p":{"b":{"json":"pong"}}}"#
    );
    client
        .send(r#"{"i":"4","p":{"u":"/call","b":{"json":{"path":["routerClient","echo"],"input":{"text":"Hello"}}}}}"#)
        .await;
    assert_eq!(
        client.recv().await,
        r#"{"i":"4","p":{"b":{"json":"Echo: Hello"}}}"#
    );

    // Bad input: BAD_REQUEST with valibot-like issues.
    let frame = client
        .request(
            "/call",
            json!({"json": {"path": ["routerClient", "echo"], "input": {"text": 1}}}),
        )
        .await;
    let frame: serde_json::Value = serde_json::from_str(&frame).unwrap();
    let error = &frame["p"]["b"]["json"];
    assert_eq!(frame["p"]["s"], 400);
    assert_eq!(error["code"], "BAD_REQUEST");
    assert_eq!(error["message"], "Input validation failed");
    assert_eq!(
        error["data"]["issues"][0]["message"],
        "Invalid type: Expected string but received 1"
    );

    // A path that names no procedure is NOT_FOUND, never a crash (upstream: 500).
    for path in [
        json!(["routerClient", "nope"]),
        json!(["routerClient"]),
        json!(["singleClient", "x"]),
    ] {
        let frame = client
            .request("/call", json!({"json": {"path": path, "input": null}}))
            .await;
        let frame: serde_json::Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(frame["p"]["s"], 404, "{frame}");
        assert_eq!(frame["p"]["b"]["json"]["code"], "NOT_FOUND", "{frame}");
    }
    // An allowed method the object does not have is NOT_FOUND too.
    let mut odd = server
        .connect_with("odd", &token(|p| p.rpc = Some(vec!["missing".into()])))
        .await;
    let frame = odd
        .request("/call", json!({"json": {"path": ["missing"]}}))
        .await;
    assert!(frame.contains(r#""s":404"#), "{frame}");

    // A call whose body is not {path: [string, ...]} is a validation error.
    for body in [
        json!({"json": {"path": []}}),
        json!({"json": {"path": [1]}}),
        json!({}),
    ] {
        let frame = client.request("/call", body).await;
        assert!(
            frame.contains(r#""s":400"#) && frame.contains("Input validation failed"),
            "{frame}"
        );
    }

    // A body whose meta points nowhere is malformed.
    let frame = client
        .request(
            "/call",
            json!({"json": {"path": ["routerClient", "ping"]}, "meta": [[1, "nowhere"]]}),
        )
        .await;
    assert!(
        frame.contains(r#""s":400"#) && frame.contains("Malformed request"),
        "{frame}"
    );

    // Binary frames carry the same JSON.
    client
        .ws
        .send(Message::binary(
            br#"{"i":"b1","p":{"u":"/call","b":{"json":{"path":["routerClient","ping"]}}}}"#
                .to_vec(),
        ))
        .await
        .unwrap();
    assert_eq!(
        client.recv().await,
        r#"{"i":"b1","p":{"b":{"json":"pong"}}}"#
    );

    // Frames that are not messages are ignored; the socket stays usable.
    client.send("not json").await;
    client.send(r#"{"p":{}}"#).await;
    client.send(r#"{"i":"x","t":9}"#).await;
    let frame = client
        .request("/call", json!({"json": {"path": ["routerClient", "ping"]}}))
        .await;
    assert!(frame.ends_with(r#""p":{"b":{"json":"pong"}}}"#), "{frame}");
}

#[tokio::test]
async fn single_client_publishes_to_everyone_but_the_sender() {
    let server = TestServer::start(config()).await;
    let mut sender = server.connect("sender").await;
    let mut other = server.connect("other").await;
    let sender_sub = sender.subscribe(None).await;
    let other_sub = other.subscribe(None).await;

    sender
        .send(r#"{"i":"5","p":{"u":"/call","b":{"json":{"path":["singleClient"],"input":{"message":"x"}}}}}"#)
        .await;
    assert_eq!(sender.recv().await, r#"{"i":"5","p":{"b":{}}}"#);
    // Resume is off: the event carries no id, like upstream.
    assert_eq!(
        other.recv().await,
        format!(
            r#"{{"i":"{other_sub}","t":3,"p":{{"e":"message","d":{{"json":{{"message":"x"}}}}}}}}"#
        )
    );
    sender.expect_silence(200).await;

    // The sender still gets events from others.
    server.server.publish_event(
        common::ROOM,
        RichBody::plain(json!({"n": 1})),
        PublishOptions::everyone(),
    );
    assert_eq!(sender.event(&sender_sub).await.0, json!({"n": 1}));
}

#[tokio::test]
async fn update_token_keeps_the_socket_and_checks_channel_and_tags() {
    let server = TestServer::start(config()).await;
    let mut client = server.connect("refresher").await;
    let sub = client.subscribe(None).await;
    server
        .wait_sockets("one subscribed socket", |s| s.len() == 1 && s[0].subscribed)
        .await;
    let before = server.server.sockets(common::ROOM)[0].clone();

    let other_room = token(|p| p.chn = "other-room".into());
    let frame = client
        .request("/updateToken", json!({"json": {"token": other_room}}))
        .await;
    assert!(
        frame.contains("Updated token must have the same channel with the original token"),
        "{frame}"
    );

    let later = token(|p| {
        p.exp += 600.0;
        p.att = Some(json!({"userId": "u2"}));
    });
    let frame = client
        .request("/updateToken", json!({"json": {"token": later}}))
        .await;
    assert!(frame.ends_with(r#""p":{"b":{}}}"#), "{frame}");
    let after = server.server.sockets(common::ROOM)[0].clone();
    assert_eq!(after.conn, before.conn, "same socket");
    assert!(after.subscribed, "still subscribed");
    assert_eq!(after.exp, before.exp + 600.0);
    assert_eq!(after.att, Some(json!({"userId": "u2"})));

    // The stream is untouched by the refresh.
    server.server.publish_event(
        common::ROOM,
        RichBody::plain(json!({"after": "refresh"})),
        PublishOptions::everyone(),
    );
    assert_eq!(client.event(&sub).await.0, json!({"after": "refresh"}));

    // Missing token input is a validation error, not a crash.
    let frame = client.request("/updateToken", json!({})).await;
    assert!(frame.contains(r#""s":400"#), "{frame}");
}

#[tokio::test]
async fn abort_ends_the_stream_and_ids_in_use_are_ignored() {
    let server = TestServer::start(config()).await;
    let mut client = server.connect("aborter").await;
    let sub = client.subscribe(None).await;

    // A second request with the open stream's id is ignored.
    client
        .send(&json!({"i": sub, "p": {"u": "/subscribe", "b": {}}}).to_string())
        .await;
    client.expect_silence(200).await;
    server.server.publish_event(
        common::ROOM,
        RichBody::plain(json!(1)),
        PublishOptions::everyone(),
    );
    assert_eq!(client.event(&sub).await.0, json!(1));
    client.expect_silence(100).await;

    // A new subscription replaces the old one: events follow the new id only.
    let second = client.subscribe(None).await;
    server.server.publish_event(
        common::ROOM,
        RichBody::plain(json!(2)),
        PublishOptions::everyone(),
    );
    assert_eq!(client.event(&second).await.0, json!(2));
    client.expect_silence(100).await;

    client.send(&json!({"i": second, "t": 4}).to_string()).await;
    server
        .wait_sockets("the stream to end", |s| s.len() == 1 && !s[0].subscribed)
        .await;
    server.server.publish_event(
        common::ROOM,
        RichBody::plain(json!(3)),
        PublishOptions::everyone(),
    );
    client.expect_silence(200).await;
}

#[tokio::test]
async fn closing_the_socket_unregisters_it() {
    let server = TestServer::start(config()).await;
    let mut client = server.connect("leaver").await;
    client.subscribe(None).await;
    client.ws.close(None).await.unwrap();
    // The server answers the close frame at once.
    let (code, _) = client.expect_close(common::WAIT).await;
    assert_eq!(code, 1005);
    server.wait_sockets("no sockets", |s| s.is_empty()).await;
}

#[tokio::test]
async fn a_message_over_the_frame_limit_closes_with_1009() {
    let mut cfg = config();
    cfg.max_frame_bytes = 2048;
    let server = TestServer::start(cfg).await;
    let mut client = server.connect("big").await;
    let echo = |text: &str| json!({"i": "1", "p": {"u": "/call", "b": {"json": {"path": ["routerClient", "echo"], "input": {"text": text}}}}});
    client.send_json(echo(&"x".repeat(1500))).await;
    assert!(client.recv().await.contains("Echo: xxx"));
    client.send_json(echo(&"x".repeat(4096))).await;
    let (code, reason) = client.expect_close(common::WAIT).await;
    assert_eq!((code, reason.as_str()), (1009, "Message too big"));
}
