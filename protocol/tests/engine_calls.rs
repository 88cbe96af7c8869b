//! RPC calls over `/call`: gating by the token's `rpc` list before anything is sent, paths,
//! the "no input" encoding the real object accepts, per-call retries and aborts.
#![cfg(feature = "codec")]

mod engine_support;

use durable_iterator_protocol::client::{CallRequest, Instant, Output};
use durable_iterator_protocol::{ClientMessage, Error, ResponsePayload, RichBody, ServerMessage};
use engine_support::*;
use serde_json::json as value;

fn calls_sent(sim: &Sim) -> Vec<(String, String)> {
    sim.sent()
        .into_iter()
        .filter_map(|m| match m {
            ClientMessage::Request { id, payload } if payload.url == "/call" => Some((
                id,
                payload.body.map(|b| b.get().to_owned()).unwrap_or_default(),
            )),
            _ => None,
        })
        .collect()
}

fn answer(sim: &mut Sim, request: &str, status: u16, body: &str) {
    sim.receive(ServerMessage::Response {
        id: request.to_owned(),
        payload: ResponsePayload::with_body(status, json(body)),
    });
}

fn open_sim() -> Sim {
    let mut sim = Sim::new(quiet_options(), token(), None);
    sim.connect_and_subscribe();
    sim
}

#[test]
fn an_allowed_call_goes_out_as_upstream_sends_it_and_settles_with_the_body() {
    let mut sim = open_sim();
    let call = sim
        .call(Call::new(
            ["routerClient", "echo"],
            Some(RichBody::plain(value!({"text": "Hello"}))),
        ))
        .expect("routerClient is in the token's rpc list");
    // Byte-identical to the upstream client's frame (upstream-transcript.jsonl).
    assert_eq!(
        sim.sent_texts().last().unwrap(),
        r#"{"i":"2","p":{"u":"/call","b":{"json":{"path":["routerClient","echo"],"input":{"text":"Hello"}}}}}"#
    );
    sim.receive_text(r#"{"i":"2","p":{"b":{"json":"Echo: Hello"}}}"#);
    assert_eq!(
        sim.settled(call),
        Some(Ok(json(r#"{"json":"Echo: Hello"}"#)))
    );
    // An answer without a body is `undefined`: `{}`.
    let single = sim
        .call(Call::new(
            ["singleClient"],
            Some(RichBody::plain(value!({"message": "x"}))),
        ))
        .unwrap();
    sim.receive_text(r#"{"i":"3","p":{"b":{}}}"#);
    assert_eq!(sim.settled(single), Some(Ok(json("{}"))));
}

#[test]
fn no_input_is_sent_as_null_with_undefined_meta() {
    let mut sim = open_sim();
    sim.call(Call::new(["routerClient", "ping"], None)).unwrap();
    assert_eq!(
        calls_sent(&sim)[0].1,
        r#"{"json":{"path":["routerClient","ping"],"input":null},"meta":[[3,"input"]]}"#
    );
}

#[test]
fn a_method_outside_the_rpc_list_is_refused_before_sending() {
    let mut sim = open_sim();
    let before = sim.log.len();
    assert_eq!(
        sim.call(Call::new(["publish"], None)),
        Err(Error::RpcNotAllowed {
            method: "publish".to_owned()
        })
    );
    assert_eq!(
        sim.call(Call::new(["echo", "routerClient"], None)),
        Err(Error::RpcNotAllowed {
            method: "echo".to_owned()
        })
    );
    assert!(matches!(
        sim.call(Call::new(Vec::<String>::new(), None)),
        Err(Error::InvalidCall { .. })
    ));
    // The engine checks the path itself too (the JS binding hands it encoded bodies).
    for path in [Vec::new(), vec![String::new()]] {
        assert!(matches!(
            sim.call_request(CallRequest::new(path, "{}".to_owned())),
            Err(Error::InvalidCall { .. })
        ));
    }
    sim.take();
    assert_eq!(sim.log.len(), before);
    assert!(calls_sent(&sim).is_empty());
    assert_eq!(
        Error::RpcNotAllowed { method: "x".into() }.code(),
        "RPC_NOT_ALLOWED"
    );
}

#[test]
fn nested_paths_are_sent_whole() {
    let mut sim = open_sim();
    sim.call(Call::new(
        ["routerClient", "a", "b"],
        Some(RichBody::plain(value!(1))),
    ))
    .unwrap();
    assert_eq!(
        calls_sent(&sim)[0].1,
        r#"{"json":{"path":["routerClient","a","b"],"input":1}}"#
    );
}

#[test]
fn error_answers_become_typed_rpc_errors() {
    let mut sim = open_sim();
    let forbidden = sim.call(Call::new(["singleClient"], None)).unwrap();
    answer(
        &mut sim,
        "2",
        403,
        r#"{"json":{"defined":false,"code":"FORBIDDEN","status":403,"message":"Method \"singleClient\" is not allowed."}}"#,
    );
    match sim.settled(forbidden) {
        Some(Err(Error::Rpc(error))) => {
            assert_eq!((error.code.as_str(), error.status), ("FORBIDDEN", 403));
        }
        other => panic!("{other:?}"),
    }
    // The bare-string 404 of an unknown path.
    let missing = sim.call(Call::new(["routerClient", "nope"], None)).unwrap();
    answer(&mut sim, "3", 404, r#""No procedure matched""#);
    match sim.settled(missing) {
        Some(Err(Error::Rpc(error))) => {
            assert_eq!(
                (error.code.as_str(), error.message.as_str()),
                ("NOT_FOUND", "No procedure matched")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn retries_wait_the_delay_and_use_a_fresh_request_id() {
    let mut sim = open_sim();
    let call = sim
        .call(Call::new(["routerClient", "ping"], None).with_retries(2, secs(2)))
        .unwrap();
    let error =
        r#"{"json":{"defined":false,"code":"INTERNAL_SERVER_ERROR","status":500,"message":"x"}}"#;
    answer(&mut sim, "2", 500, error);
    assert_eq!(sim.settled(call), None);
    sim.advance(ms(1999));
    assert_eq!(calls_sent(&sim).len(), 1);
    sim.advance(ms(1));
    let sent = calls_sent(&sim);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].0, "3");
    assert_eq!(sent[1].1, sent[0].1);
    answer(&mut sim, "3", 500, error);
    sim.advance(secs(2));
    answer(&mut sim, "4", 200, r#"{"json":"pong"}"#);
    assert_eq!(sim.settled(call), Some(Ok(json(r#"{"json":"pong"}"#))));

    // Out of retries: the last error is the answer.
    let call = sim
        .call(Call::new(["routerClient", "ping"], None).with_retries(1, secs(1)))
        .unwrap();
    answer(&mut sim, "5", 500, error);
    sim.advance(secs(1));
    answer(&mut sim, "6", 500, error);
    assert!(matches!(sim.settled(call), Some(Err(Error::Rpc(_)))));
}

#[test]
fn abort_tells_the_object_and_settles_at_once() {
    let mut sim = open_sim();
    let call = sim.call(Call::new(["routerClient", "slow"], None)).unwrap();
    sim.abort_call(call);
    sim.take();
    assert_eq!(sim.sent_texts().last().unwrap(), r#"{"i":"2","t":4}"#);
    assert_eq!(sim.settled(call), Some(Err(Error::Aborted)));
    // The answer that crosses the abort is dropped, with a diagnostic and nothing else.
    answer(&mut sim, "2", 200, r#"{"json":"late"}"#);
    assert!(matches!(
        sim.take().as_slice(),
        [Output::FrameIgnored {
            reason: Error::UnexpectedResponse { .. }
        }]
    ));
    // Aborting a retry in waiting sends nothing.
    let call = sim
        .call(Call::new(["routerClient", "x"], None).with_retries(3, secs(5)))
        .unwrap();
    answer(&mut sim, "3", 500, r#""boom""#);
    let sends = sim.sent_texts().len();
    sim.abort_call(call);
    sim.take();
    assert_eq!(sim.sent_texts().len(), sends);
    assert_eq!(sim.settled(call), Some(Err(Error::Aborted)));
    // No retry timer is left: the only one is the token's expiry check (refresh is off).
    assert_eq!(sim.engine.poll_timeout(), Some(Instant::ZERO + secs(3599)));
}

#[test]
fn calls_wait_for_a_socket_and_survive_a_drop_if_they_may_retry() {
    let mut sim = Sim::new(quiet_options(), token(), None);
    let early = sim.call(Call::new(["singleClient"], None)).unwrap();
    assert!(calls_sent(&sim).is_empty());
    sim.opened();
    assert_eq!(calls_sent(&sim).len(), 1);
    let patient = sim
        .call(Call::new(["singleClient"], None).with_retries(1, ms(100)))
        .unwrap();
    sim.closed(1006, "gone");
    assert_eq!(
        sim.settled(early),
        Some(Err(Error::ConnectionClosed {
            code: 1006,
            reason: "gone".to_owned()
        }))
    );
    assert_eq!(sim.settled(patient), None);
    // Resent on the next socket, once it is open.
    while sim.open_count() < 2 {
        sim.next_timer();
    }
    sim.advance(secs(1));
    assert_eq!(calls_sent(&sim).len(), 2);
    sim.opened();
    assert_eq!(calls_sent(&sim).len(), 3);
    let (id, _) = calls_sent(&sim).pop().unwrap();
    answer(&mut sim, &id, 200, r#"{"json":1}"#);
    assert_eq!(sim.settled(patient), Some(Ok(json(r#"{"json":1}"#))));
}

#[test]
fn a_streamed_answer_is_refused_and_stopped() {
    let mut sim = open_sim();
    let call = sim
        .call(Call::new(["routerClient", "stream"], None))
        .unwrap();
    sim.receive(ServerMessage::Response {
        id: "2".into(),
        payload: ResponsePayload::event_stream(),
    });
    assert!(matches!(
        sim.settled(call),
        Some(Err(Error::UnexpectedResponse { .. }))
    ));
    assert_eq!(sim.sent_texts().last().unwrap(), r#"{"i":"2","t":4}"#);
}

#[test]
fn the_rpc_list_follows_the_current_token() {
    let options = quiet_options().with_refresh_before_expire(Some(secs(60)));
    let mut sim = Sim::new(options, token(), None);
    sim.connect_and_subscribe();
    assert!(sim.call(Call::new(["publish"], None)).is_err());
    let fresh = token_with("some-room", None, &["publish"], 1_795_345_100.0, 3600.0);
    sim.refreshed(Ok(fresh));
    assert!(sim.call(Call::new(["publish"], None)).is_ok());
    assert!(sim.call(Call::new(["singleClient"], None)).is_err());
}

#[test]
fn stop_settles_pending_calls_and_refuses_new_ones() {
    let mut sim = open_sim();
    let pending = sim.call(Call::new(["singleClient"], None)).unwrap();
    sim.stop();
    sim.take();
    assert_eq!(sim.settled(pending), Some(Err(Error::IteratorEnded)));
    assert_eq!(
        sim.call(Call::new(["singleClient"], None)),
        Err(Error::IteratorEnded)
    );
    assert!(matches!(sim.log.last(), Some(Output::Ended(Ok(())))));
}
