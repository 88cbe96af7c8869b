//! The app procedures over HTTP (oRPC RPC protocol), against the recorded exchanges in
//! vectors/upstream/upstream-http.json.

mod common;

use common::{config, now, TestServer, KEY};
use durable_iterator_protocol::{parse_token, verify_token};
use serde_json::json;

const JSON: &[(&str, &str)] = &[("content-type", "application/json")];

#[tokio::test]
async fn on_message_returns_a_marked_token() {
    let server = TestServer::start(config()).await;
    let response = server
        .http("POST", "/rpc/onMessage", JSON, Some("{}"))
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.header("x-orpc-durable-iterator"), Some("1"));
    let token = response.json()["json"].as_str().unwrap().to_owned();
    let payload = verify_token(&token, KEY, now()).expect("signed with the server key");
    assert_eq!(payload.chn, "some-room");
    assert_eq!(payload.tags, None);
    assert_eq!(payload.att, Some(json!({"userId": "user-123"})));
    assert_eq!(
        payload.rpc,
        Some(vec!["singleClient".to_owned(), "routerClient".to_owned()])
    );
    assert_eq!(payload.exp - payload.iat, 86_400.0, "default TTL: 24 h");
    assert_eq!(payload.iat.fract(), 0.0, "iat in whole seconds");
    // The payload keys come in oRPC's order.
    assert!(token.starts_with(r#"{"chn":"some-room","att":{"userId":"user-123"},"rpc":["singleClient","routerClient"],"iat":"#));
}

#[tokio::test]
async fn on_message_input_sets_tags_ttl_and_user() {
    let server = TestServer::start(config()).await;
    // The recorded harness's input shape.
    let body = r#"{"json":{"tags":["a","b"],"ttl":60}}"#;
    let response = server
        .http("POST", "/rpc/onMessage", JSON, Some(body))
        .await;
    let payload = parse_token(response.json()["json"].as_str().unwrap()).unwrap();
    assert_eq!(payload.tags, Some(vec!["a".to_owned(), "b".to_owned()]));
    assert_eq!(payload.exp - payload.iat, 60.0);

    let body = r#"{"json":{"ttlSeconds":5,"ttl":60,"userId":"tab-2"}}"#;
    let response = server
        .http("POST", "/rpc/onMessage", JSON, Some(body))
        .await;
    let payload = parse_token(response.json()["json"].as_str().unwrap()).unwrap();
    assert_eq!(payload.exp - payload.iat, 5.0, "ttlSeconds wins");
    assert_eq!(payload.att, Some(json!({"userId": "tab-2"})));

    // An empty body is undefined input, like `client.onMessage()` without a body would be.
    let response = server.http("POST", "/rpc/onMessage", JSON, Some("")).await;
    assert_eq!(response.status, 200);

    // GET carries the input in `data`.
    let data: String = form_urlencoded::byte_serialize(br#"{"json":{"ttl":7}}"#).collect();
    let response = server
        .http("GET", &format!("/rpc/onMessage?data={data}"), &[], None)
        .await;
    let payload = parse_token(response.json()["json"].as_str().unwrap()).unwrap();
    assert_eq!(payload.exp - payload.iat, 7.0);

    let response = server
        .http(
            "POST",
            "/rpc/onMessage",
            JSON,
            Some(r#"{"json":{"tags":"a","ttl":-1}}"#),
        )
        .await;
    assert_eq!(response.status, 400);
    assert_eq!(
        response.json()["json"]["message"],
        "Input validation failed"
    );
    assert_eq!(
        response.json()["json"]["data"]["issues"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(response.header("x-orpc-durable-iterator"), None);
}

#[tokio::test]
async fn send_message_publishes_and_validates() {
    let server = TestServer::start(config()).await;
    let mut plain = server.connect("plain").await;
    let plain_sub = plain.subscribe(None).await;
    let mut tagged = server
        .connect_with(
            "tagged",
            &server.token(|p| p.tags = Some(vec!["vip".into()])),
        )
        .await;
    let tagged_sub = tagged.subscribe(None).await;

    let response = server
        .http(
            "POST",
            "/rpc/sendMessage",
            JSON,
            Some(r#"{"json":{"message":"hi"}}"#),
        )
        .await;
    assert_eq!((response.status, response.body.as_str()), (200, "{}"));
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(
        response.header("x-orpc-durable-iterator"),
        None,
        "an ordinary procedure"
    );
    assert_eq!(plain.event(&plain_sub).await.0, json!({"message": "hi"}));
    assert_eq!(tagged.event(&tagged_sub).await.0, json!({"message": "hi"}));

    let body = r#"{"json":{"message":"vip only","tags":["vip"]}}"#;
    assert_eq!(
        server
            .http("POST", "/rpc/sendMessage", JSON, Some(body))
            .await
            .status,
        200
    );
    assert_eq!(
        tagged.event(&tagged_sub).await.0,
        json!({"message": "vip only"})
    );
    plain.expect_silence(200).await;

    // The recorded invalid input.
    let response = server
        .http(
            "POST",
            "/rpc/sendMessage",
            JSON,
            Some(r#"{"json":{"msg":1}}"#),
        )
        .await;
    assert_eq!(response.status, 400);
    let error = &response.json()["json"];
    assert_eq!(error["defined"], false);
    assert_eq!(error["code"], "BAD_REQUEST");
    assert_eq!(error["status"], 400);
    assert_eq!(error["message"], "Input validation failed");
    assert_eq!(
        error["data"]["issues"][0]["message"],
        r#"Invalid key: Expected "message" but received undefined"#
    );

    let response = server
        .http("POST", "/rpc/sendMessage", JSON, Some("{not json"))
        .await;
    assert_eq!(response.status, 400);
    assert!(response.json()["json"]["message"]
        .as_str()
        .unwrap()
        .starts_with("Malformed request"));
}

#[tokio::test]
async fn unknown_paths_are_plain_not_found() {
    let server = TestServer::start(config()).await;
    for path in ["/rpc/nope", "/rpc/onMessage/extra", "/elsewhere"] {
        let response = server.http("POST", path, JSON, Some("{}")).await;
        assert_eq!(response.status, 404, "{path}");
        assert_eq!(
            response.header("content-type"),
            Some("text/plain;charset=UTF-8")
        );
        assert_eq!(response.body, "Not Found");
    }
}

#[tokio::test]
async fn pages_on_other_origins_may_call_and_read_the_marker() {
    let server = TestServer::start(config()).await;
    let preflight = server
        .http(
            "OPTIONS",
            "/rpc/onMessage",
            &[
                ("origin", "http://localhost:5173"),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "content-type"),
            ],
            None,
        )
        .await;
    assert_eq!(preflight.status, 200);
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));

    let headers = [
        ("content-type", "application/json"),
        ("origin", "http://localhost:5173"),
    ];
    let response = server
        .http("POST", "/rpc/onMessage", &headers, Some("{}"))
        .await;
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
    assert_eq!(response.header("access-control-expose-headers"), Some("*"));
}

#[tokio::test]
async fn the_static_directory_is_served_at_the_root() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "<h1>demo</h1>").unwrap();
    let mut cfg = config();
    cfg.static_dir = Some(dir.path().to_path_buf());
    let server = TestServer::start(cfg).await;
    let page = server.http("GET", "/", &[], None).await;
    assert_eq!((page.status, page.body.as_str()), (200, "<h1>demo</h1>"));
    assert_eq!(
        server.http("GET", "/missing.js", &[], None).await.status,
        404
    );
    let token = server
        .http("POST", "/rpc/onMessage", JSON, Some("{}"))
        .await;
    assert_eq!(token.header("x-orpc-durable-iterator"), Some("1"));
}
