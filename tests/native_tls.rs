//! The native transport over TLS: the real reference server behind a TLS front
//! (`durable_iterator_chaos::TlsTerminator`) whose certificate is issued at test time by a
//! certificate authority that only these tests know. With that authority added, everything
//! works over `https://` and `wss://` (first token, events, RPC, refresh); without it, the
//! certificate is refused at once with `UNTRUSTED_CERTIFICATE`, never retried.
#![cfg(feature = "native")]

mod native_support;

use std::time::{Duration, Instant};

use durable_iterator_chaos::TlsTerminator;
use durable_iterator_wasm::{DurableIterator, Error, Notice, Options};
use futures_util::StreamExt;
use native_support::*;
use serde_json::json;

/// The reference server and a TLS front before it.
struct TlsServer {
    server: TestServer,
    front: TlsTerminator,
    ca_pem: String,
}

impl TlsServer {
    async fn start() -> Self {
        let server = TestServer::start().await;
        let (front, ca_pem) = TlsTerminator::with_fresh_ca(server.addr).await.unwrap();
        TlsServer {
            server,
            front,
            ca_pem,
        }
    }

    /// Options over TLS to the front, by host name (the certificate names `localhost`).
    fn options(&self) -> Options {
        let port = self.front.addr().port();
        Options::new(
            format!("https://localhost:{port}/rpc"),
            "onMessage",
            format!("wss://localhost:{port}/chat-room"),
        )
    }
}

#[tokio::test]
async fn events_calls_and_refresh_over_https_and_wss() {
    let tls = TlsServer::start().await;
    let tag = unique_tag("tls");
    let notices = Notices::default();
    let options = tls
        .options()
        .root_certificates_pem(tls.ca_pem.as_bytes())
        .unwrap()
        .input(&json!({"tags": [tag], "ttlSeconds": 4}))
        .unwrap()
        .refresh_before_expire(Duration::from_secs(2))
        .on_notice(notices.listener());
    let mut it = DurableIterator::<Burst>::connect(options).await.unwrap();
    wait_until_subscribed(&tls.server, &it).await;
    tls.server.publish(&tag, 3, 32).await;
    let seqs: Vec<u64> = take(&mut it, 3).await.iter().map(|(e, _)| e.seq).collect();
    assert_eq!(seqs, [1, 2, 3]);
    let echo: String = it
        .rpc(["routerClient", "echo"])
        .call(&json!({"text": "hi"}))
        .await
        .unwrap();
    assert_eq!(echo, "Echo: hi");
    // The refresh calls the procedure again, over https with the same trusted roots.
    wait_for("a token refreshed over https", || {
        notices.all().contains(&Notice::TokenUpdated)
    })
    .await;
    tls.server.publish(&tag, 1, 32).await;
    assert_eq!(take(&mut it, 1).await[0].0.seq, 1);
}

#[tokio::test]
async fn an_untrusted_certificate_fails_the_procedure_call_at_once() {
    let tls = TlsServer::start().await;
    let started = Instant::now();
    let result = DurableIterator::<Burst>::connect(tls.options()).await;
    let Err(error) = result else {
        panic!("connected to a server whose certificate nobody trusts");
    };
    assert_eq!(error.code(), "UNTRUSTED_CERTIFICATE", "{error}");
    let Error::UntrustedCertificate { server, reason } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(server, &format!("localhost:{}", tls.front.addr().port()));
    assert!(reason.contains("UnknownIssuer"), "{reason}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn an_untrusted_object_certificate_ends_the_stream_instead_of_reconnecting() {
    let tls = TlsServer::start().await;
    let notices = Notices::default();
    // The first token comes over plain HTTP; only the object's socket meets the certificate.
    let options = Options::new(
        tls.server.rpc_url(),
        "onMessage",
        format!("wss://localhost:{}/chat-room", tls.front.addr().port()),
    )
    .on_notice(notices.listener());
    let mut it = DurableIterator::<Burst>::connect(options).await.unwrap();
    let started = Instant::now();
    let last = tokio::time::timeout(WAIT, it.next()).await.unwrap();
    let Some(Err(error)) = last else {
        panic!("expected the certificate error, got {last:?}");
    };
    assert_eq!(error.code(), "UNTRUSTED_CERTIFICATE", "{error}");
    assert!(error.to_string().contains("not trusted"), "{error}");
    assert!(tokio::time::timeout(WAIT, it.next())
        .await
        .unwrap()
        .is_none());
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(
        !notices.all().iter().any(|n| matches!(
            n,
            Notice::State(durable_iterator_wasm::ConnectionState::Reconnecting { .. })
        )),
        "it reconnected: {:?}",
        notices.all()
    );
}

#[tokio::test]
async fn root_certificates_must_be_pem_certificates() {
    let tls = TlsServer::start().await;
    let refused = tls.options().root_certificates_pem(b"not a certificate");
    assert_eq!(
        refused.err().map(|e| e.code().to_owned()),
        Some("INVALID_OPTION".to_owned())
    );
}
