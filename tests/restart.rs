//! A server restart under a subscribed client: the reference server runs as a real process
//! on a SQLite file; it is killed with SIGKILL (no goodbye, no flush) while the client's link
//! is silent and events wait to be delivered, then started again on the same database and
//! port. The client must resume from its last event id and get every event, the ones stored
//! before the kill included, exactly once and in order.
#![cfg(feature = "native")]

mod native_support;
mod soak_support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use durable_iterator_chaos::{ChaosConfig, ChaosProxy};
use durable_iterator_wasm::native::{DurableIterator, Options};
use durable_iterator_wasm::Notice;
use futures_util::StreamExt;
use native_support::{unique_tag, ROOM, WAIT};
use serde_json::{json, Value};
use soak_support::{http_json, record_figures, NoticeLog, Seq};

const SIGNING_KEY: &str = "restart-test-key";
const LISTENING: &str = "durable-iterator-server listening on http://";

/// The server binary, built (or found up to date) by cargo in this target directory, with
/// this test's profile.
fn server_binary() -> PathBuf {
    // This test runs from target/<profile>/deps/; the binary goes to target/<profile>/.
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut build = Command::new(cargo);
    build.args(["build", "--quiet", "-p", "durable-iterator-server"]);
    if profile_dir.ends_with("release") {
        build.arg("--release");
    }
    let built = build.status().expect("cargo runs");
    assert!(
        built.success(),
        "cargo build -p durable-iterator-server failed"
    );
    profile_dir.join(format!(
        "durable-iterator-server{}",
        std::env::consts::EXE_SUFFIX
    ))
}

/// A server process; killed (SIGKILL) when dropped.
struct ServerProcess {
    child: Child,
    addr: SocketAddr,
}

impl ServerProcess {
    fn start(binary: &Path, addr: &str, db: &Path) -> ServerProcess {
        let mut child = Command::new(binary)
            .args(["--addr", addr, "--signing-key", SIGNING_KEY])
            .arg("--db")
            .arg(db)
            .args(["--resume-retention-seconds", "300", "--test-endpoints"])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the server starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the listening line");
        let addr = line
            .trim()
            .strip_prefix(LISTENING)
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"));
        ServerProcess { child, addr }
    }

    /// SIGKILL, and wait until the process is gone.
    fn kill(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reaped");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Publishes `count` events to `tag` through `/test/publish`; the ids the server gave them.
async fn publish(addr: SocketAddr, tag: &str, count: u64) -> Vec<u64> {
    let body = json!({ "channel": ROOM, "count": count, "size": 0, "tags": [tag] });
    let (status, answer) = http_json(addr, "POST", "/test/publish", Some(&body))
        .await
        .expect("the server answers");
    assert_eq!(status, 200, "{answer}");
    let id = |key: &str| -> u64 {
        answer[key]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no {key}: {answer}"))
    };
    (id("firstId")..=id("lastId")).collect()
}

/// Publishes `count` single events `gap` apart; their ids.
async fn publish_steadily(addr: SocketAddr, tag: &str, count: u64, gap: Duration) -> Vec<u64> {
    let mut ids = Vec::new();
    for _ in 0..count {
        ids.extend(publish(addr, tag, 1).await);
        tokio::time::sleep(gap).await;
    }
    ids
}

/// Reads events until one with id `last` (ids of everything read go to `ids`).
async fn read_until(it: &mut DurableIterator<Seq>, last: u64, ids: &mut Vec<u64>) {
    while ids.last() != Some(&last) {
        match tokio::time::timeout(WAIT, it.next()).await {
            Ok(Some(Ok(_))) => {
                let id = it.last_event_id().and_then(|id| id.parse().ok());
                ids.push(id.expect("events carry numeric ids"));
            }
            other => panic!(
                "stopped before id {last} after {:?}: {:?}",
                ids.last(),
                other.map(|o| o.map(|r| r.err()))
            ),
        }
    }
}

fn options(server: SocketAddr, proxy: &ChaosProxy, tag: &str, log: &NoticeLog) -> Options {
    let object = format!("ws://{}/chat-room", proxy.addr());
    Options::new(format!("http://{server}/rpc"), "onMessage", object.clone())
        .object_url_fn(move |_| object.clone())
        .input(&json!({ "tags": [tag] }))
        .unwrap()
        .backoff(Duration::from_millis(50), 2.0, Duration::from_secs(1))
        .on_notice(log.listener())
}

/// Waits until the server lists a subscribed socket for `client_id`.
async fn wait_subscribed(addr: SocketAddr, client_id: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let listing = http_json(addr, "GET", &format!("/test/sockets?channel={ROOM}"), None).await;
        let subscribed = listing.is_ok_and(|(_, body)| {
            body["sockets"].as_array().is_some_and(|sockets| {
                sockets
                    .iter()
                    .any(|s: &Value| s["id"] == client_id && s["subscribed"] == true)
            })
        });
        if subscribed {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "never subscribed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_and_restarted_server_loses_nothing_within_retention() {
    let binary = server_binary();
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("events.sqlite3");
    let first = ServerProcess::start(&binary, "127.0.0.1:0", &db);
    let addr = first.addr;
    let proxy = ChaosProxy::start("127.0.0.1:0".parse().unwrap(), addr, ChaosConfig::default())
        .await
        .unwrap();
    let (tag, log) = (unique_tag("restart"), NoticeLog::default());
    let mut it = DurableIterator::<Seq>::connect(options(addr, &proxy, &tag, &log))
        .await
        .unwrap();
    wait_subscribed(addr, &it.client_id()).await;

    // Live traffic, all delivered: the client's resume point is the last of these.
    let mut published = publish_steadily(addr, &tag, 50, Duration::from_millis(20)).await;
    let mut received = Vec::new();
    let resume_point = *published.last().unwrap();
    read_until(&mut it, resume_point, &mut received).await;

    // The link goes silent; the server stores a burst the client cannot see, then dies.
    proxy.blackhole(true);
    let stored_before_kill = publish(addr, &tag, 40).await;
    published.extend(&stored_before_kill);
    first.kill();

    // Same database, same port: ids continue, the old events are still there.
    let second = ServerProcess::start(&binary, &addr.to_string(), &db);
    let after_restart = publish(second.addr, &tag, 20).await;
    assert!(
        after_restart[0] > *stored_before_kill.last().unwrap(),
        "ids restarted after the restart: {after_restart:?} after {stored_before_kill:?}"
    );
    published.extend(&after_restart);

    // The dead link ends; the client reconnects to the new process and resumes.
    proxy.drop_all();
    proxy.blackhole(false);
    let tail = publish_steadily(second.addr, &tag, 30, Duration::from_millis(20)).await;
    published.extend(&tail);
    read_until(&mut it, *published.last().unwrap(), &mut received).await;

    let resumed_from = log.all().into_iter().find_map(|(_, n)| match n {
        Notice::Resumed { last_event_id } => Some(last_event_id),
        _ => None,
    });
    let duplicated = received.len() - {
        let mut unique = received.clone();
        unique.sort_unstable();
        unique.dedup();
        unique.len()
    };
    let lost = published.iter().filter(|id| !received.contains(id)).count();
    record_figures(
        "restart",
        &format!(
            "SIGKILL + restart on the same SQLite file: {} events published ({} stored just \
             before the kill, {} right after the restart), {} received, lost {lost}, \
             duplicated {duplicated}; resumed from id {resumed_from:?}",
            published.len(),
            stored_before_kill.len(),
            after_restart.len(),
            received.len()
        ),
    );
    assert_eq!(received, published, "every event once, in order");
    assert_eq!(resumed_from, Some(resume_point.to_string()));
    assert_eq!(log.gaps(), 0);

    // Again with the link alive: a burst, the kill right behind it (part of the burst may
    // still be on its way), the client failing to reconnect while nothing listens, a restart.
    let reconnects_before = log.reconnects();
    let burst = publish(second.addr, &tag, 100).await;
    second.kill();
    published.extend(&burst);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let third = ServerProcess::start(&binary, &addr.to_string(), &db);
    let tail = publish_steadily(third.addr, &tag, 30, Duration::from_millis(20)).await;
    published.extend(&tail);
    read_until(&mut it, *published.last().unwrap(), &mut received).await;
    let attempts_while_down = log.reconnects() - reconnects_before;
    record_figures(
        "restart-live",
        &format!(
            "SIGKILL right after a 100-event burst with the link alive, 1 s down, restart: \
             {} events published in all, {} received, {attempts_while_down} failed or lost \
             connections meanwhile, gaps reported {}",
            published.len(),
            received.len(),
            log.gaps()
        ),
    );
    assert_eq!(received, published, "every event once, in order");
    assert!(attempts_while_down >= 1, "the kill must have cut the link");
    assert_eq!(log.gaps(), 0);
}
