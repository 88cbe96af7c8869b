//! Typed decoding of event and answer bodies, shared by the browser and native iterators.

use std::task::Poll;

use durable_iterator_protocol::client::Event;
use durable_iterator_protocol::RichBody;
use serde::de::DeserializeOwned;

use crate::error::Error;

/// Decodes a rich-JSON body into `T`; an absent body (`undefined`) decodes as JSON `null`.
pub(crate) fn decode<T: DeserializeOwned>(body: &str) -> Result<T, Error> {
    let plain = RichBody::from_json_str(body)?.into_plain()?;
    serde_json::from_value(plain.unwrap_or(serde_json::Value::Null)).map_err(|e| Error::Decode {
        reason: e.to_string(),
    })
}

/// A polled raw event, decoded into `T` (what both iterators' `Stream` yields).
pub(crate) fn decode_polled<T: DeserializeOwned>(
    polled: Poll<Option<Result<Event, Error>>>,
) -> Poll<Option<Result<T, Error>>> {
    polled.map(|item| item.map(|event| event.and_then(|event| decode(event.data.get()))))
}

/// Remembers the id of a polled event as the stream's last event id.
pub(crate) fn remember_id(
    last_event_id: &mut Option<String>,
    polled: &Poll<Option<Result<Event, Error>>>,
) {
    if let Poll::Ready(Some(Ok(Event { id: Some(id), .. }))) = polled {
        *last_event_id = Some(id.clone());
    }
}
