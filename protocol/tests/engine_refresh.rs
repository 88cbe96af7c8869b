//! Token refresh and auth-aware reconnects: scheduling from the token's lifetime, reuse of the
//! live socket (`/updateToken`) or a rebuild, retries, and ending with `TokenExpired` instead
//! of looping on a dead token.
#![cfg(feature = "codec")]

mod engine_support;

use durable_iterator_protocol::client::{ConnectionState, EngineOptions, Instant, Output};
use durable_iterator_protocol::{ClientMessage, Error, ResponsePayload, ServerMessage};
use engine_support::*;
use std::time::Duration;

const Y2000: f64 = 946_684_800.0;

fn refreshing(before: Duration) -> EngineOptions {
    quiet_options().with_refresh_before_expire(Some(before))
}

fn refresh_requests(sim: &Sim) -> usize {
    sim.count(|o| matches!(o, Output::RefreshToken))
}

fn update_requests(sim: &Sim) -> Vec<(String, String)> {
    sim.sent()
        .into_iter()
        .filter_map(|m| match m {
            ClientMessage::Request { id, payload } if payload.url == "/updateToken" => Some((
                id,
                payload.body.map(|b| b.get().to_owned()).unwrap_or_default(),
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn refresh_is_scheduled_from_the_lifetime_not_the_wall_clock() {
    // Issued "in 2000": a client comparing `exp` with its own clock would think it long
    // expired. Its lifetime is 600 s from when we got it, less the up-to-a-second its
    // whole-second `iat` may hide; refresh 60 s before that end.
    let old = token_with("some-room", None, &[], Y2000, 600.0);
    let mut sim = Sim::new(refreshing(secs(60)), old, None);
    sim.connect_and_subscribe();
    sim.advance(ms(538_999));
    assert_eq!(refresh_requests(&sim), 0);
    sim.advance(ms(1));
    assert_eq!(refresh_requests(&sim), 1);
    // Nothing is asked twice while the first request is out.
    sim.advance(secs(30));
    assert_eq!(refresh_requests(&sim), 1);
}

#[test]
fn a_whole_second_iat_counts_as_up_to_a_second_old() {
    // Upstream floors `iat`: a token issued at x.9 s says x and dies 0.1 s after its lifetime
    // minus a second. A 0.5 s margin from the nominal lifetime would land after `exp`.
    let mut sim = Sim::new(
        refreshing(ms(500)),
        token_with("r", None, &[], Y2000, 3.0),
        None,
    );
    sim.connect_and_subscribe();
    sim.advance(ms(1_499));
    assert_eq!(refresh_requests(&sim), 0);
    sim.advance(ms(1));
    assert_eq!(refresh_requests(&sim), 1);
    // An `iat` with a fraction was not floored: the lifetime is taken as it is.
    let mut exact = Sim::new(
        refreshing(ms(500)),
        token_with("r", None, &[], Y2000 + 0.25, 3.0),
        None,
    );
    exact.connect_and_subscribe();
    exact.advance(ms(2_499));
    assert_eq!(refresh_requests(&exact), 0);
    exact.advance(ms(1));
    assert_eq!(refresh_requests(&exact), 1);
}

#[test]
fn no_refresh_by_default() {
    let mut sim = Sim::new(
        quiet_options(),
        token_with("r", None, &[], Y2000, 600.0),
        None,
    );
    sim.connect_and_subscribe();
    sim.advance(secs(598));
    assert_eq!(refresh_requests(&sim), 0);
    // The only timer is the expiry check at the earliest `exp`, which never refreshes.
    assert_eq!(sim.engine.poll_timeout(), Some(Instant::ZERO + secs(599)));
    sim.advance(secs(3));
    assert_eq!(refresh_requests(&sim), 0);
    assert!(matches!(sim.ended(), Some(Err(Error::TokenExpired { .. }))));
}

#[test]
fn same_channel_and_tags_update_the_token_on_the_live_socket() {
    let first = token_with("some-room", Some(&["t"]), &["a"], Y2000, 600.0);
    let mut sim = Sim::new(refreshing(secs(60)), first, None);
    sim.connect_and_subscribe();
    sim.advance(secs(540));
    let fresh = token_with("some-room", Some(&["t"]), &["a", "b"], Y2000 + 540.0, 600.0);
    sim.take();
    sim.refreshed(Ok(fresh.clone()));
    let outputs = sim.take();
    assert!(outputs
        .iter()
        .any(|o| matches!(o, Output::TokenUpdated { token } if *token == fresh)));
    assert_eq!(
        sim.engine.token_claims().rpc.as_deref(),
        Some(&["a".to_owned(), "b".to_owned()][..])
    );
    // The frame the upstream client sends (upstream-transcript-refresh.jsonl).
    let expected = format!(
        r#"{{"i":"2","p":{{"u":"/updateToken","b":{{"json":{{"token":{}}}}}}}}}"#,
        serde_json::to_string(&fresh).unwrap()
    );
    assert!(outputs
        .iter()
        .any(|o| matches!(o, Output::Send { text, .. } if *text == expected)));
    assert_eq!(sim.open_count(), 1);
    assert_eq!(sim.engine.token(), fresh);
    assert!(sim.engine.allows_rpc("b"));
    sim.receive_text(r#"{"i":"2","p":{"b":{}}}"#);
    assert!(sim.take().is_empty());
    // The next refresh follows the new token's lifetime (less the second its `iat` hides).
    sim.advance(ms(538_999));
    assert_eq!(refresh_requests(&sim), 1);
    sim.advance(ms(1));
    assert_eq!(refresh_requests(&sim), 2);
}

#[test]
fn other_tags_or_channel_rebuild_the_socket_and_resume() {
    for (chn, tags) in [
        ("some-room", Some(&["b"][..])),
        ("other-room", Some(&["a"][..])),
    ] {
        let first = token_with("some-room", Some(&["a"]), &[], Y2000, 600.0);
        let mut sim = Sim::new(refreshing(secs(60)), first, None);
        sim.connect_and_subscribe();
        sim.event(Some("8"), "x");
        let old_socket = sim.socket();
        sim.advance(secs(540));
        sim.take();
        let fresh = token_with(chn, tags, &[], Y2000 + 540.0, 600.0);
        sim.refreshed(Ok(fresh.clone()));
        let outputs = sim.take();
        assert!(outputs.iter().any(
            |o| matches!(o, Output::CloseSocket { socket, code: 1000, .. } if *socket == old_socket)
        ));
        assert!(outputs
            .iter()
            .any(|o| matches!(o, Output::OpenSocket { token, .. } if *token == fresh)));
        assert!(update_requests(&sim).is_empty());
        // A deliberate rebuild is not a failure.
        assert_eq!(
            sim.engine.state(),
            &ConnectionState::Connecting { attempt: 0 }
        );
        assert!(sim
            .socket_url()
            .ends_with(&durable_iterator_protocol::client::form_urlencode(&fresh)));
        sim.connect_and_subscribe();
        assert_eq!(
            sim.requests_to("/subscribe").pop().unwrap().1.as_deref(),
            Some("8")
        );
    }
}

#[test]
fn a_failed_refresh_is_retried_after_a_growing_delay_until_it_works() {
    let mut sim = Sim::new(
        refreshing(secs(60)),
        token_with("r", None, &[], Y2000, 600.0),
        None,
    );
    sim.connect_and_subscribe();
    sim.advance(secs(540));
    assert_eq!(refresh_requests(&sim), 1);
    sim.take();
    sim.refreshed(Err("503 from the app server".to_owned()));
    assert_eq!(
        sim.take(),
        [Output::RefreshFailed {
            reason: "503 from the app server".to_owned(),
            retry_in: secs(2)
        }]
    );
    sim.advance(ms(1999));
    assert_eq!(refresh_requests(&sim), 1);
    sim.advance(ms(1));
    assert_eq!(refresh_requests(&sim), 2);
    // A "token" that is not one is a failure like any other; the second in a row waits twice
    // as long.
    sim.refreshed(Ok("garbage".to_owned()));
    assert!(matches!(
        sim.take().last(),
        Some(Output::RefreshFailed { retry_in, .. }) if *retry_in == secs(4)
    ));
    sim.advance(ms(3999));
    assert_eq!(refresh_requests(&sim), 2);
    sim.advance(ms(1));
    assert_eq!(refresh_requests(&sim), 3);
    sim.refreshed(Ok(token_with("r", None, &[], Y2000 + 544.0, 600.0)));
    assert_eq!(update_requests(&sim).len(), 1);
    assert_eq!(sim.open_count(), 1);
}

#[test]
fn refresh_retries_back_off_to_the_reconnect_ceiling_and_start_over_after_a_success() {
    let options = refreshing(secs(60)).with_refresh_retry_delay(ms(500));
    let max = options.backoff.max;
    let mut sim = Sim::new(options, token_with("r", None, &[], Y2000, 600.0), None);
    sim.connect_and_subscribe();
    sim.advance(secs(540));
    let mut delays = Vec::new();
    for _ in 0..8 {
        sim.take();
        sim.refreshed(Err("app server down".to_owned()));
        let Some(Output::RefreshFailed { retry_in, .. }) = sim.take().last().cloned() else {
            panic!("no RefreshFailed");
        };
        delays.push(retry_in);
        let asked = refresh_requests(&sim);
        sim.advance(retry_in);
        assert_eq!(
            refresh_requests(&sim),
            asked + 1,
            "retried after {retry_in:?}"
        );
    }
    assert_eq!(
        delays,
        [ms(500), secs(1), secs(2), secs(4), secs(8), max, max, max]
    );
    // A success resets the count: the next failure waits the first delay again.
    sim.refreshed(Ok(token_with("r", None, &[], Y2000 + 600.0, 600.0)));
    sim.advance(secs(540));
    sim.take();
    sim.refreshed(Err("down again".to_owned()));
    assert!(matches!(
        sim.take().last(),
        Some(Output::RefreshFailed { retry_in, .. }) if *retry_in == ms(500)
    ));
}

#[test]
fn a_refused_update_falls_back_to_reconnecting_with_the_new_token() {
    let mut sim = Sim::new(
        refreshing(secs(60)),
        token_with("r", None, &[], Y2000, 600.0),
        None,
    );
    sim.connect_and_subscribe();
    sim.advance(secs(540));
    let fresh = token_with("r", None, &[], Y2000 + 540.0, 600.0);
    sim.refreshed(Ok(fresh.clone()));
    let (id, _) = update_requests(&sim).pop().unwrap();
    sim.receive(ServerMessage::Response {
        id,
        payload: ResponsePayload::with_body(401, json(r#"{"json":{"defined":false,"code":"UNAUTHORIZED","status":401,"message":"Invalid Token"}}"#)),
    });
    assert_eq!(sim.open_count(), 2);
    assert!(matches!(sim.log.last(), Some(Output::OpenSocket { token, .. }) if *token == fresh));
}

#[test]
fn close_1008_with_refresh_on_refreshes_first_then_resumes() {
    let mut sim = Sim::new(refreshing(secs(60)), token(), None);
    sim.connect_and_subscribe();
    sim.event(Some("2"), "a");
    sim.event(Some("3"), "b");
    sim.closed(1008, "Token expired");
    assert_eq!(sim.engine.state(), &ConnectionState::Refreshing);
    assert_eq!(refresh_requests(&sim), 1);
    // No socket is opened with the refused token, however long the refresh takes.
    sim.advance(secs(120));
    assert_eq!(sim.open_count(), 1);
    let fresh = token_with(
        "some-room",
        None,
        &["singleClient"],
        1_795_348_700.0,
        3600.0,
    );
    sim.refreshed(Ok(fresh.clone()));
    assert!(matches!(sim.log.last(), Some(Output::OpenSocket { token, .. }) if *token == fresh));
    sim.connect_and_subscribe();
    // The event the object held back when it closed comes back with the replay.
    assert_eq!(
        sim.requests_to("/subscribe").pop().unwrap().1.as_deref(),
        Some("3")
    );
    sim.event(Some("4"), "held back");
    assert_eq!(sim.event_ids(), ["2", "3", "4"]);
}

#[test]
fn a_1008_in_the_middle_of_failing_refreshes_waits_out_the_backoff() {
    let mut sim = Sim::new(
        refreshing(secs(60)),
        token_with("r", None, &[], Y2000, 600.0),
        None,
    );
    sim.connect_and_subscribe();
    sim.advance(secs(540));
    for _ in 0..3 {
        sim.refreshed(Err("down".to_owned()));
        let due = sim.engine.poll_timeout().unwrap();
        sim.advance(due.saturating_duration_since(sim.now));
    }
    assert_eq!(refresh_requests(&sim), 4);
    // The fourth failure announces 10 s (16 s capped at the backoff's max); the token runs
    // out 1 s into them.
    sim.refreshed(Err("down".to_owned()));
    assert!(matches!(
        sim.take().last(),
        Some(Output::RefreshFailed { retry_in, .. }) if *retry_in == secs(10)
    ));
    sim.advance(secs(1));
    sim.closed(1008, "Token expired");
    assert_eq!(sim.engine.state(), &ConnectionState::Refreshing);
    assert_eq!(
        refresh_requests(&sim),
        4,
        "no refresh before the backoff ends"
    );
    sim.advance(ms(8999));
    assert_eq!(refresh_requests(&sim), 4);
    sim.advance(ms(1));
    assert_eq!(refresh_requests(&sim), 5);
}

/// A refresh endpoint that takes a while to fail: the announced pause runs from the failure,
/// and the object's 1008 meanwhile does not bring the retry forward.
#[test]
fn a_retry_comes_no_sooner_than_the_failure_announced() {
    let mut sim = Sim::new(
        refreshing(secs(60)),
        token_with("r", None, &[], Y2000, 600.0),
        None,
    );
    sim.connect_and_subscribe();
    while refresh_requests(&sim) == 0 {
        sim.next_timer().expect("the proactive refresh");
    }
    // The endpoint takes 300 ms to fail.
    sim.advance(ms(300));
    sim.refreshed(Err("down".to_owned()));
    let retry_in = match sim.take().last() {
        Some(Output::RefreshFailed { retry_in, .. }) => *retry_in,
        other => panic!("a failed refresh is announced: {other:?}"),
    };
    sim.advance(ms(100));
    sim.closed(1008, "Token expired");
    assert_eq!(sim.engine.state(), &ConnectionState::Refreshing);
    sim.advance(retry_in - ms(101));
    assert_eq!(refresh_requests(&sim), 1, "not before the announced pause");
    sim.advance(ms(1));
    assert_eq!(refresh_requests(&sim), 2);
}

#[test]
fn close_1008_without_refresh_ends_with_token_expired_and_no_loop() {
    let mut sim = Sim::new(quiet_options(), token(), None);
    sim.connect_and_subscribe();
    sim.advance(secs(30));
    sim.closed(1008, "Token expired");
    match sim.ended() {
        Some(Err(Error::TokenExpired { exp, now })) => {
            assert_eq!(exp, 1_795_348_628.0);
            assert_eq!(
                now, 1_795_345_058.0,
                "now is measured on the token's own clock"
            );
        }
        other => panic!("expected TokenExpired, got {other:?}"),
    }
    assert_eq!(
        sim.engine.state(),
        &ConnectionState::Closed {
            code: 1008,
            reason: "Token expired".to_owned()
        }
    );
    assert_eq!(sim.engine.poll_timeout(), None);
    sim.advance(secs(3600));
    assert_eq!(sim.open_count(), 1);
    assert_eq!(
        sim.ended().map(|r| r.map_err(|e| e.code())),
        Some(Err("TOKEN_EXPIRED"))
    );
}

/// upstream-transcript-expired.jsonl: a 3 s token; the upstream client reconnected four times
/// with it in 22 s (401 each time) and never ended. Ours ends at the first reconnect.
#[test]
fn an_expired_token_is_never_used_to_reconnect() {
    let short = token_with("some-room", None, &[], 1_795_344_991.0, 3.0);
    let mut sim = Sim::new(quiet_options(), short, None);
    sim.connect_and_subscribe();
    sim.advance(ms(3_500));
    sim.closed(1006, "");
    assert!(matches!(sim.ended(), Some(Err(Error::TokenExpired { .. }))));
    sim.advance(secs(60));
    assert_eq!(sim.open_count(), 1);
}

#[test]
fn an_expired_token_with_refresh_waits_for_the_new_one() {
    let short = token_with("r", None, &[], Y2000, 3.0);
    let mut sim = Sim::new(refreshing(secs(1)), short, None);
    sim.connect_and_subscribe();
    sim.advance(secs(2));
    assert_eq!(refresh_requests(&sim), 1);
    sim.refreshed(Err("down".to_owned()));
    sim.advance(ms(1500));
    sim.closed(1006, "");
    assert_eq!(sim.engine.state(), &ConnectionState::Refreshing);
    sim.advance(secs(10));
    assert_eq!(sim.open_count(), 1);
    assert_eq!(refresh_requests(&sim), 2);
    sim.refreshed(Ok(token_with("r", None, &[], Y2000 + 5.0, 3.0)));
    assert_eq!(sim.open_count(), 2);
}

#[test]
fn repeated_failed_opens_ask_for_a_refresh_when_possible() {
    let mut sim = Sim::new(refreshing(secs(60)), token(), None);
    for _ in 0..2 {
        sim.closed(1006, "");
        sim.next_timer();
    }
    assert_eq!(refresh_requests(&sim), 0);
    sim.closed(1006, "");
    assert_eq!(refresh_requests(&sim), 1);
    // The reconnects go on meanwhile: the object may simply be down.
    assert!(matches!(
        sim.engine.state(),
        ConnectionState::Reconnecting { attempt: 3, .. }
    ));
    let fresh = token_with(
        "some-room",
        None,
        &["singleClient"],
        1_795_345_100.0,
        3600.0,
    );
    sim.refreshed(Ok(fresh.clone()));
    sim.next_timer();
    assert!(matches!(sim.log.last(), Some(Output::OpenSocket { token, .. }) if *token == fresh));

    // Without refresh, failed opens with a live token keep retrying: no end, no refresh.
    let mut sim = Sim::new(quiet_options(), token(), None);
    for _ in 0..20 {
        sim.closed(1006, "");
        sim.next_timer();
    }
    assert_eq!(sim.ended(), None);
    assert_eq!(refresh_requests(&sim), 0);
    assert_eq!(sim.open_count(), 21);
}

#[test]
fn a_refresh_while_connecting_restarts_with_the_new_token() {
    let mut sim = Sim::new(refreshing(secs(60)), token(), None);
    let connecting = sim.socket();
    let fresh = token_with("some-room", None, &[], 1_795_345_100.0, 3600.0);
    sim.refreshed(Ok(fresh.clone()));
    assert!(sim
        .log
        .iter()
        .any(|o| matches!(o, Output::CloseSocket { socket, .. } if *socket == connecting)));
    assert!(matches!(sim.log.last(), Some(Output::OpenSocket { token, .. }) if *token == fresh));
    assert_eq!(
        sim.engine.state(),
        &ConnectionState::Connecting { attempt: 0 }
    );
}

#[test]
fn refreshes_of_short_tokens_stay_apart() {
    // Tokens living 10 s with a 60 s margin would ask for a refresh at once, forever.
    let mut sim = Sim::new(
        refreshing(secs(60)),
        token_with("r", None, &[], Y2000, 10.0),
        None,
    );
    sim.connect_and_subscribe();
    assert_eq!(sim.engine.poll_timeout(), Some(sim.now), "due at once");
    sim.advance(Duration::ZERO);
    assert_eq!(refresh_requests(&sim), 1);
    for round in 1..5u64 {
        sim.refreshed(Ok(token_with("r", None, &[], Y2000 + round as f64, 10.0)));
        sim.advance(ms(1999));
        assert_eq!(refresh_requests(&sim), round as usize);
        sim.advance(ms(1));
        assert_eq!(refresh_requests(&sim), round as usize + 1);
    }
}

#[test]
fn a_refresh_answer_after_stop_is_ignored() {
    let mut sim = Sim::new(
        refreshing(secs(60)),
        token_with("r", None, &[], Y2000, 100.0),
        None,
    );
    sim.connect_and_subscribe();
    sim.advance(secs(40));
    assert_eq!(refresh_requests(&sim), 1);
    sim.stop();
    sim.take();
    sim.refreshed(Ok(token_with("r", None, &[], Y2000 + 40.0, 100.0)));
    assert!(sim.take().is_empty());
    assert_eq!(sim.engine.poll_timeout(), None);
}

#[test]
fn a_1008_racing_a_token_update_reconnects_with_the_fresh_token() {
    let mut sim = Sim::new(
        refreshing(secs(60)),
        token_with("r", None, &[], Y2000, 600.0),
        None,
    );
    sim.connect_and_subscribe();
    sim.advance(secs(540));
    let fresh = token_with("r", None, &[], Y2000 + 540.0, 600.0);
    sim.refreshed(Ok(fresh.clone()));
    assert_eq!(update_requests(&sim).len(), 1);
    // The object closes on the old token before the update arrives.
    sim.closed(1008, "Token expired");
    assert!(matches!(sim.log.last(), Some(Output::OpenSocket { token, .. }) if *token == fresh));
    assert_eq!(refresh_requests(&sim), 1);
    assert_eq!(
        sim.engine.state(),
        &ConnectionState::Connecting { attempt: 0 }
    );
}

/// How the simulated object treats a token that dies at `exp` (engine clock, seconds): like
/// the upstream object, it checks only when something comes in, answering the probes before
/// `exp` with 404 and closing with 1008 at the first one after; `silent` answers nothing.
/// Returns when the iterator ended, on the engine clock.
fn run_quiet_expiry(options: EngineOptions, exp: Duration, silent: bool) -> (Sim, Duration) {
    // `iat` a whole second, so the object's `exp` may be up to a second before 30 s.
    let token = token_with("some-room", None, &[], Y2000, 30.0);
    let mut sim = Sim::new(options, token, None);
    sim.connect_and_subscribe();
    let mut answered = 0;
    while sim.ended().is_none() {
        assert!(
            sim.now < Instant::ZERO + secs(120),
            "the iterator never ended"
        );
        sim.next_timer().expect("a timer while the iterator runs");
        let probes = sim.requests_to("/__liveness");
        for (id, _) in probes.into_iter().skip(answered) {
            answered += 1;
            if silent {
                continue;
            }
            if sim.now < Instant::ZERO + exp {
                sim.receive_text(&format!(
                    r#"{{"i":"{id}","p":{{"s":404,"b":"No procedure matched"}}}}"#
                ));
            } else {
                sim.closed(1008, "Token expired");
                break;
            }
        }
    }
    let ended_at = sim.now.saturating_duration_since(Instant::ZERO);
    (sim, ended_at)
}

/// Issue 12: with refresh off, a silent room used to learn of the expiry only at the next
/// liveness probe (18-20 s late against the real object), or never with probing off. The
/// expiry check probes from the earliest `exp` on; the object's 1008 ends the iterator within
/// a second of `exp`, wherever in the floored second `exp` really falls.
#[test]
fn with_refresh_off_a_silent_room_ends_within_a_second_of_exp_on_the_objects_1008() {
    for options in [quiet_options(), EngineOptions::default()] {
        for exp in [ms(29_000), ms(29_100), ms(29_600), ms(30_000)] {
            let (sim, ended_at) = run_quiet_expiry(options.clone(), exp, false);
            let late = ended_at.saturating_sub(exp);
            eprintln!("1008 after the probe: exp {exp:?}, ended at {ended_at:?} ({late:?} late)");
            assert!(late <= secs(1), "exp {exp:?}: ended at {ended_at:?}");
            assert!(matches!(sim.ended(), Some(Err(Error::TokenExpired { .. }))));
            assert_eq!(
                sim.engine.state(),
                &ConnectionState::Closed {
                    code: 1008,
                    reason: "Token expired".to_owned()
                }
            );
            assert_eq!(sim.open_count(), 1);
            // The probes' 404 answers are expected, not reported as unknown frames.
            assert_eq!(sim.count(|o| matches!(o, Output::FrameIgnored { .. })), 0);
        }
    }
}

/// The same when the object says nothing at all: the engine ends by itself, half a second
/// after the expiry the token's lifetime gives, with `TokenExpired`.
#[test]
fn with_refresh_off_a_silent_object_still_ends_within_a_second_of_exp() {
    for options in [quiet_options(), EngineOptions::default()] {
        let (sim, ended_at) = run_quiet_expiry(options, secs(30), true);
        eprintln!("object silent: exp 30s, ended at {ended_at:?}");
        assert!(ended_at <= secs(31), "ended at {ended_at:?}");
        assert!(ended_at >= ms(29_000), "ended at {ended_at:?}");
        match sim.ended() {
            Some(Err(Error::TokenExpired { exp, now })) => {
                assert_eq!(exp, Y2000 + 30.0);
                assert!(now >= exp && now <= exp + 1.0, "now {now}");
            }
            other => panic!("expected TokenExpired, got {other:?}"),
        }
        assert!(matches!(sim.engine.state(), ConnectionState::Closed { .. }));
        assert_eq!(sim.engine.poll_timeout(), None);
    }
}

/// With refresh on, the refresh timer owns the token's end: no expiry probes.
#[test]
fn with_refresh_on_no_expiry_probes_are_sent() {
    let token = token_with("some-room", None, &[], Y2000, 30.0);
    let mut sim = Sim::new(refreshing(secs(5)), token, None);
    sim.connect_and_subscribe();
    sim.advance(secs(28));
    assert_eq!(refresh_requests(&sim), 1);
    sim.advance(secs(10));
    assert!(sim.requests_to("/__liveness").is_empty());
    assert!(sim.ended().is_none());
}
