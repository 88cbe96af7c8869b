//! The object URL refuses bad upgrades with upstream's exact statuses and bodies
//! (vectors/upstream/upstream-http.json), in upstream's order, and accepts good ones.

mod common;

use common::{config, token, TestServer};
use durable_iterator_protocol::sign_token;
use durable_iterator_server::DEMO_CHANNEL;
use tokio_tungstenite::tungstenite;

const UPGRADE_HEADERS: &[(&str, &str)] = &[
    ("connection", "Upgrade"),
    ("upgrade", "websocket"),
    ("sec-websocket-version", "13"),
    ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
];

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn refusals_match_the_recorded_worker() {
    let server = TestServer::start(config()).await;

    let plain = server.http("GET", "/chat-room", &[], None).await;
    assert_eq!(plain.status, 426);
    assert_eq!(
        plain.header("content-type"),
        Some("text/plain;charset=UTF-8")
    );
    assert_eq!(plain.body, "Expected WebSocket upgrade");

    let no_id = server
        .http("GET", "/chat-room?token=x", UPGRADE_HEADERS, None)
        .await;
    assert_eq!((no_id.status, no_id.body.as_str()), (401, "ID is required"));
    assert_eq!(
        no_id.header("content-type"),
        Some("text/plain;charset=UTF-8")
    );

    let no_token = server
        .http("GET", "/chat-room?id=abc", UPGRADE_HEADERS, None)
        .await;
    assert_eq!(
        (no_token.status, no_token.body.as_str()),
        (401, "Token is required")
    );
    let empty_token = server
        .http("GET", "/chat-room?id=abc&token=", UPGRADE_HEADERS, None)
        .await;
    assert_eq!(
        (empty_token.status, empty_token.body.as_str()),
        (401, "Token is required")
    );

    // The recorded request: a valid-looking payload with a bad signature.
    let forged = "/chat-room?id=abc&token=%7B%22chn%22%3A%22some-room%22%2C%22iat%22%3A1%2C%22exp%22%3A9999999999%7D.AAAA";
    let bad = server.http("GET", forged, UPGRADE_HEADERS, None).await;
    assert_eq!((bad.status, bad.body.as_str()), (401, "Invalid Token"));

    let expired = token(|p| {
        p.iat -= 7200.0;
        p.exp = p.iat + 10.0;
    });
    let path = format!("/chat-room?id=abc&token={}", encode(&expired));
    let refused = server.http("GET", &path, UPGRADE_HEADERS, None).await;
    assert_eq!(
        (refused.status, refused.body.as_str()),
        (401, "Invalid Token")
    );

    let other_key = sign_token(
        &durable_iterator_protocol::TokenPayload::new(DEMO_CHANNEL, 1.0, 9e9),
        "not-the-key",
    );
    let path = format!("/chat-room?id=abc&token={}", encode(&other_key));
    let refused = server.http("GET", &path, UPGRADE_HEADERS, None).await;
    assert_eq!(
        (refused.status, refused.body.as_str()),
        (401, "Invalid Token")
    );

    let malformed = server
        .http(
            "GET",
            "/chat-room?id=abc&token=no-dot-here",
            UPGRADE_HEADERS,
            None,
        )
        .await;
    assert_eq!(
        (malformed.status, malformed.body.as_str()),
        (401, "Invalid Token")
    );
}

#[tokio::test]
async fn the_id_check_comes_before_the_token_check() {
    let server = TestServer::start(config()).await;
    // Neither id nor token: upstream names the id first.
    let neither = server
        .http("GET", "/chat-room", UPGRADE_HEADERS, None)
        .await;
    assert_eq!(
        (neither.status, neither.body.as_str()),
        (401, "ID is required")
    );
}

#[tokio::test]
async fn a_valid_token_upgrades_and_the_last_parameters_win() {
    let server = TestServer::start(config()).await;
    let good = server.token(|_| {});
    // Earlier garbage values are ignored: the object reads the last id and token.
    let url = format!(
        "ws://{}/chat-room?id=first&token=garbage&id=second&token={}",
        server.addr,
        encode(&good)
    );
    let (_ws, response) = tokio_tungstenite::connect_async(url)
        .await
        .expect("upgrade");
    assert_eq!(response.status(), 101);
    server
        .wait_sockets("the socket of client `second`", |s| {
            s.len() == 1 && s[0].client_id == "second" && !s[0].subscribed
        })
        .await;
}

#[tokio::test]
async fn a_refused_upgrade_is_visible_to_a_websocket_client() {
    let server = TestServer::start(config()).await;
    let url = server.ws_url("abc", "garbage.sig");
    match tokio_tungstenite::connect_async(url).await {
        Err(tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 401);
            assert_eq!(response.body().as_deref(), Some(&b"Invalid Token"[..]));
        }
        other => panic!("expected an HTTP refusal, got {other:?}"),
    }
}
