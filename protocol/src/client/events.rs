//! What goes into the engine and what comes out of it.

use crate::prelude::*;
use core::time::Duration;

use crate::error::Error;

use super::calls::CallId;
use super::claims::TokenClaims;
use super::incoming::{Incoming, Payload};

/// Names one socket the engine asked for. Inputs about an older socket are ignored, so a late
/// `close` of a socket the engine already gave up on cannot disturb its successor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketId(pub u64);

/// Something that happened outside the engine.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The socket opened (the upgrade succeeded).
    SocketOpened {
        /// The socket, as named in [`Output::OpenSocket`].
        socket: SocketId,
    },
    /// The socket received a message, which the driver decoded.
    SocketMessage {
        /// The socket.
        socket: SocketId,
        /// The message's envelope, or why the driver could not decode it (`FrameTooLarge`,
        /// `MalformedMessage`, `UnknownMessageType`): such a frame still shows the socket is
        /// alive, and is reported with [`Output::FrameIgnored`].
        message: Result<Incoming, Error>,
    },
    /// The socket closed or failed to open (browsers report 1006 and hide the HTTP status).
    SocketClosed {
        /// The socket.
        socket: SocketId,
        /// The close code.
        code: u16,
        /// The close reason.
        reason: String,
    },
    /// The network went away (`offline`): failures no longer count as attempts, and no
    /// reconnect is tried until [`Input::Online`].
    Offline,
    /// The network came back (`online`): reconnect at once if disconnected.
    Online,
    /// The page came back (`visibilitychange` to visible, `pageshow`): reconnect at once if
    /// waiting, and probe an open socket, which may have died while the page slept.
    Wake,
    /// The answer to [`Output::RefreshToken`]: the procedure's new token with the claims of
    /// its payload, or why it failed (a token the driver cannot read is a failure too).
    Refreshed(Result<(String, TokenClaims), String>),
}

/// The connection as a UI would show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionState {
    /// A socket is opening; `attempt` failures precede it (0 on the first connect).
    Connecting {
        /// Failed attempts in a row before this one.
        attempt: u32,
    },
    /// The socket is open.
    Open,
    /// The socket was lost; the next attempt comes after `delay`.
    Reconnecting {
        /// Failed attempts in a row, this one included.
        attempt: u32,
        /// How long until the next attempt.
        delay: Duration,
        /// The close code that ended the last socket.
        code: u16,
        /// The close reason that ended the last socket.
        reason: String,
    },
    /// Waiting for the network to come back (no attempts are spent meanwhile).
    Offline,
    /// Waiting for a fresh token before reconnecting (the old one expired or was refused).
    Refreshing,
    /// The iterator ended; no socket, no timer.
    Closed {
        /// The close code (1000 after a stop).
        code: u16,
        /// The close reason.
        reason: String,
    },
}

/// Something the driver must do or report.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Open a WebSocket to the URL the caller's option gives for the token's payload, with
    /// [`super::upgrade_url`] appending the client id and `token`.
    OpenSocket {
        /// The name of this socket in later inputs.
        socket: SocketId,
        /// The token to put in the URL.
        token: String,
    },
    /// Send a text frame on the socket.
    Send {
        /// The socket.
        socket: SocketId,
        /// The frame text.
        text: String,
    },
    /// Close the socket; the engine has already forgotten it.
    CloseSocket {
        /// The socket.
        socket: SocketId,
        /// The close code (1000 or 4000-4999, the codes browsers let a page send).
        code: u16,
        /// The close reason.
        reason: String,
    },
    /// Yield an event: the data and meta of the message `payload`, which is the message of
    /// this input or one named by an earlier [`Output::Keep`].
    Event {
        /// The event id (`m.id`), if the object sent one.
        id: Option<String>,
        /// The message that carried the event.
        payload: Payload,
    },
    /// Keep the message `payload` of this input beyond the input: its event waits for events
    /// with lower ids that a text-ordered replay sends later. Exactly one later
    /// [`Output::Event`] names it, unless the iterator is stopped first; after
    /// [`Output::Ended`] nothing kept is needed any more.
    Keep {
        /// The message to keep.
        payload: Payload,
    },
    /// The connection changed.
    State(ConnectionState),
    /// A resubscribe succeeded from this id: events missed while disconnected are replayed
    /// (if the object still keeps them).
    Resumed {
        /// The `last-event-id` the resubscribe sent.
        last_event_id: String,
    },
    /// A resubscribe succeeded but could not ask for missed events (no event id yet, or the
    /// events carry none because resume is off on the object): some may be lost.
    PossibleGap,
    /// Re-run the procedure that produced the token, with the same input, and answer with
    /// [`Input::Refreshed`]. Failures are retried by the engine; never let one escape.
    RefreshToken,
    /// A refresh failed; another comes after `retry_in`.
    RefreshFailed {
        /// Why it failed, as the driver reported it.
        reason: String,
        /// When the next try comes.
        retry_in: Duration,
    },
    /// The engine now uses this token (RPC proxies follow its `rpc` list).
    TokenUpdated {
        /// The token.
        token: String,
    },
    /// The engine dropped a frame it cannot use; the socket and the stream go on, and
    /// nothing needs doing. Worth a log line: it means a buggy or hostile object, a protocol
    /// extension this client does not know, or a late answer to something already given up.
    /// `reason` is `FrameTooLarge` (over [`super::EngineOptions::max_frame_bytes`]),
    /// `MalformedMessage` (not JSON, not a peer message, or an event id longer than
    /// [`super::MAX_EVENT_ID_BYTES`]), `UnknownMessageType` (a `t` this
    /// client does not know), or `UnexpectedResponse` (a response, event or abort for a
    /// request id that is not in use). The first three come from the driver's decoder as
    /// [`Input::SocketMessage`] errors. Frames after the iterator ended are ignored silently.
    FrameIgnored {
        /// Why the frame was dropped.
        reason: Error,
    },
    /// A call finished.
    CallSettled {
        /// The call.
        call: CallId,
        /// The message of this input that answered it (its body, `{}` when absent, is the
        /// rich-JSON answer), or why it failed: an error answer is
        /// [`Error::Rejected`], naming the message whose body holds the oRPC error.
        result: Result<Payload, Error>,
    },
    /// The iterator ended: `Ok` after a stop or the object's `done`, else why. Always the
    /// last output.
    Ended(Result<(), Error>),
}
