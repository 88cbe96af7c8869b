//! Calls an app-server procedure over oRPC's RPC-over-HTTP protocol (PROTOCOL.md section 3)
//! and tells a durable iterator token apart from an ordinary output by the marker header.
//!
//! Built on the browser's `fetch` through `web-sys` rather than a wrapper crate: it is a
//! dozen calls, and every dependency here lands in the wasm bundle users download.

use durable_iterator_protocol::consts::{
    JSON_CONTENT_TYPE, LAST_EVENT_ID_HEADER, PLUGIN_HEADER_KEY, PLUGIN_HEADER_VALUE,
};
use durable_iterator_protocol::{OrpcError, RichBody};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Request, RequestInit, Response};

use crate::error::Error;

/// One procedure call: where, with what, and how.
#[derive(Debug, Clone, Default)]
pub struct ProcedureCall {
    /// The RPC base URL, e.g. `http://localhost:8787/rpc`.
    pub base_url: String,
    /// The procedure path, e.g. `["onMessage"]`.
    pub path: Vec<String>,
    /// The rich-JSON request body text (`{}` for no input).
    pub body: String,
    /// Extra request headers.
    pub headers: Vec<(String, String)>,
    /// Sent as `last-event-id` when set.
    pub last_event_id: Option<String>,
}

/// What a procedure returned.
#[derive(Debug, Clone, PartialEq)]
pub enum ProcedureOutput {
    /// The response carried the durable iterator marker: the output is a token.
    DurableIterator(String),
    /// An ordinary output, passed through untouched.
    Plain(RichBody),
}

impl ProcedureCall {
    /// The URL: base plus each path segment percent-encoded, joined by `/`.
    pub fn url(&self) -> String {
        let mut url = self.base_url.trim_end_matches('/').to_owned();
        for segment in &self.path {
            url.push('/');
            url.push_str(&String::from(js_sys::encode_uri_component(segment)));
        }
        url
    }

    /// Sends the call; `signal` aborts it.
    pub async fn send(&self, signal: Option<&AbortSignal>) -> Result<ProcedureOutput, Error> {
        if signal.is_some_and(AbortSignal::aborted) {
            return Err(Error::Aborted);
        }
        let init = RequestInit::new();
        init.set_method("POST");
        init.set_body(&JsValue::from_str(&self.body));
        if let Some(signal) = signal {
            init.set_signal(Some(signal));
        }
        let request = Request::new_with_str_and_init(&self.url(), &init).map_err(network)?;
        let headers = request.headers();
        headers
            .set("content-type", JSON_CONTENT_TYPE)
            .map_err(network)?;
        for (name, value) in &self.headers {
            headers.set(name, value).map_err(network)?;
        }
        if let Some(id) = &self.last_event_id {
            headers.set(LAST_EVENT_ID_HEADER, id).map_err(network)?;
        }
        let global = js_sys::global();
        let fetch = js_sys::Reflect::get(&global, &JsValue::from_str("fetch")).map_err(network)?;
        let fetch: js_sys::Function = fetch.dyn_into().map_err(network)?;
        let promise: js_sys::Promise = fetch
            .call1(&global, &request)
            .map_err(network)?
            .dyn_into()
            .map_err(network)?;
        let response: Response = JsFuture::from(promise)
            .await
            .map_err(|e| aborted_or(signal, e))?
            .dyn_into()
            .map_err(network)?;
        let text = JsFuture::from(response.text().map_err(network)?)
            .await
            .map_err(|e| aborted_or(signal, e))?
            .as_string()
            .unwrap_or_default();
        let status = response.status();
        let durable = response.headers().get(PLUGIN_HEADER_KEY).ok().flatten();
        interpret(status, durable.as_deref(), &text, &self.path)
    }
}

/// Turns status, marker header and body into an output or a typed error.
fn interpret(
    status: u16,
    marker: Option<&str>,
    text: &str,
    path: &[String],
) -> Result<ProcedureOutput, Error> {
    let body = RichBody::from_json_str(text);
    if !(200..300).contains(&status) {
        let error = body
            .ok()
            .and_then(|body| body.json)
            .and_then(|json| OrpcError::from_value(&json).ok());
        return Err(match error {
            Some(error) => Error::Rpc(error),
            None => Error::Http {
                status,
                body: text.chars().take(512).collect(),
            },
        });
    }
    let body = body?;
    if marker != Some(PLUGIN_HEADER_VALUE) {
        return Ok(ProcedureOutput::Plain(body));
    }
    match body.json {
        Some(serde_json::Value::String(token)) => {
            durable_iterator_protocol::parse_token(&token).map_err(|e| Error::InvalidToken {
                procedure: path.join("."),
                reason: e.to_string(),
            })?;
            Ok(ProcedureOutput::DurableIterator(token))
        }
        _ => Err(Error::InvalidToken {
            procedure: path.join("."),
            reason: "the output is not a string".to_owned(),
        }),
    }
}

fn network(error: JsValue) -> Error {
    Error::Network(describe(&error))
}

fn aborted_or(signal: Option<&AbortSignal>, error: JsValue) -> Error {
    if signal.is_some_and(AbortSignal::aborted) {
        Error::Aborted
    } else {
        network(error)
    }
}

/// A JS exception as text, for error messages.
pub(crate) fn describe(error: &JsValue) -> String {
    error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| format!("{error:?}"))
}
