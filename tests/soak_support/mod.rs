//! Shared harness of the chaos suites (soak, restart, token life): a steady publisher, a
//! consumer that records what arrived and when, a notice log with times, the tally of lost,
//! duplicated and reordered events, and where the figures of a run are written.
#![allow(dead_code)] // each suite uses a different subset

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use durable_iterator_chaos::ChaosProxy;
use durable_iterator_protocol::RichBody;
use durable_iterator_server::{PublishOptions, Server};
use durable_iterator_wasm::native::{DurableIterator, Options};
use durable_iterator_wasm::{ConnectionState, Notice};
use futures_util::StreamExt;
use serde_json::json;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::native_support::{TestServer, ROOM, WAIT};

/// How long the consumer waits for the next event before it calls the stream stalled.
pub const STALL: Duration = Duration::from_secs(20);

/// The events of these suites: their position in the published sequence, from 1.
#[derive(Debug, Clone, Copy, serde::Deserialize, PartialEq)]
pub struct Seq {
    pub seq: u64,
}

/// Every notice an iterator gave, with the time it came, and a running count of
/// `PossibleGap` (the consumer reads it for every event, so it must not walk the log).
#[derive(Clone, Default)]
pub struct NoticeLog(Arc<LogInner>);

#[derive(Default)]
pub struct LogInner {
    notices: Mutex<Vec<(Instant, Notice)>>,
    gaps: std::sync::atomic::AtomicUsize,
}

impl NoticeLog {
    pub fn listener(&self) -> impl Fn(&Notice) + Send + Sync + 'static {
        let log = self.0.clone();
        move |notice| {
            if *notice == Notice::PossibleGap {
                log.gaps.fetch_add(1, Ordering::SeqCst);
            }
            log.notices
                .lock()
                .expect("notice log")
                .push((Instant::now(), notice.clone()))
        }
    }

    pub fn all(&self) -> Vec<(Instant, Notice)> {
        self.0.notices.lock().expect("notice log").clone()
    }

    pub fn count(&self, matches: impl Fn(&Notice) -> bool) -> usize {
        let notices = self.0.notices.lock().expect("notice log");
        notices.iter().filter(|(_, n)| matches(n)).count()
    }

    pub fn gaps(&self) -> usize {
        self.0.gaps.load(Ordering::SeqCst)
    }

    pub fn resumes(&self) -> usize {
        self.count(|n| matches!(n, Notice::Resumed { .. }))
    }

    pub fn opens(&self) -> usize {
        self.count(|n| *n == Notice::State(ConnectionState::Open))
    }

    /// Times an open connection was lost (a failed connect does not count): the drops the
    /// client lived through.
    pub fn drops_survived(&self) -> usize {
        let states: Vec<ConnectionState> = self
            .all()
            .into_iter()
            .filter_map(|(_, n)| match n {
                Notice::State(state) => Some(state),
                _ => None,
            })
            .collect();
        states
            .windows(2)
            .filter(|w| {
                w[0] == ConnectionState::Open
                    && matches!(w[1], ConnectionState::Reconnecting { .. })
            })
            .count()
    }

    /// Times the connection was lost or failed and a reconnect planned.
    pub fn reconnects(&self) -> usize {
        self.count(|n| matches!(n, Notice::State(ConnectionState::Reconnecting { .. })))
    }

    pub fn last_state(&self) -> Option<ConnectionState> {
        self.all().into_iter().rev().find_map(|(_, n)| match n {
            Notice::State(state) => Some(state),
            _ => None,
        })
    }

    /// The first notice after `since` that `matches`, with its time.
    pub fn first_after(
        &self,
        since: Instant,
        matches: impl Fn(&Notice) -> bool,
    ) -> Option<(Instant, Notice)> {
        self.all()
            .into_iter()
            .find(|(at, n)| *at >= since && matches(n))
    }
}

/// Publishes `{seq}` for every seq of `seqs` to sockets holding `tag`, one event per publish,
/// at `rate` events per second, in process.
pub fn publish_steadily(
    server: Server,
    tag: String,
    seqs: std::ops::RangeInclusive<u64>,
    rate: u64,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        // Every tick publishes what the rate owes by then, so any rate is kept on average.
        let (first, end) = seqs.into_inner();
        let rate = rate.max(1) as f64;
        let started = Instant::now();
        let mut ticks = tokio::time::interval(Duration::from_millis(10));
        let mut next = first;
        while next <= end {
            ticks.tick().await;
            let owed = (started.elapsed().as_secs_f64() * rate) as u64;
            let last = end.min(first + owed);
            for seq in next..=last {
                publish_one(&server, &tag, seq);
            }
            next = next.max(last + 1);
        }
    })
}

/// Publishes `{seq}` to sockets holding `tag`.
pub fn publish_one(server: &Server, tag: &str, seq: u64) {
    server.publish_event(
        ROOM,
        RichBody::plain(json!({ "seq": seq })),
        PublishOptions::tags([tag]),
    );
}

/// What a consumer saw.
#[derive(Debug, Default)]
pub struct Received {
    /// The seq of every event, in arrival order.
    pub seqs: Vec<u64>,
    /// Their ids (`None` without resume).
    pub ids: Vec<Option<String>>,
    /// For each event, how many `PossibleGap` notices had come when it arrived.
    pub gap_notices_before: Vec<usize>,
    /// Why the consumer stopped: "marker", "stalled", "ended" or the error.
    pub stop: String,
}

/// Reads `it` until an event with seq above `last`, a stall, or the end; `progress` holds the
/// highest seq seen so far.
pub fn consume(
    mut it: DurableIterator<Seq>,
    last: u64,
    log: NoticeLog,
    progress: Arc<AtomicU64>,
) -> JoinHandle<Received> {
    tokio::spawn(async move {
        let mut got = Received::default();
        got.stop = loop {
            match tokio::time::timeout(STALL, it.next()).await {
                Ok(Some(Ok(event))) => {
                    got.seqs.push(event.seq);
                    got.ids.push(it.last_event_id().map(str::to_owned));
                    got.gap_notices_before.push(log.gaps());
                    progress.fetch_max(event.seq, Ordering::SeqCst);
                    if event.seq > last {
                        break "marker".to_owned();
                    }
                }
                Ok(Some(Err(error))) => break format!("error: {error}"),
                Ok(None) => break "ended".to_owned(),
                Err(_) => break "stalled".to_owned(),
            }
        };
        it.close();
        got
    })
}

/// Options through `proxy`, tuned so a drop costs little: a quick first retry and an attempt
/// counter that resets soon, or the backoff would climb to its 10 s cap between drops that
/// come twice a second.
pub fn chaos_options(
    server: &TestServer,
    proxy: &ChaosProxy,
    tag: &str,
    log: &NoticeLog,
) -> Options {
    let url = server.object_url(Some(proxy.addr()));
    server
        .options()
        .object_url_fn(move |_| url.clone())
        .input(&serde_json::json!({ "tags": [tag] }))
        .unwrap()
        .backoff(Duration::from_millis(50), 2.0, Duration::from_secs(1))
        .stable_after(Duration::from_millis(150))
        .on_notice(log.listener())
}

/// Waits until the client is open and its subscription is on the server.
pub async fn wait_settled(server: &TestServer, client_id: &str, log: &NoticeLog) {
    let deadline = Instant::now() + WAIT * 3;
    loop {
        let open = log.last_state() == Some(ConnectionState::Open);
        let sockets = server.server_sockets(client_id).await;
        if open && sockets.iter().any(|s| s["subscribed"] == true) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "never settled: {:?}",
            log.last_state()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Publishes markers above `last` (one every 2 s) until the consumer has one: without
/// resume, a marker published while the client is between sockets is lost.
pub async fn publish_marker(server: &TestServer, tag: &str, last: u64, progress: &AtomicU64) {
    for k in 1..=10 {
        publish_one(&server.server, tag, last + k);
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if progress.load(Ordering::SeqCst) > last {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Lost, duplicated and reordered events of a run that published `1..=expected`.
#[derive(Debug, Clone, PartialEq)]
pub struct Tally {
    pub expected: u64,
    pub received: usize,
    pub lost: u64,
    pub duplicated: u64,
    pub out_of_order: u64,
    /// Each run of missing seqs: (first, last, index in the arrivals of the event after it).
    pub gaps: Vec<(u64, u64, usize)>,
}

impl Tally {
    /// Counts over the events with seq `1..=expected` (a marker above it is left out).
    pub fn of(seqs: &[u64], expected: u64) -> Tally {
        let mut seen = vec![false; usize::try_from(expected).unwrap_or(0) + 1];
        let (mut duplicated, mut out_of_order, mut received) = (0, 0, 0);
        let mut gaps = Vec::new();
        let mut previous = 0u64;
        for (index, &seq) in seqs.iter().enumerate() {
            if seq == 0 || seq > expected {
                if seq > expected && previous < expected {
                    gaps.push((previous + 1, expected, index));
                }
                continue;
            }
            received += 1;
            let slot = &mut seen[usize::try_from(seq).unwrap_or(0)];
            if *slot {
                duplicated += 1;
            }
            *slot = true;
            if seq <= previous {
                out_of_order += 1;
            } else if seq > previous + 1 {
                gaps.push((previous + 1, seq - 1, index));
            }
            previous = previous.max(seq);
        }
        let lost = seen.iter().skip(1).filter(|s| !**s).count() as u64;
        Tally {
            expected,
            received,
            lost,
            duplicated,
            out_of_order,
            gaps,
        }
    }

    /// "N events checked: lost .., duplicated .., out of order ..", for a run's figures.
    pub fn summary(&self) -> String {
        format!(
            "{} events checked: lost {}, duplicated {}, out of order {}",
            self.received, self.lost, self.duplicated, self.out_of_order
        )
    }
}

/// What every run that must lose nothing ends with: the consumer saw the marker, and nothing
/// was lost, duplicated or out of order.
pub fn assert_exactly_once(received: &Received, tally: &Tally, text: &str) {
    assert_eq!(received.stop, "marker", "{text}");
    assert_eq!(
        (tally.lost, tally.duplicated, tally.out_of_order),
        (0, 0, 0),
        "{text}"
    );
}

/// `method path` with a JSON body to the server at `addr` over a fresh connection: the status
/// and the answer as JSON, or why there was none (for a server that may be down).
pub async fn http_json(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
) -> Result<(u16, serde_json::Value), String> {
    use http_body_util::{BodyExt, Full};
    use hyper::body::Bytes;

    let exchange = async {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| e.to_string())?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| e.to_string())?;
        let connection = tokio::spawn(connection);
        let request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", addr.to_string())
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(
                body.map(serde_json::Value::to_string).unwrap_or_default(),
            )))
            .map_err(|e| e.to_string())?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        connection.abort();
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
        ))
    };
    tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .map_err(|_| "no answer within 10 s".to_owned())?
}

/// Writes a run's figures to `target/tmp/soak-figures/<name>.txt` and to stderr, so that a
/// CI log (`--nocapture`) or a later look at the file shows what the run survived.
pub fn record_figures(name: &str, text: &str) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("soak-figures");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(format!("{name}.txt")), format!("{text}\n"));
    eprintln!("[{name}] {text}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tally_counts_losses_duplicates_and_reorders() {
        let t = Tally::of(&[1, 2, 2, 5, 4, 6, 9], 7);
        assert_eq!((t.lost, t.duplicated, t.out_of_order), (2, 1, 2));
        // 3-4 missing before 5 (index 3), 7 missing before the marker 9 (index 6).
        assert_eq!(t.gaps, vec![(3, 4, 3), (7, 7, 6)]);
        let clean = Tally::of(&[1, 2, 3, 4], 3);
        assert_eq!(
            (clean.lost, clean.duplicated, clean.out_of_order),
            (0, 0, 0)
        );
        assert!(clean.gaps.is_empty());
    }
}
