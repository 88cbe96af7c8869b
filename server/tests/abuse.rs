//! Abuse of the server over real sockets: bad tokens at the upgrade and in `/updateToken`,
//! RPC names and paths the token does not allow, oversized frames, thousands of sockets,
//! request floods, sockets that never read, and events that a socket's tags, targets or
//! exclusions rule out, live and in replay. Each is refused with upstream's status or
//! contained, and after each the server still serves a new client.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{config, resume_config, token, Client, TestServer, KEY, ROOM, WAIT};
use durable_iterator_protocol::{sign_token, RichBody, TokenPayload};
use durable_iterator_server::{PublishOptions, Recipients};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message;

const UPGRADE_HEADERS: &[(&str, &str)] = &[
    ("connection", "Upgrade"),
    ("upgrade", "websocket"),
    ("sec-websocket-version", "13"),
    ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
];

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The server still works: a fresh client connects, subscribes, gets an answer to a call and
/// a published event.
async fn assert_serving(server: &TestServer) {
    let mut client = server.connect("health-check").await;
    let sub = client.subscribe(None).await;
    let answer = client
        .request("/call", json!({"json": {"path": ["routerClient", "ping"]}}))
        .await;
    assert!(answer.ends_with(r#"{"b":{"json":"pong"}}}"#), "{answer}");
    server.server.publish_event(
        ROOM,
        RichBody::plain(json!({"health": true})),
        PublishOptions {
            targets: Some(Recipients::ids(["health-check"])),
            ..PublishOptions::default()
        },
    );
    let (payload, _) = client.event(&sub).await;
    assert_eq!(payload, json!({"health": true}));
    // Leave no socket behind for the test's later counts.
    client.ws.close(None).await.expect("close sent");
    server
        .wait_sockets("the health check gone", |s| {
            s.iter().all(|s| s.client_id != "health-check")
        })
        .await;
}

/// A token signed with the server's key whose payload is the raw `json` text.
fn signed_raw(payload_json: &str) -> String {
    durable_iterator_protocol::sign(payload_json, KEY)
}

/// The bad tokens of every kind, each with what makes it bad.
fn bad_tokens() -> Vec<(&'static str, String)> {
    let good = token(|_| {});
    let (payload, signature) = good.rsplit_once('.').expect("payload.signature");
    let mut flipped = signature.to_owned().into_bytes();
    flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).expect("base64url");
    vec![
        (
            "signed with another key",
            sign_token(
                &TokenPayload::new(ROOM, common::now(), 3600.0),
                "not-the-key",
            ),
        ),
        ("signature flipped", format!("{payload}.{flipped}")),
        (
            "signature cut short",
            format!("{payload}.{}", &signature[..10]),
        ),
        ("signature missing", format!("{payload}.")),
        ("no separator", payload.to_owned()),
        (
            "payload tampered: channel",
            format!("{}.{signature}", payload.replacen(ROOM, "other-room", 1)),
        ),
        (
            "payload tampered: expiry pushed out",
            format!(
                "{}.{signature}",
                payload.replacen("\"exp\":", "\"exp\":9", 1)
            ),
        ),
        (
            "payload tampered: more rpc methods",
            format!(
                "{}.{signature}",
                payload.replacen("\"rpc\":[", "\"rpc\":[\"publish\",", 1)
            ),
        ),
        (
            "payload tampered: whitespace only",
            format!("{}.{signature}", payload.replacen(':', ": ", 1)),
        ),
        (
            "expired",
            token(|p| {
                p.iat -= 7200.0;
                p.exp = p.iat + 60.0;
            }),
        ),
        ("validly signed, not JSON", signed_raw("not json")),
        (
            "validly signed, no channel",
            signed_raw(r#"{"iat":1,"exp":9999999999}"#),
        ),
        (
            "validly signed, tags null",
            signed_raw(r#"{"chn":"some-room","tags":null,"iat":1,"exp":9999999999}"#),
        ),
        (
            "validly signed, exp a string",
            signed_raw(r#"{"chn":"some-room","iat":1,"exp":"9999999999"}"#),
        ),
        (
            "validly signed, exp too large for a number",
            signed_raw(r#"{"chn":"some-room","iat":1,"exp":1e999}"#),
        ),
    ]
}

#[tokio::test]
async fn bad_tokens_are_refused_at_the_upgrade_with_401() {
    let server = TestServer::start(config()).await;
    for (what, bad) in bad_tokens() {
        let path = format!("/chat-room?id=abuser&token={}", encode(&bad));
        let refused = server.http("GET", &path, UPGRADE_HEADERS, None).await;
        assert_eq!(
            (refused.status, refused.body.as_str()),
            (401, "Invalid Token"),
            "{what}"
        );
        // A real WebSocket client sees the same refusal.
        let error = tokio_tungstenite::connect_async(server.ws_url("abuser", &bad))
            .await
            .expect_err(what);
        assert!(
            matches!(&error, tokio_tungstenite::tungstenite::Error::Http(r) if r.status() == 401),
            "{what}: {error}"
        );
    }
    // A token far too long for a request line is refused by the HTTP layer, not a crash.
    let huge = "x".repeat(256 * 1024);
    let refused = server
        .http(
            "GET",
            &format!("/chat-room?id=abuser&token={huge}.sig"),
            UPGRADE_HEADERS,
            None,
        )
        .await;
    assert!((400..500).contains(&refused.status), "{}", refused.status);
    assert!(server.server.sockets(ROOM).is_empty());
    assert_serving(&server).await;
}

#[tokio::test]
async fn update_token_refuses_bad_tokens_and_keeps_the_socket_as_it_was() {
    let server = TestServer::start(config()).await;
    let original = token(|p| p.tags = Some(vec!["blue".into()]));
    let mut client = server.connect_with("holder", &original).await;
    let sub = client.subscribe(None).await;
    let exp_before = server.server.sockets(ROOM)[0].exp;

    let mut refusals = bad_tokens()
        .into_iter()
        .map(|(what, bad)| (what, bad, "Invalid Token"))
        .collect::<Vec<_>>();
    let other_channel = token(|p| {
        p.chn = "other-room".into();
        p.tags = Some(vec!["blue".into()]);
        p.exp += 600.0;
    });
    let other_tags = token(|p| {
        p.tags = Some(vec!["blue".into(), "red".into()]);
        p.exp += 600.0;
    });
    let no_tags = token(|p| p.exp += 600.0);
    let reordered = token(|p| {
        p.tags = Some(vec!["blue".into(), "blue".into()]);
        p.exp += 600.0;
    });
    const CHANNEL: &str = "Updated token must have the same channel with the original token";
    const TAGS: &str = "Updated token must have the exact same tags with the original token";
    refusals.push(("another channel", other_channel, CHANNEL));
    refusals.push(("more tags", other_tags, TAGS));
    refusals.push(("no tags", no_tags, TAGS));
    refusals.push(("tags repeated", reordered, TAGS));
    for (what, bad, message) in refusals {
        let frame: Value = serde_json::from_str(
            &client
                .request("/updateToken", json!({"json": {"token": bad}}))
                .await,
        )
        .expect("JSON answer");
        assert_eq!(frame["p"]["s"], 401, "{what}: {frame}");
        assert_eq!(frame["p"]["b"]["json"]["code"], "UNAUTHORIZED", "{what}");
        assert_eq!(frame["p"]["b"]["json"]["message"], message, "{what}");
    }
    // Inputs that are not `{token: string}` at all are validation errors, not crashes.
    for input in [
        json!(null),
        json!(5),
        json!({"token": 5}),
        json!({}),
        json!([]),
    ] {
        let frame: Value =
            serde_json::from_str(&client.request("/updateToken", json!({"json": input})).await)
                .expect("JSON answer");
        assert_eq!(frame["p"]["s"], 400, "{input}: {frame}");
    }

    // The socket still holds the original token and still gets its events.
    let sockets = server.server.sockets(ROOM);
    assert_eq!(sockets.len(), 1);
    assert_eq!(sockets[0].exp, exp_before);
    assert_eq!(sockets[0].tags, Some(vec!["blue".to_owned()]));
    server.server.publish_event(
        ROOM,
        RichBody::plain(json!("for blue")),
        PublishOptions::tags(["blue"]),
    );
    assert_eq!(client.event(&sub).await.0, json!("for blue"));
    assert_serving(&server).await;
}

#[tokio::test]
async fn rpc_names_outside_the_token_and_hostile_paths_are_refused() {
    let server = TestServer::start(config()).await;
    let mut client = server.connect("caller").await;
    let call = |path: Value| json!({"json": {"path": path, "input": {"text": "x"}}});
    let status_and_message = |frame: &str| -> (u64, String) {
        let frame: Value = serde_json::from_str(frame).expect("JSON answer");
        (
            frame["p"]["s"].as_u64().unwrap_or(200),
            frame["p"]["b"]["json"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    };
    // Methods the token does not list: FORBIDDEN, as upstream.
    for method in [
        "publish",
        "__proto__",
        "constructor",
        "prototype",
        "toString",
        "",
        "routerclient",
    ] {
        let frame = client.request("/call", call(json!([method]))).await;
        assert_eq!(
            status_and_message(&frame),
            (403, format!("Method \"{method}\" is not allowed.")),
            "{method}"
        );
    }
    // Nested paths under an allowed method that name nothing: NOT_FOUND (upstream: 500).
    for path in [
        json!(["routerClient", "__proto__"]),
        json!(["routerClient", "constructor"]),
        json!(["routerClient", "__proto__", "polluted"]),
        json!(["routerClient", ""]),
        json!(["routerClient"]),
        json!(["routerClient", "ping", "extra"]),
        json!(["singleClient", "nested"]),
    ] {
        let frame = client.request("/call", call(path.clone())).await;
        assert_eq!(status_and_message(&frame).0, 404, "{path}: {frame}");
    }
    // Paths that are not a list of strings: BAD_REQUEST.
    for path in [
        json!([]),
        json!("routerClient"),
        json!([1]),
        json!(null),
        json!({"0": "ping"}),
    ] {
        let frame = client.request("/call", call(path.clone())).await;
        assert_eq!(status_and_message(&frame).0, 400, "{path}: {frame}");
    }
    // A token that lists such names itself (a careless app) still reaches no hidden method.
    let careless = token(|p| {
        p.rpc = Some(vec!["__proto__".into(), "constructor".into(), "".into()]);
    });
    let mut careless_client = server.connect_with("careless", &careless).await;
    for method in ["__proto__", "constructor", ""] {
        let frame = careless_client
            .request("/call", call(json!([method])))
            .await;
        assert_eq!(status_and_message(&frame).0, 404, "{method}: {frame}");
    }
    // Request paths that name no procedure: the bare 404 string, like upstream.
    for url in [
        "/__proto__",
        "/constructor",
        "",
        "/",
        "//call",
        "/subscribe/x",
    ] {
        let frame = client.request(url, json!({})).await;
        assert!(
            frame.ends_with(r#""p":{"s":404,"b":"No procedure matched"}}"#),
            "{url:?}: {frame}"
        );
    }
    assert_serving(&server).await;
}

#[tokio::test]
async fn messages_over_one_mib_close_with_1009_and_the_others_carry_on() {
    let server = TestServer::start(config()).await;
    let mut bystander = server.connect("bystander").await;
    let bystander_sub = bystander.subscribe(None).await;

    // Just under the default limit (1 MiB): answered.
    let mut client = server.connect("big").await;
    let echo = |text: &str| json!({"i": "1", "p": {"u": "/call", "b": {"json": {"path": ["routerClient", "echo"], "input": {"text": text}}}}});
    client.send_json(echo(&"x".repeat(1024 * 1024 - 200))).await;
    assert!(client.recv().await.contains("Echo: xxx"));
    // Over it, as text and as binary: closed with 1009 before the server reads it all.
    for oversized in [
        Message::text(echo(&"x".repeat(1024 * 1024 + 1)).to_string()),
        Message::binary(vec![b'{'; 4 * 1024 * 1024]),
    ] {
        let mut abuser = server.connect("abuser").await;
        // The server may close before the whole message is out: a failed send is fine.
        let _ = abuser.ws.send(oversized).await;
        let (code, reason) = abuser.expect_close(WAIT).await;
        assert_eq!((code, reason.as_str()), (1009, "Message too big"));
    }
    server
        .wait_sockets("the abusers gone", |s| {
            s.iter().all(|s| s.client_id != "abuser")
        })
        .await;
    server
        .server
        .publish_event(ROOM, RichBody::plain(json!(1)), PublishOptions::everyone());
    assert_eq!(bystander.event(&bystander_sub).await.0, json!(1));
    assert_serving(&server).await;
}

/// A server whose sockets have small, fixed kernel buffers (accepted sockets inherit the
/// listener's), so that tests about backpressure do not depend on how far the machine's
/// autotuning lets buffers grow (here up to 4 MiB sent and 32 MiB received per socket).
async fn small_buffer_server(config: durable_iterator_server::Config) -> TestServer {
    let listener = TcpSocket::new_v4().unwrap();
    listener.set_recv_buffer_size(4096).unwrap();
    listener.set_send_buffer_size(4096).unwrap();
    listener.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    TestServer::start_on(config, listener.listen(1024).unwrap()).await
}

/// Raises this process's open-file limit to at least `wanted` (up to the hard limit); returns
/// the soft limit now in force.
fn raise_fd_limit(wanted: u64) -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        if limit.rlim_cur < wanted {
            let raised = libc::rlimit {
                rlim_cur: wanted.min(limit.rlim_max),
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit.rlim_cur = raised.rlim_cur;
            }
        }
    }
    limit.rlim_cur
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_open_sockets_and_a_new_client_is_still_served() {
    const SOCKETS: usize = 2_000;
    // Each socket costs two descriptors here (client and server end), plus some slack.
    let limit = raise_fd_limit(2 * SOCKETS as u64 + 512);
    assert!(
        limit >= 2 * SOCKETS as u64 + 256,
        "need {} open files, the hard limit allows {limit}",
        2 * SOCKETS + 256
    );
    let server = TestServer::start(config()).await;
    let url = server.ws_url("crowd", &server.token(|_| {}));
    let small = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let mut crowd = Vec::with_capacity(SOCKETS);
    for batch in 0..SOCKETS / 200 {
        let opening = (0..200).map(|i| {
            let url = url.replace("id=crowd", &format!("id=crowd-{}", batch * 200 + i));
            async move {
                let (mut ws, _) =
                    tokio_tungstenite::connect_async_with_config(url, Some(small), true)
                        .await
                        .expect("upgrade accepted");
                ws.send(Message::text(r#"{"i":"1","p":{"u":"/subscribe","b":{}}}"#))
                    .await
                    .expect("subscribe sent");
                ws
            }
        });
        crowd.extend(futures_util::future::join_all(opening).await);
    }
    server
        .wait_sockets("every socket subscribed", |s| {
            s.len() == SOCKETS && s.iter().all(|s| s.subscribed)
        })
        .await;

    // A newcomer is served while all of them are open.
    assert_serving(&server).await;

    // And one publish reaches every one of them, once.
    let receipt = server.server.publish_event(
        ROOM,
        RichBody::plain(json!("all")),
        PublishOptions::everyone(),
    );
    assert_eq!(receipt.deliveries, SOCKETS);
    let reading = crowd.iter_mut().map(|ws| async move {
        loop {
            let frame = tokio::time::timeout(WAIT, ws.next())
                .await
                .expect("a frame in time")
                .expect("open")
                .expect("no error");
            let text = frame.into_text().expect("text");
            if text.contains(r#""t":3"#) {
                return text.contains(r#""json":"all""#);
            }
        }
    });
    let got = futures_util::future::join_all(reading).await;
    assert!(got.iter().all(|ok| *ok));
    drop(crowd);
    server
        .wait_sockets("the crowd gone", |s| s.is_empty())
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_flood_is_throttled_by_backpressure_and_the_others_stay_served() {
    const REQUESTS: usize = 10_000;
    // What TCP can park on the way is a few hundred messages: the flood must stall long
    // before its end.
    let server = small_buffer_server(config()).await;
    // The flooder never reads while it sends.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.set_send_buffer_size(4096).unwrap();
    let stream = socket.connect(server.addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let url = server.ws_url("flooder", &server.token(|_| {}));
    let (ws, _) = tokio_tungstenite::client_async(url, stream).await.unwrap();
    let (mut sink, mut source) = ws.split();
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let sender = tokio::spawn(async move {
        for i in 0..REQUESTS {
            let request = json!({"i": i.to_string(), "p": {"u": "/call", "b": {"json": {"path": ["routerClient", "ping"]}}}});
            sink.feed(Message::text(request.to_string()))
                .await
                .expect("send");
            counter.store(i + 1, Ordering::Relaxed);
        }
        sink.flush().await.expect("flush");
        sink
    });

    // The flood stalls: the server answers each request before reading the next, and the
    // answers cannot leave, so it stops reading and TCP pushes back. Nothing piles up.
    let mut last = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = sent.load(Ordering::Relaxed);
        if now == last {
            break;
        }
        last = now;
    }
    assert!(
        last < REQUESTS,
        "the server read all {REQUESTS} requests without the flooder reading an answer"
    );

    // Meanwhile everyone else is served.
    assert_serving(&server).await;

    // Once the flooder reads, every request is answered, in order, and the flood completes.
    for i in 0..REQUESTS {
        let frame = tokio::time::timeout(WAIT, source.next())
            .await
            .expect("an answer in time")
            .unwrap_or_else(|| panic!("closed at {i}"))
            .expect("no error");
        let text = frame.into_text().expect("text");
        assert_eq!(
            text.as_str(),
            format!(r#"{{"i":"{i}","p":{{"b":{{"json":"pong"}}}}}}"#)
        );
    }
    drop(sender.await.expect("the flood completes once read"));
    assert_serving(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_that_never_reads_is_closed_at_the_default_queue_bound() {
    let server = small_buffer_server(config()).await;
    let bound = server.server.config().max_queued_events;
    let mut reader = server.connect("reader").await;
    let reader_sub = reader.subscribe(None).await;
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(server.addr).await.unwrap();
    let url = server.ws_url("sleeper", &server.token(|_| {}));
    let (mut sleeper, _) = tokio_tungstenite::client_async(url, stream).await.unwrap();
    sleeper
        .send(Message::text(r#"{"i":"1","p":{"u":"/subscribe","b":{}}}"#))
        .await
        .unwrap();
    server
        .wait_sockets("both subscribed", |s| {
            s.len() == 2 && s.iter().all(|s| s.subscribed)
        })
        .await;

    // Publish past the bound while the reader keeps up: the sleeper is closed once its queue
    // is full, so what the server holds for it never exceeds the bound.
    let total = bound + 1024;
    // Large events, so that hardly any of the flood hides in kernel buffers.
    let pad = "p".repeat(16 * 1024);
    let mut overflowed_at = None;
    for k in 0..total {
        let receipt = server.server.publish_event(
            ROOM,
            RichBody::plain(json!({"k": k, "pad": pad})),
            PublishOptions::everyone(),
        );
        if receipt.overflowed > 0 {
            assert!(overflowed_at.is_none(), "closed once");
            overflowed_at = Some(k);
        }
        // Every event, in order, on the reader's stream (checked without parsing 16 KiB).
        let frame = reader.recv().await;
        let head =
            format!(r#"{{"i":"{reader_sub}","t":3,"p":{{"e":"message","d":{{"json":{{"k":{k},"#);
        assert!(frame.starts_with(&head), "event {k}");
    }
    let overflowed_at = overflowed_at.expect("the sleeper overflowed");
    // It held a full queue before it was closed, and not much more than that.
    assert!(
        (bound..total).contains(&overflowed_at),
        "overflow at event {overflowed_at} of {total}, bound {bound}"
    );
    server
        .wait_sockets("the sleeper gone", |s| {
            s.len() == 1 && s[0].client_id == "reader"
        })
        .await;

    // What the sleeper got is an in-order prefix, then 1013 (or the link just ends when the
    // close frame cannot get through).
    let mut next_k = 0usize;
    loop {
        match tokio::time::timeout(WAIT, sleeper.next())
            .await
            .expect("ends in time")
        {
            Some(Ok(Message::Text(text))) => {
                if text.as_str().contains(r#""t":3"#) {
                    assert!(text.as_str().contains(&format!(r#"{{"k":{next_k},"#)));
                    next_k += 1;
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
    assert!(next_k <= overflowed_at);
    assert_serving(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_requests_faster_than_reading_are_closed_not_buffered() {
    // Each `/subscribe` with `last-event-id` copies the whole retention. A client that sends
    // them without reading used to make the server hold thousands of copies (megabytes per
    // 90-byte request). Now the server writes a replay before it reads the next request, so
    // such a client stalls its own socket behind the first replay: no other request of it is
    // read, no second copy is made, and everyone else is served.
    let server = TestServer::start(resume_config(600)).await;
    let pad = "r".repeat(1024);
    let events: Vec<RichBody> = (0..2_000)
        .map(|k| RichBody::plain(json!({"k": k, "pad": pad})))
        .collect();
    server
        .server
        .publish_events(ROOM, &events, &PublishOptions::everyone());
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(server.addr).await.unwrap();
    let url = server.ws_url("replayer", &server.token(|_| {}));
    let (mut ws, _) = tokio_tungstenite::client_async(url, stream).await.unwrap();
    for i in 0..2_000 {
        let request = json!({"i": format!("s{i}"), "p": {"u": "/subscribe", "b": {}, "h": {"last-event-id": "0"}}});
        if ws.feed(Message::text(request.to_string())).await.is_err() {
            break;
        }
    }
    let _ = ws.flush().await;
    // Stalled behind its first replay, with nothing else queued for it.
    server
        .wait_sockets("the replayer stalled", |s| {
            s.len() == 1 && s[0].client_id == "replayer" && s[0].queued == 0
        })
        .await;

    // One resume at a time is what clients do, and it replays everything, in order.
    let mut client = server.connect("resumer").await;
    let sub = client.subscribe(Some("0")).await;
    for k in 0..2_000u64 {
        let (payload, id) = client.event(&sub).await;
        assert_eq!(payload["k"], k);
        assert_eq!(id, Some((k + 1).to_string()));
    }
    assert_serving(&server).await;
    // Gone once it goes: the stalled write fails and the socket is dropped.
    drop(ws);
    server
        .wait_sockets("the replayer gone", |s| {
            s.iter().all(|s| s.client_id != "replayer")
        })
        .await;
}

/// A subscriber of the filter test: client id and token tags.
struct Member {
    id: &'static str,
    tags: Option<&'static [&'static str]>,
}

const MEMBERS: &[Member] = &[
    Member {
        id: "A",
        tags: Some(&["a"]),
    },
    Member {
        id: "B",
        tags: Some(&["b"]),
    },
    Member {
        id: "C",
        tags: None,
    },
    Member {
        id: "D",
        tags: Some(&["a", "b"]),
    },
    Member {
        id: "E",
        tags: Some(&["c"]),
    },
];

/// One publish rule, with predicates already resolved to the client ids they match (which is
/// what the server stores for replay).
struct Rule {
    tags: Option<&'static [&'static str]>,
    targets: Option<&'static [&'static str]>,
    exclude: Option<&'static [&'static str]>,
    /// Publish the targets or exclusions as a predicate instead of ids.
    as_predicate: bool,
}

const fn rule(
    tags: Option<&'static [&'static str]>,
    targets: Option<&'static [&'static str]>,
    exclude: Option<&'static [&'static str]>,
) -> Rule {
    Rule {
        tags,
        targets,
        exclude,
        as_predicate: false,
    }
}

const RULES: &[Rule] = &[
    rule(None, None, None),
    rule(Some(&["a"]), None, None),
    rule(Some(&["b"]), None, None),
    rule(Some(&["a", "b"]), None, None),
    rule(Some(&["nobody"]), None, None),
    rule(Some(&[]), None, None),
    rule(None, Some(&["A"]), None),
    rule(None, Some(&["C", "D"]), None),
    rule(None, Some(&[]), None),
    rule(None, Some(&["ghost"]), None),
    rule(None, None, Some(&["A"])),
    rule(None, None, Some(&["B", "C", "D", "E"])),
    rule(None, None, Some(&[])),
    rule(Some(&["a"]), None, Some(&["D"])),
    rule(Some(&["a"]), Some(&["B"]), None),
    rule(Some(&["b"]), Some(&["B", "D"]), Some(&["D"])),
    rule(None, Some(&["A", "E"]), Some(&["A"])),
    Rule {
        tags: None,
        targets: Some(&["D"]),
        exclude: None,
        as_predicate: true,
    },
    Rule {
        tags: Some(&["b"]),
        targets: None,
        exclude: Some(&["B"]),
        as_predicate: true,
    },
];

/// The oracle, written apart from the server's filter.
fn admits(rule: &Rule, id: &str, tags: Option<&[&str]>) -> bool {
    let tag_ok = match rule.tags {
        None => true,
        Some(wanted) => tags.is_some_and(|have| have.iter().any(|t| wanted.contains(t))),
    };
    tag_ok
        && rule.targets.is_none_or(|targets| targets.contains(&id))
        && !rule.exclude.is_some_and(|excluded| excluded.contains(&id))
}

fn options(rule: &Rule) -> PublishOptions {
    let strings = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let recipients = |ids: &'static [&'static str]| {
        if rule.as_predicate {
            Recipients::matching(move |socket| ids.contains(&socket.client_id))
        } else {
            Recipients::ids(ids.iter().copied())
        }
    };
    PublishOptions {
        tags: rule.tags.map(strings),
        targets: rule.targets.map(recipients),
        exclude: rule.exclude.map(recipients),
    }
}

fn member_token(member: &Member) -> String {
    token(|p| {
        p.tags = member
            .tags
            .map(|tags| tags.iter().map(|t| (*t).to_owned()).collect())
    })
}

/// Reads events of `sub` until the sentinel; returns the rule numbers seen, in order.
async fn rules_seen(client: &mut Client, sub: &str) -> Vec<u64> {
    let mut seen = Vec::new();
    loop {
        let (payload, _) = client.event(sub).await;
        match payload["rule"].as_u64() {
            Some(rule) => seen.push(rule),
            None => return seen,
        }
    }
}

#[tokio::test]
async fn tags_targets_and_exclusions_hold_live_and_in_replay() {
    let server = TestServer::start(resume_config(600)).await;
    let mut live = Vec::new();
    for member in MEMBERS {
        let mut client = server.connect_with(member.id, &member_token(member)).await;
        let mut sub = client.subscribe(None).await;
        if member.id == "A" {
            // A second subscribe on the same socket replaces the first: still one copy each.
            sub = client.subscribe(None).await;
        }
        live.push((client, sub));
    }
    server
        .wait_sockets("all subscribed", |s| {
            s.len() == MEMBERS.len() && s.iter().all(|s| s.subscribed)
        })
        .await;
    for (n, rule) in RULES.iter().enumerate() {
        server
            .server
            .publish_event(ROOM, RichBody::plain(json!({"rule": n})), options(rule));
    }
    server.server.publish_event(
        ROOM,
        RichBody::plain(json!("end")),
        PublishOptions::everyone(),
    );

    let expected = |id: &str, tags: Option<&[&str]>| -> Vec<u64> {
        (0..RULES.len() as u64)
            .filter(|n| admits(&RULES[*n as usize], id, tags))
            .collect()
    };
    for (member, (client, sub)) in MEMBERS.iter().zip(live.iter_mut()) {
        let seen = rules_seen(client, sub).await;
        assert_eq!(
            seen,
            expected(member.id, member.tags),
            "live, member {}",
            member.id
        );
        client.expect_silence(50).await;
    }

    // Replay applies the same rule to the resuming socket: reconnect everyone from id 0.
    drop(live);
    server.wait_sockets("all gone", |s| s.is_empty()).await;
    for member in MEMBERS {
        let mut client = server.connect_with(member.id, &member_token(member)).await;
        let sub = client.subscribe(Some("0")).await;
        let seen = rules_seen(&mut client, &sub).await;
        assert_eq!(
            seen,
            expected(member.id, member.tags),
            "replay, member {}",
            member.id
        );
    }
    // A client that was not there: predicates were resolved at publish time, so it gets
    // neither their targets nor the tagged events; exclusions never named it.
    let mut late = server.connect("late").await;
    let sub = late.subscribe(Some("0")).await;
    assert_eq!(
        rules_seen(&mut late, &sub).await,
        expected("late", None),
        "late joiner"
    );
    assert_serving(&server).await;
}

#[tokio::test]
async fn a_token_for_another_channel_reaches_only_that_channel() {
    let server = TestServer::start(resume_config(600)).await;
    server.server.publish_event(
        ROOM,
        RichBody::plain(json!("stored in some-room")),
        PublishOptions::everyone(),
    );
    let mut insider = server.connect("insider").await;
    let insider_sub = insider.subscribe(None).await;
    let elsewhere = token(|p| p.chn = "other-room".into());
    let mut outsider = server.connect_with("outsider", &elsewhere).await;
    let outsider_sub = outsider.subscribe(Some("0")).await;

    // Neither the stored nor a live event of some-room reaches it, whatever the filter.
    server.server.publish_event(
        ROOM,
        RichBody::plain(json!("live in some-room")),
        PublishOptions::everyone(),
    );
    server.server.publish_event(
        ROOM,
        RichBody::plain(json!("targeted by id")),
        PublishOptions {
            targets: Some(Recipients::ids(["outsider"])),
            ..PublishOptions::default()
        },
    );
    assert_eq!(
        insider.event(&insider_sub).await.0,
        json!("live in some-room")
    );
    outsider.expect_silence(200).await;
    assert!(server
        .server
        .sockets(ROOM)
        .iter()
        .all(|s| s.client_id != "outsider"));

    // Its own channel works, and it cannot move itself into some-room.
    server.server.publish_event(
        "other-room",
        RichBody::plain(json!("other")),
        PublishOptions::everyone(),
    );
    assert_eq!(outsider.event(&outsider_sub).await.0, json!("other"));
    let frame = outsider
        .request("/updateToken", json!({"json": {"token": token(|_| {})}}))
        .await;
    assert!(
        frame.contains(r#""s":401"#) && frame.contains("same channel"),
        "{frame}"
    );
    server.server.publish_event(
        ROOM,
        RichBody::plain(json!("still some-room")),
        PublishOptions::everyone(),
    );
    outsider.expect_silence(200).await;
    assert_serving(&server).await;
}
