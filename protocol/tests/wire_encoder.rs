//! The engine's hand-written frame encoder (`client::wire`) against the serde encoder
//! (`ClientMessage::encode_text`), which the conformance vectors hold to upstream's bytes:
//! over the recorded vectors and upstream frames, odd strings, and random ones.
#![cfg(feature = "codec")]

use std::path::PathBuf;

use durable_iterator_protocol::client::wire;
use durable_iterator_protocol::consts::LAST_EVENT_ID_HEADER;
use durable_iterator_protocol::{ClientMessage, Headers, RawJson, RequestPayload};
use proptest::prelude::*;
use serde_json::Value;

/// What the serde encoder writes for a POST request with a JSON body.
fn serde_request(id: &str, url: &str, body: &str, last_event_id: Option<&str>) -> String {
    let body = RawJson::from_string(body.to_owned()).expect("a JSON body");
    let mut payload = RequestPayload::post(url, body);
    if let Some(value) = last_event_id {
        payload.headers = Headers::with(LAST_EVENT_ID_HEADER, value);
    }
    ClientMessage::Request {
        id: id.to_owned(),
        payload,
    }
    .encode_text()
}

fn serde_abort(id: &str) -> String {
    ClientMessage::Abort { id: id.to_owned() }.encode_text()
}

fn serde_update_token_body(token: &str) -> String {
    serde_json::json!({ "json": { "token": token } }).to_string()
}

/// Re-encodes `frame` with the hand-written encoder when it is a message the engine sends
/// (a POST with a body and at most a `last-event-id` header, or an abort).
fn wire_encoding(frame: &str) -> Option<String> {
    match ClientMessage::decode_text(frame).ok()? {
        ClientMessage::Request { id, payload } => {
            let last_event_id = match payload.headers.0.as_slice() {
                [] => None,
                [(name, value)] if name == LAST_EVENT_ID_HEADER => Some(value.first()?),
                _ => return None,
            };
            if payload.method != "POST" || payload.attachment.is_some() {
                return None;
            }
            let body = payload.body?;
            Some(wire::request(&id, &payload.url, body.get(), last_event_id))
        }
        ClientMessage::Abort { id } => Some(wire::abort(&id)),
        ClientMessage::Event { .. } => None,
    }
}

fn vectors_path() -> PathBuf {
    std::env::var_os("DURABLE_ITERATOR_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/vectors/orpc-v1-vectors.json")
        })
}

#[test]
fn recorded_peer_requests_encode_byte_identically() {
    let path = vectors_path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("the vectors are required at {} ({e})", path.display()));
    let vectors: Value = serde_json::from_str(&text).expect("vectors are JSON");
    let mut checked = 0;
    for entry in vectors["peerRequests"].as_array().expect("peerRequests") {
        let encoded = entry["encoded"].as_str().expect("encoded");
        if let Some(again) = wire_encoding(encoded) {
            assert_eq!(again, encoded, "{}", entry["name"]);
            checked += 1;
        }
        // The updateToken body is the encoder's too.
        if let Ok(ClientMessage::Request { payload, .. }) = ClientMessage::decode_text(encoded) {
            if payload.url == "/updateToken" {
                let body = payload.body.expect("a body");
                let parsed: Value = serde_json::from_str(body.get()).expect("JSON");
                let token = parsed["json"]["token"].as_str().expect("a token");
                assert_eq!(wire::update_token_body(token), body.get());
                checked += 1;
            }
        }
    }
    // Both subscribes, updateToken (frame and body), the call and the abort.
    assert_eq!(checked, 6, "vectors the encoder covers");
}

#[test]
fn recorded_upstream_client_frames_encode_byte_identically() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/upstream");
    let mut checked = 0;
    let mut frames = Vec::new();
    for file in std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("recorded frames are required at {} ({e})", dir.display()))
        .flatten()
    {
        let path = file.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let content = std::fs::read_to_string(&path).expect("readable");
        if name.ends_with(".jsonl") {
            for line in content.lines() {
                let record: Value = serde_json::from_str(line).expect("JSON lines");
                if record["event"] == "frame" && record["dir"] == "c2s" {
                    frames.push(record["text"].as_str().unwrap_or("").to_owned());
                }
            }
        } else if name == "upstream-ws-probes.json" {
            let probes: Value = serde_json::from_str(&content).expect("JSON");
            for probe in probes["results"].as_array().into_iter().flatten() {
                frames.push(probe["sent"].as_str().unwrap_or("").to_owned());
            }
        }
    }
    for frame in &frames {
        if let Some(again) = wire_encoding(frame) {
            assert_eq!(&again, frame);
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} of {} frames", frames.len());
    println!(
        "upstream client frames: {checked} of {} re-encoded",
        frames.len()
    );
}

/// Strings that exercise every escaping rule.
fn odd_strings() -> Vec<String> {
    let mut strings: Vec<String> = [
        "",
        "1",
        "zz",
        "a\"b",
        "\\",
        "\\\"",
        "/slash/",
        "it's",
        "tab\there",
        "line\nbreak\r\n",
        "\u{7f}del",
        "\u{2028}\u{2029}",
        "é日本語",
        "😀 astral 𝄞",
        "e\u{301} combining",
        "\u{feff}bom",
        "{\"json\":1}",
        "</script>",
        "payload.sig",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // Every control character, alone and between others.
    for c in 0u8..0x20 {
        strings.push(char::from(c).to_string());
        strings.push(format!("x{}y", char::from(c)));
    }
    strings.push((0u8..0x80).map(char::from).collect());
    strings
}

#[test]
fn odd_strings_encode_as_serde_does() {
    let bodies = [
        "{}",
        r#"{"json":{"path":["m"],"input":null},"meta":[[3,"input"]]}"#,
        "null",
        r#""str""#,
    ];
    for s in odd_strings() {
        for body in bodies {
            assert_eq!(
                wire::request(&s, &s, body, None),
                serde_request(&s, &s, body, None),
                "{s:?}"
            );
            assert_eq!(
                wire::request("1", "/subscribe", body, Some(&s)),
                serde_request("1", "/subscribe", body, Some(&s)),
                "{s:?}"
            );
        }
        assert_eq!(wire::abort(&s), serde_abort(&s), "{s:?}");
        assert_eq!(
            wire::update_token_body(&s),
            serde_update_token_body(&s),
            "{s:?}"
        );
        let mut quoted = String::new();
        wire::push_json_string(&mut quoted, &s);
        assert_eq!(
            quoted,
            serde_json::to_string(&s).expect("a string"),
            "{s:?}"
        );
    }
}

proptest! {
    #[test]
    fn any_strings_encode_as_serde_does(
        id in any::<String>(),
        url in any::<String>(),
        last in proptest::option::of(any::<String>()),
        token in any::<String>(),
    ) {
        prop_assert_eq!(
            wire::request(&id, &url, "{}", last.as_deref()),
            serde_request(&id, &url, "{}", last.as_deref())
        );
        prop_assert_eq!(wire::abort(&id), serde_abort(&id));
        prop_assert_eq!(wire::update_token_body(&token), serde_update_token_body(&token));
    }

    #[test]
    fn decimals_match_to_string(n in any::<u64>()) {
        prop_assert_eq!(wire::decimal(n), n.to_string());
    }
}
