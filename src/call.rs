//! Typed RPC calls, whichever driver owns the engine: encode the input, start the call, abort
//! it if the caller drops the future, decode the answer.

use std::future::Future;

use durable_iterator_protocol::client::CallRequest;
use durable_iterator_protocol::{RawJson, RichBody};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::decode::decode;
use crate::error::Error;

/// What a typed call needs from the driver that owns the engine.
pub(crate) trait CallPort {
    /// Names a started call, for [`CallPort::abort`].
    type Ticket: Copy;
    /// Settles with the answer body or the call's error; fails if the driver went away.
    type Answer;

    /// Starts `request`; refused at once when the engine refuses it (`RpcNotAllowed`, ...).
    fn start(&self, request: CallRequest) -> Result<(Self::Ticket, Self::Answer), Error>;

    /// Aborts a started call; it settles with `Aborted`.
    fn abort(&self, ticket: Self::Ticket);
}

/// `input` as a plain rich-JSON body (procedure and call inputs are plain serde values).
pub(crate) fn plain_body<I: Serialize + ?Sized>(input: &I) -> Result<RichBody, Error> {
    let value = serde_json::to_value(input).map_err(|e| Error::Options {
        reason: format!("input does not serialize: {e}"),
    })?;
    Ok(RichBody::plain(value))
}

/// Runs `request` on `port` and decodes the answer into `O`. Dropping the future aborts the
/// call; a driver that ends first settles it with `IteratorEnded`.
pub(crate) async fn typed_call<P, E, O>(port: &P, request: CallRequest) -> Result<O, Error>
where
    P: CallPort,
    P::Answer: Future<Output = Result<Result<RawJson, Error>, E>>,
    O: DeserializeOwned,
{
    let (ticket, answer) = port.start(request)?;
    let guard = AbortOnDrop {
        port,
        ticket: Some(ticket),
    };
    let answer = answer.await;
    guard.disarm();
    let body =
        answer.map_err(|_| Error::Protocol(durable_iterator_protocol::Error::IteratorEnded))??;
    decode(body.get())
}

struct AbortOnDrop<'a, P: CallPort> {
    port: &'a P,
    ticket: Option<P::Ticket>,
}

impl<P: CallPort> AbortOnDrop<'_, P> {
    fn disarm(mut self) {
        self.ticket = None;
    }
}

impl<P: CallPort> Drop for AbortOnDrop<'_, P> {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            self.port.abort(ticket);
        }
    }
}
