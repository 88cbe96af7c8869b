//! Typed decoding of event and answer bodies.

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
