//! The rich-JSON body decoder and meta applier (`RichBody`) on arbitrary text.
//!
//! Checks: nothing panics; a decoded body re-encodes to text that decodes to the same body;
//! `validate` accepts every body `into_plain` applies; a body that `from_plain` builds is
//! valid and encodes.
#![no_main]

use durable_iterator_protocol::RichBody;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(body) = RichBody::from_json_str(text) else {
        return;
    };
    let encoded = body.to_json_string();
    let again = RichBody::from_json_str(&encoded).expect("an encoded body decodes");
    assert_eq!(again, body, "body survives an encode/decode round trip");
    assert_eq!(
        RichBody::from_value(body.to_value()).as_ref().ok(),
        Some(&body),
        "to_value and from_value agree with the text form"
    );

    let valid = body.validate().is_ok();
    let applied = body.clone().into_plain();
    if applied.is_ok() {
        assert!(valid, "into_plain applied meta that validate refuses");
    }
    // Strip the meta back off the plain value: whatever comes back must be a valid body.
    if let Ok(plain) = applied {
        if let Ok(rebuilt) = RichBody::from_plain(plain, body.meta.clone()) {
            assert!(rebuilt.validate().is_ok(), "from_plain built an invalid body");
            let _ = rebuilt.to_json_string();
        }
    }
    // The same meta on the raw json (what a Rust sender may pass) must not panic either.
    let _ = RichBody::from_plain(body.json.clone(), body.meta.clone());
});
