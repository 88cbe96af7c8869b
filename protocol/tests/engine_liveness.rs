//! Liveness: an idle socket gets a harmless probe; no answer in time means a reconnect.
#![cfg(feature = "codec")]

mod engine_support;

use durable_iterator_protocol::client::{
    ConnectionState, EngineOptions, Input, Instant, Liveness, Output, CLOSE_UNRESPONSIVE,
};
use durable_iterator_protocol::consts::PATH_LIVENESS_PROBE;
use engine_support::*;

fn probes(sim: &Sim) -> Vec<String> {
    sim.requests_to(PATH_LIVENESS_PROBE)
        .into_iter()
        .map(|(id, _)| id)
        .collect()
}

fn live_sim() -> Sim {
    let mut sim = Sim::new(EngineOptions::default(), token(), None);
    sim.connect_and_subscribe();
    sim
}

#[test]
fn an_idle_socket_is_probed_and_an_answer_keeps_it() {
    let mut sim = live_sim();
    sim.advance(ms(19_999));
    assert!(probes(&sim).is_empty());
    sim.advance(ms(1));
    assert_eq!(
        sim.sent_texts().last().unwrap(),
        r#"{"i":"2","p":{"u":"/__liveness","b":{}}}"#
    );
    // The object's answer to a path that names no procedure.
    sim.receive_text(r#"{"i":"2","p":{"s":404,"b":"No procedure matched"}}"#);
    sim.advance(ms(19_999));
    assert_eq!(probes(&sim).len(), 1);
    assert_eq!(sim.open_count(), 1);
    sim.advance(ms(1));
    assert_eq!(probes(&sim).len(), 2);
}

#[test]
fn any_frame_counts_as_an_answer() {
    let mut sim = live_sim();
    sim.advance(secs(20));
    sim.advance(secs(9));
    sim.event(Some("1"), "a");
    sim.advance(secs(5));
    assert_eq!(sim.open_count(), 1);
    assert_eq!(sim.engine.state(), &ConnectionState::Open);
}

#[test]
fn traffic_postpones_the_probe() {
    let mut sim = live_sim();
    for id in 1..=10 {
        sim.advance(secs(15));
        sim.event(Some(&id.to_string()), "x");
    }
    assert!(probes(&sim).is_empty());
}

#[test]
fn no_answer_in_time_means_reconnect() {
    let mut sim = live_sim();
    let socket = sim.socket();
    sim.advance(secs(20));
    sim.take();
    sim.advance(ms(9_999));
    assert!(sim.take().is_empty());
    sim.advance(ms(1));
    let outputs = sim.take();
    assert!(outputs.contains(&Output::CloseSocket {
        socket,
        code: CLOSE_UNRESPONSIVE,
        reason: "liveness timeout".to_owned(),
    }));
    assert!(matches!(
        sim.engine.state(),
        ConnectionState::Reconnecting {
            attempt: 1,
            code: CLOSE_UNRESPONSIVE,
            ..
        }
    ));
    sim.next_timer();
    assert_eq!(sim.open_count(), 2);
}

#[test]
fn probing_can_be_switched_off_or_tuned() {
    let mut sim = Sim::new(quiet_options(), token(), None);
    sim.connect_and_subscribe();
    sim.advance(secs(3598));
    assert!(probes(&sim).is_empty());
    // The only timer left is the token's expiry check (refresh is off), at its earliest
    // possible expiry: a whole-second `iat` may hide a second.
    assert_eq!(sim.engine.poll_timeout(), Some(Instant::ZERO + secs(3599)));

    let tuned = EngineOptions::default().with_liveness(Some(Liveness {
        idle: secs(60),
        timeout: secs(2),
    }));
    let mut sim = Sim::new(tuned, token(), None);
    sim.connect_and_subscribe();
    sim.advance(secs(59));
    assert!(probes(&sim).is_empty());
    sim.advance(secs(1));
    assert_eq!(probes(&sim).len(), 1);
    sim.advance(secs(2));
    assert_eq!(sim.count(|o| matches!(o, Output::CloseSocket { .. })), 1);
}

#[test]
fn waking_up_probes_an_open_socket_at_once() {
    let mut sim = live_sim();
    sim.advance(secs(3));
    sim.input(Input::Wake);
    assert_eq!(probes(&sim).len(), 1);
    // A second wake does not stack probes.
    sim.input(Input::Wake);
    assert_eq!(probes(&sim).len(), 1);
    sim.advance(secs(10));
    assert_eq!(sim.open_count(), 1);
    assert!(matches!(
        sim.engine.state(),
        ConnectionState::Reconnecting { .. }
    ));
}

#[test]
fn an_expired_token_on_an_idle_socket_surfaces_through_the_probe() {
    // The object only checks expiry when it receives or sends; the probe makes it do so.
    let short = token_with("some-room", None, &[], 1_795_344_991.0, 30.0);
    let mut sim = Sim::new(EngineOptions::default(), short, None);
    sim.connect_and_subscribe();
    sim.advance(secs(20));
    let first = probes(&sim);
    assert_eq!(first.len(), 1);
    sim.receive_text(&format!(
        r#"{{"i":"{}","p":{{"s":404,"b":"No procedure matched"}}}}"#,
        first[0]
    ));
    // At the earliest `exp` (29 s, the `iat` may be floored) the expiry check probes again,
    // long before the next liveness probe would: the object notices and closes with 1008.
    sim.advance(secs(9));
    assert_eq!(probes(&sim).len(), 2);
    sim.closed(1008, "Token expired");
    assert!(sim
        .ended()
        .is_some_and(|r| r.is_err_and(|e| e.code() == "TOKEN_EXPIRED")));
}
