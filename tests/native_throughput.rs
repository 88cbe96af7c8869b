//! A measurement, not a test: how fast one native iterator consumes a burst of 100,000
//! events of about 100 bytes from the in-process reference server. Ignored by default and
//! never asserted on; run it by hand, preferably optimised:
//!
//! `cargo test --release -p durable-iterator-wasm --features native --test native_throughput -- --ignored --nocapture`
#![cfg(feature = "native")]

mod native_support;

use std::sync::Arc;
use std::time::Instant;

use durable_iterator_wasm::native::DurableIterator;
use native_support::*;
use serde_json::json;

const COUNT: u32 = 100_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run by hand with --ignored --nocapture"]
async fn a_burst_of_100k_small_events() {
    let server = Arc::new(TestServer::start().await);
    let tag = unique_tag("burst");
    let options = server.options().input(&json!({"tags": [tag]})).unwrap();
    let mut it = DurableIterator::<Burst>::connect(options).await.unwrap();
    wait_until_subscribed(&server, &it).await;
    let started = Instant::now();
    let publisher = {
        let (server, tag) = (server.clone(), tag.clone());
        tokio::spawn(async move { server.publish(&tag, COUNT, 100).await })
    };
    let events = take(&mut it, COUNT as usize).await;
    let took = started.elapsed();
    publisher.await.unwrap();
    let in_order = events.iter().zip(1..).all(|((e, _), seq)| e.seq == seq);
    println!(
        "{COUNT} events of ~100 bytes in {:.2} s: {:.0} events/s (in order: {in_order})",
        took.as_secs_f64(),
        f64::from(COUNT) / took.as_secs_f64()
    );
}
