//! Token parsing (client side) and verification (object side) on arbitrary strings.
//!
//! Checks: nothing panics; a payload that parses re-encodes to JSON that parses to the same
//! payload, and signing it yields a token that verifies to it; a verified token's payload is
//! the parsed one.
#![no_main]

use durable_iterator_protocol::{parse_token, sign_token, unsign, verify_token, TokenPayload};
use libfuzzer_sys::fuzz_target;

const KEY: &str = "fuzz-signing-key";

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let _ = unsign(token, KEY);
    let parsed = parse_token(token);
    if let Ok(verified) = verify_token(token, KEY, f64::MIN) {
        assert_eq!(Ok(&verified), parsed.as_ref(), "verify and parse agree");
    }
    let Ok(payload) = parsed else {
        return;
    };
    let json = payload.to_json();
    let again = TokenPayload::from_json(&json).expect("an encoded payload parses");
    assert_eq!(again, payload, "payload survives an encode/parse round trip");
    let signed = sign_token(&payload, KEY);
    let verified = verify_token(&signed, KEY, payload.exp).expect("a fresh signature verifies");
    assert_eq!(verified, payload);
    assert!(payload.can_update_to(&payload));
    let _ = payload.allows_rpc("singleClient");
    let _ = payload.lifetime_seconds();
});
