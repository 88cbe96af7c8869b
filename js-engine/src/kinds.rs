//! The numbers of the wire between the JS driver and [`crate::Core`]. `js/engine-codes.js`
//! holds the same input kinds and output ops for the JS side, `js/errors.js` the error codes'
//! names in the order of their numbers; `js/test/engine-codes.test.mjs` checks they agree.

/// What a call of [`crate::Core::input`] reports (its first argument).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum InputKind {
    /// Start the engine (options, client id, token and its claims, resume point).
    Init = 0,
    /// A socket opened.
    Opened = 1,
    /// A socket closed or failed to open.
    Closed = 2,
    /// A batch of received messages, already parsed by JS.
    Frames = 3,
    /// The network went away.
    Offline = 4,
    /// The network came back.
    Online = 5,
    /// The page came back (visible again, or restored from the back/forward cache).
    Wake = 6,
    /// The answer to a refresh request: a new token or why none came.
    Refreshed = 7,
    /// Start an RPC call.
    Call = 8,
    /// Abort an RPC call.
    Abort = 9,
    /// Stop the iterator.
    Stop = 10,
    /// The timer the engine asked for fired.
    Timeout = 11,
}

impl InputKind {
    /// The kind a number names, if any.
    pub fn from_u32(kind: u32) -> Option<InputKind> {
        use InputKind::*;
        Some(match kind {
            0 => Init,
            1 => Opened,
            2 => Closed,
            3 => Frames,
            4 => Offline,
            5 => Online,
            6 => Wake,
            7 => Refreshed,
            8 => Call,
            9 => Abort,
            10 => Stop,
            11 => Timeout,
            _ => return None,
        })
    }
}

/// The first element of each output in the list [`crate::Core::input`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum OutputOp {
    /// `[0, socket, token]`: open a socket to the upgrade URL for `token`.
    Open = 0,
    /// `[1, socket, text]`: send a text frame.
    Send = 1,
    /// `[2, socket, code, reason]`: close a socket the engine has already forgotten.
    Close = 2,
    /// `[3, handle, eventId|null]`: yield message `handle` of the batch just fed.
    Event = 3,
    /// `[4, state, attempt, delayMs, code, reason]`: the connection state changed.
    State = 4,
    /// `[5, lastEventId]`: a resubscribe asked for the events missed since this id.
    Resumed = 5,
    /// `[6]`: a resubscribe could not ask for missed events; some may be lost.
    Gap = 6,
    /// `[7]`: re-run the token source and answer with a `Refreshed` input.
    Refresh = 7,
    /// `[8, reason, retryInMs]`: a refresh failed; another comes later.
    RefreshFailed = 8,
    /// `[9, token]`: this token is now in use.
    Token = 9,
    /// `[10, error]`: a frame the engine could not use was dropped.
    Ignored = 10,
    /// `[11, callId, handle]`: a call succeeded with message `handle` as its answer.
    CallOk = 11,
    /// `[12, callId, error]`: a call failed.
    CallErr = 12,
    /// `[13, error|null]`: the iterator ended (`null`: normally).
    Ended = 13,
    /// `[14, deadlineMs]`: when to send a `Timeout` input (-1: no timer). Always last.
    Timer = 14,
    /// `[15, callId]`: the call was accepted (first output of a `Call` input).
    CallStarted = 15,
    /// `[16, error]`: the call was refused before anything was sent.
    CallRefused = 16,
    /// `[17, index, key]`: keep message `index` of the batch just fed under `key`; a later
    /// `Release` yields it (its event waits for lower ids of a text-ordered replay).
    Keep = 17,
    /// `[18, key, eventId|null]`: yield the message kept under `key`, and forget it.
    Release = 18,
}

/// The first element of an error array `[code, ...data]` (inside [`OutputOp::Ignored`],
/// [`OutputOp::CallErr`], [`OutputOp::Ended`] and [`OutputOp::CallRefused`]): the error's code
/// (`Error::code`) as a number, so the module carries no code names. `js/errors.js` names and
/// words them in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum ErrorCode {
    /// `[0, reason]`: `MALFORMED_MESSAGE`.
    MalformedMessage = 0,
    /// `[1, type]`: `UNKNOWN_MESSAGE_TYPE`.
    UnknownMessageType = 1,
    /// `[2, size, limit]`: `FRAME_TOO_LARGE`.
    FrameTooLarge = 2,
    /// `[3, reason]`: `INVALID_TOKEN`.
    InvalidToken = 3,
    /// `[4, expMs, nowMs]`: `TOKEN_EXPIRED`.
    TokenExpired = 4,
    /// `[5, method]`: `RPC_NOT_ALLOWED`.
    RpcNotAllowed = 5,
    /// `[6, reason]`: `INVALID_CALL`.
    InvalidCall = 6,
    /// `[7, status, index]`: `REJECTED`, the call's error answer is message `index` of the
    /// batch just fed (-1: none or not in the batch); JS reads the oRPC error in its body.
    Rejected = 7,
    /// `[8]`: `ABORTED`.
    Aborted = 8,
    /// `[9]`: `ITERATOR_ENDED`.
    IteratorEnded = 9,
    /// `[10, code, reason]`: `CONNECTION_CLOSED`.
    ConnectionClosed = 10,
    /// `[11, reason]`: `UNEXPECTED_RESPONSE`.
    UnexpectedResponse = 11,
    /// `[12]`: `ENGINE_FAILED`. The driver's own when the module fails (with a reason); from
    /// the engine, an error this build cannot raise (the codec's: rich JSON, signatures, oRPC
    /// bodies), which would mean it is broken.
    EngineFailed = 12,
}
