//! The transport-independent half of calling an app-server procedure over oRPC's
//! RPC-over-HTTP protocol (PROTOCOL.md section 3): what a call is, its URL, and how a
//! response becomes a token, an ordinary output or a typed error. The browser (`fetch`) and
//! the native transport (hyper) only move the bytes.

use durable_iterator_protocol::client::encode_uri_component;
use durable_iterator_protocol::consts::PLUGIN_HEADER_VALUE;
use durable_iterator_protocol::{OrpcError, RichBody};

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
            url.push_str(&encode_uri_component(segment));
        }
        url
    }
}

impl ProcedureOutput {
    /// The token, or `INVALID_TOKEN` naming the procedure `path` when the output is not a
    /// durable iterator (an iterator cannot start from an ordinary value).
    pub(crate) fn into_token(self, path: &[String]) -> Result<String, Error> {
        match self {
            ProcedureOutput::DurableIterator(token) => Ok(token),
            ProcedureOutput::Plain(_) => Err(Error::InvalidToken {
                procedure: path.join("."),
                reason: "the response is not marked as a durable iterator".to_owned(),
            }),
        }
    }
}

/// Turns status, marker header and body into an output or a typed error.
pub(crate) fn interpret(
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
            Some(error) => Error::Rpc(Box::new(error)),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_segment_is_encoded_like_encode_uri_component() {
        let call = ProcedureCall {
            base_url: "http://h/rpc/".to_owned(),
            path: vec!["a b/c".to_owned(), "é!~*'()-_.".to_owned()],
            ..ProcedureCall::default()
        };
        assert_eq!(call.url(), "http://h/rpc/a%20b%2Fc/%C3%A9!~*'()-_.");
    }

    #[test]
    fn responses_become_tokens_values_or_typed_errors() {
        let path = ["onMessage".to_owned()];
        let token = durable_iterator_protocol::sign_token(
            &durable_iterator_protocol::TokenPayload::new("room", 1.0, 60.0),
            "key",
        );
        let body = RichBody::plain(serde_json::Value::String(token.clone())).to_json_string();
        assert_eq!(
            interpret(200, Some("1"), &body, &path),
            Ok(ProcedureOutput::DurableIterator(token))
        );
        assert!(matches!(
            interpret(200, None, &body, &path),
            Ok(ProcedureOutput::Plain(_))
        ));
        let bad = r#"{"json":"not a token"}"#;
        assert_eq!(
            interpret(200, Some("1"), bad, &path).map_err(|e| e.code().to_owned()),
            Err("INVALID_TOKEN".to_owned())
        );
        let forbidden =
            r#"{"json":{"defined":false,"code":"FORBIDDEN","status":403,"message":"no"}}"#;
        assert_eq!(
            interpret(403, None, forbidden, &path).map_err(|e| e.code().to_owned()),
            Err("FORBIDDEN".to_owned())
        );
        assert!(matches!(
            interpret(502, None, "Bad Gateway", &path),
            Err(Error::Http { status: 502, .. })
        ));
    }
}
