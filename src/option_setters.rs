//! The builder setters that the browser and the native `Options` share, written once.
//!
//! The two types differ only in their closures (`Rc` in the page, `Arc` + `Send` natively, so
//! a native iterator can live in `tokio::spawn`); everything else — procedure input, headers,
//! resume point, engine tuning — is the same code, stamped into both by this macro. It
//! expects the fields `rpc_url`, `procedure`, `input`, `headers`, `last_event_id` and `engine`.

/// Expands, inside `impl Options`, to the setters for the fields both `Options` types have,
/// and to `procedure_call`, the call that produces the iterator's token.
macro_rules! shared_option_setters {
    () => {
        /// The procedure's input. Default: none (`undefined`).
        pub fn input<I: serde::Serialize + ?Sized>(
            mut self,
            input: &I,
        ) -> Result<Self, $crate::error::Error> {
            self.input = $crate::call::plain_body(input)?;
            Ok(self)
        }

        /// A header sent with every procedure call (the first and each refresh). Default: none.
        pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
            self.headers.push((name.into(), value.into()));
            self
        }

        /// Resume after this event id (sent as `last-event-id` on the first subscribe).
        /// Default: none, only live events.
        pub fn last_event_id(mut self, id: impl Into<String>) -> Self {
            self.last_event_id = Some(id.into());
            self
        }

        /// Refresh the token this long before it expires, by calling the procedure again with
        /// the same input. Default: off (as upstream), so an expired token ends the iterator
        /// with `TokenExpired`.
        pub fn refresh_before_expire(mut self, before: std::time::Duration) -> Self {
            self.engine.refresh_before_expire = Some(before);
            self
        }

        /// Pause after a failed refresh attempt; it doubles with each further failure in a row,
        /// up to the reconnect backoff's `max`. Also the least time between two refreshes.
        /// Default 2 s.
        pub fn refresh_retry_delay(mut self, delay: std::time::Duration) -> Self {
            self.engine.refresh_retry_delay = delay;
            self
        }

        /// Reconnect backoff: full jitter up to `initial * factor^(attempt-1)`, capped at
        /// `max`. Default 200 ms, x2, 10 s.
        pub fn backoff(
            mut self,
            initial: std::time::Duration,
            factor: f64,
            max: std::time::Duration,
        ) -> Self {
            self.engine.backoff = durable_iterator_protocol::client::Backoff {
                initial,
                factor: factor.max(1.0),
                max,
            };
            self
        }

        /// How long an opening socket may take. Default 4 s.
        pub fn connect_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.engine.connect_timeout = timeout;
            self
        }

        /// How long a socket must stay up before the attempt counter resets. Default 5 s.
        pub fn stable_after(mut self, after: std::time::Duration) -> Self {
            self.engine.stable_after = after;
            self
        }

        /// Give up after this many failed reconnects in a row. Default: never.
        pub fn max_reconnect_attempts(mut self, attempts: u32) -> Self {
            self.engine.max_reconnect_attempts = Some(attempts);
            self
        }

        /// Probe a silent socket after `idle` and reconnect when no answer comes within
        /// `timeout`; `None` switches probing off. Default 20 s and 10 s.
        pub fn liveness(
            mut self,
            liveness: Option<(std::time::Duration, std::time::Duration)>,
        ) -> Self {
            self.engine.liveness =
                liveness.map(
                    |(idle, timeout)| durable_iterator_protocol::client::Liveness { idle, timeout },
                );
            self
        }

        /// How many delivered event ids are remembered to drop replayed duplicates. Default
        /// 4096.
        pub fn dedup_capacity(mut self, capacity: usize) -> Self {
            self.engine.dedup_capacity = capacity;
            self
        }

        /// Largest frame read from the object, in bytes. In the browser a larger frame is
        /// dropped unread (a `FrameIgnored` notice) and the stream goes on; natively the socket
        /// never buffers more than this, so a larger message breaks the connection (close
        /// 1009) and the iterator reconnects and resumes. Default 16 MiB.
        pub fn max_frame_bytes(mut self, bytes: usize) -> Self {
            self.engine.max_frame_bytes = bytes;
            self
        }

        /// The call of the options' procedure that produces the first token.
        pub(crate) fn procedure_call(&self) -> $crate::procedure::ProcedureCall {
            $crate::procedure::ProcedureCall {
                base_url: self.rpc_url.clone(),
                path: self.procedure.clone(),
                body: self.input.to_json_string(),
                headers: self.headers.clone(),
                last_event_id: self.last_event_id.clone(),
            }
        }
    };
}

pub(crate) use shared_option_setters;
