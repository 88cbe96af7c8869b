//! Property tests: encode/decode round trips, and no input of any shape panics a decoder.
#![cfg(feature = "codec")]

use durable_iterator_protocol::message::RawJson;
use durable_iterator_protocol::{
    parse_token, verify_token, ClientMessage, EventKind, EventMeta, EventPayload, Frame, Headers,
    MetaEntry, MetaType, PathSegment, RequestPayload, ResponsePayload, RichBody, ServerMessage,
};
use proptest::prelude::*;
use serde_json::{Map, Value};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u32>().prop_map(|n| Value::from(f64::from(n) / 8.0)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-z_]{1,6}", inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn raw(value: &Value) -> RawJson {
    RawJson::from_serialize(value).unwrap()
}

fn request_id() -> impl Strategy<Value = String> {
    "[0-9a-z]{1,8}"
}

fn headers() -> impl Strategy<Value = Headers> {
    prop::collection::vec(("[a-z-]{1,12}", ".{0,10}"), 0..3).prop_map(|pairs| {
        let mut headers = Headers::new();
        for (name, value) in pairs {
            headers.set(name, value);
        }
        headers
    })
}

fn event_payload() -> impl Strategy<Value = EventPayload> {
    (
        prop_oneof![
            Just(EventKind::Message),
            Just(EventKind::Error),
            Just(EventKind::Done)
        ],
        prop::option::of(json_value()),
        prop::option::of((
            prop::option::of("[0-9]{1,6}"),
            prop::option::of(0u64..100_000),
        )),
    )
        .prop_map(|(event, data, meta)| EventPayload {
            event,
            data: data.map(|d| raw(&d)),
            meta: meta.map(|(id, retry)| EventMeta {
                id,
                retry,
                comments: None,
            }),
        })
}

fn client_message() -> impl Strategy<Value = ClientMessage> {
    prop_oneof![
        (
            request_id(),
            "/[a-zA-Z]{1,12}",
            prop::option::of(json_value()),
            headers(),
            prop_oneof![Just("POST".to_owned()), Just("GET".to_owned())],
            prop::option::of(prop::collection::vec(any::<u8>(), 1..32)),
        )
            .prop_map(|(id, url, body, headers, method, attachment)| {
                ClientMessage::Request {
                    id,
                    payload: RequestPayload {
                        url,
                        body: body.map(|b| raw(&b)),
                        headers,
                        method,
                        attachment,
                    },
                }
            }),
        (request_id(), event_payload())
            .prop_map(|(id, payload)| ClientMessage::Event { id, payload }),
        request_id().prop_map(|id| ClientMessage::Abort { id }),
    ]
}

fn server_message() -> impl Strategy<Value = ServerMessage> {
    prop_oneof![
        (
            request_id(),
            100u16..600,
            headers(),
            prop::option::of(json_value()),
            prop::option::of(prop::collection::vec(any::<u8>(), 1..32)),
        )
            .prop_map(
                |(id, status, headers, body, attachment)| ServerMessage::Response {
                    id,
                    payload: ResponsePayload {
                        status,
                        headers,
                        body: body.map(|b| raw(&b)),
                        attachment,
                    },
                }
            ),
        (request_id(), event_payload())
            .prop_map(|(id, payload)| ServerMessage::Event { id, payload }),
        request_id().prop_map(|id| ServerMessage::Abort { id }),
    ]
}

/// Every path inside `value`, so meta entries can point at things that exist.
fn paths(value: &Value, prefix: &mut Vec<PathSegment>, out: &mut Vec<Vec<PathSegment>>) {
    out.push(prefix.clone());
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                prefix.push(PathSegment::Index(i as u64));
                paths(item, prefix, out);
                prefix.pop();
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                prefix.push(PathSegment::Key(key.clone()));
                paths(item, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn client_messages_round_trip(message in client_message()) {
        let frame = message.encode();
        let decoded = ClientMessage::decode(&frame).unwrap();
        prop_assert_eq!(&decoded, &message);
        prop_assert_eq!(decoded.encode(), frame);
    }

    #[test]
    fn server_messages_round_trip(message in server_message()) {
        let frame = message.encode();
        let decoded = ServerMessage::decode(&frame).unwrap();
        prop_assert_eq!(&decoded, &message);
        prop_assert_eq!(decoded.encode(), frame);
    }

    #[test]
    fn rich_bodies_round_trip(json in prop::option::of(json_value()), picks in prop::collection::vec((any::<prop::sample::Index>(), 0u32..12), 0..5)) {
        let mut all = Vec::new();
        if let Some(json) = &json {
            paths(json, &mut Vec::new(), &mut all);
        }
        let meta: Vec<MetaEntry> = if all.is_empty() {
            Vec::new()
        } else {
            picks.iter().map(|(i, code)| MetaEntry::new(MetaType::from_code(*code), i.get(&all).clone())).collect()
        };
        let body = RichBody { json, meta };
        let text = body.to_json_string();
        let decoded = RichBody::from_json_str(&text).unwrap();
        prop_assert_eq!(&decoded, &body);
        prop_assert_eq!(decoded.to_json_string(), text);
        prop_assert!(decoded.validate().is_ok());
        // Applying may reject a type that does not fit the value, but never panics.
        let _ = decoded.into_plain();
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoders(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = ClientMessage::decode_binary(&bytes);
        let _ = ServerMessage::decode_binary(&bytes);
        let _ = ClientMessage::decode(&Frame::Binary(bytes.clone()));
        let text = String::from_utf8_lossy(&bytes);
        let _ = ClientMessage::decode_text(&text);
        let _ = ServerMessage::decode_text(&text);
        let _ = RichBody::from_json_str(&text).and_then(RichBody::into_plain);
        let _ = parse_token(&text);
        let _ = verify_token(&text, "k", 0.0);
    }

    #[test]
    fn json_shaped_noise_never_panics(value in json_value(), meta in json_value()) {
        let mut body = Map::new();
        body.insert("json".into(), value.clone());
        body.insert("meta".into(), meta);
        let _ = RichBody::from_value(Value::Object(body)).and_then(RichBody::into_plain);
        let frame = serde_json::json!({"i": "1", "t": 3, "p": value}).to_string();
        let _ = ServerMessage::decode_text(&frame);
        let _ = ClientMessage::decode_text(&frame);
        let _ = parse_token(&format!("{value}.sig"));
    }
}
