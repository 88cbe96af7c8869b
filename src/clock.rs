//! Time and randomness from the JavaScript host, which the engine never reads itself.
//!
//! `performance.now()` is monotonic (wall-clock jumps cannot distort backoff or refresh
//! timing) and exists in pages, workers and Node alike.

use durable_iterator_protocol::client::Instant;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;

    #[wasm_bindgen(js_namespace = Math, js_name = random)]
    fn math_random() -> f64;

    #[wasm_bindgen(js_namespace = crypto, js_name = randomUUID, catch)]
    fn random_uuid() -> Result<String, JsValue>;
}

/// The current monotonic time.
pub fn now() -> Instant {
    Instant::from_millis_f64(performance_now())
}

/// A seed for backoff jitter; jitter needs spread, not secrecy.
pub fn jitter_seed() -> u64 {
    let high = (math_random() * 4_294_967_296.0) as u64;
    let low = (math_random() * 4_294_967_296.0) as u64;
    (high << 32) ^ low
}

/// An unguessable client id: `crypto.randomUUID()`, which the object uses to recognise this
/// client across reconnects (and which `exclude` filters rely on).
pub fn random_client_id() -> Result<String, JsValue> {
    random_uuid()
}
