//! `ServerMessage::decode` scans usual frames in one pass (issue #7) and leaves the rest to the
//! serde_json decoder (`ServerMessage::decode_reference`), which defines what a frame means.
//! These tests hold the two to the same answer, `Ok` value and `Err` alike, on every frame
//! recorded from upstream and on many mutations of them.
//!
//! In debug builds serde_json re-validates every raw value the scanner hands it, so a scanner
//! that let invalid JSON through would also fail here with a panic.

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

#[test]
fn fuzz_seeds_decode_identically() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/message_decoder");
    let Ok(listing) = std::fs::read_dir(&dir) else {
        return;
    };
    let mut count = 0;
    for file in listing.flatten() {
        let bytes = std::fs::read(file.path()).unwrap();
        let frame = Frame::Binary(bytes);
        assert_eq!(
            ServerMessage::decode(&frame),
            ServerMessage::decode_reference(&frame),
            "{}",
            file.path().display()
        );
        count += 1;
    }
    println!("{count} fuzz seeds compared");
}
