//! Connection notices: what the application hears about the connection, the same from the
//! browser driver and the native transport.

use durable_iterator_protocol::client::{ConnectionState, Output};

/// Something worth telling the application about the connection.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Notice {
    /// The connection changed state.
    State(ConnectionState),
    /// A resubscribe asked for the events missed since this id.
    Resumed {
        /// The id the resubscribe sent as `last-event-id`.
        last_event_id: String,
    },
    /// A resubscribe could not ask for missed events: some may be lost.
    PossibleGap,
    /// A token refresh failed; the next try comes after `retry_in_ms`.
    RefreshFailed {
        /// Why it failed.
        reason: String,
        /// Milliseconds until the next try.
        retry_in_ms: f64,
    },
    /// A fresh token is in use.
    TokenUpdated,
    /// The object sent a frame the client dropped (too large, not a peer message, an
    /// unknown message type, or for a request id not in use); the stream goes on. For logs:
    /// a buggy or hostile object, or a late answer to something already given up.
    FrameIgnored {
        /// Why: `FrameTooLarge`, `MalformedMessage`, `UnknownMessageType` or
        /// `UnexpectedResponse`.
        reason: durable_iterator_protocol::Error,
    },
}

impl Notice {
    /// The notice an engine output stands for, if it stands for one.
    pub(crate) fn of(output: &Output) -> Option<Notice> {
        Some(match output {
            Output::State(state) => Notice::State(state.clone()),
            Output::Resumed { last_event_id } => Notice::Resumed {
                last_event_id: last_event_id.clone(),
            },
            Output::PossibleGap => Notice::PossibleGap,
            Output::RefreshFailed { reason, retry_in } => Notice::RefreshFailed {
                reason: reason.clone(),
                retry_in_ms: retry_in.as_secs_f64() * 1000.0,
            },
            Output::TokenUpdated { .. } => Notice::TokenUpdated,
            Output::FrameIgnored { reason } => Notice::FrameIgnored {
                reason: reason.clone(),
            },
            _ => return None,
        })
    }
}
