//! Soak of the native client through the chaos proxy: a steady publisher, the connection
//! dropped every few hundred milliseconds (some drops cut a frame in half), latency and
//! jitter on every byte, and every 15 s an outage during which new connections are refused;
//! tokens live 6 s and are refreshed throughout. With resume retention on, the client must
//! deliver exactly the published sequence — nothing lost, nothing duplicated, in order —
//! across at least 200 drops; with retention off it must report every possible gap. A
//! half-open link (black hole) must be found by liveness within its idle + timeout and
//! replaced with nothing lost.
//!
//! The CI-sized run takes about two minutes (the three tests run side by side). Set
//! `DURABLE_ITERATOR_SOAK=long` for the long run (1,000+ drops, 150,000 events, ~10 minutes).
//! Figures go to stderr and to `target/tmp/soak-figures/`.
#![cfg(feature = "native")]

mod native_support;
mod soak_support;

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use durable_iterator_chaos::{ChaosConfig, ChaosProxy};
use durable_iterator_server::{Compat, Config, DbLocation};
use durable_iterator_wasm::native::DurableIterator;
use durable_iterator_wasm::{ConnectionState, Notice};
use native_support::*;
use soak_support::*;
use tokio::time::Instant;

/// The size of a soak run.
#[derive(Debug, Clone)]
struct Plan {
    name: &'static str,
    seed: u64,
    events: u64,
    rate: u64,
    drop_every: (Duration, Duration),
    truncate_probability: f64,
    latency: Duration,
    jitter: Duration,
    /// The least number of drops the client must have resumed from.
    min_drops: usize,
    /// Every this often, the proxy cuts the client off and refuses new connections for
    /// `outage`, so reconnects fail for a while.
    outage_every: Duration,
    outage: Duration,
}

fn long_run() -> bool {
    std::env::var("DURABLE_ITERATOR_SOAK").is_ok_and(|v| v == "long")
}

/// With retention on: CI-sized (about 2 minutes, 200+ drops) or the long run.
fn resume_plan() -> Plan {
    let base = Plan {
        name: "soak-resume",
        seed: 0x50A4,
        events: 24_000,
        rate: 200,
        drop_every: (Duration::from_millis(200), Duration::from_millis(600)),
        truncate_probability: 0.3,
        latency: Duration::from_millis(1),
        jitter: Duration::from_millis(4),
        min_drops: 200,
        outage_every: Duration::from_secs(15),
        outage: Duration::from_secs(1),
    };
    if long_run() {
        Plan {
            name: "soak-resume-long",
            events: 150_000,
            rate: 250,
            drop_every: (Duration::from_millis(200), Duration::from_millis(500)),
            min_drops: 1_000,
            ..base
        }
    } else {
        base
    }
}

/// With retention off: shorter; it only has to show that every gap is reported.
fn gap_plan() -> Plan {
    Plan {
        name: "soak-no-retention",
        seed: 0x6A9,
        events: 4_000,
        rate: 200,
        min_drops: 20,
        ..resume_plan()
    }
}

/// What one run produced.
struct Run {
    received: Received,
    tally: Tally,
    log: NoticeLog,
    stats: durable_iterator_chaos::Stats,
    took: Duration,
    /// Sockets the server still held once the client had closed.
    server_sockets_left: usize,
}

/// Runs `plan` against `server`: connect through a chaos proxy, publish steadily while the
/// proxy drops, then calm the proxy, publish a marker and collect.
async fn soak(plan: &Plan, server: &TestServer) -> Run {
    let config = ChaosConfig {
        seed: plan.seed,
        latency: plan.latency,
        jitter: plan.jitter,
        truncate_probability: plan.truncate_probability,
        ..ChaosConfig::default()
    };
    let proxy = Arc::new(
        ChaosProxy::start("127.0.0.1:0".parse().unwrap(), server.addr, config)
            .await
            .unwrap(),
    );
    let (tag, log) = (unique_tag(plan.name), NoticeLog::default());
    // Tokens that live 6 s, refreshed 2 s before: a dozen refreshes a minute amid the drops.
    let options = chaos_options(server, &proxy, &tag, &log)
        .input(&serde_json::json!({ "tags": [tag], "ttlSeconds": 6 }))
        .unwrap()
        .refresh_before_expire(Duration::from_secs(2));
    let it = DurableIterator::<Seq>::connect(options).await.unwrap();
    wait_until_subscribed(server, &it).await;
    let client_id = it.client_id();
    let progress = Arc::new(AtomicU64::new(0));
    let consumer = consume(it, plan.events, log.clone(), progress.clone());

    let started = Instant::now();
    proxy.set_drop_every(Some(plan.drop_every));
    let outages = tokio::spawn({
        let (proxy, every, outage) = (proxy.clone(), plan.outage_every, plan.outage);
        async move {
            loop {
                tokio::time::sleep(every).await;
                proxy.refuse_for(outage);
                proxy.drop_all();
            }
        }
    });
    publish_steadily(
        server.server.clone(),
        tag.clone(),
        1..=plan.events,
        plan.rate,
    )
    .await
    .unwrap();
    outages.abort();
    proxy.set_drop_every(None);
    wait_settled(server, &client_id, &log).await;
    publish_marker(server, &tag, plan.events, &progress).await;
    let received = consumer.await.unwrap();
    let took = started.elapsed();
    // The consumer closed the iterator: after hundreds of cut, reset and truncated links the
    // server must be left with no socket at all.
    let deadline = Instant::now() + WAIT;
    while server.server.connected() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Run {
        tally: Tally::of(&received.seqs, plan.events),
        received,
        log,
        stats: proxy.stats(),
        took,
        server_sockets_left: server.server.connected(),
    }
}

fn figures(plan: &Plan, run: &Run) -> String {
    let t = &run.tally;
    format!(
        "{} events published at {}/s in {:.1}s; drop rounds {}, links cut {} (of which {} \
         mid-frame), connections refused {}; client: drops survived {}, resumed {}, possible-gap \
         notices {}, token updates {}; checked {} events: lost {}, duplicated {}, out of \
         order {}, gaps {}; stop: {}; server sockets left {}",
        t.expected,
        plan.rate,
        run.took.as_secs_f64(),
        run.stats.drop_rounds,
        run.stats.links_dropped(),
        run.stats.truncated,
        run.stats.refused,
        run.log.drops_survived(),
        run.log.resumes(),
        run.log.gaps(),
        run.log.count(|n| *n == Notice::TokenUpdated),
        t.received,
        t.lost,
        t.duplicated,
        t.out_of_order,
        t.gaps.len(),
        run.received.stop,
        run.server_sockets_left,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_retention_nothing_is_lost_or_duplicated_across_hundreds_of_drops() {
    let plan = resume_plan();
    let server = TestServer::start().await;
    let run = soak(&plan, &server).await;
    let text = figures(&plan, &run);
    record_figures(plan.name, &text);

    assert_eq!(run.received.stop, "marker", "{text}");
    assert_eq!(run.server_sockets_left, 0, "{text}");
    assert_eq!(
        (run.tally.lost, run.tally.duplicated, run.tally.out_of_order),
        (0, 0, 0),
        "{text}"
    );
    let expected: Vec<u64> = (1..=plan.events + 1).collect();
    assert_eq!(run.received.seqs, expected, "{text}");
    let ids: Vec<u64> = run
        .received
        .ids
        .iter()
        .map(|id| id.as_deref().unwrap_or_default().parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids must rise");
    assert!(run.log.drops_survived() >= plan.min_drops, "{text}");
    assert!(run.log.resumes() * 10 >= plan.min_drops * 9, "{text}");
    // About one refresh per 3 s of the run; drops may delay a few.
    let updates = run.log.count(|n| *n == Notice::TokenUpdated);
    assert!(updates * 4 >= run.took.as_secs() as usize, "{text}");
    assert_eq!(
        run.log.gaps(),
        0,
        "with retention every resume is whole: {text}"
    );
    assert!(run.stats.truncated > 0, "no drop cut a frame: {text}");
    assert!(run.stats.refused > 0, "no reconnect met a refusal: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_retention_every_gap_is_reported() {
    let plan = gap_plan();
    let mut config = Config::new("native-test-key");
    config.db = DbLocation::Memory;
    config.test_endpoints = true;
    config.resume_retention = None;
    let server = TestServer::start_with(config).await;
    let run = soak(&plan, &server).await;
    let text = figures(&plan, &run);
    record_figures(plan.name, &text);

    assert_eq!(run.received.stop, "marker", "{text}");
    assert_eq!(run.server_sockets_left, 0, "{text}");
    // Nothing can be replayed, so nothing is duplicated or reordered; losses are expected.
    assert_eq!(
        (run.tally.duplicated, run.tally.out_of_order),
        (0, 0),
        "{text}"
    );
    assert!(
        run.tally.lost > 0 && !run.tally.gaps.is_empty(),
        "no loss to report: {text}"
    );
    assert!(run.received.ids.iter().all(Option::is_none));
    assert_eq!(
        run.log.resumes(),
        0,
        "a resume without ids would be a lie: {text}"
    );
    assert!(run.log.drops_survived() >= plan.min_drops, "{text}");
    // Every gap was announced before the first event after it arrived: by the i-th gap, at
    // least i PossibleGap notices.
    for (i, (first, last, index)) in run.tally.gaps.iter().enumerate() {
        let told = run.received.gap_notices_before[*index];
        assert!(
            told > i,
            "seqs {first}..={last} went missing unannounced ({told} notices): {text}"
        );
    }
    // Every resubscribe after a drop is reported, none at the first subscribe.
    assert!(run.log.gaps() < run.log.opens(), "{text}");
    assert!(run.log.gaps() >= run.tally.gaps.len(), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_open_link_is_found_within_the_liveness_timeout_and_replaced() {
    let (idle, timeout) = (Duration::from_secs(1), Duration::from_secs(1));
    let server = TestServer::start().await;
    let proxy = ChaosProxy::start(
        "127.0.0.1:0".parse().unwrap(),
        server.addr,
        ChaosConfig::default(),
    )
    .await
    .unwrap();
    let (tag, log) = (unique_tag("half-open"), NoticeLog::default());
    let options = chaos_options(&server, &proxy, &tag, &log).liveness(Some((idle, timeout)));
    let it = DurableIterator::<Seq>::connect(options).await.unwrap();
    wait_until_subscribed(&server, &it).await;
    let client_id = it.client_id();
    let progress = Arc::new(AtomicU64::new(0));
    const EVENTS: u64 = 800;
    let consumer = consume(it, EVENTS, log.clone(), progress.clone());
    let publisher = publish_steadily(server.server.clone(), tag.clone(), 1..=EVENTS, 50);

    let mut detections = Vec::new();
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let holed = Instant::now();
        proxy.blackhole(true);
        let deadline = holed + WAIT;
        let found = loop {
            let lost = log.first_after(holed, |n| {
                matches!(
                    n,
                    Notice::State(ConnectionState::Reconnecting { code: 4000, .. })
                )
            });
            if let Some((at, _)) = lost {
                break at;
            }
            assert!(
                Instant::now() < deadline,
                "never noticed: {:?}",
                log.last_state()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        proxy.blackhole(false);
        detections.push(found - holed);
        wait_settled(&server, &client_id, &log).await;
    }
    publisher.await.unwrap();
    wait_settled(&server, &client_id, &log).await;
    publish_marker(&server, &tag, EVENTS, &progress).await;
    let received = consumer.await.unwrap();
    let tally = Tally::of(&received.seqs, EVENTS);
    let ms: Vec<u128> = detections.iter().map(Duration::as_millis).collect();
    let text = format!(
        "liveness idle {idle:?} + timeout {timeout:?}: half-open detected after {ms:?} ms; \
         {}",
        tally.summary()
    );
    record_figures("half-open", &text);

    assert_exactly_once(&received, &tally, &text);
    // The last frame came at most `idle` before the hole opened; a probe follows `idle` after
    // it and gives up `timeout` later. The slack covers timer and scheduling delays only.
    for detection in &detections {
        assert!(
            *detection <= idle + timeout + Duration::from_millis(500),
            "{text}"
        );
    }
}

/// Against the upstream object's behaviour (`--compat upstream`: replay in *text* order of
/// ids, expiry noticed only on the next send or receive): the connection is cut, and new ones
/// refused for a while, right after ids 5, 95 and 995, so that the replays after those cuts
/// cross 9 -> 10, 99 -> 100 and 999 -> 1000 (`10, 11, .., 95, 6, 7, 8, 9` and so on), with the
/// usual random drops and token refreshes around them. The client must still deliver exactly
/// the published sequence, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_upstream_text_ordered_replays_events_arrive_once_and_in_order() {
    const EVENTS: u64 = 3_000;
    const RATE: u64 = 300;
    const CUT_AFTER: [u64; 3] = [5, 95, 995];
    let mut config = Config::new("native-test-key");
    config.db = DbLocation::Memory;
    config.test_endpoints = true;
    config.resume_retention = Some(Duration::from_secs(120));
    config.compat = Compat::Upstream;
    let server = TestServer::start_with(config).await;
    let chaos = ChaosConfig {
        seed: 0xC0FFEE,
        latency: Duration::from_millis(1),
        jitter: Duration::from_millis(4),
        truncate_probability: 0.3,
        ..ChaosConfig::default()
    };
    let proxy = Arc::new(
        ChaosProxy::start("127.0.0.1:0".parse().unwrap(), server.addr, chaos)
            .await
            .unwrap(),
    );
    let (tag, log) = (unique_tag("compat-upstream"), NoticeLog::default());
    let options = chaos_options(&server, &proxy, &tag, &log)
        .input(&serde_json::json!({ "tags": [tag], "ttlSeconds": 6 }))
        .unwrap()
        .refresh_before_expire(Duration::from_secs(2))
        // The first cut comes before the first event may have arrived: without a resume
        // point from the start, that subscription could not ask for a replay.
        .last_event_id("0");
    let it = DurableIterator::<Seq>::connect(options).await.unwrap();
    wait_until_subscribed(&server, &it).await;
    let client_id = it.client_id();
    let progress = Arc::new(AtomicU64::new(0));
    let consumer = consume(it, EVENTS, log.clone(), progress.clone());

    let started = Instant::now();
    proxy.set_drop_every(Some((
        Duration::from_millis(200),
        Duration::from_millis(600),
    )));
    let mut ticks = tokio::time::interval(Duration::from_millis(10));
    let mut next = 1;
    while next <= EVENTS {
        ticks.tick().await;
        let owed = (started.elapsed().as_secs_f64() * RATE as f64) as u64;
        while next <= EVENTS.min(owed) {
            let seq = next;
            publish_one(&server.server, &tag, seq);
            next += 1;
            if CUT_AFTER.contains(&seq) {
                // About 90 events go out while the client cannot connect: its replay crosses
                // the next power of ten.
                proxy.refuse_for(Duration::from_millis(300));
                proxy.drop_all();
                break;
            }
        }
    }
    proxy.set_drop_every(None);
    wait_settled(&server, &client_id, &log).await;
    publish_marker(&server, &tag, EVENTS, &progress).await;
    let received = consumer.await.unwrap();
    let tally = Tally::of(&received.seqs, EVENTS);
    let stats = proxy.stats();
    let text = format!(
        "compat upstream: {EVENTS} events at {RATE}/s, cuts after {CUT_AFTER:?}; drop rounds {}, \
         links cut {} (of which {} mid-frame), connections refused {}; client: drops survived \
         {}, resumed {}, token updates {}; {}; stop: {}",
        stats.drop_rounds,
        stats.links_dropped(),
        stats.truncated,
        stats.refused,
        log.drops_survived(),
        log.resumes(),
        log.count(|n| *n == Notice::TokenUpdated),
        tally.summary(),
        received.stop,
    );
    record_figures("soak-compat-upstream", &text);

    assert_exactly_once(&received, &tally, &text);
    let expected: Vec<u64> = (1..=EVENTS + 1).collect();
    assert_eq!(received.seqs, expected, "{text}");
    assert!(log.resumes() >= CUT_AFTER.len(), "{text}");
    assert!(stats.refused > 0, "no reconnect met a refusal: {text}");
}

/// Sustained drops (every 0.3-0.7 s, far shorter than the default 5 s `stableAfter`) with the
/// default backoff (200 ms doubling to 10 s): each socket delivers events before it is cut,
/// so each loss counts as a first failure again and recovery stays near the first retry
/// delay. (Counting those losses as failures, as before, climbs the delay towards its cap.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_sustained_drops_recovery_stays_near_the_first_retry_delay() {
    let server = TestServer::start().await;
    let proxy = Arc::new(
        ChaosProxy::start(
            "127.0.0.1:0".parse().unwrap(),
            server.addr,
            ChaosConfig {
                seed: 0xF1A9,
                ..ChaosConfig::default()
            },
        )
        .await
        .unwrap(),
    );
    let (tag, log) = (unique_tag("flapping"), NoticeLog::default());
    let url = server.object_url(Some(proxy.addr()));
    let options = server
        .options()
        .object_url_fn(move |_| url.clone())
        .input(&serde_json::json!({ "tags": [tag] }))
        .unwrap()
        .on_notice(log.listener());
    let it = DurableIterator::<Seq>::connect(options).await.unwrap();
    wait_until_subscribed(&server, &it).await;
    let client_id = it.client_id();
    let progress = Arc::new(AtomicU64::new(0));
    const EVENTS: u64 = 1_500;
    let consumer = consume(it, EVENTS, log.clone(), progress.clone());
    proxy.set_drop_every(Some((
        Duration::from_millis(300),
        Duration::from_millis(700),
    )));
    publish_steadily(server.server.clone(), tag.clone(), 1..=EVENTS, 100)
        .await
        .unwrap();
    proxy.set_drop_every(None);
    wait_settled(&server, &client_id, &log).await;
    publish_marker(&server, &tag, EVENTS, &progress).await;
    let received = consumer.await.unwrap();
    let tally = Tally::of(&received.seqs, EVENTS);

    // Recovery: from the notice that the socket was lost to the next open.
    let mut recoveries = Vec::new();
    let mut lost_at = None;
    let mut attempts = Vec::new();
    for (at, notice) in log.all() {
        match notice {
            Notice::State(ConnectionState::Reconnecting { attempt, .. }) => {
                lost_at.get_or_insert(at);
                attempts.push(attempt);
            }
            Notice::State(ConnectionState::Open) => {
                if let Some(lost) = lost_at.take() {
                    recoveries.push(at - lost);
                }
            }
            _ => {}
        }
    }
    recoveries.sort();
    let ms = |d: Duration| d.as_millis();
    let at = |q: f64| ms(recoveries[((recoveries.len() - 1) as f64 * q) as usize]);
    let text = format!(
        "sustained drops every 0.3-0.7 s, default backoff and stableAfter: {} recoveries, \
         median {} ms, p90 {} ms, max {} ms; highest attempt {}; {}",
        recoveries.len(),
        at(0.5),
        at(0.9),
        at(1.0),
        attempts.iter().max().copied().unwrap_or(0),
        tally.summary(),
    );
    record_figures("flapping-recovery", &text);

    assert_exactly_once(&received, &tally, &text);
    assert!(recoveries.len() >= 15, "{text}");
    // The first retry waits at most 200 ms; a connect and subscribe through the proxy add a
    // few milliseconds. Climbing the backoff would put the median at seconds.
    assert!(at(0.5) <= 400, "{text}");
}
