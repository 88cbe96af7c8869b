//! `ServerMessage::decode` scans usual frames in one pass (issue #7) and leaves the rest to the
//! serde_json decoder (`ServerMessage::decode_reference`), which defines what a frame means.
//! These tests hold the two to the same answer, `Ok` value and `Err` alike, on every frame
//! recorded from upstream and on many mutations of them.
//!
//! In debug builds serde_json re-validates every raw value the scanner hands it, so a scanner
//! that let invalid JSON through would also fail here with a panic.
#![cfg(feature = "codec")]

mod decode_support;

use std::path::PathBuf;

use decode_support::{check, tricky_frames, vector_frames};
use durable_iterator_protocol::{Frame, ServerMessage};

#[test]
fn vector_frames_decode_identically() {
    let frames = vector_frames();
    let ok = frames
        .iter()
        .filter(|f| ServerMessage::decode(&Frame::Text((*f).clone())).is_ok())
        .count();
    assert!(ok > 20, "only {ok} vector frames decode as server messages");
    println!("{} vector frames compared", check(frames, true));
}

#[test]
fn tricky_frames_decode_identically() {
    println!("{} tricky frames compared", check(tricky_frames(), true));
}

/// The committed seeds of `fuzz/message_decoder`, and every file of the directories named in
/// `DECODE_DIFFERENTIAL_CORPUS` (colon-separated; e.g. a corpus a fuzzing run grew).
#[test]
fn fuzz_inputs_decode_identically() {
    let mut dirs =
        vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/message_decoder")];
    if let Some(extra) = std::env::var_os("DECODE_DIFFERENTIAL_CORPUS") {
        dirs.extend(std::env::split_paths(&extra));
    }
    let mut count = 0;
    for dir in dirs {
        let Ok(listing) = std::fs::read_dir(&dir) else {
            continue;
        };
        for file in listing.flatten() {
            let bytes = std::fs::read(file.path()).unwrap();
            let mut frames = vec![Frame::Binary(bytes.clone())];
            if let Ok(text) = String::from_utf8(bytes) {
                frames.push(Frame::Text(text));
            }
            for frame in frames {
                assert_eq!(
                    ServerMessage::decode(&frame),
                    ServerMessage::decode_reference(&frame),
                    "{}",
                    file.path().display()
                );
                count += 1;
            }
        }
    }
    assert!(count > 0, "no fuzz seeds found");
    println!("{count} fuzz inputs compared");
}
