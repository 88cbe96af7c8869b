//! The frames the engine sends, written by hand: the engine must not need serde. Every
//! function gives byte for byte what `ClientMessage::encode_text` (serde_json) gives for the
//! same message; the differential tests (`protocol/tests/wire_encoder.rs`) hold them to it.

// `push_str` even for one character: `String::push` is not inlined at opt-level "z" and links
// core's UTF-8 encoder into the wasm module for what is always ASCII here.
#![allow(clippy::single_char_add_str)]

use crate::consts::LAST_EVENT_ID_HEADER;
use crate::prelude::*;

/// `{"i":id,"p":{"u":url,"b":body}}`, plus `"h":{"last-event-id":…}` when given: a POST with
/// a JSON body, as `ClientMessage::Request` encodes it. `body` must be one JSON value; it is
/// written as it is.
pub fn request(id: &str, url: &str, body: &str, last_event_id: Option<&str>) -> String {
    let extra = last_event_id.map_or(0, |value| value.len() + 24);
    let mut out = String::with_capacity(id.len() + url.len() + body.len() + extra + 24);
    out.push_str("{\"i\":");
    push_json_string(&mut out, id);
    out.push_str(",\"p\":{\"u\":");
    push_json_string(&mut out, url);
    out.push_str(",\"b\":");
    out.push_str(body);
    if let Some(value) = last_event_id {
        out.push_str(",\"h\":{");
        push_json_string(&mut out, LAST_EVENT_ID_HEADER);
        out.push_str(":");
        push_json_string(&mut out, value);
        out.push_str("}");
    }
    out.push_str("}}");
    out
}

/// `{"i":id,"t":4}`: stop the request or stream `id`, as `ClientMessage::Abort` encodes it.
pub fn abort(id: &str) -> String {
    let mut out = String::with_capacity(id.len() + 16);
    out.push_str("{\"i\":");
    push_json_string(&mut out, id);
    out.push_str(",\"t\":4}");
    out
}

/// The `/updateToken` body `{"json":{"token":token}}`.
pub fn update_token_body(token: &str) -> String {
    let mut out = String::with_capacity(token.len() + 24);
    out.push_str("{\"json\":{\"token\":");
    push_json_string(&mut out, token);
    out.push_str("}}");
    out
}

/// Appends `value` as a JSON string, escaped as serde_json escapes: `"` and `\` with a
/// backslash, `\b \t \n \f \r` by name, the other control characters as `\u00xx` (lower-case
/// hex), everything else (DEL, U+2028, any non-ASCII) as it is.
pub fn push_json_string(out: &mut String, value: &str) {
    out.push_str("\"");
    let mut start = 0;
    // A plain index loop: `bytes().enumerate()` is an iterator adapter the wasm module would
    // link for this loop alone.
    let mut next = 0;
    while let Some(&byte) = value.as_bytes().get(next) {
        let at = next;
        next += 1;
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            b'\t' => "\\t",
            b'\n' => "\\n",
            0x0C => "\\f",
            b'\r' => "\\r",
            0x00..=0x1F => "",
            _ => continue,
        };
        // SAFETY: `start <= at`, both character boundaries: `at` is an ASCII byte, `start` 0
        // or just after one (checking again would link core's boundary test).
        out.push_str(unsafe { value.get_unchecked(start..at) });
        start = at + 1;
        if escape.is_empty() {
            out.push_str("\\u00");
            push_radix(out, u64::from(byte >> 4), 16);
            push_radix(out, u64::from(byte & 0x0F), 16);
        } else {
            out.push_str(escape);
        }
    }
    // SAFETY: `start` is 0 or just after an ASCII byte, so at most the length, on a boundary.
    out.push_str(unsafe { value.get_unchecked(start..) });
    out.push_str("\"");
}

/// Appends `n` in decimal (what `n.to_string()` gives, without the formatting machinery).
pub fn push_decimal(out: &mut String, n: u64) {
    push_radix(out, n, 10);
}

/// Appends `n` in base `radix` (2 to 36, lower-case digits), as JavaScript's
/// `n.toString(radix)` writes it. Each digit is cut from a `&'static str`: digits collected
/// in a byte buffer would need core's UTF-8 validation (650 B of wasm) to become text, and
/// `String::push` its UTF-8 encoder.
pub(crate) fn push_radix(out: &mut String, n: u64, radix: u64) {
    const DIGITS: &str = "0123456789abcdefghijklmnopqrstuvwxyz";
    let radix = radix.clamp(2, 36);
    if n >= radix {
        push_radix(out, n / radix, radix);
    }
    let digit = (n % radix) as usize;
    out.push_str(DIGITS.get(digit..=digit).unwrap_or_default());
}

/// The decimal digits of `n` (ASCII), written at the end of `buffer`.
pub(crate) fn digits(mut n: u64, buffer: &mut [u8; 20]) -> &[u8] {
    let mut at = buffer.len();
    loop {
        at -= 1;
        if let Some(slot) = buffer.get_mut(at) {
            // `n % 10` is a digit, so the cast is exact.
            *slot = b'0' + (n % 10) as u8;
        }
        n /= 10;
        // u64::MAX has 20 digits: `at` reaches 0 exactly when the last one is written.
        if n == 0 || at == 0 {
            break;
        }
    }
    buffer.get(at..).unwrap_or_default()
}

/// `n` in decimal, as a new string.
pub fn decimal(n: u64) -> String {
    let mut out = String::with_capacity(20);
    push_decimal(&mut out, n);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        for n in [0, 1, 9, 10, 99, 100, 12_345, u64::from(u32::MAX), u64::MAX] {
            assert_eq!(decimal(n), n.to_string());
        }
    }

    #[test]
    fn strings_escape_like_serde_json() {
        let mut out = String::new();
        push_json_string(
            &mut out,
            "a\"b\\c\u{8}\t\n\u{c}\r\u{0}\u{1f}\u{7f}/é\u{2028}😀",
        );
        assert_eq!(
            out,
            "\"a\\\"b\\\\c\\b\\t\\n\\f\\r\\u0000\\u001f\u{7f}/é\u{2028}😀\""
        );
    }

    #[test]
    fn frames() {
        assert_eq!(
            request("1", "/subscribe", "{}", None),
            r#"{"i":"1","p":{"u":"/subscribe","b":{}}}"#
        );
        assert_eq!(
            request("2", "/subscribe", "{}", Some("42")),
            r#"{"i":"2","p":{"u":"/subscribe","b":{},"h":{"last-event-id":"42"}}}"#
        );
        assert_eq!(abort("c"), r#"{"i":"c","t":4}"#);
        assert_eq!(
            update_token_body("payload.sig"),
            r#"{"json":{"token":"payload.sig"}}"#
        );
    }
}
