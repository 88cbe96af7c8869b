//! Shared helpers of the browser test suites in `tests/`; they run only on wasm32, in
//! headless Chromium, against the reference server that `cargo xtask test` starts.

/// Base URL of the reference server under test, fixed at compile time by `cargo xtask test`
/// (a wasm test cannot read the environment at run time).
pub const SERVER_URL: &str = match option_env!("DURABLE_ITERATOR_TEST_SERVER") {
    Some(url) => url,
    None => "http://127.0.0.1:8787",
};
