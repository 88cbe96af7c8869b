//! Sends a [`ProcedureCall`] natively through hyper-util's client with rustls, so `http://`
//! and `https://` both work and the HTTP details (host header, chunked bodies, keep-alive,
//! redirects refused) are a maintained client's business.

use std::time::Duration;

use durable_iterator_protocol::consts::{
    JSON_CONTENT_TYPE, LAST_EVENT_ID_HEADER, PLUGIN_HEADER_KEY,
};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::tls::{describe_chain, untrusted_certificate, TransportOptions};
use crate::error::Error;
use crate::procedure::{interpret, ProcedureCall, ProcedureOutput};

/// How long one call may take, connection included. The browser's `fetch` has no limit, but a
/// refresh that hangs forever would leave the token to expire unrefreshed.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest response body read; a token or an oRPC error is far smaller.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

impl ProcedureCall {
    /// Sends the call (`http://` or `https://`, trusting the webpki roots) and reads the
    /// answer: a token, an ordinary output, or a typed error. Gives up with `NETWORK_ERROR`
    /// after 30 s; a certificate it does not trust is `UNTRUSTED_CERTIFICATE`.
    pub async fn send(&self) -> Result<ProcedureOutput, Error> {
        send(self, &TransportOptions::default()).await
    }
}

/// Sends `call` with the TLS settings of `transport`.
pub(crate) async fn send(
    call: &ProcedureCall,
    transport: &TransportOptions,
) -> Result<ProcedureOutput, Error> {
    tokio::time::timeout(CALL_TIMEOUT, exchange(call, transport))
        .await
        .map_err(|_| Error::Network(format!("no answer within {CALL_TIMEOUT:?}")))?
}

async fn exchange(
    call: &ProcedureCall,
    transport: &TransportOptions,
) -> Result<ProcedureOutput, Error> {
    let url = call.url();
    let uri: Uri = url.parse().map_err(|e| Error::Options {
        reason: format!("invalid RPC URL {url}: {e}"),
    })?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err(Error::Options {
            reason: format!("the RPC URL must be http:// or https://, got {url}"),
        });
    }
    let server = uri
        .authority()
        .map_or_else(String::new, |a| a.as_str().to_owned());

    let mut request = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(CONTENT_TYPE, JSON_CONTENT_TYPE);
    let extra = call.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    let last_event_id = call
        .last_event_id
        .as_deref()
        .map(|id| (LAST_EVENT_ID_HEADER, id));
    for (name, value) in extra.chain(last_event_id) {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(invalid_header)?;
        let value = HeaderValue::from_str(value).map_err(invalid_header)?;
        request = request.header(name, value);
    }
    let request = request
        .body(Full::new(Bytes::from(call.body.clone())))
        .map_err(invalid_header)?;

    // A client per call: calls are rare (the first token, then one per refresh), so a pool
    // kept between them would hold idle connections for nothing.
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config((*transport.client_config()?).clone())
        .https_or_http()
        .enable_http1()
        .build();
    let client = Client::builder(TokioExecutor::new()).build(connector);
    let response =
        client
            .request(request)
            .await
            .map_err(|error| match untrusted_certificate(&error) {
                Some(reason) => Error::UntrustedCertificate { server, reason },
                None => Error::Network(describe_chain(&error)),
            })?;
    let status = response.status().as_u16();
    let marker = response
        .headers()
        .get(PLUGIN_HEADER_KEY)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = Limited::new(response.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
        .map_err(|e| Error::Network(e.to_string()))?
        .to_bytes();
    let text = String::from_utf8_lossy(&body);
    interpret(status, marker.as_deref(), &text, &call.path)
}

fn invalid_header(error: impl std::fmt::Display) -> Error {
    Error::Options {
        reason: format!("invalid request header: {error}"),
    }
}
