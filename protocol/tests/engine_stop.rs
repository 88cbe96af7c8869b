//! Stopping: abort or `return()` closes the socket and every timer, and the iterator ends.
#![cfg(feature = "codec")]

mod engine_support;

use durable_iterator_protocol::client::{ConnectionState, EngineOptions, Input, Output};
use engine_support::*;

#[test]
fn stop_on_a_live_iterator_closes_everything() {
    let options = EngineOptions::default().with_refresh_before_expire(Some(secs(60)));
    let mut sim = Sim::new(options, token(), None);
    sim.connect_and_subscribe();
    let socket = sim.socket();
    // A refresh, a liveness probe and a call retry are all planned.
    sim.call(Call::new(["singleClient"], None).with_retries(3, secs(30)))
        .unwrap();
    sim.receive_text(r#"{"i":"2","p":{"s":500,"b":"x"}}"#);
    assert!(sim.engine.poll_timeout().is_some());
    sim.take();

    sim.stop();
    let outputs = sim.take();
    assert_eq!(
        outputs.first(),
        Some(&Output::CloseSocket {
            socket,
            code: 1000,
            reason: String::new()
        })
    );
    assert!(outputs.contains(&Output::State(ConnectionState::Closed {
        code: 1000,
        reason: String::new()
    })));
    assert_eq!(outputs.last(), Some(&Output::Ended(Ok(()))));
    assert_eq!(sim.engine.poll_timeout(), None);
    assert!(sim.engine.is_ended());

    // Nothing moves afterwards, whatever happens.
    sim.advance(secs(3600));
    sim.input(Input::SocketClosed {
        socket,
        code: 1006,
        reason: String::new(),
    });
    sim.input(Input::Online);
    sim.input(Input::Wake);
    sim.stop();
    assert!(sim.take().is_empty());
    assert_eq!(sim.count(|o| matches!(o, Output::Ended(_))), 1);
}

#[test]
fn stop_while_waiting_to_reconnect_or_connecting() {
    let mut sim = Sim::new(quiet_options(), token(), None);
    sim.closed(1006, "");
    sim.take();
    sim.stop();
    let outputs = sim.take();
    // No socket exists while waiting: nothing to close.
    assert!(!outputs
        .iter()
        .any(|o| matches!(o, Output::CloseSocket { .. })));
    assert_eq!(outputs.last(), Some(&Output::Ended(Ok(()))));
    assert_eq!(sim.engine.poll_timeout(), None);

    let mut sim = Sim::new(quiet_options(), token(), None);
    let connecting = sim.socket();
    sim.stop();
    assert!(sim.take().contains(&Output::CloseSocket {
        socket: connecting,
        code: 1000,
        reason: String::new()
    }));
}
