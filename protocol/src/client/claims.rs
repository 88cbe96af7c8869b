//! The token claims the engine decides on. The driver reads them from the token's payload
//! (the engine never parses JSON) and hands them in with the token text.

use crate::error::{Error, Result};
use crate::prelude::*;

/// The claims of a durable iterator token that the client engine uses.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenClaims {
    /// The channel: which object the token opens.
    pub chn: String,
    /// Tags that select which tagged events this subscriber receives.
    pub tags: Option<Vec<String>>,
    /// Names of the object methods the holder may call over `/call`.
    pub rpc: Option<Vec<String>>,
    /// Issued at, seconds since the epoch.
    pub iat: f64,
    /// Expires at, seconds since the epoch.
    pub exp: f64,
}

impl TokenClaims {
    /// Claims for `chn` issued at `iat` that expire at `exp`, without tags or methods.
    pub fn new(chn: impl Into<String>, iat: f64, exp: f64) -> Self {
        TokenClaims {
            chn: chn.into(),
            tags: None,
            rpc: None,
            iat,
            exp,
        }
    }

    /// `InvalidToken` unless `iat` and `exp` are finite numbers (what the token parser
    /// requires too).
    pub fn check(&self) -> Result<()> {
        if self.iat.is_finite() && self.exp.is_finite() {
            Ok(())
        } else {
            Err(Error::InvalidToken {
                reason: NOT_FINITE.to_owned(),
            })
        }
    }

    /// How long the token was issued for (`exp - iat`), in seconds; never negative.
    pub fn lifetime_seconds(&self) -> f64 {
        lifetime_seconds(self.iat, self.exp)
    }

    /// Whether the token lets its holder call the object method `method`.
    pub fn allows_rpc(&self, method: &str) -> bool {
        allows_rpc(self.rpc.as_deref(), method)
    }

    /// Whether a token with `other` may replace this one on a live socket: same channel,
    /// exactly the same tags (order matters; absent differs from empty), as `/updateToken`
    /// requires.
    pub fn can_update_to(&self, other: &TokenClaims) -> bool {
        same_subscription((&self.chn, &self.tags), (&other.chn, &other.tags))
    }
}

// The token rules, once for the client's claims and the server's payloads (`token.rs`).

/// `exp - iat`, never negative.
pub(crate) fn lifetime_seconds(iat: f64, exp: f64) -> f64 {
    (exp - iat).max(0.0)
}

/// Whether an `rpc` list names `method`; no list allows nothing.
pub(crate) fn allows_rpc(rpc: Option<&[String]>, method: &str) -> bool {
    rpc.is_some_and(|allowed| allowed.iter().any(|name| name == method))
}

/// Whether two tokens subscribe alike: the same channel and exactly the same tags.
pub(crate) fn same_subscription(
    (chn, tags): (&String, &Option<Vec<String>>),
    (other_chn, other_tags): (&String, &Option<Vec<String>>),
) -> bool {
    chn == other_chn && tags == other_tags
}

/// Why claims with a non-finite `iat` or `exp` are refused.
pub(crate) const NOT_FINITE: &str = "iat and exp must be finite numbers";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpc_update_and_lifetime_rules() {
        let mut claims = TokenClaims::new("room", 100.0, 160.0);
        assert_eq!(claims.lifetime_seconds(), 60.0);
        assert!(!claims.allows_rpc("m"));
        claims.rpc = Some(vec!["m".into()]);
        assert!(claims.allows_rpc("m") && !claims.allows_rpc("n"));
        let mut other = TokenClaims::new("room", 0.0, 1.0);
        assert!(claims.can_update_to(&other));
        other.tags = Some(Vec::new());
        assert!(!claims.can_update_to(&other));
        assert_eq!(TokenClaims::new("r", 5.0, 1.0).lifetime_seconds(), 0.0);
        assert!(claims.check().is_ok());
        assert!(matches!(
            TokenClaims::new("r", f64::NAN, 1.0).check(),
            Err(Error::InvalidToken { .. })
        ));
        assert!(TokenClaims::new("r", 1.0, f64::INFINITY).check().is_err());
    }
}
