//! Resume after a server-side drop. In its own test binary because `/test/drop` drops every
//! socket of the room, which would disturb the socket-identity checks of other suites
//! (wasm-bindgen-test runs the tests of one binary concurrently; binaries run one by one).
#![cfg(target_arch = "wasm32")]

use durable_iterator_wasm::DurableIterator;
use durable_iterator_wasm_tests::*;
use serde_json::json;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn resumes_after_a_server_side_drop_with_nothing_lost_or_duplicated() {
    let tag = unique_tag("resume");
    let mut it =
        DurableIterator::<Burst>::connect(options().input(&json!({"tags": [tag]})).unwrap())
            .await
            .unwrap();
    wait_until_open(&it).await;
    publish(&tag, 3, 32).await;
    let before = take(&mut it, 3).await;
    assert!(drop_sockets().await >= 1);
    // Published while the client is away: only resume can deliver these.
    let published = publish(&tag, 7, 32).await;
    let after = take(&mut it, 7).await;
    let mut ids: Vec<u64> = before
        .iter()
        .chain(&after)
        .map(|(_, id)| id.parse().unwrap())
        .collect();
    assert_eq!(
        after.iter().map(|(e, _)| e.seq).collect::<Vec<_>>(),
        (1..=7).collect::<Vec<_>>()
    );
    assert_eq!(
        ids.last().copied(),
        published["lastId"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .or(published["lastId"].as_u64())
    );
    let count = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), count, "duplicated ids");
}
