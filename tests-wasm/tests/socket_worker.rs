//! Where the Rust API's socket lives: in the page's socket worker by default, on the page with
//! `off_main_thread(false)`. The page's `WebSocket` is wrapped so the test sees how many
//! sockets the page itself constructed. One test function: the tests of a binary run
//! concurrently, and the count is page-wide.
#![cfg(target_arch = "wasm32")]

use durable_iterator_wasm::DurableIterator;
use durable_iterator_wasm_tests::*;
use serde_json::json;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Wraps the page's `WebSocket` once; returns how many it has constructed since.
fn page_sockets() -> f64 {
    js_sys::eval(
        "if (!globalThis.__pageSockets) {
           const Native = globalThis.WebSocket
           globalThis.__pageSockets = { count: 0 }
           globalThis.WebSocket = class extends Native {
             constructor(...args) { super(...args); globalThis.__pageSockets.count++ }
           }
         }
         globalThis.__pageSockets.count",
    )
    .ok()
    .and_then(|count| count.as_f64())
    .unwrap_or(f64::NAN)
}

#[wasm_bindgen_test]
async fn the_socket_lives_in_the_worker_unless_asked_not_to() {
    let before = page_sockets();

    let tag = unique_tag("worker");
    let mut it =
        DurableIterator::<Burst>::connect(options().input(&json!({"tags": [tag]})).unwrap())
            .await
            .unwrap();
    wait_until_open(&it).await;
    let published = publish(&tag, 500, 64).await;
    let events = take(&mut it, 500).await;
    assert_eq!(
        events.iter().map(|(e, _)| e.seq).collect::<Vec<_>>(),
        (1..=500).collect::<Vec<_>>(),
        "every event once, in order, through the worker's batches"
    );
    assert_eq!(
        events.last().map(|(_, id)| id.as_str()),
        published["lastId"].as_str()
    );
    assert_eq!(page_sockets(), before, "the page constructed a WebSocket");
    drop(it);

    let tag = unique_tag("page");
    let mut it = DurableIterator::<Burst>::connect(
        options()
            .input(&json!({"tags": [tag]}))
            .unwrap()
            .off_main_thread(false),
    )
    .await
    .unwrap();
    wait_until_open(&it).await;
    publish(&tag, 3, 64).await;
    let events = take(&mut it, 3).await;
    assert_eq!(
        events.iter().map(|(e, _)| e.seq).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(page_sockets(), before + 1.0, "one socket on the page");
}
