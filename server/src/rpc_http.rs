//! The app server: oRPC's RPC protocol over HTTP (PROTOCOL.md section 3) with the demo
//! procedures, and the `DurableIteratorHandlerPlugin` behaviour: a procedure whose output is a
//! durable iterator answers with the token and the header `x-orpc-durable-iterator: 1`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use durable_iterator_protocol::consts::{
    JSON_CONTENT_TYPE, PLUGIN_HEADER_KEY, PLUGIN_HEADER_VALUE,
};
use durable_iterator_protocol::RichBody;
use percent_encoding::percent_decode_str;
use serde_json::Value;

use crate::demo;
use crate::hub::Server;
use crate::input::{decode_body, malformed, query_data, Failure};
use crate::upgrade::text;

/// Where the procedures are mounted.
pub(crate) const RPC_PREFIX: &str = "/rpc";

/// Handles `{method} /rpc/{path...}`.
pub(crate) async fn handle(
    State(server): State<Server>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    let segments = procedure_path(uri.path());
    let names: Vec<&str> = segments.iter().map(String::as_str).collect();
    let procedure: fn(&Server, Option<&Value>) -> Result<Output, Failure> = match names.as_slice() {
        ["onMessage"] => {
            |server, input| demo::on_message(server, input).map(Output::DurableIterator)
        }
        ["sendMessage"] => {
            |server, input| demo::send_message(server, input).map(|()| Output::Value(None))
        }
        // What the recorded worker answers for a path no procedure matches.
        _ => return text(StatusCode::NOT_FOUND, "Not Found"),
    };
    let result = read_input(&method, uri.query(), &body)
        .and_then(|input| procedure(&server, input.as_ref()));
    match result {
        Ok(Output::DurableIterator(token)) => {
            let mut response = json_response(
                StatusCode::OK,
                RichBody::plain(Value::String(token)).to_json_string(),
            );
            response.headers_mut().insert(
                PLUGIN_HEADER_KEY,
                HeaderValue::from_static(PLUGIN_HEADER_VALUE),
            );
            response
        }
        Ok(Output::Value(value)) => {
            let body = RichBody {
                json: value,
                meta: Vec::new(),
            };
            json_response(StatusCode::OK, body.to_json_string())
        }
        Err(error) => {
            let status =
                StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            json_response(status, error.to_body_string())
        }
    }
}

/// What a procedure returned.
enum Output {
    /// A durable iterator, already turned into its token by the plugin.
    DurableIterator(String),
    /// An ordinary value (`None` is undefined).
    Value(Option<Value>),
}

/// The procedure path: the segments after `/rpc/`, each percent-decoded.
fn procedure_path(path: &str) -> Vec<String> {
    path.strip_prefix(RPC_PREFIX)
        .unwrap_or(path)
        .split('/')
        .filter(|segment| !segment.is_empty())
        .map(|segment| percent_decode_str(segment).decode_utf8_lossy().into_owned())
        .collect()
}

/// GET carries `{json, meta}` in the `data` query parameter, other methods in the body; an
/// empty body is undefined input.
fn read_input(method: &Method, query: Option<&str>, body: &[u8]) -> Result<Option<Value>, Failure> {
    let malformed = |_| malformed();
    let raw: Option<Value> = if method == Method::GET {
        match query_data(query) {
            Some(data) => Some(serde_json::from_str(&data).map_err(malformed)?),
            None => None,
        }
    } else if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(serde_json::from_slice(body).map_err(malformed)?)
    };
    decode_body(raw)
}

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, JSON_CONTENT_TYPE)], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_split_and_decoded_per_segment() {
        assert_eq!(procedure_path("/rpc/onMessage"), vec!["onMessage"]);
        assert_eq!(procedure_path("/rpc/a%2Fb/c"), vec!["a/b", "c"]);
    }
}
