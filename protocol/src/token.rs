//! The durable iterator token (PROTOCOL.md section 2):
//! `payloadJson + "." + base64url_nopad(HMAC-SHA256(signingKey, payloadJson))`.
//!
//! Clients read the payload without verifying it (they do not hold the key); the object
//! verifies signature, shape and expiry. Time is always an argument: this crate has no clock.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use sha2::Sha256;

use crate::client::claims;
use crate::error::{Error, Result};

type HmacSha256 = Hmac<Sha256>;

/// The signed claims of a durable iterator token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenPayload {
    /// The channel: which object the token opens.
    pub chn: String,
    /// Tags that select which tagged events this subscriber receives.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "strings_if_present"
    )]
    pub tags: Option<Vec<String>>,
    /// Attachment: application data the client can read (never secret).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "value_if_present"
    )]
    pub att: Option<Value>,
    /// Names of the object methods the holder may call over `/call`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "strings_if_present"
    )]
    pub rpc: Option<Vec<String>>,
    /// Issued at, seconds since the epoch.
    #[serde(serialize_with = "seconds")]
    pub iat: f64,
    /// Expires at, seconds since the epoch; valid while `exp >= now`.
    #[serde(serialize_with = "seconds")]
    pub exp: f64,
}

/// `null` is not "absent": upstream's schema rejects `tags: null`, so we do too.
fn strings_if_present<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<String>>, D::Error> {
    Vec::<String>::deserialize(deserializer).map(Some)
}

/// A present `null` attachment stays `Some(Null)` so the payload re-encodes as it came.
fn value_if_present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// Whole seconds print without a fraction, as JavaScript prints them.
fn seconds<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;
    if value.fract() == 0.0 && value.abs() <= MAX_SAFE_INTEGER {
        serializer.serialize_i64(*value as i64)
    } else {
        serializer.serialize_f64(*value)
    }
}

impl TokenPayload {
    /// A payload for `chn` valid from `iat` for `ttl_seconds`.
    pub fn new(chn: impl Into<String>, iat: f64, ttl_seconds: f64) -> Self {
        TokenPayload {
            chn: chn.into(),
            tags: None,
            att: None,
            rpc: None,
            iat,
            exp: iat + ttl_seconds,
        }
    }

    /// The payload JSON, keys in oRPC's order (`chn, tags, att, rpc, iat, exp`).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses and validates a payload JSON.
    pub fn from_json(text: &str) -> Result<Self> {
        let payload: TokenPayload =
            serde_json::from_str(text).map_err(|e| Error::InvalidToken {
                reason: format!("payload: {e}"),
            })?;
        if !payload.iat.is_finite() || !payload.exp.is_finite() {
            return Err(Error::InvalidToken {
                reason: crate::client::NOT_FINITE.to_owned(),
            });
        }
        Ok(payload)
    }

    /// Whether the token has expired at `now_seconds` (oRPC: `exp < now`).
    pub fn is_expired_at(&self, now_seconds: f64) -> bool {
        self.exp < now_seconds
    }

    /// How long the token was issued for (`exp - iat`), in seconds; never negative.
    ///
    /// Refresh is scheduled from this and the time the token was *received*, so a client
    /// whose clock is wrong still refreshes in time.
    pub fn lifetime_seconds(&self) -> f64 {
        claims::lifetime_seconds(self.iat, self.exp)
    }

    /// Whether the token lets its holder call the object method `method`.
    pub fn allows_rpc(&self, method: &str) -> bool {
        claims::allows_rpc(self.rpc.as_deref(), method)
    }

    /// Whether `other` may replace this payload on a live socket: same channel, exactly the
    /// same tags (order matters; absent differs from empty), as `/updateToken` requires.
    pub fn can_update_to(&self, other: &TokenPayload) -> bool {
        claims::same_subscription((&self.chn, &self.tags), (&other.chn, &other.tags))
    }
}

/// Signs `value` with `secret`: `value.base64url(HMAC-SHA256)`.
pub fn sign(value: &str, secret: &str) -> String {
    let signature = URL_SAFE_NO_PAD.encode(mac(value, secret).finalize().into_bytes());
    let mut signed = String::with_capacity(value.len() + 1 + signature.len());
    signed.push_str(value);
    signed.push('.');
    signed.push_str(&signature);
    signed
}

/// The value part of a signed string (before the last `.`), unverified.
pub fn signed_value(signed: &str) -> Option<&str> {
    signed.rsplit_once('.').map(|(value, _)| value)
}

/// Verifies a signed string and returns its value; the comparison is constant-time.
pub fn unsign<'a>(signed: &'a str, secret: &str) -> Result<&'a str> {
    let (value, signature) = signed.rsplit_once('.').ok_or_else(|| Error::InvalidToken {
        reason: "no `.` separates payload and signature".to_owned(),
    })?;
    let signature = decode_base64url(signature).ok_or(Error::BadSignature)?;
    mac(value, secret)
        .verify_slice(&signature)
        .map_err(|_| Error::BadSignature)?;
    Ok(value)
}

/// Accepts base64url with or without padding, as upstream's decoder does.
fn decode_base64url(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()
}

fn mac(value: &str, secret: &str) -> HmacSha256 {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = match HmacSha256::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    };
    mac.update(value.as_bytes());
    mac
}

/// Signs a payload into a token string.
pub fn sign_token(payload: &TokenPayload, secret: &str) -> String {
    sign(&payload.to_json(), secret)
}

/// Reads a token's payload without verifying it (client side).
pub fn parse_token(token: &str) -> Result<TokenPayload> {
    let value = signed_value(token).ok_or_else(|| Error::InvalidToken {
        reason: "no `.` separates payload and signature".to_owned(),
    })?;
    TokenPayload::from_json(value)
}

/// Verifies signature, shape and expiry (object side).
pub fn verify_token(token: &str, secret: &str, now_seconds: f64) -> Result<TokenPayload> {
    let value = unsign(token, secret)?;
    let payload = TokenPayload::from_json(value)?;
    if payload.is_expired_at(now_seconds) {
        return Err(Error::TokenExpired {
            exp: payload.exp,
            now: now_seconds,
        });
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_keys_follow_orpc_order_and_integers_print_plain() {
        let mut payload = TokenPayload::new("some-room", 1_700_000_000.0, 86_400.0);
        payload.tags = Some(vec!["tag1".into(), "tag2".into()]);
        payload.att = Some(serde_json::json!({"userId": "user-123"}));
        payload.rpc = Some(vec!["singleClient".into(), "routerClient".into()]);
        assert_eq!(
            payload.to_json(),
            r#"{"chn":"some-room","tags":["tag1","tag2"],"att":{"userId":"user-123"},"rpc":["singleClient","routerClient"],"iat":1700000000,"exp":1700086400}"#
        );
    }

    #[test]
    fn rejects_bad_shapes() {
        for bad in [
            r#"{"iat":1,"exp":2}"#,
            r#"{"chn":1,"iat":1,"exp":2}"#,
            r#"{"chn":"a","tags":null,"iat":1,"exp":2}"#,
            r#"{"chn":"a","tags":[1],"iat":1,"exp":2}"#,
            r#"{"chn":"a","iat":"1","exp":2}"#,
            r#"{"chn":"a","iat":1}"#,
            "[]",
            "",
        ] {
            assert!(TokenPayload::from_json(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn verify_checks_signature_and_expiry() {
        let payload = TokenPayload::new("c", 100.0, 10.0);
        let token = sign_token(&payload, "k");
        assert_eq!(verify_token(&token, "k", 110.0).unwrap(), payload);
        assert!(matches!(
            verify_token(&token, "k", 110.5),
            Err(Error::TokenExpired { .. })
        ));
        assert_eq!(
            verify_token(&token, "other", 100.0),
            Err(Error::BadSignature)
        );
        let tampered = token.replacen("\"c\"", "\"d\"", 1);
        assert_eq!(
            verify_token(&tampered, "k", 100.0),
            Err(Error::BadSignature)
        );
        assert!(matches!(
            verify_token("no-dot", "k", 0.0),
            Err(Error::InvalidToken { .. })
        ));
    }
}
