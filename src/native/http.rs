//! Sends a [`ProcedureCall`] natively: one HTTP/1.1 exchange over a fresh hyper connection.
//!
//! Procedure calls are rare (the first token, then one per refresh), so a connection pool
//! would buy nothing; hyper's low-level `conn` API is already in the tree through axum.

use std::time::Duration;

use durable_iterator_protocol::consts::{
    JSON_CONTENT_TYPE, LAST_EVENT_ID_HEADER, PLUGIN_HEADER_KEY,
};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE, HOST};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::error::Error;
use crate::procedure::{interpret, ProcedureCall, ProcedureOutput};

/// How long one call may take, connection included. The browser's `fetch` has no limit, but a
/// refresh that hangs forever would leave the token to expire unrefreshed.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest response body read; a token or an oRPC error is far smaller.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

impl ProcedureCall {
    /// Sends the call (plain `http://` only) and reads the answer: a token, an ordinary
    /// output, or a typed error. Gives up with `NETWORK_ERROR` after 30 s.
    pub async fn send(&self) -> Result<ProcedureOutput, Error> {
        tokio::time::timeout(CALL_TIMEOUT, self.exchange())
            .await
            .map_err(|_| Error::Network(format!("no answer within {CALL_TIMEOUT:?}")))?
    }

    async fn exchange(&self) -> Result<ProcedureOutput, Error> {
        let url = self.url();
        let uri: Uri = url.parse().map_err(|e| Error::Options {
            reason: format!("invalid RPC URL {url}: {e}"),
        })?;
        let (Some("http"), Some(authority), Some(host)) =
            (uri.scheme_str(), uri.authority(), uri.host())
        else {
            return Err(Error::Options {
                reason: format!("the native transport needs an http:// RPC URL, got {url}"),
            });
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let stream = TcpStream::connect((host, uri.port_u16().unwrap_or(80)))
            .await
            .map_err(network)?;
        // Small request, small answer: no reason to wait for more bytes.
        stream.set_nodelay(true).map_err(network)?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(network)?;

        let mut request = Request::builder()
            .method(Method::POST)
            .uri(uri.path_and_query().map_or("/", |p| p.as_str()))
            .header(HOST, authority.as_str())
            .header(CONTENT_TYPE, JSON_CONTENT_TYPE);
        let extra = self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()));
        let last_event_id = self
            .last_event_id
            .as_deref()
            .map(|id| (LAST_EVENT_ID_HEADER, id));
        for (name, value) in extra.chain(last_event_id) {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(invalid_header)?;
            let value = HeaderValue::from_str(value).map_err(invalid_header)?;
            request = request.header(name, value);
        }
        let request = request
            .body(Full::new(Bytes::from(self.body.clone())))
            .map_err(invalid_header)?;

        // The connection does the IO in its own task; it ends with this call (a timeout or a
        // dropped future must not leave it behind).
        let connection = AbortOnDrop(tokio::spawn(connection));
        let response = sender.send_request(request).await.map_err(network)?;
        let status = response.status().as_u16();
        let marker = response
            .headers()
            .get(PLUGIN_HEADER_KEY)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = Limited::new(response.into_body(), MAX_BODY_BYTES)
            .collect()
            .await
            .map_err(network)?
            .to_bytes();
        drop(connection);
        let text = String::from_utf8_lossy(&body);
        interpret(status, marker.as_deref(), &text, &self.path)
    }
}

fn network(error: impl std::fmt::Display) -> Error {
    Error::Network(error.to_string())
}

fn invalid_header(error: impl std::fmt::Display) -> Error {
    Error::Options {
        reason: format!("invalid request header: {error}"),
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<hyper::Result<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
