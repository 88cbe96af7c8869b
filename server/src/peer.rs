//! The object's procedures on the socket (PROTOCOL.md section 7): `/subscribe`,
//! `/updateToken`, `/call`; anything else answers 404 "No procedure matched" like upstream.
//!
//! Pure request-to-action logic: the socket task does the writing, so that the stream head of
//! a subscription always goes out before its replay.

use std::sync::Arc;

use durable_iterator_protocol::consts::{
    LAST_EVENT_ID_HEADER, NO_PROCEDURE_MATCHED, PATH_CALL, PATH_SUBSCRIBE, PATH_UPDATE_TOKEN,
};
use durable_iterator_protocol::{
    verify_token, OrpcError, RawJson, RequestPayload, ResponsePayload, RichBody, TokenPayload,
};
use serde_json::Value;

use crate::clock::now_seconds;
use crate::demo::{call_method, Caller};
use crate::hub::Server;
use crate::input::{decode_body, malformed, query_data, Checker, Failure};
use crate::object::Channel;
use crate::queue::Subscription;

/// What the socket task must do for one request.
pub(crate) enum Action {
    /// Send this response.
    Respond(ResponsePayload),
    /// Send the event-stream head, then make `sub` the socket's stream (with replay).
    Subscribe {
        sub: Arc<Subscription>,
        last_event_id: Option<String>,
    },
}

/// One socket's identity and token, as its procedures see them.
pub(crate) struct Peer {
    pub server: Server,
    pub channel: Arc<Channel>,
    pub conn: u64,
    pub client_id: Arc<str>,
    pub token: TokenPayload,
}

impl Peer {
    /// Handles request `id`.
    pub fn handle(&mut self, id: &str, request: &RequestPayload) -> Action {
        let (path, query) = split_url(&request.url);
        let result = match path {
            PATH_SUBSCRIBE => match read_input(request, query) {
                Ok(_) => {
                    return Action::Subscribe {
                        sub: Arc::new(Subscription::new(id)),
                        last_event_id: request.headers.get(LAST_EVENT_ID_HEADER).map(str::to_owned),
                    }
                }
                Err(e) => Err(e),
            },
            PATH_UPDATE_TOKEN => read_input(request, query).and_then(|i| self.update_token(i)),
            PATH_CALL => read_raw(request, query)
                .and_then(|raw| self.require_call_input(raw.as_ref()).map(|()| raw))
                .and_then(decode_body)
                .and_then(|i| self.call(i)),
            _ => {
                let body = RawJson::from_serialize(NO_PROCEDURE_MATCHED).ok();
                return Action::Respond(ResponsePayload {
                    status: 404,
                    headers: Default::default(),
                    body,
                    attachment: None,
                });
            }
        };
        Action::Respond(match result {
            Ok(output) => ok_response(output),
            Err(error) => error_response(&error),
        })
    }

    fn update_token(&mut self, input: Option<Value>) -> Result<Option<Value>, Failure> {
        let mut check = Checker::new();
        let token = match check.object(input.as_ref(), false) {
            Some(map) => check.string(map, "token"),
            None => None,
        };
        check.finish()?;
        let token = token.unwrap_or_default();
        let payload = verify_token(token, &self.server.config().signing_key, now_seconds())
            .map_err(|_| OrpcError::unauthorized("Invalid Token"))?;
        if payload.chn != self.token.chn {
            return Err(OrpcError::unauthorized(
                "Updated token must have the same channel with the original token",
            )
            .into());
        }
        if payload.tags != self.token.tags {
            return Err(OrpcError::unauthorized(
                "Updated token must have the exact same tags with the original token",
            )
            .into());
        }
        self.channel.update_token(self.conn, &payload);
        self.token = payload;
        Ok(None)
    }

    /// The real object's schema makes `input` a required key of `/call`: a call without it
    /// fails 400, while `"input": null` marked undefined passes. Checked on the raw body,
    /// because decoding drops keys marked undefined.
    fn require_call_input(&self, raw: Option<&Value>) -> Result<(), Failure> {
        let json = raw
            .and_then(|raw| raw.get("json"))
            .and_then(Value::as_object);
        if self.server.config().compat.upstream() && json.is_some_and(|j| !j.contains_key("input"))
        {
            return Err(OrpcError::bad_request("Input validation failed").into());
        }
        Ok(())
    }

    fn call(&mut self, input: Option<Value>) -> Result<Option<Value>, Failure> {
        let mut check = Checker::new();
        let (path, method_input) = match check.object(input.as_ref(), false) {
            Some(map) => (check.nonempty_strings(map, "path"), map.get("input")),
            None => (None, None),
        };
        check.finish()?;
        let upstream = self.server.config().compat.upstream();
        let path = path.unwrap_or_default();
        let method = path.first().map(String::as_str).unwrap_or_default();
        if !self.token.allows_rpc(method) {
            return Err(
                OrpcError::forbidden(format!("Method \"{method}\" is not allowed.")).into(),
            );
        }
        let caller = Caller {
            channel: &self.channel,
            client_id: &self.client_id,
        };
        let result = call_method(&caller, &path, method_input);
        match result {
            // The real object fails inside its router client instead of matching no procedure.
            Err(e) if upstream && e.status == 404 => {
                Err(OrpcError::internal("Internal server error").into())
            }
            other => other,
        }
    }
}

/// The procedure path and query of a request URL, which oRPC resolves against
/// `orpc://localhost`: `/call`, `orpc://localhost/call?x` and `call` all name `/call`.
fn split_url(url: &str) -> (&str, Option<&str>) {
    let without_fragment = url.split_once('#').map_or(url, |(before, _)| before);
    let (path, query) = match without_fragment.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (without_fragment, None),
    };
    let path = match path.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |slash| &rest[slash..]),
        None => path,
    };
    let path = if path.starts_with('/') {
        path
    } else {
        // A relative path: only the bare names mean anything; keep the slash-less form
        // comparable by matching the constant without its leading slash.
        match path {
            p if Some(p) == PATH_SUBSCRIBE.strip_prefix('/') => PATH_SUBSCRIBE,
            p if Some(p) == PATH_UPDATE_TOKEN.strip_prefix('/') => PATH_UPDATE_TOKEN,
            p if Some(p) == PATH_CALL.strip_prefix('/') => PATH_CALL,
            other => other,
        }
    };
    (path, query)
}

/// The input of a request: GET carries it in the `data` query parameter, other methods in
/// the body, both as `{json, meta}`.
fn read_input(request: &RequestPayload, query: Option<&str>) -> Result<Option<Value>, Failure> {
    read_raw(request, query).and_then(decode_body)
}

/// The undecoded `{json, meta}` of a request.
fn read_raw(request: &RequestPayload, query: Option<&str>) -> Result<Option<Value>, Failure> {
    Ok(if request.method.eq_ignore_ascii_case("GET") {
        match query_data(query) {
            Some(data) => Some(serde_json::from_str(&data).map_err(|_| malformed())?),
            None => None,
        }
    } else {
        match &request.body {
            Some(body) => Some(serde_json::from_str(body.get()).map_err(|_| malformed())?),
            None => None,
        }
    })
}

/// A 200 response whose body is the output (`{}` for undefined).
fn ok_response(output: Option<Value>) -> ResponsePayload {
    let body = RichBody {
        json: output,
        meta: Vec::new(),
    };
    response(200, body.to_json_string())
}

/// An error response: the error's status and `{"json": error}`.
pub(crate) fn error_response(error: &OrpcError) -> ResponsePayload {
    response(error.status, error.to_body_string())
}

fn response(status: u16, body: String) -> ResponsePayload {
    ResponsePayload {
        status,
        headers: Default::default(),
        // Both callers serialise valid JSON, so the body is always there.
        body: RawJson::from_string(body).ok(),
        attachment: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_resolve_like_orpc() {
        assert_eq!(split_url("/call"), ("/call", None));
        assert_eq!(
            split_url("orpc://localhost/call?x=1"),
            ("/call", Some("x=1"))
        );
        assert_eq!(split_url("subscribe"), ("/subscribe", None));
        assert_eq!(split_url("/nope#frag"), ("/nope", None));
    }
}
