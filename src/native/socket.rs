//! One WebSocket (tokio-tungstenite) in its own task, owned by a [`NativeSocket`] handle:
//! dropping the handle closes the socket (code 1000), or abandons it while it is still
//! opening, so a reconnect never leaves a stale socket feeding the engine.
//!
//! The task reads and writes independently of the driver, so a slow write never holds up
//! timers or calls, and it tags everything it reports with the engine's name for the socket.

use std::sync::Arc;
use std::time::Duration;

use durable_iterator_protocol::client::SocketId;
use durable_iterator_protocol::Frame;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::Connector;

use super::tls::{describe_chain, untrusted_certificate};
use crate::error::Error;

/// Close code reported when the connection ends without a close frame (as browsers do).
const CLOSE_ABNORMAL: u16 = 1006;
/// Close code reported for a close frame without a code.
const CLOSE_NO_STATUS: u16 = 1005;
/// Close code reported when the object sent a message over the size limit.
const CLOSE_TOO_BIG: u16 = 1009;
/// How long a closing socket waits for the server's close frame before dropping the link.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// What a socket reports to the driver.
#[derive(Debug)]
pub(crate) enum SocketEvent {
    /// The upgrade succeeded.
    Opened(SocketId),
    /// A message arrived.
    Frame(SocketId, Frame),
    /// The connection closed or never opened (the HTTP status of a refused upgrade is in the
    /// reason; the code is 1006 as in a browser).
    Closed(SocketId, u16, String),
    /// The server's TLS certificate is not trusted (`Error::UntrustedCertificate`).
    Untrusted(SocketId, crate::error::Error),
}

enum Outgoing {
    Text(String),
    Close(u16, String),
}

/// The driver's handle on one socket task.
pub(crate) struct NativeSocket {
    outgoing: mpsc::UnboundedSender<Outgoing>,
}

impl NativeSocket {
    /// Starts opening `url`; events go to `events`, tagged with `id`. No incoming message
    /// may exceed `max_message_bytes`: memory stays bounded whatever the object sends, and a
    /// larger message ends the connection (reported as close 1009).
    pub(crate) fn open(
        url: String,
        id: SocketId,
        events: mpsc::UnboundedSender<SocketEvent>,
        max_message_bytes: usize,
        tls: Arc<rustls::ClientConfig>,
    ) -> NativeSocket {
        let (outgoing, commands) = mpsc::unbounded_channel();
        let config = WebSocketConfig::default()
            .max_message_size(Some(max_message_bytes))
            .max_frame_size(Some(max_message_bytes));
        tokio::spawn(run(url, id, config, tls, events, commands));
        NativeSocket { outgoing }
    }

    /// Queues a text frame. A socket that is going away drops it; its close tells the engine,
    /// which resends what matters on the next socket.
    pub(crate) fn send_text(&self, text: String) {
        let _ = self.outgoing.send(Outgoing::Text(text));
    }

    /// Closes with `code` and `reason`.
    pub(crate) fn close(self, code: u16, reason: String) {
        let _ = self.outgoing.send(Outgoing::Close(code, reason));
    }
}

async fn run(
    url: String,
    id: SocketId,
    config: WebSocketConfig,
    tls: Arc<rustls::ClientConfig>,
    events: mpsc::UnboundedSender<SocketEvent>,
    mut commands: mpsc::UnboundedReceiver<Outgoing>,
) {
    // The URL carries the token: name only the server in what gets reported.
    let server = url
        .split_once("://")
        .map_or("", |(_, rest)| rest)
        .split(['/', '?'])
        .next()
        .unwrap_or_default()
        .to_owned();
    // Nagle off: the protocol's requests and events are small and latency matters.
    let connecting = tokio_tungstenite::connect_async_tls_with_config(
        url,
        Some(config),
        true,
        Some(Connector::Rustls(tls)),
    );
    let socket = tokio::select! {
        opened = connecting => match opened {
            Ok((socket, _response)) => socket,
            Err(error) => {
                let event = match untrusted_certificate(&error) {
                    Some(reason) => {
                        SocketEvent::Untrusted(id, Error::UntrustedCertificate { server, reason })
                    }
                    None => SocketEvent::Closed(id, CLOSE_ABNORMAL, open_failure(&error)),
                };
                let _ = events.send(event);
                return;
            }
        },
        // The engine gave up on this attempt (connect timeout, stop): abandon it.
        _ = closing(&mut commands) => return,
    };
    if events.send(SocketEvent::Opened(id)).is_err() {
        return;
    }
    let (mut sink, mut stream) = socket.split();
    let (code, reason) = loop {
        tokio::select! {
            incoming = stream.next() => {
                let event = match incoming {
                    Some(Ok(Message::Text(text))) => {
                        SocketEvent::Frame(id, Frame::Text(text.as_str().to_owned()))
                    }
                    Some(Ok(Message::Binary(bytes))) => {
                        SocketEvent::Frame(id, Frame::Binary(bytes.to_vec()))
                    }
                    Some(Ok(Message::Close(frame))) => {
                        let (code, reason) = frame.map_or((CLOSE_NO_STATUS, String::new()), |f| {
                            (u16::from(f.code), f.reason.as_str().to_owned())
                        });
                        // Answer the close handshake; the server may already be gone.
                        let _ = sink.close().await;
                        SocketEvent::Closed(id, code, reason)
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(tungstenite::Error::Capacity(error))) => {
                        SocketEvent::Closed(id, CLOSE_TOO_BIG, format!("message too big: {error}"))
                    }
                    Some(Err(error)) => SocketEvent::Closed(id, CLOSE_ABNORMAL, error.to_string()),
                    None => SocketEvent::Closed(id, CLOSE_ABNORMAL, "connection lost".to_owned()),
                };
                let ended = matches!(event, SocketEvent::Closed(..));
                if events.send(event).is_err() || ended {
                    return;
                }
            }
            command = commands.recv() => match command {
                Some(Outgoing::Text(text)) => {
                    if let Err(error) = sink.send(Message::text(text)).await {
                        let _ = events.send(SocketEvent::Closed(id, CLOSE_ABNORMAL, error.to_string()));
                        return;
                    }
                }
                Some(Outgoing::Close(code, reason)) => break (code, reason),
                None => break (durable_iterator_protocol::client::CLOSE_NORMAL, String::new()),
            },
        }
    };
    // The engine has already forgotten this socket: close politely, report nothing.
    let frame = CloseFrame {
        code: code.into(),
        reason: reason.into(),
    };
    if sink.send(Message::Close(Some(frame))).await.is_ok() {
        let _ = tokio::time::timeout(CLOSE_GRACE, async {
            while let Some(Ok(message)) = stream.next().await {
                if matches!(message, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
}

/// Why an opening failed, for the close reason. A refused upgrade reads
/// `upgrade refused: HTTP 401 Unauthorized: <body>`: the object's status and its words, which
/// a browser hides (and which tell a refused token from an object that is down).
fn open_failure(error: &tungstenite::Error) -> String {
    match error {
        tungstenite::Error::Http(response) => {
            let body = response
                .body()
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            let body: String = body.chars().take(200).collect();
            format!("upgrade refused: HTTP {}: {body}", response.status())
        }
        other => describe_chain(other),
    }
}

/// Resolves once the handle asks to close or is dropped; frames queued before the socket
/// opened cannot exist (the engine sends only on open sockets) and are dropped.
async fn closing(commands: &mut mpsc::UnboundedReceiver<Outgoing>) {
    while let Some(Outgoing::Text(_)) = commands.recv().await {}
}
