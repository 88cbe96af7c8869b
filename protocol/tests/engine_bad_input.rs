//! Hostile frames from the object: the engine never panics, drops what it cannot use with a
//! `FrameIgnored` diagnostic (and nothing else), keeps the socket and the stream going, and
//! says nothing at all once the iterator has ended.
#![cfg(feature = "codec")]

mod engine_support;

use durable_iterator_protocol::client::{ConnectionState, EngineOptions, Output};
use durable_iterator_protocol::{Error, Frame};
use engine_support::*;

fn live_sim(options: EngineOptions) -> Sim {
    let mut sim = Sim::new(options, token(), None);
    sim.connect_and_subscribe();
    sim.take();
    sim
}

fn ignored(outputs: &[Output]) -> Vec<Error> {
    outputs
        .iter()
        .filter_map(|output| match output {
            Output::FrameIgnored { reason } => Some(reason.clone()),
            _ => None,
        })
        .collect()
}

/// Feeds `text` and returns why it was ignored, checking that nothing else came out.
fn ignore_reason(sim: &mut Sim, text: &str) -> Error {
    sim.receive_text(text);
    let outputs = sim.take();
    match outputs.as_slice() {
        [Output::FrameIgnored { reason }] => reason.clone(),
        other => panic!("{text}: expected one FrameIgnored, got {other:?}"),
    }
}

/// The stream still works: a fresh event with `id` is delivered.
fn still_streaming(sim: &mut Sim, id: &str) {
    sim.event(Some(id), "still here");
    assert_eq!(sim.event_ids().last().map(String::as_str), Some(id));
    assert_eq!(sim.engine.state(), &ConnectionState::Open);
    assert_eq!(sim.open_count(), 1, "no reconnect");
}

#[test]
fn malformed_frames_are_dropped_with_a_diagnostic() {
    let mut sim = live_sim(quiet_options());
    for text in [
        "",
        "not json",
        "{",
        r#"{"i":"1","t":3,"p":{"e":"message","d":{"json":1}}"#,
        "[]",
        "null",
        r#""a string""#,
        r#"{"t":3,"p":{"e":"message"}}"#,
        r#"{"i":1,"t":3,"p":{"e":"message"}}"#,
        r#"{"i":"1","t":3}"#,
        r#"{"i":"1","t":3,"p":{"e":"bogus"}}"#,
        r#"{"i":"1","t":3,"p":{"e":"message","m":{"id":5}}}"#,
        r#"{"i":"1","t":3,"p":{"e":"message","m":{"retry":-1}}}"#,
        r#"{"i":"1","t":-1}"#,
        r#"{"i":"1","t":"3"}"#,
        r#"{"i":"1","p":{"s":99999}}"#,
        r#"{"i":"1","p":{"h":{"content-type":5}}}"#,
        r#"{"i":"1","p":{"b":}}"#,
    ] {
        let reason = ignore_reason(&mut sim, text);
        assert!(
            matches!(reason, Error::MalformedMessage { .. }),
            "{text}: {reason:?}"
        );
    }
    still_streaming(&mut sim, "1");
}

#[test]
fn deep_nesting_is_malformed_in_the_envelope_and_untouched_in_the_body() {
    let mut sim = live_sim(quiet_options());
    let depth = 1_000_000;
    let (open, close) = ("[".repeat(depth), "]".repeat(depth));
    // Where the engine parses (the envelope): over serde_json's depth limit, not a crash.
    let deep_envelope = format!(r#"{{"i":"1","t":3,"p":{{"e":"message","m":{open}{close}}}}}"#);
    sim.receive_text(&deep_envelope);
    assert!(matches!(
        ignored(&sim.take()).as_slice(),
        [Error::MalformedMessage { .. }]
    ));
    // Where it does not (the body): delivered as it came; the typed decoder refuses it, again
    // without recursing a million frames deep.
    let subscription = sim.subscribe_id();
    let body = format!(r#"{{"json":{open}{close}}}"#);
    sim.receive_text(&format!(
        r#"{{"i":"{subscription}","t":3,"p":{{"e":"message","d":{body},"m":{{"id":"1"}}}}}}"#
    ));
    let events = sim.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].1.len(), body.len());
    assert!(matches!(
        durable_iterator_protocol::RichBody::from_json_str(&events[0].1),
        Err(Error::MalformedMessage { .. })
    ));
    still_streaming(&mut sim, "2");
}

#[test]
fn binary_frames_that_are_not_utf8_json_are_dropped() {
    let mut sim = live_sim(quiet_options());
    let socket = sim.socket();
    for bytes in [vec![0xC3, 0x28], vec![0xFF], b"\x80{\"i\":\"1\"}".to_vec()] {
        sim.frame(socket, Frame::Binary(bytes.clone()));
        let reasons = ignored(&sim.take());
        assert!(
            matches!(reasons.as_slice(), [Error::MalformedMessage { .. }]),
            "{bytes:?}: {reasons:?}"
        );
    }
    // JSON, the delimiter and raw bytes: the event itself is fine.
    let subscription = sim.subscribe_id();
    let mut frame = format!(
        r#"{{"i":"{subscription}","t":3,"p":{{"e":"message","d":{{"json":"bin"}},"m":{{"id":"7"}}}}}}"#
    )
    .into_bytes();
    frame.extend_from_slice(&[0xFF, 0x00, 0xFE, 0xFF]);
    sim.frame(socket, Frame::Binary(frame));
    assert_eq!(sim.event_ids(), vec!["7"]);
}

#[test]
fn unknown_message_types_are_dropped_with_their_number() {
    let mut sim = live_sim(quiet_options());
    for t in [0u64, 5, 99, u64::MAX] {
        let reason = ignore_reason(&mut sim, &format!(r#"{{"i":"1","t":{t},"p":{{}}}}"#));
        assert_eq!(reason, Error::UnknownMessageType(t));
    }
    // A request (t = 1) is a client-to-object message: the client has no procedures.
    let reason = ignore_reason(&mut sim, r#"{"i":"1","t":1,"p":{"u":"/x"}}"#);
    assert_eq!(reason, Error::UnknownMessageType(1));
    still_streaming(&mut sim, "1");
}

#[test]
fn frames_for_request_ids_not_in_use_are_dropped() {
    let mut sim = live_sim(quiet_options());
    let subscription = sim.subscribe_id();
    for text in [
        // A response, an event and an abort for ids the client never used.
        r#"{"i":"zz","p":{"b":{"json":"who asked?"}}}"#.to_owned(),
        r#"{"i":"zz","t":3,"p":{"e":"message","d":{"json":"x"},"m":{"id":"99"}}}"#.to_owned(),
        r#"{"i":"zz","t":3,"p":{"e":"done"}}"#.to_owned(),
        r#"{"i":"zz","t":4}"#.to_owned(),
        // A second stream head for the subscription that is already streaming.
        format!(r#"{{"i":"{subscription}","p":{{"h":{{"content-type":"text/event-stream"}}}}}}"#),
        format!(r#"{{"i":"{subscription}","p":{{"s":500,"b":"late"}}}}"#),
    ] {
        let reason = ignore_reason(&mut sim, &text);
        assert!(
            matches!(&reason, Error::UnexpectedResponse { reason } if reason.contains("not in use")),
            "{text}: {reason:?}"
        );
    }
    // The event for the unknown id was not delivered, and did not move the resume cursor.
    assert!(sim.events().is_empty());
    assert_eq!(sim.engine.last_event_id(), None);
    still_streaming(&mut sim, "1");
}

#[test]
fn events_before_the_stream_opens_are_dropped() {
    let mut sim = Sim::new(quiet_options(), token(), None);
    sim.opened();
    let subscription = sim.subscribe_id();
    sim.take();
    let reason = ignore_reason(
        &mut sim,
        &format!(
            r#"{{"i":"{subscription}","t":3,"p":{{"e":"message","d":{{}},"m":{{"id":"1"}}}}}}"#
        ),
    );
    assert!(matches!(reason, Error::UnexpectedResponse { .. }));
    sim.accept_subscription();
    still_streaming(&mut sim, "1");
}

#[test]
fn the_answer_to_a_liveness_probe_is_not_a_diagnostic() {
    let mut sim = live_sim(EngineOptions::default());
    sim.advance(secs(20));
    let probe = sim
        .requests_to(durable_iterator_protocol::consts::PATH_LIVENESS_PROBE)
        .pop()
        .expect("a probe was sent")
        .0;
    sim.take();
    sim.receive_text(&format!(
        r#"{{"i":"{probe}","p":{{"s":404,"b":"No procedure matched"}}}}"#
    ));
    assert!(sim.take().is_empty());
}

#[test]
fn frames_over_the_limit_are_dropped_unread_and_the_stream_goes_on() {
    let limit = 1024;
    let mut sim = live_sim(quiet_options().with_max_frame_bytes(limit));
    let subscription = sim.subscribe_id();
    let frame = |id: &str, pad: usize| {
        let head = format!(r#"{{"i":"{subscription}","t":3,"p":{{"e":"message","d":{{"json":""#);
        let tail = format!(r#""}},"m":{{"id":"{id}"}}}}}}"#);
        let pad = pad.saturating_sub(head.len() + tail.len());
        format!("{head}{}{tail}", "x".repeat(pad))
    };
    let exact = frame("1", limit);
    assert_eq!(exact.len(), limit);
    sim.receive_text(&exact);
    assert_eq!(sim.event_ids(), vec!["1"]);
    sim.take();

    let reason = ignore_reason(&mut sim, &frame("2", limit + 1));
    assert_eq!(
        reason,
        Error::FrameTooLarge {
            size: limit + 1,
            limit
        }
    );
    let socket = sim.socket();
    sim.frame(socket, Frame::Binary(vec![b' '; 2 * 1024 * 1024]));
    assert_eq!(
        ignored(&sim.take()),
        vec![Error::FrameTooLarge {
            size: 2 * 1024 * 1024,
            limit
        }]
    );
    // The dropped event's id was never seen: a resume would ask for it again.
    assert_eq!(sim.engine.last_event_id(), Some("1"));
    still_streaming(&mut sim, "3");
}

#[test]
fn the_default_limit_is_16_mib_and_a_2_mib_event_passes() {
    assert_eq!(EngineOptions::default().max_frame_bytes, 16 * 1024 * 1024);
    let mut sim = live_sim(quiet_options());
    let big = "y".repeat(2 * 1024 * 1024);
    sim.event(Some("1"), &big);
    assert!(ignored(&sim.take()).is_empty());
    assert_eq!(
        sim.events()[0].1.len(),
        big.len() + r#"{"json":{"message":""}}"#.len()
    );
}

#[test]
fn bodies_are_passed_through_untouched_even_when_their_meta_is_wrong() {
    // The engine does not read event bodies: a meta path that does not exist is the typed
    // decoder's error (one failed item), never the engine's.
    let mut sim = live_sim(quiet_options());
    let subscription = sim.subscribe_id();
    for (id, body) in [
        ("1", r#"{"json":{"a":1},"meta":[[1,"missing","path"]]}"#),
        ("2", r#"{"json":[1],"meta":[[0,5]]}"#),
        ("3", r#"{"meta":[[0]]}"#),
        ("4", "5"),
        ("5", "null"),
    ] {
        sim.receive_text(&format!(
            r#"{{"i":"{subscription}","t":3,"p":{{"e":"message","d":{body},"m":{{"id":"{id}"}}}}}}"#
        ));
        let events = sim.events();
        assert_eq!(events.last(), Some(&(Some(id.to_owned()), body.to_owned())));
    }
    assert!(ignored(&sim.log).is_empty());
}

#[test]
fn nothing_comes_out_after_done() {
    let mut sim = live_sim(EngineOptions::default());
    let subscription = sim.subscribe_id();
    sim.event(Some("1"), "last");
    sim.receive_text(&format!(
        r#"{{"i":"{subscription}","t":3,"p":{{"e":"done","d":{{}}}}}}"#
    ));
    let outputs = sim.take();
    assert_eq!(outputs.last(), Some(&Output::Ended(Ok(()))));
    assert!(outputs.contains(&Output::CloseSocket {
        socket: sim.socket(),
        code: 1000,
        reason: String::new()
    }));
    assert_eq!(sim.engine.poll_timeout(), None);

    // A hostile object keeps talking: events, another done, errors, garbage, a close.
    sim.event(Some("2"), "after done");
    sim.receive_text(&format!(
        r#"{{"i":"{subscription}","t":3,"p":{{"e":"done"}}}}"#
    ));
    sim.receive_text(&format!(
        r#"{{"i":"{subscription}","t":3,"p":{{"e":"error","d":{{}}}}}}"#
    ));
    sim.receive_text("garbage");
    sim.receive_text(r#"{"i":"1","t":42}"#);
    sim.closed(1011, "bye");
    sim.advance(secs(3600));
    assert!(sim.take().is_empty());
    assert_eq!(sim.event_ids(), vec!["1"]);
    assert_eq!(sim.count(|o| matches!(o, Output::Ended(_))), 1);
}

#[test]
fn frames_on_a_socket_the_engine_gave_up_are_ignored_silently() {
    let mut sim = live_sim(quiet_options());
    let old = sim.socket();
    sim.closed(1006, "lost");
    sim.next_timer();
    sim.take();
    sim.frame(old, Frame::Text("garbage from a dead socket".to_owned()));
    assert!(sim.take().is_empty());
}

#[test]
fn a_huge_retry_hint_cannot_stall_reconnects_for_more_than_a_minute() {
    let mut sim = live_sim(quiet_options());
    let subscription = sim.subscribe_id();
    // A buggy or hostile object asks for a retry delay of half a billion years.
    sim.receive_text(&format!(
        r#"{{"i":"{subscription}","t":3,"p":{{"e":"message","d":{{}},"m":{{"id":"1","retry":{}}}}}}}"#,
        u64::MAX
    ));
    sim.closed(1006, "lost");
    match sim.engine.state() {
        ConnectionState::Reconnecting { delay, .. } => {
            assert_eq!(*delay, secs(60), "the hint is capped at a minute")
        }
        other => panic!("expected to be reconnecting, got {other:?}"),
    }
    sim.advance(secs(60));
    assert_eq!(sim.open_count(), 2, "reconnected after the capped delay");
    // An ordinary hint is still honoured as a floor.
    sim.opened();
    sim.accept_subscription();
    let subscription = sim.subscribe_id();
    sim.receive_text(&format!(
        r#"{{"i":"{subscription}","t":3,"p":{{"e":"message","d":{{}},"m":{{"id":"2","retry":15000}}}}}}"#
    ));
    sim.closed(1006, "lost again");
    assert!(matches!(
        sim.engine.state(),
        ConnectionState::Reconnecting { delay, .. } if *delay == secs(15)
    ));
}

#[test]
fn an_event_id_over_a_kibibyte_is_malformed_and_not_remembered() {
    let mut sim = live_sim(quiet_options());
    let subscription = sim.subscribe_id();
    sim.event(Some("1"), "fine");
    sim.take();
    let frame = |id: &str| {
        format!(
            r#"{{"i":"{subscription}","t":3,"p":{{"e":"message","d":{{}},"m":{{"id":"{id}"}}}}}}"#
        )
    };
    let longest = "7".repeat(durable_iterator_protocol::client::MAX_EVENT_ID_BYTES);
    sim.receive_text(&frame(&longest));
    assert_eq!(
        sim.event_ids().last(),
        Some(&longest),
        "1 KiB is still fine"
    );
    sim.take();
    let reason = ignore_reason(&mut sim, &frame(&format!("{longest}7")));
    assert!(
        matches!(&reason, Error::MalformedMessage { reason } if reason.contains("1025 bytes")),
        "{reason:?}"
    );
    assert_eq!(sim.engine.last_event_id(), Some(longest.as_str()));
    still_streaming(&mut sim, "2");
}

#[test]
fn diagnostics_quote_only_the_start_of_a_hostile_id() {
    let mut sim = live_sim(quiet_options());
    let id = "n".repeat(100_000);
    let reason = ignore_reason(&mut sim, &format!(r#"{{"i":"{id}","t":4}}"#));
    let Error::UnexpectedResponse { reason } = reason else {
        panic!("expected UnexpectedResponse, got {reason:?}");
    };
    assert!(reason.len() < 120, "{} bytes", reason.len());
    assert!(
        reason.contains(&format!("{}...", "n".repeat(40))),
        "{reason}"
    );
    // Forty characters, not bytes: multi-byte ones are never split, and an id of exactly
    // forty is quoted whole.
    for (id, shown) in [
        ("é".repeat(41), format!("{}...", "é".repeat(40))),
        ("😀".repeat(40), "😀".repeat(40)),
        (
            format!("{}€x", "a".repeat(39)),
            format!("{}€...", "a".repeat(39)),
        ),
    ] {
        let reason = ignore_reason(&mut sim, &format!(r#"{{"i":"{id}","t":4}}"#));
        assert_eq!(
            reason,
            Error::UnexpectedResponse {
                reason: format!("abort for request id \"{shown}\", which is not in use")
            }
        );
    }
}
