//! The token: its lifetime as this client measures it, and refreshing it.
//!
//! Expiry is judged from the token's lifetime (`exp - iat`) counted from when the engine
//! received it, never from a wall clock: a client whose clock is wrong still refreshes in time
//! and still notices expiry.

use crate::prelude::*;
use core::time::Duration;

use super::claims::TokenClaims;
use super::engine::{Engine, Link, CLOSE_NORMAL};
use super::events::{ConnectionState, Output, SocketId};
use super::time::{doubled, duration_from_secs_f64, micros_less, Instant};
use super::wire;
use crate::consts::PATH_UPDATE_TOKEN;
use crate::error::Error;

/// The token in use and when it arrived.
#[derive(Debug, Clone)]
pub(super) struct TokenState {
    pub(super) token: String,
    pub(super) claims: TokenClaims,
    pub(super) received_at: Instant,
}

impl TokenState {
    pub(super) fn new(token: String, claims: TokenClaims, received_at: Instant) -> Self {
        TokenState {
            token,
            claims,
            received_at,
        }
    }

    fn lifetime(&self) -> Duration {
        duration_from_secs_f64(self.claims.lifetime_seconds())
    }

    /// When this token expires on the engine's clock.
    pub(super) fn expires_at(&self) -> Instant {
        self.received_at + self.lifetime()
    }

    /// `now` on the token's own clock (seconds since the epoch), for error reports.
    pub(super) fn token_clock(&self, now: Instant) -> f64 {
        self.claims.iat
            + now
                .saturating_duration_since(self.received_at)
                .as_secs_f64()
    }
}

/// Whether a refresh is running or planned.
#[derive(Debug, Default)]
pub(super) struct RefreshState {
    /// When to ask for the next refresh.
    pub(super) due: Option<Instant>,
    /// An [`Output::RefreshToken`] has not been answered yet.
    pub(super) in_flight: bool,
    /// When the last refresh was asked for, or failed (refreshes are at least the retry delay
    /// apart, and a retry comes no sooner than the failure announced).
    pub(super) last_requested: Option<Instant>,
    /// Failed refreshes in a row (the retry delay doubles with each).
    pub(super) failures: u32,
}

/// How much older than its `iat` a token may be: upstream and our server floor `iat` to whole
/// seconds, so a token issued at 12.9 s says 12 and expires up to a second before its
/// lifetime, counted from receipt, says.
const IAT_RESOLUTION: Duration = Duration::from_secs(1);

/// With refresh off, how often the socket is probed in the last stretch of the token's life,
/// from its earliest possible expiry to the one its lifetime says: the object answers a send
/// after `exp` by closing with 1008, so this bounds how late the engine learns of it.
const EXPIRY_PROBE_EVERY: Duration = Duration::from_millis(250);

/// With refresh off, how long after the expiry its lifetime says the engine waits for the
/// object's 1008 (answering its last probe) before it ends the iterator itself.
const EXPIRY_GRACE: Duration = Duration::from_millis(500);

/// The most doublings of the refresh retry delay (far past any cap).
const MAX_DOUBLINGS: u32 = 20;

impl Engine {
    /// Whether the engine may re-run the procedure: only when the caller turned refresh on.
    pub(super) fn can_refresh(&self) -> bool {
        self.options.refresh_before_expire.is_some()
    }

    pub(super) fn token_expired(&self, now: Instant) -> bool {
        now >= self.token.expires_at()
    }

    pub(super) fn refresh_due(&self) -> Option<Instant> {
        if self.refresh.in_flight {
            None
        } else {
            self.refresh.due
        }
    }

    /// Plans the proactive refresh of the current token, `refresh_before_expire` before its
    /// earliest possible expiry (a whole-second `iat` may hide up to a second of age).
    pub(super) fn schedule_refresh(&mut self, now: Instant) {
        let Some(before) = self.options.refresh_before_expire else {
            return;
        };
        let at = self.earliest_expiry_less(before);
        self.refresh.due = Some(at.max(self.earliest_refresh(now)));
    }

    /// The earliest instant the current token may have expired: its lifetime counted from
    /// receipt, less the second a whole-second `iat` may hide.
    fn earliest_expiry(&self) -> Instant {
        self.earliest_expiry_less(Duration::ZERO)
    }

    /// [`Self::earliest_expiry`] less `margin` (never before the token arrived).
    fn earliest_expiry_less(&self, margin: Duration) -> Instant {
        let hidden_age = if is_whole(self.token.claims.iat) {
            IAT_RESOLUTION.as_secs()
        } else {
            0
        };
        let lifetime = micros_less(self.token.lifetime(), margin, hidden_age);
        self.token.received_at.plus_micros(lifetime)
    }

    /// With refresh off, arms the expiry check at the token's earliest possible expiry.
    ///
    /// The upstream object checks `exp` only when a message comes or goes, so in a silent
    /// room an expired token went unnoticed until the next liveness probe (18-20 s late). The
    /// check probes the socket from the earliest expiry on, every [`EXPIRY_PROBE_EVERY`], and
    /// at the expiry the lifetime says; the object's 1008 then ends the iterator with
    /// `TokenExpired` (see `on_socket_closed`), and without it the engine ends so itself
    /// [`EXPIRY_GRACE`] later.
    pub(super) fn schedule_expiry_check(&mut self) {
        self.expiry_check = (!self.can_refresh()).then(|| self.earliest_expiry());
    }

    /// When the expiry check runs next: only while a socket is open. Without one, the next
    /// connect finds the token spent and ends (see `connect`), and an offline client is not
    /// woken up for it.
    pub(super) fn expiry_due(&self) -> Option<Instant> {
        match self.link {
            Link::Open(_) => self.expiry_check,
            _ => None,
        }
    }

    /// One step of the expiry check (refresh off): probe the open socket while the token may
    /// or must have expired, then end with `TokenExpired` when the object did not close.
    pub(super) fn expiry_step(&mut self, now: Instant) {
        let expires_at = self.token.expires_at();
        let end_at = expires_at + EXPIRY_GRACE;
        if now < expires_at {
            self.send_expiry_probe();
            self.expiry_check = Some((now + EXPIRY_PROBE_EVERY).min(expires_at));
        } else if now < end_at {
            self.send_expiry_probe();
            self.expiry_check = Some(end_at);
        } else {
            // No 1008 in time (or the driver woke too late to probe): end here.
            self.expiry_check = None;
            self.token_unusable(CLOSE_NORMAL, "token expired".to_owned(), now);
        }
    }

    /// Refreshes stay `refresh_retry_delay` apart, so a token shorter-lived than the refresh
    /// margin cannot make the engine hammer the app server; after failures, the backed-off
    /// delay apart, so an expiry or a 1008 in the middle of an outage does not cut it short.
    fn earliest_refresh(&self, now: Instant) -> Instant {
        let gap = if self.refresh.failures > 0 {
            self.refresh_retry_in()
        } else {
            self.options.refresh_retry_delay
        };
        match self.refresh.last_requested {
            Some(last) => (last + gap).max(now),
            None => now,
        }
    }

    /// Asks for a refresh now, or as soon as the least gap between refreshes allows.
    pub(super) fn refresh_soon(&mut self, now: Instant) {
        if self.refresh.in_flight {
            return;
        }
        let at = self.earliest_refresh(now);
        if at <= now {
            self.request_refresh(now);
        } else {
            self.refresh.due = Some(self.refresh.due.map_or(at, |due| due.min(at)));
        }
    }

    pub(super) fn request_refresh(&mut self, now: Instant) {
        if self.refresh.in_flight {
            return;
        }
        self.refresh.in_flight = true;
        self.refresh.due = None;
        self.refresh.last_requested = Some(now);
        self.push(Output::RefreshToken);
    }

    /// The token cannot open a socket (expired, or refused with 1008): refresh first when
    /// the caller allows it, otherwise end with `TokenExpired` instead of looping.
    pub(super) fn token_unusable(&mut self, code: u16, reason: String, now: Instant) {
        if !self.can_refresh() {
            let error = Error::TokenExpired {
                exp: self.token.claims.exp,
                now: self.token.token_clock(now),
            };
            self.end(Err(error), code, reason);
            return;
        }
        self.link = Link::AwaitingToken;
        self.set_state(ConnectionState::Refreshing);
        self.refresh_soon(now);
    }

    pub(super) fn on_refreshed(
        &mut self,
        result: Result<(String, TokenClaims), String>,
        now: Instant,
    ) {
        self.refresh.in_flight = false;
        let checked = result.and_then(|(token, claims)| match claims.check() {
            Ok(()) => Ok((token, claims)),
            Err(_) => {
                let mut reason = String::from("invalid token: ");
                reason.push_str(super::claims::NOT_FINITE);
                Err(reason)
            }
        });
        match checked {
            Ok((token, claims)) => {
                self.refresh.failures = 0;
                self.adopt_token(token, claims, now)
            }
            Err(reason) => {
                self.refresh.failures = self.refresh.failures.saturating_add(1);
                let retry_in = self.refresh_retry_in();
                self.refresh.due = Some(now + retry_in);
                // The pause runs from the failure, as announced: a refresh that something
                // else asks for meanwhile (the object's 1008) must not come sooner.
                self.refresh.last_requested = Some(now);
                self.push(Output::RefreshFailed { reason, retry_in });
            }
        }
    }

    /// The pause after the latest failed refresh: `refresh_retry_delay`, doubling with each
    /// further failure in a row, at most the reconnect backoff's ceiling (or the retry delay,
    /// if that is longer), so an app server that is down is not hammered every 2 s forever.
    fn refresh_retry_in(&self) -> Duration {
        let first = self.options.refresh_retry_delay;
        let cap = first.max(self.options.backoff.max);
        let doublings = self.refresh.failures.saturating_sub(1).min(MAX_DOUBLINGS);
        doubled(first, doublings).min(cap)
    }

    /// Uses a fresh token: on the live socket through `/updateToken` when channel and tags
    /// are unchanged (the object requires that), otherwise by reconnecting with it.
    fn adopt_token(&mut self, token: String, claims: TokenClaims, now: Instant) {
        let previous = core::mem::replace(&mut self.token, TokenState::new(token, claims, now));
        if let Link::Open(open) = &mut self.link {
            open.socket_claims.get_or_insert(previous.claims);
        }
        self.failed_opens = 0;
        self.push(Output::TokenUpdated {
            token: self.token.token.clone(),
        });
        self.schedule_refresh(now);
        enum Next {
            Connect,
            Restart(SocketId),
            Update,
            Reconnect,
            Keep,
        }
        let next = match &self.link {
            Link::AwaitingToken => Next::Connect,
            Link::Connecting { socket, .. } => Next::Restart(*socket),
            Link::Open(open)
                if open
                    .socket_claims
                    .as_ref()
                    .is_some_and(|held| held.can_update_to(&self.token.claims)) =>
            {
                Next::Update
            }
            Link::Open(_) => Next::Reconnect,
            Link::Waiting { .. } | Link::Offline | Link::Ended => Next::Keep,
        };
        match next {
            Next::Connect => self.connect(now),
            Next::Restart(socket) => {
                // Not open yet: starting over with the new token is cheapest.
                self.push(Output::CloseSocket {
                    socket,
                    code: CLOSE_NORMAL,
                    reason: "token refreshed".to_owned(),
                });
                self.connect(now);
            }
            Next::Update => {
                let request = self.request_ids.next_id();
                let body = wire::update_token_body(&self.token.token);
                let text = wire::request(&request, PATH_UPDATE_TOKEN, &body, None);
                if let Link::Open(open) = &mut self.link {
                    open.update = Some(request);
                }
                self.send(text);
            }
            Next::Reconnect => self.reconnect_now("token changed channel or tags".to_owned(), now),
            Next::Keep => {}
        }
    }

    /// The answer to `/updateToken`: the object now holds the new payload, or refused it and
    /// the engine reconnects with the new token instead.
    pub(super) fn on_update_answer(&mut self, accepted: bool, now: Instant) {
        let Link::Open(open) = &mut self.link else {
            return;
        };
        if open.update.take().is_none() {
            return;
        }
        if accepted {
            // The object holds the current token's claims now (see `OpenLink::update`).
            open.socket_claims = None;
        } else {
            self.reconnect_now("token update refused".to_owned(), now);
        }
    }
}

/// Whether `x` has no fractional part (core has no `fract`); every double beyond 2^53 is whole.
fn is_whole(x: f64) -> bool {
    x.abs() >= 9_007_199_254_740_992.0 || x == (x as i64) as f64
}
