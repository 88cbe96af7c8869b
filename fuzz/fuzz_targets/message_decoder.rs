//! The peer message decoder on arbitrary frames, both directions, text and binary.
//!
//! Checks: decoding never panics; whatever decodes re-encodes to a frame that decodes to the
//! same message and re-encodes to the same bytes (encode is a fixed point after one decode).
#![no_main]

use durable_iterator_protocol::{ClientMessage, Frame, ServerMessage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
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
            let _ = message.encode_text();
        }
        if let Ok(message) = ClientMessage::decode(frame) {
            let encoded = message.encode();
            let again = ClientMessage::decode(&encoded).expect("an encoded client message decodes");
            assert_eq!(again.encode(), encoded, "client message re-encodes stably");
            assert_eq!(again.id(), message.id());
            let _ = message.encode_text();
        }
    }
});
