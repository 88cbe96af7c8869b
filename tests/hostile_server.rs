//! The native client against a hostile object: a WebSocket server written here that accepts
//! the upgrade, opens the stream, then sends scripted frames — garbage, unknown message
//! types, answers to ids nobody used, events whose meta points nowhere, huge messages,
//! events after `done`. Each is either ignored with a `FrameIgnored` notice or reported as
//! one typed error item; nothing panics; the stream goes on, or ends cleanly.
#![cfg(feature = "native")]

mod native_support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use durable_iterator_protocol::{sign_token, Error as ProtocolError, TokenPayload};
use durable_iterator_wasm::native::{DurableIterator, Options};
use durable_iterator_wasm::{ConnectionState, Error, Notice};
use futures_util::{SinkExt, StreamExt};
use native_support::{wait_for, Notices, WAIT};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

/// What the object sends on connection number `n` (from 0) once the stream `sub` is open.
type Script = Arc<dyn Fn(usize, &str) -> Vec<Message> + Send + Sync>;

/// A scripted object on 127.0.0.1; remembers the `last-event-id` of every subscribe.
struct HostileObject {
    addr: SocketAddr,
    subscribes: Arc<Mutex<Vec<Option<String>>>>,
    task: JoinHandle<()>,
}

impl HostileObject {
    async fn start(script: impl Fn(usize, &str) -> Vec<Message> + Send + Sync + 'static) -> Self {
        let script: Script = Arc::new(script);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let subscribes = Arc::new(Mutex::new(Vec::new()));
        let seen = subscribes.clone();
        let task = tokio::spawn(async move {
            let mut connection = 0;
            while let Ok((stream, _)) = listener.accept().await {
                let (script, seen) = (script.clone(), seen.clone());
                let n = connection;
                connection += 1;
                tokio::spawn(async move {
                    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                        return;
                    };
                    // Wait for the subscribe, open its stream, play the script, then keep
                    // reading (and answering nothing) until the client goes.
                    while let Some(Ok(message)) = ws.next().await {
                        let Ok(request) =
                            serde_json::from_str::<Value>(message.to_text().unwrap_or(""))
                        else {
                            continue;
                        };
                        if request["p"]["u"] != "/subscribe" {
                            continue;
                        }
                        let sub = request["i"].as_str().unwrap_or_default().to_owned();
                        let last = request["p"]["h"]["last-event-id"]
                            .as_str()
                            .map(str::to_owned);
                        seen.lock().expect("subscribes").push(last);
                        let head =
                            json!({"i": sub, "p": {"h": {"content-type": "text/event-stream"}}});
                        if ws.send(Message::text(head.to_string())).await.is_err() {
                            return;
                        }
                        for message in script(n, &sub) {
                            if ws.send(message).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        HostileObject {
            addr,
            subscribes,
            task,
        }
    }

    /// A client for this object, with fast reconnects and no liveness probes.
    fn connect(
        &self,
        notices: &Notices,
        edit: impl FnOnce(Options) -> Options,
    ) -> DurableIterator<Value> {
        let payload = TokenPayload::new("room", now_seconds(), 3600.0);
        let token = sign_token(&payload, "the client never checks this key");
        let options = Options::new(
            "http://127.0.0.1:9/rpc",
            "onMessage",
            format!("ws://{}/room", self.addr),
        )
        .liveness(None)
        .backoff(Duration::from_millis(10), 2.0, Duration::from_millis(50))
        .on_notice(notices.listener());
        DurableIterator::from_token(token, edit(options)).expect("iterator starts")
    }

    fn subscribes(&self) -> Vec<Option<String>> {
        self.subscribes.lock().expect("subscribes").clone()
    }
}

impl Drop for HostileObject {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn now_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64().floor())
}

fn event(sub: &str, id: &str, data: Value) -> Message {
    Message::text(
        json!({"i": sub, "t": 3, "p": {"e": "message", "d": data, "m": {"id": id}}}).to_string(),
    )
}

async fn next<T>(it: &mut DurableIterator<T>) -> Option<Result<T, Error>>
where
    T: serde::de::DeserializeOwned,
{
    tokio::time::timeout(WAIT, it.next())
        .await
        .expect("the stream moves within the wait")
}

fn ignored_codes(notices: &Notices) -> Vec<&'static str> {
    notices
        .all()
        .iter()
        .filter_map(|notice| match notice {
            Notice::FrameIgnored { reason } => Some(reason.code()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn garbage_is_ignored_with_notices_and_the_stream_goes_on() {
    let object = HostileObject::start(|_, sub| {
        vec![
            Message::text("this is not json"),
            Message::text(r#"{"i":"1","t":3,"p":"#),
            Message::binary(vec![0xC3, 0x28, 0xFF, 0x00]),
            Message::text(r#"["an","array"]"#),
            Message::text(format!(r#"{{"i":"{sub}","t":7,"p":{{}}}}"#)),
            Message::text(r#"{"i":"nobody","p":{"b":{"json":"unasked answer"}}}"#),
            Message::text(
                r#"{"i":"nobody","t":3,"p":{"e":"message","d":{"json":"stray"},"m":{"id":"50"}}}"#,
            ),
            Message::text(r#"{"i":"nobody","t":4}"#),
            event(sub, "1", json!({"json": {"message": "real"}})),
        ]
    })
    .await;
    let notices = Notices::default();
    let mut it = object.connect(&notices, |o| o);
    let first = next(&mut it)
        .await
        .expect("an event")
        .expect("a good event");
    assert_eq!(first, json!({"message": "real"}));
    assert_eq!(it.last_event_id(), Some("1"));
    assert_eq!(
        ignored_codes(&notices),
        vec![
            "MALFORMED_MESSAGE",
            "MALFORMED_MESSAGE",
            "MALFORMED_MESSAGE",
            "MALFORMED_MESSAGE",
            "UNKNOWN_MESSAGE_TYPE",
            "UNEXPECTED_RESPONSE",
            "UNEXPECTED_RESPONSE",
            "UNEXPECTED_RESPONSE",
        ]
    );
    assert_eq!(it.state(), ConnectionState::Open);
    assert_eq!(notices.opens(), 1, "garbage never costs the connection");
    assert_eq!(object.subscribes().len(), 1);
}

#[tokio::test]
async fn an_event_whose_meta_points_nowhere_is_one_typed_error_and_the_stream_goes_on() {
    let object = HostileObject::start(|_, sub| {
        vec![
            event(sub, "1", json!({"json": {"n": 1}})),
            event(
                sub,
                "2",
                json!({"json": {"n": 2}, "meta": [[1, "no", "such", "path"]]}),
            ),
            event(sub, "3", json!({"json": {"n": "3"}, "meta": [[0, "n"]]})),
            event(sub, "4", json!({"json": [1], "meta": [[7, 0]]})),
            event(sub, "5", json!({"json": {"n": 5}})),
        ]
    })
    .await;
    let notices = Notices::default();
    let mut it = object.connect(&notices, |o| o);
    assert_eq!(next(&mut it).await.unwrap().unwrap(), json!({"n": 1}));
    match next(&mut it).await.expect("an item") {
        Err(Error::Protocol(ProtocolError::MetaPathNotFound { path })) => {
            assert_eq!(path, r#"["no","such","path"]"#);
        }
        other => panic!("expected META_PATH_NOT_FOUND, got {other:?}"),
    }
    // The failed event still counts as seen: a resume will not ask for it again.
    assert_eq!(it.last_event_id(), Some("2"));
    // A BigInt meta applies; a Map meta on something that is not pairs is a type mismatch.
    assert_eq!(next(&mut it).await.unwrap().unwrap(), json!({"n": 3}));
    match next(&mut it).await.expect("an item") {
        Err(error) => assert_eq!(error.code(), "META_TYPE_MISMATCH"),
        other => panic!("expected META_TYPE_MISMATCH, got {other:?}"),
    }
    assert_eq!(next(&mut it).await.unwrap().unwrap(), json!({"n": 5}));
    assert!(ignored_codes(&notices).is_empty());
    assert_eq!(notices.opens(), 1);
}

#[tokio::test]
async fn an_event_of_the_wrong_shape_is_a_decode_error_for_a_typed_stream() {
    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Chat {
        message: String,
    }
    let object = HostileObject::start(|_, sub| {
        vec![
            event(sub, "1", json!({"json": {"message": 42}})),
            event(sub, "2", json!("not even a body")),
            event(sub, "3", json!({"json": {"message": "fine"}})),
        ]
    })
    .await;
    let payload = TokenPayload::new("room", now_seconds(), 3600.0);
    let options = Options::new(
        "http://127.0.0.1:9/rpc",
        "onMessage",
        format!("ws://{}/room", object.addr),
    )
    .liveness(None);
    let mut it = DurableIterator::<Chat>::from_token(sign_token(&payload, "k"), options).unwrap();
    let first = next(&mut it)
        .await
        .expect("an item")
        .expect_err("42 is not a string");
    assert_eq!(first.code(), "DECODE_ERROR");
    let second = next(&mut it)
        .await
        .expect("an item")
        .expect_err("not a rich-JSON body");
    assert_eq!(second.code(), "MALFORMED_MESSAGE");
    let third = next(&mut it).await.expect("an item").expect("a good event");
    assert_eq!(third.message, "fine");
}

#[tokio::test]
async fn a_2_mib_event_arrives_whole_under_the_default_limit() {
    let big = "x".repeat(2 * 1024 * 1024);
    let data = json!({"json": {"big": big}});
    let object = HostileObject::start(move |_, sub| vec![event(sub, "1", data.clone())]).await;
    let notices = Notices::default();
    let mut it = object.connect(&notices, |o| o);
    let got = next(&mut it).await.unwrap().unwrap();
    assert_eq!(got["big"].as_str().map(str::len), Some(2 * 1024 * 1024));
    assert!(ignored_codes(&notices).is_empty());
}

#[tokio::test]
async fn a_message_over_the_limit_costs_the_connection_not_the_iterator() {
    // Natively the socket never buffers more than the limit: the 2 MiB message breaks the
    // connection (1009), and the iterator reconnects and resumes after the last good event.
    let huge = "x".repeat(2 * 1024 * 1024);
    let object = HostileObject::start(move |n, sub| match n {
        0 => vec![
            event(sub, "1", json!({"json": {"n": 1}})),
            event(sub, "2", json!({"json": {"huge": huge}})),
            event(sub, "3", json!({"json": {"n": 3}})),
        ],
        _ => vec![event(sub, "3", json!({"json": {"n": 3}}))],
    })
    .await;
    let notices = Notices::default();
    let mut it = object.connect(&notices, |o| o.max_frame_bytes(1024 * 1024));
    assert_eq!(next(&mut it).await.unwrap().unwrap(), json!({"n": 1}));
    assert_eq!(next(&mut it).await.unwrap().unwrap(), json!({"n": 3}));
    assert_eq!(object.subscribes(), vec![None, Some("1".to_owned())]);
    let too_big = notices.all().into_iter().any(|notice| {
        matches!(
            notice,
            Notice::State(ConnectionState::Reconnecting { code: 1009, .. })
        )
    });
    assert!(
        too_big,
        "the drop was reported as 1009: {:?}",
        notices.all()
    );
}

#[tokio::test]
async fn nothing_is_yielded_after_done_and_the_stream_ends_cleanly() {
    let object = HostileObject::start(|_, sub| {
        vec![
            event(sub, "1", json!({"json": "last"})),
            Message::text(json!({"i": sub, "t": 3, "p": {"e": "done", "d": {}}}).to_string()),
            event(sub, "2", json!({"json": "after done"})),
            Message::text(json!({"i": sub, "t": 3, "p": {"e": "error", "d": {}}}).to_string()),
            Message::text("garbage after done"),
            event(sub, "3", json!({"json": "still after done"})),
        ]
    })
    .await;
    let notices = Notices::default();
    let mut it = object.connect(&notices, |o| o);
    assert_eq!(next(&mut it).await.unwrap().unwrap(), json!("last"));
    assert!(
        next(&mut it).await.is_none(),
        "done ends the stream without an error"
    );
    assert!(it.next().await.is_none());
    wait_for("the closed state", || {
        matches!(it.state(), ConnectionState::Closed { code: 1000, .. })
    })
    .await;
    // The iterator ended: no reconnect, no diagnostics about what came after.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(object.subscribes().len(), 1);
    assert!(ignored_codes(&notices).is_empty());
}
