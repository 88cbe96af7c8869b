//! Fuzzing, kept in the ordinary test run: every committed input of the cargo-fuzz targets
//! (`fuzz/seeds/<target>/` and the crashes in `fuzz/regressions/<target>/`) goes through the
//! same checks as the target, and every crash the fuzzers found has a named test below.
//!
//! The checks mirror `fuzz/fuzz_targets/*.rs`; change them together.
#![cfg(feature = "codec")]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use durable_iterator_protocol::client::{
    decode_incoming, CallRequest, Engine, EngineOptions, Input, Instant, Output, Payload, SocketId,
    TokenClaims,
};
use durable_iterator_protocol::{
    parse_token, sign_token, unsign, verify_token, ClientMessage, Frame, RichBody, ServerMessage,
    TokenPayload,
};

/// `fuzz/message_decoder`: decoding never panics; encode is a fixed point after one decode.
fn check_message(data: &[u8]) {
    let mut frames = vec![Frame::Binary(data.to_vec())];
    if let Ok(text) = std::str::from_utf8(data) {
        frames.push(Frame::Text(text.to_owned()));
    }
    for frame in &frames {
        if let Ok(message) = ServerMessage::decode(frame) {
            let encoded = message.encode();
            let again = ServerMessage::decode(&encoded).expect("an encoded server message decodes");
            assert_eq!(again.encode(), encoded, "server message re-encodes stably");
            assert_eq!(again.id(), message.id());
        }
        if let Ok(message) = ClientMessage::decode(frame) {
            let encoded = message.encode();
            let again = ClientMessage::decode(&encoded).expect("an encoded client message decodes");
            assert_eq!(again.encode(), encoded, "client message re-encodes stably");
            assert_eq!(again.id(), message.id());
        }
    }
}

/// `fuzz/rich_json_meta`: bodies round-trip; applying meta never panics and only applies
/// what `validate` accepts.
fn check_rich_json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(body) = RichBody::from_json_str(text) else {
        return;
    };
    let again = RichBody::from_json_str(&body.to_json_string()).expect("an encoded body decodes");
    assert_eq!(again, body);
    assert_eq!(
        RichBody::from_value(body.to_value()).ok(),
        Some(body.clone())
    );
    let valid = body.validate().is_ok();
    let applied = body.clone().into_plain();
    if let Ok(plain) = applied {
        assert!(valid, "into_plain applied meta that validate refuses");
        if let Ok(rebuilt) = RichBody::from_plain(plain, body.meta.clone()) {
            assert!(rebuilt.validate().is_ok());
        }
    }
    let _ = RichBody::from_plain(body.json.clone(), body.meta.clone());
}

/// `fuzz/token_parser`: parse and verify agree; payloads round-trip and re-sign.
fn check_token(data: &[u8]) {
    const KEY: &str = "fuzz-signing-key";
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let _ = unsign(token, KEY);
    let parsed = parse_token(token);
    if let Ok(verified) = verify_token(token, KEY, f64::MIN) {
        assert_eq!(Ok(&verified), parsed.as_ref());
    }
    let Ok(payload) = parsed else {
        return;
    };
    let again = TokenPayload::from_json(&payload.to_json()).expect("an encoded payload parses");
    assert_eq!(again, payload);
    let signed = sign_token(&payload, KEY);
    assert_eq!(verify_token(&signed, KEY, payload.exp), Ok(payload));
}

/// `fuzz/engine_frames`: a script of frames and events (see the target) on a subscribed
/// engine; outputs stay well-formed and end once.
fn check_engine(data: &[u8]) {
    let mut payload = TokenPayload::new("some-room", 1_795_345_028.0, 3600.0);
    payload.rpc = Some(vec!["routerClient".to_owned()]);
    let options = EngineOptions::default().with_max_frame_bytes(1 << 16);
    let token = sign_token(&payload, "k");
    let max_frame_bytes = options.max_frame_bytes;
    let claims = TokenClaims::from(&payload);
    let mut engine = Engine::new(
        options,
        "client".to_owned(),
        1,
        token,
        claims,
        None,
        Instant::ZERO,
    )
    .expect("a valid token");
    let mut now = Instant::ZERO;
    let mut socket = SocketId(0);
    let mut ended = false;
    let mut delivered = HashSet::new();
    let mut drain = |engine: &mut Engine, socket: &mut SocketId| {
        while let Some(output) = engine.poll_output() {
            assert!(!ended, "output after Ended: {output:?}");
            match output {
                Output::OpenSocket { socket: s, .. } => *socket = s,
                Output::Send { text, .. } => {
                    ClientMessage::decode_text(&text).expect("the engine sends valid frames");
                }
                Output::Event { id, payload } => {
                    assert_eq!(payload, Payload(0), "an event names the input's message");
                    if let Some(id) = id {
                        assert!(delivered.insert(id), "event delivered twice");
                    }
                }
                Output::Ended(_) => ended = true,
                _ => {}
            }
        }
    };
    drain(&mut engine, &mut socket);
    engine.handle_input(Input::SocketOpened { socket }, now);
    drain(&mut engine, &mut socket);
    for line in data.split(|&b| b == b'\n').take(256) {
        match line {
            [0x01, rest @ ..] => {
                let target =
                    now + Duration::from_millis(250 * u64::from(*rest.first().unwrap_or(&1)));
                for _ in 0..1000 {
                    match engine.poll_timeout() {
                        Some(at) if at <= target => {
                            now = now.max(at);
                            engine.handle_timeout(now);
                            drain(&mut engine, &mut socket);
                        }
                        _ => break,
                    }
                }
                now = target;
            }
            [0x02, rest @ ..] => {
                let code = match rest {
                    [a, b, ..] => u16::from_be_bytes([*a, *b]),
                    _ => 1006,
                };
                let reason = String::new();
                engine.handle_input(
                    Input::SocketClosed {
                        socket,
                        code,
                        reason,
                    },
                    now,
                );
            }
            [0x03, ..] => engine.handle_input(Input::SocketOpened { socket }, now),
            [0x04, ..] => {
                let request = CallRequest::with_input(["routerClient", "ping"], None)
                    .expect("a call without input encodes");
                let _ = engine.call(request, now);
            }
            [0x05, ..] => engine.stop(now),
            frame => {
                let frame = match std::str::from_utf8(frame) {
                    Ok(text) => Frame::Text(text.to_owned()),
                    Err(_) => Frame::Binary(frame.to_vec()),
                };
                let (message, _) = decode_incoming(&frame, max_frame_bytes, Payload(0));
                engine.handle_input(Input::SocketMessage { socket, message }, now);
            }
        }
        drain(&mut engine, &mut socket);
    }
    if ended {
        assert_eq!(engine.poll_timeout(), None, "a timer after the end");
    }
}

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// Every committed input of `target` (seeds and regressions), as (path, bytes).
fn committed_inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let mut inputs = Vec::new();
    for kind in ["seeds", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz_dir().join(kind).join(target)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_file() {
                let bytes = std::fs::read(&path).expect("readable input");
                inputs.push((path, bytes));
            }
        }
    }
    inputs.sort();
    inputs
}

fn replay(target: &str, check: fn(&[u8])) {
    let inputs = committed_inputs(target);
    assert!(!inputs.is_empty(), "no committed inputs for {target}");
    for (path, bytes) in inputs {
        let outcome = std::panic::catch_unwind(|| check(&bytes));
        assert!(outcome.is_ok(), "{target} fails on {}", path.display());
    }
}

#[test]
fn committed_message_decoder_inputs() {
    replay("message_decoder", check_message);
}

#[test]
fn committed_rich_json_meta_inputs() {
    replay("rich_json_meta", check_rich_json);
}

#[test]
fn committed_token_parser_inputs() {
    replay("token_parser", check_token);
}

#[test]
fn committed_engine_frames_inputs() {
    replay("engine_frames", check_engine);
}

/// Numbers whose nearest double the default serde_json parser missed by one unit in the last
/// place: parsing must give exactly what Rust's correctly rounded `str::parse` gives (and
/// JavaScript's `JSON.parse`), or a number changes on its way through the client.
const TRICKY_NUMBERS: &[&str] = &[
    // fuzz/regressions/rich_json_meta/crash-3c49…: an integer literal beyond u64.
    "9007740199252544740993",
    "0.30000000000000004",
    "1795345030.1234567",
    "2.2250738585072011e-308",
    "9007199254740993",
    "1.7976931348623157e308",
    "123456789012345678901234567890",
    "0.1000000000000000055511151231257827",
];

#[test]
fn rich_json_numbers_parse_to_the_nearest_double() {
    // Found by rich_json_meta: `{"json":[9007740199252544740993,[7]]}` re-encoded to a
    // different number than it decoded from.
    check_rich_json(br#"{"json":[9007740199252544740993,[7]]}"#);
    for text in TRICKY_NUMBERS {
        let expected: f64 = text.parse().expect("a number");
        let body = RichBody::from_json_str(&format!(r#"{{"json":{text}}}"#)).expect("a body");
        let parsed = body.json.as_ref().and_then(serde_json::Value::as_f64);
        if parsed.is_some_and(|p| p == expected || text.parse::<u64>().is_ok()) {
            continue;
        }
        panic!("{text}: parsed {parsed:?}, nearest double {expected:?}");
    }
}

#[test]
fn token_times_parse_to_the_nearest_double() {
    // Found by token_parser: an `iat` with a long mantissa re-encoded to a different number.
    let crash = std::fs::read(
        fuzz_dir().join("regressions/token_parser/crash-71417a32829598610a43c85eecd0ff5067c983a8"),
    )
    .expect("the committed crash input");
    check_token(&crash);
    for text in TRICKY_NUMBERS {
        let payload = format!(r#"{{"chn":"c","iat":{text},"exp":{text}}}"#);
        let parsed = TokenPayload::from_json(&payload).expect("a payload");
        let expected: f64 = text.parse().expect("a number");
        assert_eq!(parsed.iat, expected, "{text}");
        assert_eq!(TokenPayload::from_json(&parsed.to_json()), Ok(parsed));
    }
}
