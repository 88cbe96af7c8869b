//! Token life over real sockets, with short-lived tokens and a steady publisher:
//!
//! - refresh on: tokens expire every few seconds and are replaced over the open socket
//!   (`/updateToken`): one connection, nothing lost, no 1008;
//! - refresh on, and the token runs out anyway (the server closes 1008): the client gets a
//!   fresh token, reconnects and resumes, nothing lost;
//! - refresh off: the server's 1008 ends the iterator with `TOKEN_EXPIRED`, after exactly one
//!   connection and no procedure call (no reconnect loop);
//! - the refresh endpoint failing for a while: the refresh is retried, further and further
//!   apart, and the iterator recovers — seamlessly while the token lasts, with a reconnect and
//!   resume when it ran out meanwhile.
//!
//! The procedure (HTTP) and the object (WebSocket) each go through a chaos proxy, which
//! counts connections and can refuse them.
#![cfg(feature = "native")]

mod native_support;
mod soak_support;

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use durable_iterator_chaos::{ChaosConfig, ChaosProxy};
use durable_iterator_server::{Compat, Config, DbLocation};
use durable_iterator_wasm::native::{DurableIterator, Options};
use durable_iterator_wasm::{ConnectionState, Notice};
use futures_util::StreamExt;
use native_support::*;
use serde_json::json;
use soak_support::*;
use tokio::time::Instant;

/// The server, and a proxy for each of its two doors.
struct Setup {
    server: TestServer,
    rpc: ChaosProxy,
    object: ChaosProxy,
    tag: String,
    log: NoticeLog,
}

impl Setup {
    async fn start(name: &str) -> Setup {
        let server = TestServer::start().await;
        let proxy = || {
            ChaosProxy::start(
                "127.0.0.1:0".parse().unwrap(),
                server.addr,
                ChaosConfig::default(),
            )
        };
        let (rpc, object) = (proxy().await.unwrap(), proxy().await.unwrap());
        Setup {
            server,
            rpc,
            object,
            tag: unique_tag(name),
            log: NoticeLog::default(),
        }
    }

    /// Tokens that live `ttl_seconds`, for the setup's tag.
    fn options(&self, ttl_seconds: u64) -> Options {
        let object = format!("ws://{}/chat-room", self.object.addr());
        Options::new(
            format!("http://{}/rpc", self.rpc.addr()),
            "onMessage",
            object.clone(),
        )
        .object_url_fn(move |_| object.clone())
        .input(&json!({ "tags": [self.tag], "ttlSeconds": ttl_seconds }))
        .unwrap()
        .backoff(Duration::from_millis(50), 2.0, Duration::from_secs(1))
        .on_notice(self.log.listener())
    }

    fn token_updates(&self) -> usize {
        self.log.count(|n| *n == Notice::TokenUpdated)
    }

    /// Every `RefreshFailed` notice: when it came and the delay it announced.
    fn refresh_failures(&self) -> Vec<(Instant, Duration)> {
        self.log
            .all()
            .into_iter()
            .filter_map(|(at, n)| match n {
                Notice::RefreshFailed { retry_in_ms, .. } => {
                    Some((at, Duration::from_secs_f64(retry_in_ms / 1000.0)))
                }
                _ => None,
            })
            .collect()
    }

    /// Closes with 1008 the iterator went through.
    fn expiry_closes(&self) -> usize {
        self.log.count(|n| {
            matches!(
                n,
                Notice::State(ConnectionState::Reconnecting { code: 1008, .. })
                    | Notice::State(ConnectionState::Refreshing)
            )
        })
    }
}

/// Retries come further and further apart (200 ms doubling up to the 1 s reconnect ceiling,
/// as configured), and each came no sooner than the delay the one before announced.
fn assert_backs_off(failures: &[(Instant, Duration)], text: &str) {
    let delays: Vec<Duration> = failures.iter().map(|(_, d)| *d).collect();
    assert_eq!(delays.first(), Some(&Duration::from_millis(200)), "{text}");
    let cap = Duration::from_secs(1);
    assert!(
        delays.windows(2).all(|w| w[1] == (w[0] * 2).min(cap)),
        "{text}"
    );
    for pair in failures.windows(2) {
        let ((at, delay), (next, _)) = (pair[0], pair[1]);
        assert!(next - at >= delay, "retried early: {text}");
    }
}

/// Publishes `1..=events` at `rate` while `it` is read; returns what arrived (the run ends
/// with a marker once everything is published).
async fn stream_through(
    setup: &Setup,
    it: DurableIterator<Seq>,
    events: u64,
    rate: u64,
) -> (Received, Tally) {
    wait_until_subscribed(&setup.server, &it).await;
    let progress = Arc::new(AtomicU64::new(0));
    let consumer = consume(it, events, setup.log.clone(), progress.clone());
    publish_steadily(
        setup.server.server.clone(),
        setup.tag.clone(),
        1..=events,
        rate,
    )
    .await
    .unwrap();
    // Resume is on: a marker published now is delivered even if the client is between sockets.
    publish_one(&setup.server.server, &setup.tag, events + 1);
    let received = consumer.await.unwrap();
    let tally = Tally::of(&received.seqs, events);
    (received, tally)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_refresh_on_expiring_tokens_are_replaced_on_the_open_socket() {
    let setup = Setup::start("refresh-seamless").await;
    let options = setup
        .options(3)
        .refresh_before_expire(Duration::from_millis(500))
        .refresh_retry_delay(Duration::from_millis(200));
    let it = DurableIterator::<Seq>::connect(options).await.unwrap();
    let (received, tally) = stream_through(&setup, it, 800, 100).await;
    let text = format!(
        "ttl 3 s, refresh 0.5 s before: {} token updates over {} events; connections {}, \
         1008 closes {}, lost {}, duplicated {}",
        setup.token_updates(),
        tally.received,
        setup.object.stats().accepted,
        setup.expiry_closes(),
        tally.lost,
        tally.duplicated
    );
    record_figures("token-refresh-seamless", &text);
    assert_exactly_once(&received, &tally, &text);
    assert!(setup.token_updates() >= 2, "{text}");
    assert_eq!(
        setup.object.stats().accepted,
        1,
        "one socket throughout: {text}"
    );
    assert_eq!(setup.expiry_closes(), 0, "{text}");
    assert_eq!(setup.log.reconnects(), 0, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_refresh_off_expiry_ends_the_iterator_without_a_reconnect_loop() {
    let setup = Setup::start("refresh-off").await;
    let mut it = DurableIterator::<Seq>::connect(setup.options(2))
        .await
        .unwrap();
    wait_until_subscribed(&setup.server, &it).await;
    let publisher = publish_steadily(setup.server.server.clone(), setup.tag.clone(), 1..=400, 100);
    let mut seqs = Vec::new();
    let error = loop {
        match tokio::time::timeout(WAIT, it.next()).await {
            Ok(Some(Ok(event))) => seqs.push(event.seq),
            Ok(Some(Err(error))) => break error,
            other => panic!("the stream must end with an error: {other:?}"),
        }
    };
    let ended_at = Instant::now();
    assert!(
        tokio::time::timeout(WAIT, it.next())
            .await
            .unwrap()
            .is_none(),
        "nothing after the error"
    );
    // Time for a loop to show itself, if there were one.
    tokio::time::sleep(Duration::from_secs(3)).await;
    publisher.abort();
    let (sockets, calls) = (setup.object.stats().accepted, setup.rpc.stats().accepted);
    let text = format!(
        "ttl 2 s, refresh off: ended with {} after {} events; sockets opened {sockets}, \
         procedure calls {calls}, state {:?}, {:.1} s after the end",
        error.code(),
        seqs.len(),
        it.state(),
        ended_at.elapsed().as_secs_f64()
    );
    record_figures("token-refresh-off", &text);
    assert_eq!(error.code(), "TOKEN_EXPIRED", "{text}");
    assert_eq!(sockets, 1, "no reconnect after expiry: {text}");
    assert_eq!(calls, 1, "no refresh without refresh on: {text}");
    assert!(
        matches!(it.state(), ConnectionState::Closed { code: 1008, .. }),
        "{text}"
    );
    assert!(
        !seqs.is_empty() && seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "{text}"
    );
    assert_eq!(setup.log.reconnects(), 0, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_refresh_endpoint_is_retried_until_it_recovers_before_expiry() {
    let setup = Setup::start("refresh-retry").await;
    let options = setup
        .options(8)
        .refresh_before_expire(Duration::from_secs(6))
        .refresh_retry_delay(Duration::from_millis(200));
    let it = DurableIterator::<Seq>::connect(options).await.unwrap();
    // The app server is unreachable for 3 s from now: the first refresh (about 2 s in) and
    // its retries fail, the token (8 s) outlives the outage.
    setup.rpc.refuse_for(Duration::from_secs(3));
    let (received, tally) = stream_through(&setup, it, 600, 100).await;
    let failures = setup.refresh_failures();
    let delays: Vec<u128> = failures.iter().map(|(_, d)| d.as_millis()).collect();
    let text = format!(
        "refresh endpoint down 3 s, token 8 s: {} failed refreshes, retry delays {delays:?} ms, \
         {} token updates, sockets {}, 1008 closes {}, {} events lost {} duplicated {}",
        failures.len(),
        setup.token_updates(),
        setup.object.stats().accepted,
        setup.expiry_closes(),
        tally.received,
        tally.lost,
        tally.duplicated
    );
    record_figures("token-refresh-retry", &text);
    assert_exactly_once(&received, &tally, &text);
    assert!(failures.len() >= 2, "{text}");
    assert_backs_off(&failures, &text);
    assert!(
        setup.rpc.stats().refused as usize >= failures.len(),
        "{text}"
    );
    assert!(setup.token_updates() >= 1, "{text}");
    assert_eq!(setup.object.stats().accepted, 1, "seamless: {text}");
    assert_eq!(setup.expiry_closes(), 0, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_endpoint_down_past_expiry_ends_in_a_resume_not_a_loss() {
    let setup = Setup::start("refresh-late").await;
    let options = setup
        .options(3)
        .refresh_before_expire(Duration::from_secs(2))
        .refresh_retry_delay(Duration::from_millis(200));
    let it = DurableIterator::<Seq>::connect(options).await.unwrap();
    // Down for 5 s: the token (3 s) runs out, the server closes 1008, the client waits for
    // a token instead of reconnecting with the dead one.
    setup.rpc.refuse_for(Duration::from_secs(5));
    let (received, tally) = stream_through(&setup, it, 800, 100).await;
    let failures = setup.refresh_failures();
    let delays: Vec<u128> = failures.iter().map(|(_, d)| d.as_millis()).collect();
    let text = format!(
        "refresh endpoint down 5 s, token 3 s: {} failed refreshes, retry delays {delays:?} ms, \
         1008 closes {}, sockets {}, resumed {}, {} events lost {} duplicated {}",
        failures.len(),
        setup.expiry_closes(),
        setup.object.stats().accepted,
        setup.log.resumes(),
        tally.received,
        tally.lost,
        tally.duplicated
    );
    record_figures("token-refresh-late", &text);
    assert_exactly_once(&received, &tally, &text);
    assert!(
        setup.expiry_closes() >= 1,
        "the token must have run out: {text}"
    );
    assert_backs_off(&failures, &text);
    assert!(setup.log.resumes() >= 1, "{text}");
    assert_eq!(setup.log.gaps(), 0, "{text}");
    // No reconnect with the dead token: sockets are the first and the one after the refresh.
    assert_eq!(setup.object.stats().accepted, 2, "{text}");
}

/// With refresh off, in a room where nothing is published: the iterator ends with
/// `TOKEN_EXPIRED` within a second of `exp`, against our server (which closes at `exp`) and
/// against the upstream object's lazy expiry (`--compat upstream`: 1008 only on its next send
/// or receive; the client probes the socket from `exp` on, where it used to wait for its
/// 20 s liveness probe).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_refresh_off_a_silent_room_ends_within_a_second_of_exp() {
    let mut figures = Vec::new();
    for compat in [Compat::Ours, Compat::Upstream] {
        let mut config = Config::new("native-test-key");
        config.db = DbLocation::Memory;
        config.test_endpoints = true;
        config.resume_retention = Some(Duration::from_secs(120));
        config.compat = compat;
        let server = TestServer::start_with(config).await;
        let options = server
            .options()
            .input(&json!({ "tags": [unique_tag("silent-expiry")], "ttlSeconds": 2 }))
            .unwrap();
        let mut it = DurableIterator::<Seq>::connect(options).await.unwrap();
        let exp = it.token_payload().exp;
        let outcome = tokio::time::timeout(WAIT, it.next()).await;
        let ended = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let late = ended - exp;
        let text = format!("{compat:?}: ended {late:.3} s after exp with {outcome:?}");
        match outcome {
            Ok(Some(Err(error))) => assert_eq!(error.code(), "TOKEN_EXPIRED", "{text}"),
            _ => panic!("the stream must end with TOKEN_EXPIRED: {text}"),
        }
        assert!((-0.05..=1.0).contains(&late), "{text}");
        figures.push(text);
    }
    record_figures("silent-expiry", &figures.join("; "));
}
