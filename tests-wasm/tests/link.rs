//! The RPC-over-HTTP caller against the real reference server.
#![cfg(target_arch = "wasm32")]

use durable_iterator_wasm::link::{ProcedureCall, ProcedureOutput};
use durable_iterator_wasm_tests::SERVER_URL;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn call(path: &str, body: &str) -> ProcedureCall {
    ProcedureCall {
        base_url: format!("{SERVER_URL}/rpc"),
        path: vec![path.to_owned()],
        body: body.to_owned(),
        ..Default::default()
    }
}

#[wasm_bindgen_test]
async fn a_marked_output_is_a_token_for_the_room() {
    let output = call("onMessage", "{}").send(None).await.unwrap();
    let ProcedureOutput::DurableIterator(token) = output else {
        panic!("expected a durable iterator, got {output:?}");
    };
    let payload = durable_iterator_protocol::parse_token(&token).unwrap();
    assert_eq!(payload.chn, "some-room");
    assert_eq!(
        payload.rpc.as_deref(),
        Some(&["singleClient".to_owned(), "routerClient".to_owned()][..])
    );
}

#[wasm_bindgen_test]
async fn an_unmarked_output_passes_through() {
    let output = call("sendMessage", r#"{"json":{"message":"hi"}}"#)
        .send(None)
        .await
        .unwrap();
    assert!(matches!(output, ProcedureOutput::Plain(_)), "{output:?}");
}

#[wasm_bindgen_test]
async fn errors_are_typed() {
    let error = call("sendMessage", r#"{"json":{"msg":1}}"#)
        .send(None)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "BAD_REQUEST", "{error:?}");
}
