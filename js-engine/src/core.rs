//! [`Core`]: one engine, fed and drained through [`Core::input`].

use ::core::time::Duration;

use alloc::borrow::ToOwned;
use alloc::string::String;

use durable_iterator_protocol::client::{
    ceil_millis, CallId, CallRequest, ConnectionState, Engine, EngineOptions, EventKind, Incoming,
    Input, Instant, Output, Payload, SocketId, TokenClaims, DEFAULT_RPC_RETRY_DELAY,
};
use durable_iterator_protocol::Error;

use crate::fields::Fields;
use crate::out::Out;
use crate::{ErrorCode, InputKind, OutputOp};

/// One durable iterator's engine, as the JS driver sees it.
#[derive(Default)]
pub struct Core {
    engine: Option<Engine>,
    /// The handle of the next received message. Handles stay unique among the messages the
    /// engine keeps ([`Output::Keep`]), while the driver names a message by its index in
    /// the batch it fed; [`Batch`] translates.
    next_handle: u32,
}

/// The messages of the input being fed: handles `base..base + len` are indices `0..len`.
#[derive(Clone, Copy, Default)]
struct Batch {
    base: u32,
    len: u32,
}

impl Batch {
    /// The index in the batch of a message of this input, if it is one.
    fn index(self, payload: Payload) -> Option<u32> {
        let index = payload.0.wrapping_sub(self.base);
        (index < self.len).then_some(index)
    }

    /// The index of a message of this input (anything else is not in the batch: -1).
    fn position(self, payload: Payload) -> i64 {
        self.index(payload).map_or(-1, i64::from)
    }
}

impl Core {
    /// An engine that has not started: the first input is `Init`.
    pub fn new() -> Core {
        Core::default()
    }

    /// Feeds one input and returns every output it caused, as JSON text: a list of
    /// `[op, ...args]` (see [`OutputOp`]) that always ends with the timer to arm.
    ///
    /// `kind` is an [`InputKind`]; `nums` its numbers in the documented order; `text` every
    /// string field of the input concatenated, each one's length (in UTF-16 code units) given
    /// among `nums`. An input that does not read (unknown kind, short numbers or text) is
    /// dropped: the driver is our own, but a mismatch must not abort the module.
    pub fn input(&mut self, kind: u32, nums: &[f64], text: &str) -> String {
        let mut out = Out::new();
        let mut fields = Fields::new(nums, text);
        let now = fields.num();
        if let (Some(kind), false) = (InputKind::from_u32(kind), fields.is_short()) {
            let now = Instant::from_millis_f64(now);
            let batch = self.dispatch(kind, &mut fields, now, &mut out);
            self.drain(&mut out, batch);
        } else {
            self.drain(&mut out, Batch::default());
        }
        out.finish()
    }
}

impl Core {
    /// Feeds the input; returns the messages it carried.
    fn dispatch(
        &mut self,
        kind: InputKind,
        fields: &mut Fields,
        now: Instant,
        out: &mut Out,
    ) -> Batch {
        if kind == InputKind::Frames {
            let base = self.next_handle;
            let len = match self.engine.as_mut() {
                Some(engine) => feed_frames(engine, fields, now, base),
                None => 0,
            };
            self.next_handle = base.wrapping_add(len);
            return Batch { base, len };
        }
        self.feed(kind, fields, now, out);
        Batch::default()
    }

    fn feed(&mut self, kind: InputKind, fields: &mut Fields, now: Instant, out: &mut Out) {
        if kind == InputKind::Init {
            if let Err(error) = self.init(fields, now) {
                out.op(OutputOp::Ended);
                write_error(out, &error, Batch::default());
                out.close();
            }
            return;
        }
        let Some(engine) = self.engine.as_mut() else {
            return;
        };
        let input = match kind {
            InputKind::Init => return,
            InputKind::Opened => Input::SocketOpened {
                socket: SocketId(fields.uint()),
            },
            InputKind::Closed => read_closed(fields),
            InputKind::Frames => return,
            InputKind::Offline => Input::Offline,
            InputKind::Online => Input::Online,
            InputKind::Wake => Input::Wake,
            InputKind::Refreshed => read_refreshed(fields),
            InputKind::Call => return start_call(engine, fields, now, out),
            InputKind::Abort => {
                let call = CallId(fields.uint());
                if !fields.is_short() {
                    engine.abort_call(call, now);
                }
                return;
            }
            InputKind::Stop => return engine.stop(now),
            InputKind::Timeout => return engine.handle_timeout(now),
        };
        // Read whole, then checked once (a short input is dropped).
        if !fields.is_short() {
            engine.handle_input(input, now);
        }
    }

    fn init(&mut self, fields: &mut Fields, now: Instant) -> Result<(), Error> {
        let start = read_start(fields);
        if fields.is_short() {
            return Err(Error::InvalidToken {
                reason: "the driver's start input does not read".to_owned(),
            });
        }
        let engine = Engine::new(
            start.options,
            start.client_id,
            start.seed,
            start.token,
            start.claims,
            start.last_event_id,
            now,
        )?;
        self.engine = Some(engine);
        Ok(())
    }

    /// Writes every pending output, then the timer.
    fn drain(&mut self, out: &mut Out, batch: Batch) {
        let Some(engine) = self.engine.as_mut() else {
            out.op(OutputOp::Timer).int(-1).close();
            return;
        };
        while let Some(output) = engine.poll_output() {
            // By reference: the output is then dropped by one shared drop, not arm by arm.
            write_output(out, &output, batch);
        }
        let deadline = engine.poll_timeout().map_or(-1, |at| {
            ceil_millis(at.elapsed()).min(i64::MAX as u64) as i64
        });
        out.op(OutputOp::Timer).int(deadline).close();
    }
}

/// Everything `Init` carries.
struct Start {
    options: EngineOptions,
    client_id: String,
    seed: u64,
    token: String,
    claims: TokenClaims,
    last_event_id: Option<String>,
}

fn millis(value: f64) -> Duration {
    Duration::from_millis(value as u64)
}

/// Sets `slot` from `value` unless it is NaN (the default stays).
fn set<T>(slot: &mut T, value: f64, convert: impl FnOnce(f64) -> T) {
    if !value.is_nan() {
        *slot = convert(value);
    }
}

// Out of line: one division into seconds and nanos for the nine durations (inlined, each
// carries its own; 16 B gzip, measured).
#[inline(never)]
fn set_duration(slot: &mut Duration, value: f64) {
    set(slot, value, millis);
}

/// Like [`set`], and a negative `value` turns the option off.
fn set_optional<T>(slot: &mut Option<T>, value: f64, convert: impl FnOnce(f64) -> T) {
    if value < 0.0 {
        *slot = None;
    } else {
        set(slot, value, |n| Some(convert(n)));
    }
}

/// Reads the options: NaN (what JS's `Float64Array` makes of `undefined`) keeps the engine's
/// default, so the defaults live in one place ([`EngineOptions::default`]); for options that
/// can be off, a negative number turns them off. The caller checks the input was not short.
// Out of line: inlined into the one caller it makes the module larger (108 B gzip, measured).
#[inline(never)]
fn read_start(fields: &mut Fields) -> Start {
    let seed_low = fields.uint() & 0xffff_ffff;
    let seed_high = fields.uint() & 0xffff_ffff;
    let iat = fields.num();
    let exp = fields.num();
    let tag_count = fields.optional();
    let rpc_count = fields.optional();
    let has_last_event_id = fields.num() > 0.0;
    let mut options = EngineOptions::default();
    set_duration(&mut options.connect_timeout, fields.num());
    set_duration(&mut options.stable_after, fields.num());
    set_optional(&mut options.max_reconnect_attempts, fields.num(), |n| {
        n as u32
    });
    set(&mut options.auth_failure_threshold, fields.num(), |n| {
        n as u32
    });
    let liveness_idle = fields.num();
    let liveness_timeout = fields.num();
    if liveness_idle < 0.0 {
        options.liveness = None;
    } else if let Some(liveness) = options.liveness.as_mut() {
        set_duration(&mut liveness.idle, liveness_idle);
        set_duration(&mut liveness.timeout, liveness_timeout);
    }
    set_optional(&mut options.refresh_before_expire, fields.num(), millis);
    set_duration(&mut options.refresh_retry_delay, fields.num());
    set(&mut options.dedup_capacity, fields.num(), |n| n as usize);
    set(&mut options.max_frame_bytes, fields.num(), |n| n as usize);
    set_duration(&mut options.backoff.initial, fields.num());
    set_duration(&mut options.backoff.max, fields.num());
    set(&mut options.backoff.factor, fields.num(), |n| n);
    let client_id = fields.owned();
    let token = fields.owned();
    let chn = fields.owned();
    let last_event_id = if has_last_event_id {
        Some(fields.owned())
    } else {
        None
    };
    let claims = read_claims(fields, chn, tag_count, rpc_count, iat, exp);
    Start {
        options,
        client_id,
        seed: (seed_high << 32) | seed_low,
        token,
        claims,
        last_event_id,
    }
}

fn read_claims(
    fields: &mut Fields,
    chn: String,
    tag_count: Option<f64>,
    rpc_count: Option<f64>,
    iat: f64,
    exp: f64,
) -> TokenClaims {
    let tags = tag_count.map(|count| fields.strings(count as u64));
    let rpc = rpc_count.map(|count| fields.strings(count as u64));
    TokenClaims {
        chn,
        tags,
        rpc,
        iat,
        exp,
    }
}

/// The input as read; the caller checks it was not short.
fn read_closed(fields: &mut Fields) -> Input {
    let socket = SocketId(fields.uint());
    let code = fields.num() as u16;
    let reason = fields.owned();
    Input::SocketClosed {
        socket,
        code,
        reason,
    }
}

/// The input as read; the caller checks it was not short.
fn read_refreshed(fields: &mut Fields) -> Input {
    let refreshed = if fields.num() <= 0.0 {
        Err(fields.owned())
    } else {
        let iat = fields.num();
        let exp = fields.num();
        let tag_count = fields.optional();
        let rpc_count = fields.optional();
        let token = fields.owned();
        let chn = fields.owned();
        Ok((
            token,
            read_claims(fields, chn, tag_count, rpc_count, iat, exp),
        ))
    };
    Input::Refreshed(refreshed)
}

/// Feeds a batch message by message; message `i` is payload `base + i`. The engine decides
/// on each before the next, exactly as if they had come one by one. Returns the batch's size.
fn feed_frames(engine: &mut Engine, fields: &mut Fields, now: Instant, base: u32) -> u32 {
    let socket = fields.uint();
    let count = fields.uint();
    if fields.is_short() {
        return 0;
    }
    let count = u32::try_from(count).unwrap_or(u32::MAX);
    let socket = SocketId(socket);
    for index in 0..count {
        let handle = Payload(base.wrapping_add(index));
        let Some(message) = read_message(fields, handle) else {
            // The rest of the batch cannot be located any more.
            break;
        };
        engine.handle_input(Input::SocketMessage { socket, message }, now);
        if engine.is_ended() {
            break;
        }
    }
    count
}

fn read_message(fields: &mut Fields, handle: Payload) -> Option<Result<Incoming, Error>> {
    let message = match fields.u32() {
        0 => {
            let status = fields.num() as u16;
            let event_stream = fields.num() > 0.0;
            let has_body = fields.num() > 0.0;
            let id = fields.owned();
            Ok(Incoming::Response {
                id,
                status,
                event_stream,
                has_body,
                payload: handle,
            })
        }
        1 => {
            let kind = match fields.u32() {
                0 => EventKind::Message,
                1 => EventKind::Error,
                _ => EventKind::Done,
            };
            let retry_ms = fields.optional().map(|ms| ms as u64);
            let id = fields.owned();
            let event_id = fields.optional_string().map(str::to_owned);
            Ok(Incoming::Event {
                id,
                kind,
                event_id,
                retry_ms,
                data: handle,
            })
        }
        2 => Ok(Incoming::Abort { id: fields.owned() }),
        _ => {
            let why = fields.u32();
            let a = fields.uint();
            let b = fields.uint();
            Err(match why {
                1 => Error::UnknownMessageType(a),
                2 => Error::FrameTooLarge {
                    size: a as usize,
                    limit: b as usize,
                },
                _ => Error::MalformedMessage {
                    reason: "not a peer message".to_owned(),
                },
            })
        }
    };
    fields.done(message)
}

fn start_call(engine: &mut Engine, fields: &mut Fields, now: Instant, out: &mut Out) {
    let request = read_call(fields);
    if fields.is_short() {
        let error = Error::InvalidCall {
            reason: "the driver's call input does not read".to_owned(),
        };
        out.op(OutputOp::CallRefused);
        write_error(out, &error, Batch::default());
        out.close();
        return;
    }
    match engine.call(request, now) {
        Ok(call) => {
            out.op(OutputOp::CallStarted).uint(call.0).close();
        }
        Err(error) => {
            out.op(OutputOp::CallRefused);
            write_error(out, &error, Batch::default());
            out.close();
        }
    }
}

/// The call as read; the caller checks it was not short.
fn read_call(fields: &mut Fields) -> CallRequest {
    let retries = fields.u32();
    let mut retry_delay = DEFAULT_RPC_RETRY_DELAY;
    set_duration(&mut retry_delay, fields.num());
    let segments = fields.uint();
    let path = fields.strings(segments);
    let body = fields.owned();
    CallRequest {
        path,
        body,
        retries,
        retry_delay,
    }
}

fn write_output(out: &mut Out, output: &Output, batch: Batch) {
    match output {
        Output::OpenSocket { socket, token, .. } => {
            out.op(OutputOp::Open).uint(socket.0).str(token);
        }
        Output::Send { socket, text } => {
            out.op(OutputOp::Send).uint(socket.0).str(text);
        }
        Output::CloseSocket {
            socket,
            code,
            reason,
        } => {
            out.op(OutputOp::Close)
                .uint(socket.0)
                .uint(u64::from(*code))
                .str(reason);
        }
        Output::Event { id, payload } => match batch.index(*payload) {
            Some(index) => {
                out.op(OutputOp::Event)
                    .uint(u64::from(index))
                    .opt_str(id.as_deref());
            }
            None => {
                out.op(OutputOp::Release)
                    .uint(u64::from(payload.0))
                    .opt_str(id.as_deref());
            }
        },
        Output::Keep { payload } => {
            out.op(OutputOp::Keep)
                .int(batch.position(*payload))
                .uint(u64::from(payload.0));
        }
        Output::State(state) => write_state(out, state),
        Output::Resumed { last_event_id } => {
            out.op(OutputOp::Resumed).str(last_event_id);
        }
        Output::PossibleGap => {
            out.op(OutputOp::Gap);
        }
        Output::RefreshToken => {
            out.op(OutputOp::Refresh);
        }
        Output::RefreshFailed { reason, retry_in } => {
            out.op(OutputOp::RefreshFailed)
                .str(reason)
                .uint(ceil_millis(*retry_in));
        }
        Output::TokenUpdated { token, .. } => {
            out.op(OutputOp::Token).str(token);
        }
        Output::FrameIgnored { reason } => {
            out.op(OutputOp::Ignored);
            write_error(out, reason, batch);
        }
        Output::CallSettled { call, result } => match result {
            Ok(answer) => {
                out.op(OutputOp::CallOk)
                    .uint(call.0)
                    .int(batch.position(*answer));
            }
            Err(error) => {
                out.op(OutputOp::CallErr).uint(call.0);
                write_error(out, error, batch);
            }
        },
        Output::Ended(result) => {
            out.op(OutputOp::Ended);
            match result {
                Ok(()) => {
                    out.null();
                }
                Err(error) => write_error(out, error, batch),
            }
        }
    }
    out.close();
}

fn write_state(out: &mut Out, state: &ConnectionState) {
    out.op(OutputOp::State);
    match state {
        ConnectionState::Connecting { attempt } => {
            out.uint(0)
                .uint(u64::from(*attempt))
                .uint(0)
                .uint(0)
                .str("");
        }
        ConnectionState::Open => {
            out.uint(1).uint(0).uint(0).uint(0).str("");
        }
        ConnectionState::Reconnecting {
            attempt,
            delay,
            code,
            reason,
        } => {
            out.uint(2)
                .uint(u64::from(*attempt))
                .uint(ceil_millis(*delay))
                .uint(u64::from(*code))
                .str(reason);
        }
        ConnectionState::Offline => {
            out.uint(3).uint(0).uint(0).uint(0).str("");
        }
        ConnectionState::Refreshing => {
            out.uint(4).uint(0).uint(0).uint(0).str("");
        }
        ConnectionState::Closed { code, reason } => {
            out.uint(5)
                .uint(0)
                .uint(0)
                .uint(u64::from(*code))
                .str(reason);
        }
    }
}

/// `[code, ...data]`: the error's number ([`ErrorCode`]) and the few values a message needs;
/// JS names and words it.
fn write_error(out: &mut Out, error: &Error, batch: Batch) {
    out.open().code(error_code(error));
    match error {
        Error::TokenExpired { exp, now } => {
            // Whole milliseconds: `as` truncates (core has no `round`); JS shows seconds.
            out.int((exp * 1000.0) as i64).int((now * 1000.0) as i64);
        }
        Error::ConnectionClosed { code, reason } => {
            out.uint(u64::from(*code)).str(reason);
        }
        Error::Rejected { status, body } => {
            out.uint(u64::from(*status))
                .int(body.map_or(-1, |handle| batch.position(handle)));
        }
        Error::RpcNotAllowed { method } => {
            out.str(method);
        }
        Error::FrameTooLarge { size, limit } => {
            out.uint(*size as u64).uint(*limit as u64);
        }
        Error::UnknownMessageType(kind) => {
            out.uint(*kind);
        }
        Error::MalformedMessage { reason }
        | Error::UnexpectedResponse { reason }
        | Error::InvalidCall { reason }
        | Error::InvalidToken { reason } => {
            out.str(reason);
        }
        _ => {}
    }
    out.close();
}

/// The number JS knows the error's code by.
fn error_code(error: &Error) -> ErrorCode {
    match error {
        Error::MalformedMessage { .. } => ErrorCode::MalformedMessage,
        Error::UnknownMessageType(_) => ErrorCode::UnknownMessageType,
        Error::FrameTooLarge { .. } => ErrorCode::FrameTooLarge,
        Error::InvalidToken { .. } => ErrorCode::InvalidToken,
        Error::TokenExpired { .. } => ErrorCode::TokenExpired,
        Error::RpcNotAllowed { .. } => ErrorCode::RpcNotAllowed,
        Error::InvalidCall { .. } => ErrorCode::InvalidCall,
        Error::Aborted => ErrorCode::Aborted,
        Error::IteratorEnded => ErrorCode::IteratorEnded,
        Error::ConnectionClosed { .. } => ErrorCode::ConnectionClosed,
        Error::UnexpectedResponse { .. } => ErrorCode::UnexpectedResponse,
        Error::Rejected { .. } => ErrorCode::Rejected,
        // Only the codec raises the rest, and this build has none; naming them would put
        // their names back into the module.
        _ => ErrorCode::EngineFailed,
    }
}
