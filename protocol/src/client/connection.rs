//! The socket's life: connect, open, lose, wait, reconnect; offline and wake-up.

use super::engine::{Engine, Link, OpenLink, Subscription, CLOSE_NORMAL, CLOSE_UNRESPONSIVE};
use super::events::{ConnectionState, Output, SocketId};
use super::time::{earliest, Instant};
use crate::consts::CLOSE_CODE_TOKEN_EXPIRED;
use crate::error::Error;
use crate::prelude::*;

impl Engine {
    /// Opens a new socket with the current token, unless offline or the token is spent.
    pub(super) fn connect(&mut self, now: Instant) {
        if self.offline {
            self.link = Link::Offline;
            self.set_state(ConnectionState::Offline);
            return;
        }
        if self.token_expired(now) {
            self.token_unusable(CLOSE_NORMAL, "token expired".to_owned(), now);
            return;
        }
        self.next_socket += 1;
        let socket = SocketId(self.next_socket);
        self.link = Link::Connecting {
            socket,
            deadline: now + self.options.connect_timeout,
        };
        self.set_state(ConnectionState::Connecting {
            attempt: self.attempt,
        });
        self.push(Output::OpenSocket {
            socket,
            token: self.token.token.clone(),
        });
    }

    pub(super) fn on_socket_opened(&mut self, socket: SocketId, now: Instant) {
        if !matches!(self.link, Link::Connecting { socket: s, .. } if s == socket) {
            return;
        }
        self.failed_opens = 0;
        self.link = Link::Open(Box::new(OpenLink {
            socket,
            healthy_since: now,
            delivered: false,
            last_received: now,
            probe_deadline: None,
            probe_request: None,
            expiry_probes: Vec::new(),
            expiry_probes_sent: 0,
            barrier: None,
            subscription: Subscription::RetryAt(now),
            socket_claims: None,
            update: None,
        }));
        self.set_state(ConnectionState::Open);
        self.subscribe();
        self.flush_calls();
    }

    pub(super) fn on_socket_closed(
        &mut self,
        socket: SocketId,
        code: u16,
        reason: String,
        now: Instant,
    ) {
        match &self.link {
            Link::Connecting { socket: s, .. } if *s == socket => {
                self.failed_opens += 1;
                self.socket_lost(code, reason, now);
            }
            Link::Open(open) if open.socket == socket => {
                if code == CLOSE_CODE_TOKEN_EXPIRED {
                    // The object closed on the token it held; if a fresher one already
                    // arrived (its `/updateToken` was too late), reconnecting with it is enough.
                    let newer_token = open
                        .socket_claims
                        .as_ref()
                        .is_some_and(|held| *held != self.token.claims);
                    self.link = Link::Waiting { until: now };
                    self.fail_calls_in_flight(code, &reason, now);
                    if newer_token && !self.token_expired(now) {
                        self.connect(now);
                    } else {
                        self.token_unusable(code, reason, now);
                    }
                } else {
                    self.socket_lost(code, reason, now);
                }
            }
            _ => {}
        }
    }

    fn fail_calls_in_flight(&mut self, code: u16, reason: &str, now: Instant) {
        let outputs = &mut self.outputs;
        self.calls.socket_lost(now, |call| {
            outputs.push(Output::CallSettled {
                call,
                result: Err(Error::ConnectionClosed {
                    code,
                    reason: reason.to_owned(),
                }),
            });
        });
    }

    /// The socket failed (or never opened): wait and try again, spending an attempt unless
    /// offline; refresh first when the token looks like the reason.
    ///
    /// A socket whose stream delivered events worked, however short its life: its loss is a
    /// first failure again, so recovery under flapping (drops every few seconds, each after
    /// some events) stays near the first-retry delay instead of climbing to the cap. A socket
    /// that opened but delivered nothing still counts until it has lived `stable_after`, and
    /// sockets that never opened count as before (and feed `failed_opens`).
    pub(super) fn socket_lost(&mut self, code: u16, reason: String, now: Instant) {
        if matches!(&self.link, Link::Open(open) if open.delivered) {
            self.attempt = 0;
        }
        self.link = Link::Waiting { until: now };
        self.fail_calls_in_flight(code, &reason, now);
        if self.offline {
            self.link = Link::Offline;
            self.set_state(ConnectionState::Offline);
            return;
        }
        if self.token_expired(now) {
            self.token_unusable(code, reason, now);
            return;
        }
        if self.failed_opens >= self.options.auth_failure_threshold.max(1) && self.can_refresh() {
            // Browsers hide the 401 of a refused upgrade: after a few failed opens in a row,
            // get a fresh token while the reconnects go on (the object may just be down).
            self.failed_opens = 0;
            self.refresh_soon(now);
        }
        self.attempt = self.attempt.saturating_add(1);
        if self
            .options
            .max_reconnect_attempts
            .is_some_and(|max| self.attempt >= max)
        {
            self.end(
                Err(Error::ConnectionClosed {
                    code,
                    reason: reason.clone(),
                }),
                code,
                reason,
            );
            return;
        }
        let delay = self.retry_delay();
        self.link = Link::Waiting { until: now + delay };
        self.set_state(ConnectionState::Reconnecting {
            attempt: self.attempt,
            delay,
            code,
            reason,
        });
    }

    /// The backoff delay for the current attempt, never below the object's `retry` hint.
    pub(super) fn retry_delay(&mut self) -> core::time::Duration {
        let delay = self.options.backoff.delay(self.attempt, &mut self.rng);
        self.server_retry.map_or(delay, |floor| delay.max(floor))
    }

    /// Closes the open socket on purpose and connects again at once, without spending an
    /// attempt (a new token must take effect).
    pub(super) fn reconnect_now(&mut self, reason: String, now: Instant) {
        if let Link::Open(open) = &self.link {
            let socket = open.socket;
            self.push(Output::CloseSocket {
                socket,
                code: CLOSE_NORMAL,
                reason: reason.clone(),
            });
            self.link = Link::Waiting { until: now };
            self.fail_calls_in_flight(CLOSE_NORMAL, &reason, now);
        }
        self.connect(now);
    }

    /// Gives up on an open socket that stopped answering.
    fn abandon_unresponsive(&mut self, socket: SocketId, reason: &str, now: Instant) {
        self.push(Output::CloseSocket {
            socket,
            code: CLOSE_UNRESPONSIVE,
            reason: reason.to_owned(),
        });
        self.socket_lost(CLOSE_UNRESPONSIVE, reason.to_owned(), now);
    }

    pub(super) fn on_offline(&mut self) {
        self.offline = true;
        if matches!(self.link, Link::Waiting { .. }) {
            self.link = Link::Offline;
            self.set_state(ConnectionState::Offline);
        }
    }

    pub(super) fn on_online(&mut self, now: Instant) {
        self.offline = false;
        if matches!(self.link, Link::Offline | Link::Waiting { .. }) {
            self.connect(now);
        }
    }

    pub(super) fn on_wake(&mut self, now: Instant) {
        match &self.link {
            Link::Waiting { .. } => self.connect(now),
            Link::Open(open)
                if open.probe_deadline.is_none() && self.options.liveness.is_some() =>
            {
                self.send_probe(now)
            }
            _ => {}
        }
    }

    /// The earliest timer of an open socket.
    pub(super) fn open_timeout(&self, open: &OpenLink) -> Option<Instant> {
        let stable = (self.attempt > 0).then(|| open.healthy_since + self.options.stable_after);
        let liveness = self.options.liveness.as_ref().map(|liveness| {
            open.probe_deadline
                .unwrap_or(open.last_received + liveness.idle)
        });
        let resubscribe = match open.subscription {
            Subscription::RetryAt(at) => Some(at),
            _ => None,
        };
        let barrier = open.barrier.as_ref().map(|(_, deadline)| *deadline);
        earliest([stable, liveness, resubscribe, barrier])
    }

    /// Runs the due timers of an open socket.
    pub(super) fn open_timers(&mut self, now: Instant) {
        let Link::Open(open) = &self.link else {
            return;
        };
        let socket = open.socket;
        if self.attempt > 0 && open.healthy_since + self.options.stable_after <= now {
            self.attempt = 0;
        }
        if open.probe_deadline.is_some_and(|deadline| deadline <= now) {
            self.abandon_unresponsive(socket, "liveness timeout", now);
            return;
        }
        if open
            .barrier
            .as_ref()
            .is_some_and(|(_, deadline)| *deadline <= now)
        {
            self.barrier_done();
        }
        let Link::Open(open) = &self.link else {
            return;
        };
        let idle = self.options.liveness.as_ref().map(|liveness| liveness.idle);
        if open.probe_deadline.is_none()
            && idle.is_some_and(|idle| open.last_received + idle <= now)
        {
            self.send_probe(now);
        }
        let resubscribe = matches!(
            self.link,
            Link::Open(ref open) if matches!(open.subscription, Subscription::RetryAt(at) if at <= now)
        );
        if resubscribe {
            self.subscribe();
        }
    }

    /// Sends a text frame on the open socket; dropped when no socket is open.
    pub(super) fn send(&mut self, text: String) {
        if let Link::Open(open) = &self.link {
            let socket = open.socket;
            self.push(Output::Send { socket, text });
        }
    }

    /// Sends every call waiting for a socket, if one is open.
    pub(super) fn flush_calls(&mut self) {
        let Link::Open(open) = &self.link else {
            return;
        };
        let socket = open.socket;
        let outputs = &mut self.outputs;
        self.calls.send_queued(&mut self.request_ids, |text| {
            outputs.push(Output::Send { socket, text });
        });
    }
}
