//! One task per connection: reads requests, writes responses and queued events, and enforces
//! the token's expiry.
//!
//! The task is the socket's only writer, so responses and events leave in the order it
//! decides: a subscription's stream head always precedes its replay, which precedes the answers
//! to later requests (as upstream: clients use one to tell that the replay is complete) and
//! live events (the object queues them in that order).
//!
//! Expiry, like upstream: a message that arrives after `exp`, or a send attempted after it,
//! closes the socket with 1008 "Token expired" (the event is not sent; it stays in resume
//! storage). Unlike upstream, an idle socket is also closed when `exp` passes, instead of
//! lingering until its next message; `--compat upstream` keeps upstream's lazy way.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use durable_iterator_protocol::consts::{CLOSE_CODE_TOKEN_EXPIRED, CLOSE_REASON_TOKEN_EXPIRED};
use durable_iterator_protocol::{ClientMessage, ResponsePayload, ServerMessage};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant};

use crate::clock::{now_ms, now_seconds};
use crate::peer::{Action, Peer};
use crate::queue::{Control, Kick, Outgoing, Subscription};

/// Close code for a socket whose queue overflowed: "try again later", i.e. reconnect and
/// resume from the last event id.
pub const CLOSE_CODE_TOO_SLOW: u16 = 1013;
/// Close code for a message over `--max-frame-bytes` (what Cloudflare sends too).
pub const CLOSE_CODE_TOO_BIG: u16 = 1009;
/// Close code when the server stops.
pub const CLOSE_CODE_GOING_AWAY: u16 = 1001;

/// How long a closing handshake (or a final write to a stalled peer) may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Queue items written before flushing and giving the other duties of the loop a turn.
const WRITE_BATCH: usize = 512;
/// Timers further out than this are re-armed when they fire (tokio's wheel has a horizon).
const MAX_TIMER: Duration = Duration::from_secs(24 * 60 * 60);

type Sink = SplitSink<WebSocket, Message>;
type Stream = SplitStream<WebSocket>;

/// Why the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The connection is gone or broken: nothing left to say.
    Gone,
    /// The client sent a close frame.
    ClientClosed,
    /// The client sent a message larger than the configured limit.
    TooBig,
    /// The token expired.
    Expired,
    /// The object asked the socket to end.
    Kicked(Kick),
}

/// Everything a connection task owns.
pub(crate) struct Connection {
    pub peer: Peer,
    pub rx: mpsc::Receiver<Outgoing>,
    pub control: Arc<Control>,
}

/// Runs the connection to its end, then unregisters it.
pub(crate) async fn run(socket: WebSocket, mut connection: Connection) {
    let (mut sink, mut stream) = socket.split();
    let end = serve(&mut connection, &mut sink, &mut stream).await;
    connection.peer.channel.remove(connection.peer.conn);
    tracing::debug!(conn = connection.peer.conn, ?end, "socket ended");
    finish(end, sink, stream).await;
}

async fn serve(connection: &mut Connection, sink: &mut Sink, stream: &mut Stream) -> End {
    let Connection { peer, rx, control } = connection;
    let control: &Control = control;
    // Upstream closes an expired socket only when it next sends or receives.
    let close_at_exp = !peer.server.config().compat.upstream();
    let mut current: Option<Arc<Subscription>> = None;
    let mut exp = peer.token.exp;
    let expiry = sleep_until(deadline(exp));
    tokio::pin!(expiry);

    loop {
        let step = tokio::select! {
            biased;
            kick = control.kicked() => Err(End::Kicked(kick)),
            () = &mut expiry, if close_at_exp => {
                if expired(exp) {
                    Err(End::Expired)
                } else {
                    expiry.as_mut().reset(deadline(exp));
                    Ok(())
                }
            }
            incoming = stream.next() => {
                let message = match incoming {
                    Some(Ok(Message::Text(text))) => ClientMessage::decode_text(text.as_str()),
                    Some(Ok(Message::Binary(bytes))) => ClientMessage::decode_binary(&bytes),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_))) => return End::ClientClosed,
                    Some(Err(e)) if is_too_big(&e) => return End::TooBig,
                    None | Some(Err(_)) => return End::Gone,
                };
                // Checked before anything else, as upstream does on every received message.
                if expired(peer.token.exp) {
                    return End::Expired;
                }
                match message {
                    Ok(message) => match guarded(control, on_message(peer, &mut current, sink, message)).await {
                        // Like upstream, a subscription's replay goes out before the answer to
                        // anything the client sends after the stream head: clients rely on it
                        // to tell when the replay is complete (their barrier request).
                        Ok(()) => {
                            let writing =
                                write_replay(rx, &current, control, peer.token.exp, sink);
                            tokio::select! {
                                result = guarded(control, writing) => result,
                                () = expiring(&mut expiry, exp) => Err(End::Expired),
                            }
                        }
                        Err(end) => Err(end),
                    },
                    Err(e) => {
                        // No id to answer to; upstream drops such frames too.
                        tracing::debug!(conn = peer.conn, error = %e, "undecodable frame ignored");
                        Ok(())
                    }
                }
            }
            item = rx.recv() => match item {
                Some(item) => {
                    let writing = write_items(item, rx, &current, control, peer.token.exp, sink);
                    tokio::select! {
                        result = guarded(control, writing) => result,
                        () = expiring(&mut expiry, exp) => Err(End::Expired),
                    }
                }
                None => Err(End::Gone),
            },
        };
        if let Err(end) = step {
            return end;
        }
        if peer.token.exp != exp {
            // `/updateToken` moved the expiry.
            exp = peer.token.exp;
            expiry.as_mut().reset(deadline(exp));
        }
    }
}

/// Resolves once the token has expired: a write to a stalled peer must not outlive it.
async fn expiring(expiry: &mut std::pin::Pin<&mut tokio::time::Sleep>, exp: f64) {
    expiry.await;
    loop {
        if expired(exp) {
            return;
        }
        tokio::time::sleep_until(deadline(exp)).await;
    }
}

/// Runs `work` unless the object kicks the socket first (a write to a stalled peer can block
/// for as long as the peer stalls).
async fn guarded(
    control: &Control,
    work: impl std::future::Future<Output = Result<(), End>>,
) -> Result<(), End> {
    tokio::select! {
        biased;
        kick = control.kicked() => Err(End::Kicked(kick)),
        result = work => result,
    }
}

async fn on_message(
    peer: &mut Peer,
    current: &mut Option<Arc<Subscription>>,
    sink: &mut Sink,
    message: ClientMessage,
) -> Result<(), End> {
    match message {
        ClientMessage::Request { id, payload } => {
            if current.as_ref().is_some_and(|sub| sub.request_id() == id) {
                return Ok(()); // that id is in use by the open stream
            }
            match peer.handle(&id, &payload) {
                Action::Respond(response) => {
                    send_response(sink, &id, response, peer.token.exp).await
                }
                Action::Subscribe { sub, last_event_id } => {
                    send_response(sink, &id, ResponsePayload::event_stream(), peer.token.exp)
                        .await?;
                    *current = Some(Arc::clone(&sub));
                    peer.channel
                        .subscribe(peer.conn, sub, last_event_id.as_deref(), now_ms());
                    Ok(())
                }
            }
        }
        ClientMessage::Abort { id } => {
            if current.as_ref().is_some_and(|sub| sub.request_id() == id) {
                *current = None;
                peer.channel.unsubscribe(peer.conn, &id);
            }
            Ok(())
        }
        // Streamed inputs: no procedure of this object takes one.
        ClientMessage::Event { .. } => Ok(()),
    }
}

async fn send_response(
    sink: &mut Sink,
    id: &str,
    payload: ResponsePayload,
    exp: f64,
) -> Result<(), End> {
    if expired(exp) {
        return Err(End::Expired);
    }
    let text = ServerMessage::Response {
        id: id.to_owned(),
        payload,
    }
    .encode_text();
    sink.send(Message::Text(text.into()))
        .await
        .map_err(|_| End::Gone)
}

/// Writes the queue up to and including the queued replay, if there is one.
async fn write_replay(
    rx: &mut mpsc::Receiver<Outgoing>,
    current: &Option<Arc<Subscription>>,
    control: &Control,
    exp: f64,
    sink: &mut Sink,
) -> Result<(), End> {
    while control.replay_queued() {
        let Ok(item) = rx.try_recv() else {
            break;
        };
        write_items(item, rx, current, control, exp, sink).await?;
    }
    Ok(())
}

/// Writes `first` and whatever else is already queued (up to a batch), then flushes. Events of
/// a subscription that is no longer current are dropped.
async fn write_items(
    first: Outgoing,
    rx: &mut mpsc::Receiver<Outgoing>,
    current: &Option<Arc<Subscription>>,
    control: &Control,
    exp: f64,
    sink: &mut Sink,
) -> Result<(), End> {
    let is_current =
        |sub: &Arc<Subscription>| current.as_ref().is_some_and(|c| Arc::ptr_eq(c, sub));
    let mut item = Some(first);
    let mut written = 0;
    while let Some(next) = item.take() {
        if matches!(next, Outgoing::Replay { .. }) {
            control.replay_taken();
        }
        match next {
            Outgoing::Event { sub, tail } if is_current(&sub) => {
                feed(sink, sub.frame(&tail), exp).await?;
            }
            Outgoing::Replay { sub, tails } if is_current(&sub) => {
                for tail in &tails {
                    feed(sink, sub.frame(tail), exp).await?;
                }
            }
            _ => {}
        }
        written += 1;
        if written < WRITE_BATCH {
            item = rx.try_recv().ok();
        }
    }
    sink.flush().await.map_err(|_| End::Gone)
}

async fn feed(sink: &mut Sink, frame: String, exp: f64) -> Result<(), End> {
    if expired(exp) {
        return Err(End::Expired);
    }
    sink.feed(Message::Text(frame.into()))
        .await
        .map_err(|_| End::Gone)
}

/// Says goodbye the way the reason calls for.
async fn finish(end: End, mut sink: Sink, mut stream: Stream) {
    let close = match end {
        End::Gone | End::Kicked(Kick::Drop) => return, // dropping the halves drops the TCP stream
        End::ClientClosed => {
            // The reply to the client's close frame is already queued; push it out.
            let _ = tokio::time::timeout(CLOSE_TIMEOUT, sink.close()).await;
            return;
        }
        End::Expired => (CLOSE_CODE_TOKEN_EXPIRED, CLOSE_REASON_TOKEN_EXPIRED),
        End::TooBig => (CLOSE_CODE_TOO_BIG, "Message too big"),
        End::Kicked(Kick::TooSlow) => (CLOSE_CODE_TOO_SLOW, "Subscriber too slow, resume later"),
        End::Kicked(Kick::Shutdown) => (CLOSE_CODE_GOING_AWAY, "Server shutting down"),
    };
    let frame = CloseFrame {
        code: close.0,
        reason: close.1.into(),
    };
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
        if sink.send(Message::Close(Some(frame))).await.is_ok() {
            // Wait for the client's close reply (or the end of the connection).
            while let Some(Ok(message)) = stream.next().await {
                if matches!(message, Message::Close(_)) {
                    break;
                }
            }
            let _ = sink.close().await;
        }
    })
    .await;
}

fn is_too_big(error: &axum::Error) -> bool {
    use tokio_tungstenite::tungstenite;
    std::error::Error::source(error)
        .and_then(|inner| inner.downcast_ref::<tungstenite::Error>())
        .is_some_and(|inner| matches!(inner, tungstenite::Error::Capacity(_)))
}

fn expired(exp: f64) -> bool {
    exp < now_seconds()
}

/// When to check the expiry: just after `exp` (the token is valid while `exp >= now`).
fn deadline(exp: f64) -> Instant {
    let remaining = (exp - now_seconds()).max(0.0);
    let wait = Duration::try_from_secs_f64(remaining)
        .unwrap_or(MAX_TIMER)
        .min(MAX_TIMER);
    Instant::now() + wait + Duration::from_millis(1)
}
