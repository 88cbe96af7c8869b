//! Subscribing and resuming: the `last-event-id` sent on every (re)subscribe, exactly-once
//! delivery against the upstream object's text-ordered replay, and the continuity signals.
#![cfg(feature = "codec")]

mod engine_support;

use std::collections::BTreeSet;
use std::path::PathBuf;

use durable_iterator_protocol::client::{Output, SplitMix64, BARRIER_TIMEOUT};
use durable_iterator_protocol::{EventKind, EventPayload, Frame, ResponsePayload, ServerMessage};
use engine_support::*;
use serde_json::Value;

fn transcript(name: &str) -> Vec<Value> {
    let dir = std::env::var_os("DURABLE_ITERATOR_VECTORS")
        .map(|file| PathBuf::from(file).with_file_name("upstream"))
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/upstream")
        });
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the upstream transcript is required at {} ({e})",
            path.display()
        )
    });
    text.lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

/// Replays `upstream-transcript-duplicate.jsonl`: the real object's frames, fed to our engine
/// in the recorded order (two forced drops, a text-ordered replay `10, 11, 12, 5..9`). The
/// upstream client delivered 10, 11 and 12 twice there; we must deliver every id once.
#[test]
fn upstream_duplicate_transcript_loses_nothing_and_repeats_nothing() {
    let records = transcript("upstream-transcript-duplicate.jsonl");
    let mut sim = Sim::new(quiet_options(), token(), None);
    let mut upstream_subscribe = None::<String>;
    let mut saw_connection = 0;
    for record in &records {
        let conn = record["conn"].as_u64().unwrap_or(0);
        match record["event"].as_str() {
            Some("open") => {
                if conn > 1 {
                    // Our engine reconnects on its own schedule; let it.
                    while sim.open_count() < conn as usize {
                        sim.next_timer().expect("a reconnect timer");
                    }
                }
                saw_connection = conn;
                sim.opened();
            }
            Some("frame") if record["dir"] == "c2s" => {
                let message: Value =
                    serde_json::from_str(record["text"].as_str().unwrap()).unwrap();
                if message["p"]["u"] == "/subscribe" {
                    upstream_subscribe = message["i"].as_str().map(str::to_owned);
                    // Where upstream resumed from is where we resume from in this recording.
                    let ours = sim.requests_to("/subscribe").pop().unwrap().1;
                    let theirs = message["p"]["h"]["last-event-id"]
                        .as_str()
                        .map(str::to_owned);
                    assert_eq!(ours, theirs, "connection {conn}");
                }
            }
            Some("frame") => {
                let text = record["text"].as_str().unwrap();
                let message = ServerMessage::decode_text(text).expect("upstream frames decode");
                // Only the subscription's frames matter here (the calls are not replayed).
                if Some(message.id()) != upstream_subscribe.as_deref() {
                    continue;
                }
                let ours = sim.subscribe_id();
                let rebuilt = match message {
                    ServerMessage::Response { payload, .. } => {
                        ServerMessage::Response { id: ours, payload }
                    }
                    ServerMessage::Event { payload, .. } => {
                        ServerMessage::Event { id: ours, payload }
                    }
                    ServerMessage::Abort { .. } => ServerMessage::Abort { id: ours },
                };
                sim.receive(rebuilt);
            }
            Some("close") if record["code"] == 1000 => {
                // The object answered the replay barrier long before (the recording has live
                // events after the replay); our client's barrier is not in it.
                sim.answer_barrier();
                sim.stop()
            }
            Some("close") => {
                let reason = record["reason"].as_str().unwrap_or_default();
                sim.closed(record["code"].as_u64().unwrap() as u16, reason);
            }
            _ => {}
        }
    }
    sim.take();
    assert_eq!(saw_connection, 3);
    let ids: Vec<u64> = sim
        .event_ids()
        .iter()
        .map(|id| id.parse().unwrap())
        .collect();
    // In order: the replay `10, 11, 12, 5..9` is released in integer order.
    let expected: Vec<u64> = (2..=22).collect();
    assert_eq!(ids, expected);
    assert_eq!(sim.count(|o| matches!(o, Output::Resumed { .. })), 2);
    assert_eq!(sim.ended(), Some(Ok(())));
}

/// The same recording, but the second connection drops right after `12`: resuming from 12
/// would lose 5..9 on the upstream object, so the engine resumes from 4 and drops the
/// repeated 10..12.
#[test]
fn a_drop_inside_a_text_ordered_replay_resumes_from_before_it() {
    let mut sim = Sim::new(quiet_options(), token(), None);
    sim.connect_and_subscribe();
    for id in ["2", "3", "4"] {
        sim.event(Some(id), &format!("m{id}"));
    }
    sim.closed(4000, "proxy forced disconnect");
    sim.next_timer();
    sim.connect_and_subscribe();
    assert_eq!(
        sim.requests_to("/subscribe").pop().unwrap().1.as_deref(),
        Some("4")
    );
    for id in ["10", "11", "12"] {
        sim.event(Some(id), &format!("m{id}"));
    }
    sim.closed(4000, "proxy forced disconnect");
    sim.next_timer();
    sim.connect_and_subscribe();
    assert_eq!(
        sim.requests_to("/subscribe").pop().unwrap().1.as_deref(),
        Some("4")
    );
    for id in ["10", "11", "12", "5", "6", "7", "8", "9", "13"] {
        sim.event(Some(id), &format!("m{id}"));
    }
    // 5..9 go at once (nothing lower can still come); 10..13 wait for the replay's end.
    assert_eq!(sim.event_ids(), ["2", "3", "4", "5", "6", "7", "8", "9"]);
    assert_eq!(sim.kept_count(), 4);
    sim.answer_barrier();
    assert_eq!(
        sim.event_ids(),
        ["2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13"]
    );
    assert_eq!(sim.kept_count(), 0);
    assert_eq!(sim.engine.last_event_id(), Some("13"));
}

/// A model of the object's resume storage: ids 1.., each visible to our subscriber or not
/// (tags), replayed above a cursor in integer order (our server) or text order (upstream).
struct ModelObject {
    text_order: bool,
    published: Vec<(u64, bool)>,
}

impl ModelObject {
    fn publish(&mut self, visible: bool) -> u64 {
        let id = self.published.len() as u64 + 1;
        self.published.push((id, visible));
        id
    }

    fn replay(&self, after: Option<&str>) -> Vec<u64> {
        let Some(after) = after.map(|a| a.parse::<u64>().expect("numeric cursor")) else {
            return Vec::new();
        };
        let mut ids: Vec<u64> = self
            .published
            .iter()
            .filter(|(id, visible)| *visible && *id > after)
            .map(|(id, _)| *id)
            .collect();
        if self.text_order {
            ids.sort_by_key(|id| id.to_string());
        }
        ids
    }

    fn visible(&self) -> BTreeSet<u64> {
        self.published
            .iter()
            .filter(|(_, v)| *v)
            .map(|(id, _)| *id)
            .collect()
    }
}

/// Random drops at random points, including in the middle of replays, across digit
/// boundaries (9 -> 10, 99 -> 100), with some events invisible to this subscriber: every
/// visible event arrives exactly once, whichever order the object replays in.
#[test]
fn random_drops_against_both_replay_orders_deliver_every_event_once() {
    for text_order in [true, false] {
        for seed in 0..150u64 {
            let mut rng = SplitMix64::new(seed);
            let mut object = ModelObject {
                text_order,
                published: Vec::new(),
            };
            // Starting from "0" gives even the first drop a cursor to resume from (without
            // one nothing can be replayed: that case is `events_without_ids_mean_a_possible_gap`).
            let mut sim = Sim::with_seed(quiet_options(), token(), Some("0"), seed);
            sim.connect_and_subscribe();
            let mut subscribed = true;
            while object.published.len() < 160 {
                if subscribed {
                    for _ in 0..rng.below_inclusive(12) {
                        let visible = rng.below_inclusive(3) != 0;
                        let id = object.publish(visible);
                        if visible {
                            sim.event(Some(&id.to_string()), "live");
                        }
                    }
                }
                sim.closed(1006, "");
                for _ in 0..rng.below_inclusive(15) {
                    object.publish(rng.below_inclusive(3) != 0);
                }
                sim.next_timer();
                sim.connect_and_subscribe();
                let cursor = sim.requests_to("/subscribe").pop().unwrap().1;
                let replay = object.replay(cursor.as_deref());
                let cut = rng
                    .below_inclusive(replay.len() as u64 + 2)
                    .min(replay.len() as u64) as usize;
                for id in &replay[..cut] {
                    sim.event(Some(&id.to_string()), "replayed");
                }
                subscribed = cut == replay.len();
                if subscribed {
                    sim.answer_barrier();
                }
            }
            // A last, complete resume.
            sim.closed(1006, "");
            sim.next_timer();
            sim.connect_and_subscribe();
            let cursor = sim.requests_to("/subscribe").pop().unwrap().1;
            for id in object.replay(cursor.as_deref()) {
                sim.event(Some(&id.to_string()), "replayed");
            }
            sim.answer_barrier();
            let delivered: Vec<u64> = sim
                .event_ids()
                .iter()
                .map(|id| id.parse().unwrap())
                .collect();
            let unique: BTreeSet<u64> = delivered.iter().copied().collect();
            assert_eq!(
                unique.len(),
                delivered.len(),
                "text order {text_order}, seed {seed}: duplicates"
            );
            assert_eq!(
                unique,
                object.visible(),
                "text order {text_order}, seed {seed}: lost events"
            );
            assert!(
                delivered.windows(2).all(|pair| pair[0] < pair[1]),
                "text order {text_order}, seed {seed}: out of order: {delivered:?}"
            );
        }
    }
}

#[test]
fn the_callers_last_event_id_starts_the_first_subscription() {
    let mut sim = Sim::new(quiet_options(), token(), Some("41"));
    sim.connect_and_subscribe();
    assert_eq!(
        sim.sent_texts(),
        [
            r#"{"i":"1","p":{"u":"/subscribe","b":{},"h":{"last-event-id":"41"}}}"#,
            // The barrier that tells when the replay is complete.
            r#"{"i":"2","p":{"u":"/__liveness","b":{}}}"#,
        ]
    );
    // The first subscription is not a "resume" of this iterator.
    assert_eq!(
        sim.count(|o| matches!(o, Output::Resumed { .. } | Output::PossibleGap)),
        0
    );
}

#[test]
fn a_resubscribe_reports_where_it_resumed_from() {
    let mut sim = Sim::new(quiet_options(), token(), None);
    sim.connect_and_subscribe();
    sim.event(Some("7"), "a");
    sim.closed(1006, "");
    sim.next_timer();
    sim.opened();
    assert_eq!(sim.count(|o| matches!(o, Output::Resumed { .. })), 0);
    sim.accept_subscription();
    assert_eq!(
        sim.take().last(),
        Some(&Output::Resumed {
            last_event_id: "7".to_owned()
        })
    );
}

#[test]
fn events_without_ids_mean_a_possible_gap() {
    let mut sim = Sim::new(quiet_options(), token(), None);
    sim.connect_and_subscribe();
    sim.event(None, "a");
    sim.event(None, "a");
    // Without ids, nothing can be recognised as a duplicate: both are yielded.
    assert_eq!(sim.events().len(), 2);
    sim.closed(1006, "");
    sim.next_timer();
    sim.connect_and_subscribe();
    assert_eq!(sim.requests_to("/subscribe").pop().unwrap().1, None);
    assert_eq!(sim.take().last(), Some(&Output::PossibleGap));

    // An old cursor does not help when the latest events carry no id.
    let mut sim = Sim::new(quiet_options(), token(), Some("3"));
    sim.connect_and_subscribe();
    sim.event(None, "b");
    sim.closed(1006, "");
    sim.next_timer();
    sim.connect_and_subscribe();
    assert_eq!(sim.take().last(), Some(&Output::PossibleGap));
}

#[test]
fn an_exact_duplicate_is_dropped_even_live() {
    let mut sim = Sim::new(quiet_options(), token(), None);
    sim.connect_and_subscribe();
    sim.event(Some("1"), "a");
    sim.event(Some("1"), "a");
    sim.event(Some("2"), "b");
    assert_eq!(sim.event_ids(), ["1", "2"]);
    assert_eq!(
        sim.events()[0].1,
        r#"{"json":{"message":"a"}}"#,
        "event data is passed through untouched"
    );
}

#[test]
fn the_delivered_set_is_bounded() {
    let mut sim = Sim::new(quiet_options().with_dedup_capacity(2), token(), None);
    sim.connect_and_subscribe();
    for id in ["a", "b", "c", "a", "c"] {
        sim.event(Some(id), "x");
    }
    // "a" was forgotten to keep only two ids; "c" was still remembered.
    assert_eq!(sim.event_ids(), ["a", "b", "c", "a"]);
}

#[test]
fn a_failed_stream_resubscribes_on_the_same_socket() {
    let mut sim = Sim::new(quiet_options(), token(), None);
    sim.connect_and_subscribe();
    sim.event(Some("5"), "a");
    let stream = sim.subscribe_id();
    sim.receive(ServerMessage::Event {
        id: stream.clone(),
        payload: EventPayload {
            event: EventKind::Error,
            data: Some(json(r#"{"json":{"defined":false,"code":"INTERNAL_SERVER_ERROR","status":500,"message":"boom"}}"#)),
            meta: None,
        },
    });
    assert_eq!(sim.requests_to("/subscribe").len(), 1);
    sim.next_timer();
    let subscribes = sim.requests_to("/subscribe");
    assert_eq!(subscribes.len(), 2);
    assert_eq!(subscribes[1].1.as_deref(), Some("5"));
    assert_ne!(subscribes[1].0, stream);
    assert_eq!(sim.open_count(), 1);
    sim.accept_subscription();
    assert_eq!(
        sim.take().last(),
        Some(&Output::Resumed {
            last_event_id: "5".to_owned()
        })
    );

    // The object aborting the stream, or refusing the subscribe, is handled the same way.
    sim.receive(ServerMessage::Abort {
        id: sim.subscribe_id(),
    });
    sim.next_timer();
    assert_eq!(sim.requests_to("/subscribe").len(), 3);
    sim.receive(ServerMessage::Response {
        id: sim.subscribe_id(),
        payload: ResponsePayload::with_body(500, json(r#"{"json":{"defined":false,"code":"INTERNAL_SERVER_ERROR","status":500,"message":"x"}}"#)),
    });
    sim.next_timer();
    assert_eq!(sim.requests_to("/subscribe").len(), 4);
    assert_eq!(sim.open_count(), 1);
}

#[test]
fn done_ends_the_iterator() {
    let mut sim = Sim::new(quiet_options(), token(), None);
    sim.connect_and_subscribe();
    let socket = sim.socket();
    sim.receive(ServerMessage::Event {
        id: sim.subscribe_id(),
        payload: EventPayload {
            event: EventKind::Done,
            data: None,
            meta: None,
        },
    });
    let outputs = sim.take();
    assert!(outputs
        .iter()
        .any(|o| matches!(o, Output::CloseSocket { socket: s, code: 1000, .. } if *s == socket)));
    assert_eq!(outputs.last(), Some(&Output::Ended(Ok(()))));
    assert_eq!(sim.engine.poll_timeout(), None);
}

#[test]
fn binary_frames_and_bodyless_events_are_understood() {
    let mut sim = Sim::new(quiet_options(), token(), None);
    sim.connect_and_subscribe();
    let stream = sim.subscribe_id();
    let text = message_event(&stream, Some("1"), "bin").encode();
    let Frame::Text(text) = text else {
        panic!("events encode as text")
    };
    let socket = sim.socket();
    sim.frame(socket, Frame::Binary(text.into_bytes()));
    sim.receive_text(&format!(
        r#"{{"i":"{stream}","t":3,"p":{{"e":"message","m":{{"id":"2"}}}}}}"#
    ));
    sim.receive_text("not json at all");
    assert_eq!(
        sim.events(),
        [
            (
                Some("1".to_owned()),
                r#"{"json":{"message":"bin"}}"#.to_owned()
            ),
            (Some("2".to_owned()), "{}".to_owned()),
        ]
    );
}

/// Resumes from 98 against a text-ordered replay (`100, 101, 99`): 99 goes at once, 100 and
/// 101 wait for the barrier's answer.
fn resume_across_a_digit_boundary() -> Sim {
    let mut sim = Sim::new(quiet_options(), token(), Some("98"));
    sim.connect_and_subscribe();
    for id in ["100", "101", "99"] {
        sim.event(Some(id), "replayed");
    }
    assert_eq!(sim.event_ids(), ["99"]);
    assert_eq!(sim.kept_count(), 2);
    sim
}

#[test]
fn an_unanswered_barrier_releases_the_replay_after_its_timeout() {
    let mut sim = resume_across_a_digit_boundary();
    let waited = sim.next_timer().expect("the barrier's timeout");
    assert_eq!(waited, BARRIER_TIMEOUT);
    assert_eq!(sim.event_ids(), ["99", "100", "101"]);
    // Ordering is over for this subscription: live events go straight through.
    sim.event(Some("102"), "live");
    assert_eq!(sim.event_ids(), ["99", "100", "101", "102"]);
    assert_eq!(sim.kept_count(), 0);
}

#[test]
fn the_objects_done_yields_held_events_first() {
    let mut sim = resume_across_a_digit_boundary();
    let stream = sim.subscribe_id();
    sim.receive(ServerMessage::Event {
        id: stream,
        payload: EventPayload {
            event: EventKind::Done,
            data: None,
            meta: None,
        },
    });
    assert_eq!(sim.event_ids(), ["99", "100", "101"]);
    assert_eq!(sim.ended(), Some(Ok(())));
}

#[test]
fn a_stop_drops_held_events() {
    let mut sim = resume_across_a_digit_boundary();
    sim.stop();
    assert_eq!(sim.event_ids(), ["99"]);
    assert_eq!(sim.ended(), Some(Ok(())));
}

#[test]
fn held_events_wait_through_a_drop_for_the_next_replay() {
    let mut sim = resume_across_a_digit_boundary();
    sim.closed(1006, "");
    sim.next_timer();
    sim.connect_and_subscribe();
    // 99 arrived and nothing below it can still come: the next subscription resumes from it.
    assert_eq!(
        sim.requests_to("/subscribe").pop().unwrap().1.as_deref(),
        Some("99")
    );
    for id in ["100", "101", "102"] {
        sim.event(Some(id), "replayed");
    }
    assert_eq!(sim.event_ids(), ["99"]);
    sim.answer_barrier();
    assert_eq!(sim.event_ids(), ["99", "100", "101", "102"]);
}
