//! Soak in headless Chromium: the browser client reaches the object through the chaos proxy
//! that `cargo xtask test` starts (`chaos-proxy`, drops every 0.3-1.2 s, a third of them cutting
//! a frame in half, latency and jitter), while the page publishes a numbered message every
//! 25 ms straight to the server. With resume on, the client must deliver every message once
//! and in order across 20+ drops. About 40 s; its own binary, because it runs that long.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use durable_iterator_wasm::link::{ProcedureCall, ProcedureOutput};
use durable_iterator_wasm::{DurableIterator, Notice};
use durable_iterator_wasm_tests::*;
use futures_util::future::{select, Either};
use futures_util::StreamExt;
use serde_json::json;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Base URL of the chaos proxy in front of the server, compiled in by `cargo xtask test`.
const PROXY_URL: Option<&str> = option_env!("DURABLE_ITERATOR_TEST_PROXY");

/// Messages published; one per 25 ms plus the call, about 40 s.
const MESSAGES: u64 = 1_000;
/// Least drops the client must have resumed from.
const MIN_DROPS: usize = 20;

#[derive(Debug, serde::Deserialize)]
struct Message {
    message: String,
}

/// Publishes `{message: "<n>"}` to sockets holding `tag`, through the app procedure.
async fn send(tag: &str, n: u64) {
    let call = ProcedureCall {
        base_url: rpc_url(),
        path: vec!["sendMessage".to_owned()],
        body: json!({ "json": { "message": n.to_string(), "tags": [tag] } }).to_string(),
        ..Default::default()
    };
    let output = call.send(None).await.expect("sendMessage");
    assert!(matches!(output, ProcedureOutput::Plain(_)), "{output:?}");
}

#[wasm_bindgen_test]
async fn nothing_is_lost_or_duplicated_across_drops_in_the_browser() {
    let proxy = PROXY_URL.expect(
        "DURABLE_ITERATOR_TEST_PROXY is unset: run the browser tests through `cargo xtask test`, \
         which starts the chaos proxy",
    );
    let object = format!("{}/chat-room", proxy.replacen("http", "ws", 1));
    let tag = unique_tag("soak");
    let notices: Rc<RefCell<Vec<Notice>>> = Rc::default();
    let seen = notices.clone();
    let options = options()
        .object_url_fn(move |_| object.clone())
        .input(&json!({ "tags": [tag] }))
        .unwrap()
        .backoff(Duration::from_millis(50), 2.0, Duration::from_secs(1))
        .stable_after(Duration::from_millis(150))
        .on_notice(move |notice| seen.borrow_mut().push(notice.clone()));
    let mut it = DurableIterator::<Message>::connect(options).await.unwrap();
    wait_until_open(&it).await;
    // Until its first event the iterator has no id to resume from (it started live), so a drop
    // in that window may lose what was published meanwhile, and says so with a possible-gap
    // notice. Warm-up messages ("0") give it a resume point before the numbered ones start.
    let mut warmed_up = false;
    for _ in 0..20 {
        send(&tag, 0).await;
        if let Either::Left((Some(Ok(_)), _)) = select(it.next(), Box::pin(sleep(1_000))).await {
            warmed_up = true;
            break;
        }
    }
    assert!(
        warmed_up,
        "no warm-up message arrived through the chaos proxy"
    );
    let gaps_before = notices
        .borrow()
        .iter()
        .filter(|n| matches!(n, Notice::PossibleGap))
        .count();

    let publish = async {
        for n in 1..=MESSAGES + 1 {
            send(&tag, n).await;
            sleep(25).await;
        }
    };
    let consume = async {
        let mut got: Vec<u64> = Vec::new();
        let stop = loop {
            match select(it.next(), Box::pin(sleep(20_000))).await {
                Either::Left((Some(Ok(event)), _)) => {
                    let n: u64 = event.message.parse().expect("numbered message");
                    if n == 0 {
                        continue; // a late warm-up message
                    }
                    got.push(n);
                    if n > MESSAGES {
                        break "marker".to_owned();
                    }
                }
                Either::Left((other, _)) => break format!("ended: {:?}", other.map(|r| r.err())),
                Either::Right(_) => break "stalled".to_owned(),
            }
        };
        (got, stop)
    };
    let ((), (got, stop)) = futures_util::future::join(publish, consume).await;
    it.close();

    let notices = notices.borrow();
    let resumed = notices
        .iter()
        .filter(|n| matches!(n, Notice::Resumed { .. }))
        .count();
    let gaps = notices
        .iter()
        .filter(|n| matches!(n, Notice::PossibleGap))
        .count()
        - gaps_before;
    let mut unique = got.clone();
    unique.sort_unstable();
    unique.dedup();
    let figures = format!(
        "browser soak: {} messages checked, {} received, lost {}, duplicated {}, drops resumed {resumed}, possible gaps {gaps}, stop {stop}",
        MESSAGES + 1,
        got.len(),
        (MESSAGES + 1) as usize - unique.len(),
        got.len() - unique.len(),
    );
    web_sys::console::log_1(&figures.clone().into());
    assert_eq!(stop, "marker", "{figures}");
    assert_eq!(got, (1..=MESSAGES + 1).collect::<Vec<_>>(), "{figures}");
    assert!(resumed >= MIN_DROPS, "{figures}");
    assert_eq!(gaps, 0, "{figures}");
}
