//! The demo application of the oRPC docs (seed documents): the app procedures `onMessage` and
//! `sendMessage`, and the object methods `singleClient` and `routerClient.{ping,echo}`.

use durable_iterator_protocol::{sign_token, OrpcError, RichBody, TokenPayload};
use serde_json::{json, Value};

use crate::clock::{now_ms, now_seconds};
use crate::hub::Server;
use crate::input::{Checker, Failure};
use crate::object::Channel;
use crate::publish::{PublishOptions, Recipients};

/// The one channel of the demo.
pub const DEMO_CHANNEL: &str = "some-room";
/// Object methods that demo tokens allow.
pub const DEMO_RPC: [&str; 2] = ["singleClient", "routerClient"];
/// The `att.userId` of a token when the caller names none.
pub const DEFAULT_USER_ID: &str = "user-123";

/// `onMessage`, input `{tags?, ttlSeconds?, ttl?, userId?}` (all optional, input too): a
/// durable iterator token for [`DEMO_CHANNEL`]. `ttl` is the name the recorded upstream harness
/// used; `ttlSeconds` wins when both are given.
pub(crate) fn on_message(server: &Server, input: Option<&Value>) -> Result<String, Failure> {
    let mut check = Checker::new();
    let (tags, ttl, user_id) = match check.object(input, true) {
        Some(map) => {
            let tags = check.opt_strings(map, "tags");
            let ttl_seconds = check.opt_positive(map, "ttlSeconds");
            let ttl = check.opt_positive(map, "ttl");
            let user_id = check.opt_string(map, "userId").map(str::to_owned);
            (tags, ttl_seconds.or(ttl), user_id)
        }
        None => (None, None, None),
    };
    check.finish()?;

    let ttl = ttl.unwrap_or_else(|| server.config().token_ttl.as_secs_f64());
    let iat = now_seconds().floor();
    let mut payload = TokenPayload::new(DEMO_CHANNEL, iat, ttl);
    payload.tags = tags;
    payload.att = Some(json!({ "userId": user_id.as_deref().unwrap_or(DEFAULT_USER_ID) }));
    payload.rpc = Some(DEMO_RPC.iter().map(|m| (*m).to_owned()).collect());
    Ok(sign_token(&payload, &server.config().signing_key))
}

/// `sendMessage`, input `{message, tags?}`: publishes `{message}` to the room, only to sockets
/// holding one of `tags` when given. Output: undefined.
pub(crate) fn send_message(server: &Server, input: Option<&Value>) -> Result<(), Failure> {
    let mut check = Checker::new();
    let (message, tags) = match check.object(input, false) {
        Some(map) => (check.string(map, "message"), check.opt_strings(map, "tags")),
        None => (None, None),
    };
    check.finish()?;
    let Some(message) = message else {
        return Err(OrpcError::bad_request("Input validation failed").into());
    };
    let options = PublishOptions {
        tags,
        ..PublishOptions::default()
    };
    server.publish_event(
        DEMO_CHANNEL,
        RichBody::plain(json!({ "message": message })),
        options,
    );
    Ok(())
}

/// Who is calling an object method: the channel and the caller's client id.
pub(crate) struct Caller<'a> {
    pub channel: &'a Channel,
    pub client_id: &'a str,
}

/// Runs the object method at `path` (`[method, ...nested]`, the method already allowed by the
/// token). A path that names no procedure is NOT_FOUND (upstream crashes with a 500).
/// Returns the output; `None` is undefined.
pub(crate) fn call_method(
    caller: &Caller<'_>,
    path: &[String],
    input: Option<&Value>,
) -> Result<Option<Value>, Failure> {
    let names: Vec<&str> = path.iter().map(String::as_str).collect();
    match names.as_slice() {
        ["singleClient"] => {
            let mut check = Checker::new();
            let message = match check.object(input, false) {
                Some(map) => check.string(map, "message"),
                None => None,
            };
            check.finish()?;
            if let Some(message) = message {
                let data = RichBody::plain(json!({ "message": message })).to_json_string();
                let options = PublishOptions {
                    exclude: Some(Recipients::ids([caller.client_id])),
                    ..PublishOptions::default()
                };
                caller.channel.publish(&[data], &options, now_ms());
            }
            Ok(None)
        }
        ["routerClient", "ping"] => Ok(Some(json!("pong"))),
        ["routerClient", "echo"] => {
            let mut check = Checker::new();
            let text = match check.object(input, false) {
                Some(map) => check.string(map, "text"),
                None => None,
            };
            check.finish()?;
            Ok(text.map(|text| Value::String(format!("Echo: {text}"))))
        }
        _ => Err(OrpcError::not_found(format!(
            "No procedure at path {}.",
            serde_json::to_string(path).unwrap_or_default()
        ))
        .into()),
    }
}
