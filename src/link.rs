//! Calls an app-server procedure over oRPC's RPC-over-HTTP protocol (PROTOCOL.md section 3)
//! with the browser's `fetch`; what a call is and how its response reads is shared with the
//! native transport (`crate::procedure`).
//!
//! Built on the browser's `fetch` through `web-sys` rather than a wrapper crate: it is a
//! dozen calls, and every dependency here lands in the wasm bundle users download.

use durable_iterator_protocol::consts::{
    JSON_CONTENT_TYPE, LAST_EVENT_ID_HEADER, PLUGIN_HEADER_KEY,
};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Request, RequestInit, Response};

use crate::error::Error;
use crate::procedure::interpret;
pub use crate::procedure::{ProcedureCall, ProcedureOutput};

impl ProcedureCall {
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
