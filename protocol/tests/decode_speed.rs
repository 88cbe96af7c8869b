//! A micro-measurement of server-frame decoding (issue #7), not a test: it asserts nothing
//! about time. Run it in release mode:
//!
//! ```sh
//! cargo test -p durable-iterator-protocol --release --test decode_speed -- --ignored --nocapture
//! ```
//!
//! It decodes event frames shaped like the benchmark's (`bench/`, `POST /test/publish`):
//! 100,000 frames of about 100 B and 2,000 of 64 KB whose data is one long string, plus
//! 2,000 of 64 KB whose data is many small objects (numbers, escapes, nesting), and prints
//! nanoseconds per frame, for `ServerMessage::decode` and for the serde_json decoder it falls
//! back to (`decode_reference`, the decoder before issue #7).
#![cfg(feature = "codec")]

use std::hint::black_box;
use std::time::Instant;

use durable_iterator_protocol::{Frame, ServerMessage};

fn event_frame(seq: usize, data: &str) -> Frame {
    Frame::Text(format!(
        r#"{{"i":"7","t":3,"p":{{"e":"message","d":{data},"m":{{"id":"{seq}"}}}}}}"#
    ))
}

/// `{"json":{"seq":k,"pad":"xx…"}}`, as the reference server's test endpoint publishes.
fn padded(seq: usize, size: usize) -> Frame {
    let pad = "x".repeat(size);
    event_frame(seq, &format!(r#"{{"json":{{"seq":{seq},"pad":"{pad}"}}}}"#))
}

/// About `size` bytes of mixed JSON: objects, numbers, escapes, non-ASCII text.
fn mixed(seq: usize, size: usize) -> Frame {
    let item = r#"{"n":12345,"f":-1.5e3,"ok":true,"none":null,"s":"caf\u00e9 \"q\" – ok","l":[1,2,[3,{"k":"v"}]]}"#;
    let items = vec![item; size / item.len()].join(",");
    event_frame(
        seq,
        &format!(r#"{{"json":{{"seq":{seq},"items":[{items}]}}}}"#),
    )
}

fn measure(label: &str, frames: &[Frame], decode: impl Fn(&Frame) -> bool) {
    // One untimed pass warms caches and the allocator.
    assert!(frames.iter().all(&decode), "{label}: every frame decodes");
    let started = Instant::now();
    let mut ok = 0usize;
    for frame in frames {
        ok += usize::from(decode(black_box(frame)));
    }
    let elapsed = started.elapsed();
    assert_eq!(ok, frames.len());
    let bytes: usize = frames
        .iter()
        .map(|f| match f {
            Frame::Text(t) => t.len(),
            Frame::Binary(b) => b.len(),
        })
        .sum();
    let ns = elapsed.as_nanos() as f64 / frames.len() as f64;
    let mb_s = bytes as f64 / elapsed.as_secs_f64() / 1e6;
    println!(
        "{label:<38} {:>7} frames of {:>6} B: {ns:>10.0} ns/frame {mb_s:>8.0} MB/s",
        frames.len(),
        bytes / frames.len()
    );
}

fn decode(frame: &Frame) -> bool {
    black_box(ServerMessage::decode(frame)).is_ok()
}

/// The serde_json decoder the one-pass scanner replaced on the hot path (before issue #7).
fn reference(frame: &Frame) -> bool {
    black_box(ServerMessage::decode_reference(frame)).is_ok()
}

#[test]
#[ignore = "a measurement, run by hand in release mode"]
fn decode_speed() {
    let small: Vec<Frame> = (0..100_000).map(|k| padded(k, 30)).collect();
    let large: Vec<Frame> = (0..2_000).map(|k| padded(k, 64 * 1024)).collect();
    let mixed: Vec<Frame> = (0..2_000).map(|k| mixed(k, 64 * 1024)).collect();
    for _ in 0..3 {
        measure("decode: 100 B events", &small, decode);
        measure("reference: 100 B events", &small, reference);
        measure("decode: 64 KB events (one string)", &large, decode);
        measure("reference: 64 KB events (one string)", &large, reference);
        measure("decode: 64 KB events (mixed JSON)", &mixed, decode);
        measure("reference: 64 KB events (mixed JSON)", &mixed, reference);
    }
}
