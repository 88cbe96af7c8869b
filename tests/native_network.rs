//! The native transport when the network misbehaves, over real sockets: a server-side drop
//! (resume with nothing lost or duplicated), a link that goes silent (liveness), and a
//! network that is down for a while (backoff, then resume). Mirrors
//! tests-wasm/tests/resume.rs and adds what a page cannot simulate.
#![cfg(feature = "native")]

mod native_support;

use std::time::Duration;

use durable_iterator_wasm::native::{DurableIterator, Options};
use durable_iterator_wasm::{ConnectionState, Notice};
use native_support::*;
use serde_json::{json, Value};

/// Options for `tag` with notices collected, the socket going through `proxy` if given.
fn options(server: &TestServer, proxy: Option<&Proxy>, tag: &str, notices: &Notices) -> Options {
    let url = server.object_url(proxy.map(|p| p.addr));
    server
        .options()
        .object_url_fn(move |_| url.clone())
        .input(&json!({"tags": [tag]}))
        .unwrap()
        .on_notice(notices.listener())
}

/// Asserts that `after` holds exactly the events of the burst `published` (seq 1..=n, the last
/// with its last id) and that no event id repeats across `before` and `after`.
fn assert_delivered_once(before: &[(Burst, String)], after: &[(Burst, String)], published: &Value) {
    let seqs: Vec<u64> = after.iter().map(|(e, _)| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=published["published"].as_u64().unwrap()).collect::<Vec<_>>()
    );
    assert_eq!(
        after.last().map(|(_, id)| id.as_str()),
        published["lastId"].as_str()
    );
    let ids: Vec<u64> = before
        .iter()
        .chain(after)
        .map(|(_, id)| id.parse().unwrap())
        .collect();
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "duplicated ids: {ids:?}");
}

/// The `Reconnecting` states the iterator went through.
fn reconnects(notices: &Notices) -> Vec<(u32, Duration, u16)> {
    notices
        .all()
        .into_iter()
        .filter_map(|n| match n {
            Notice::State(ConnectionState::Reconnecting {
                attempt,
                delay,
                code,
                ..
            }) => Some((attempt, delay, code)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn resumes_after_a_server_side_drop_with_nothing_lost_or_duplicated() {
    let server = TestServer::start().await;
    let (tag, notices) = (unique_tag("resume"), Notices::default());
    let mut it = DurableIterator::<Burst>::connect(options(&server, None, &tag, &notices))
        .await
        .unwrap();
    wait_until_subscribed(&server, &it).await;
    server.publish(&tag, 3, 32).await;
    let before = take(&mut it, 3).await;
    assert!(server.drop_sockets().await >= 1);
    // Published while the client is away: only resume can deliver these.
    let published = server.publish(&tag, 7, 32).await;
    let after = take(&mut it, 7).await;
    assert_delivered_once(&before, &after, &published);
    let resumed = Notice::Resumed {
        last_event_id: before[2].1.clone(),
    };
    assert!(notices.all().contains(&resumed), "{:?}", notices.all());
    assert_eq!(notices.opens(), 2);
}

#[tokio::test]
async fn a_silent_link_is_found_by_liveness_and_replaced() {
    let server = TestServer::start().await;
    let proxy = Proxy::start(server.addr).await;
    let (tag, notices) = (unique_tag("silent"), Notices::default());
    let options = options(&server, Some(&proxy), &tag, &notices).liveness(Some((
        Duration::from_millis(300),
        Duration::from_millis(300),
    )));
    let mut it = DurableIterator::<Burst>::connect(options).await.unwrap();
    wait_until_subscribed(&server, &it).await;
    server.publish(&tag, 2, 16).await;
    let before = take(&mut it, 2).await;
    let first_conn = server.server_socket(&it.client_id()).await.unwrap()["conn"].clone();
    // The link dies without a word; the server still sees its end open and keeps sending.
    proxy.freeze();
    let published = server.publish(&tag, 3, 16).await;
    let after = take(&mut it, 3).await;
    assert_delivered_once(&before, &after, &published);
    assert!(
        reconnects(&notices)
            .iter()
            .any(|(_, _, code)| *code == 4000),
        "no liveness close: {:?}",
        notices.all()
    );
    // The frozen link may still be open on the server's side; a new one carries the events.
    let sockets = server.server_sockets(&it.client_id()).await;
    assert!(
        sockets
            .iter()
            .any(|s| s["conn"] != first_conn && s["subscribed"] == true),
        "no new socket: {sockets:?}"
    );
    assert_eq!(notices.opens(), 2);
}

#[tokio::test]
async fn backs_off_while_the_network_is_down_then_resumes() {
    let server = TestServer::start().await;
    let proxy = Proxy::start(server.addr).await;
    let (tag, notices) = (unique_tag("down"), Notices::default());
    let cap = Duration::from_millis(200);
    let options =
        options(&server, Some(&proxy), &tag, &notices).backoff(Duration::from_millis(20), 2.0, cap);
    let mut it = DurableIterator::<Burst>::connect(options).await.unwrap();
    wait_until_subscribed(&server, &it).await;
    server.publish(&tag, 1, 16).await;
    let before = take(&mut it, 1).await;
    proxy.cut();
    let published = server.publish(&tag, 4, 16).await;
    let failed = || {
        reconnects(&notices)
            .iter()
            .map(|(attempt, _, _)| *attempt)
            .max()
    };
    wait_for("three failed reconnects", || failed() >= Some(3)).await;
    let delays: Vec<Duration> = reconnects(&notices).iter().map(|(_, d, _)| *d).collect();
    assert!(delays.iter().all(|d| *d <= cap), "over the cap: {delays:?}");
    proxy.restore();
    let after = take(&mut it, 4).await;
    assert_delivered_once(&before, &after, &published);
    assert_eq!(it.state(), ConnectionState::Open);
}
