//! The hot path of [`ServerMessage`] decoding (issue #7): one pass over the frame that
//! validates all of it and keeps the raw values (`d`, `b`) as spans, instead of serde_json
//! parsing the envelope, then the payload again, then every raw value once more.
//!
//! It handles the shapes real objects send (PROTOCOL.md section 6, the vectors): an object
//! envelope whose keys, ids, event kinds, header names and values and comments need no
//! unescaping. Anything else, valid or not, makes it answer `None`, and the serde_json
//! decoder, which defines the results, decides; the differential tests
//! (`protocol/tests/decode_differential.rs`) check that both agree wherever this one answers.

use crate::json_scan::{ScannedJson, Scanner};
use crate::message::{
    message_type, EventKind, EventMeta, EventPayload, HeaderValue, Headers, RawJson,
    ResponsePayload, ServerMessage,
};

/// Decodes a server frame's JSON text in one pass, or `None` when the full decoder must.
pub(crate) fn decode(text: &str, attachment: Option<&[u8]>) -> Option<ServerMessage> {
    let mut scan = Scanner::new(text);
    let mut id: Option<&str> = None;
    let mut kind: Option<Option<u64>> = None;
    // `Some(None)`: `p` was `null`.
    let mut payload: Option<Option<Payload>> = None;
    scan.object(|scan, key| match key {
        "i" => once(&mut id, scan.plain_string()?),
        "t" => once(&mut kind, nullable(scan, Scanner::plain_u64)?),
        "p" => once(&mut payload, nullable(scan, Payload::scan)?),
        _ => scan.skip_value(),
    })?;
    if !scan.at_end() {
        return None;
    }
    let id = id?.to_owned();
    match kind.flatten() {
        None | Some(message_type::RESPONSE) => {
            let payload = payload.flatten()?;
            Some(ServerMessage::Response {
                id,
                payload: ResponsePayload {
                    status: payload.status.flatten().unwrap_or(200),
                    headers: payload.headers.flatten().unwrap_or_default(),
                    body: payload.body.map(RawJson::from_scanned),
                    attachment: attachment.map(<[u8]>::to_vec),
                },
            })
        }
        Some(message_type::EVENT_ITERATOR) => {
            let payload = payload.flatten()?;
            Some(ServerMessage::Event {
                id,
                payload: EventPayload {
                    event: payload.event?,
                    data: payload.data.map(RawJson::from_scanned),
                    meta: payload.meta.flatten(),
                },
            })
        }
        Some(message_type::ABORT_SIGNAL) => Some(ServerMessage::Abort { id }),
        // An unknown type is an error; the full decoder words it.
        Some(_) => None,
    }
}

/// Sets a field seen for the first time; a repeated field is serde's `duplicate field` error.
fn once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value);
    Some(())
}

/// `null` as `None`, anything else through `scan_value`, as serde reads an `Option`.
fn nullable<'a, T>(
    scan: &mut Scanner<'a>,
    scan_value: impl FnOnce(&mut Scanner<'a>) -> Option<T>,
) -> Option<Option<T>> {
    if scan.null() {
        Some(None)
    } else {
        scan_value(scan).map(Some)
    }
}

/// The members of `p` of every message type at once, since `t` may come after `p` or not at
/// all. A member of the other type is an unknown key there, which serde only validates: it
/// is scanned strictly anyway (anything unusual falls back), and dropped.
#[derive(Default)]
struct Payload<'a> {
    event: Option<EventKind>,
    data: Option<ScannedJson<'a>>,
    meta: Option<Option<EventMeta>>,
    status: Option<Option<u16>>,
    headers: Option<Option<Headers>>,
    body: Option<ScannedJson<'a>>,
}

impl<'a> Payload<'a> {
    fn scan(scan: &mut Scanner<'a>) -> Option<Self> {
        let mut payload = Payload::default();
        scan.object(|scan, key| match key {
            "e" => once(&mut payload.event, event_kind(scan.plain_string()?)?),
            "d" => once(&mut payload.data, scan.raw_value()?),
            "m" => once(&mut payload.meta, nullable(scan, event_meta)?),
            "s" => once(&mut payload.status, nullable(scan, status)?),
            "h" => once(&mut payload.headers, nullable(scan, headers)?),
            "b" => once(&mut payload.body, scan.raw_value()?),
            _ => scan.skip_value(),
        })?;
        Some(payload)
    }
}

fn event_kind(name: &str) -> Option<EventKind> {
    match name {
        "message" => Some(EventKind::Message),
        "error" => Some(EventKind::Error),
        "done" => Some(EventKind::Done),
        _ => None,
    }
}

fn status(scan: &mut Scanner<'_>) -> Option<u16> {
    u16::try_from(scan.plain_u64()?).ok()
}

fn event_meta(scan: &mut Scanner<'_>) -> Option<EventMeta> {
    let (mut id, mut retry, mut comments) = (None, None, None);
    scan.object(|scan, key| match key {
        "id" => once(
            &mut id,
            nullable(scan, |s| Some(s.plain_string()?.to_owned()))?,
        ),
        "retry" => once(&mut retry, nullable(scan, Scanner::plain_u64)?),
        "comments" => once(&mut comments, nullable(scan, strings)?),
        _ => scan.skip_value(),
    })?;
    Some(EventMeta {
        id: id.flatten(),
        retry: retry.flatten(),
        comments: comments.flatten(),
    })
}

fn strings(scan: &mut Scanner<'_>) -> Option<Vec<String>> {
    let mut list = Vec::new();
    scan.array(|scan| {
        list.push(scan.plain_string()?.to_owned());
        Some(())
    })?;
    Some(list)
}

/// Headers keep every member in order, repeated names included, as the serde decoder does.
fn headers(scan: &mut Scanner<'_>) -> Option<Headers> {
    let mut list = Vec::new();
    scan.object(|scan, name| {
        scan.skip_ws();
        let value = if scan.peek_is(b'[') {
            HeaderValue::Many(strings(scan)?)
        } else {
            HeaderValue::One(scan.plain_string()?.to_owned())
        };
        list.push((name.to_owned(), value));
        Some(())
    })?;
    Some(Headers(list))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scanner is only worth having if it, not the fallback, answers for the frames real
    /// objects send (these are from the upstream recordings and vectors).
    #[test]
    fn usual_frames_take_the_one_pass_path() {
        for frame in [
            r#"{"i":"1","t":3,"p":{"e":"message","d":{"json":{"message":"hi"}},"m":{"id":"2"}}}"#,
            r#"{"i":"1","t":3,"p":{"e":"message","d":{"json":1},"m":{"id":"3","retry":5000,"comments":["a"]}}}"#,
            r#"{"i":"1","t":3,"p":{"e":"done"}}"#,
            r#"{"i":"1","p":{"h":{"content-type":"text/event-stream"}}}"#,
            r#"{"i":"3","p":{"b":{"json":"pong"}}}"#,
            r#"{"i":"2","p":{"s":404,"b":"Not found"}}"#,
            r#"{"i":"7","t":4}"#,
        ] {
            let fast = decode(frame, None);
            assert!(fast.is_some(), "{frame} fell back");
            assert_eq!(
                fast.map(Ok),
                Some(ServerMessage::decode_reference(&crate::Frame::Text(
                    frame.to_owned()
                )))
            );
        }
    }

    #[test]
    fn unusual_frames_fall_back() {
        for frame in [
            r#"{"i":"\u0031","t":4}"#,
            r#"{"i":"1","t":5}"#,
            r#"["1",4]"#,
            r#"{"i":"1","t":4,"t":4}"#,
            r#"{"i":"1","t":3,"p":{"e":"done","d":[1,]}}"#,
        ] {
            assert!(decode(frame, None).is_none(), "{frame} decoded in one pass");
        }
    }
}
