//! One proxied connection: two directions, each a reader that stamps chunks with their
//! delivery time (latency + jitter) and a writer that delivers them in order, unless the link
//! is black-holed (then both hold still), cut (both sockets end, FIN or RST) or truncated
//! (the writer sends part of a frame, then the link is cut).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::frames::FrameTracker;
use crate::proxy::Shared;
use crate::rng::Rng;

/// Read buffer per direction.
const CHUNK: usize = 16 * 1024;
/// Chunks in flight per direction (the latency queue); a full queue stops reading, so a slow
/// receiver slows the sender as it would without the proxy.
const QUEUE: usize = 64;
/// How long an asked-for truncation waits for bytes to cut before it becomes a plain cut.
const TRUNCATE_WAIT: Duration = Duration::from_millis(500);

/// How a link is to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cut {
    /// Both sockets close (FIN).
    Close,
    /// Both sockets reset (RST).
    Reset,
    /// The next frame in either direction is cut in the middle, then the link closes.
    Truncate,
}

/// The control side of a live link.
pub(crate) struct LinkCtl {
    pub(crate) cut: watch::Sender<Option<Cut>>,
    /// Set by the one writer that performs a truncation.
    truncated: AtomicBool,
}

impl LinkCtl {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(LinkCtl {
            cut: watch::channel(None).0,
            truncated: AtomicBool::new(false),
        })
    }

    /// Asks the link to end; the first request wins (a truncation may end in a close).
    pub(crate) fn request(&self, cut: Cut) -> bool {
        self.cut.send_if_modified(|current| match current {
            None => {
                *current = Some(cut);
                true
            }
            Some(Cut::Truncate) if cut != Cut::Truncate => {
                *current = Some(cut);
                true
            }
            Some(_) => false,
        })
    }
}

/// Whether the link must stop now.
fn ends(cut: &Option<Cut>) -> bool {
    matches!(cut, Some(Cut::Close | Cut::Reset))
}

enum Chunk {
    Data(Instant, Vec<u8>),
    Eof,
}

/// Relays `client` to a new connection to `upstream` until either side ends or a cut.
pub(crate) async fn serve(
    id: u64,
    client: TcpStream,
    upstream: SocketAddr,
    shared: Arc<Shared>,
    ctl: Arc<LinkCtl>,
) {
    let mut cut = ctl.cut.subscribe();
    let server = tokio::select! {
        connected = TcpStream::connect(upstream) => match connected {
            Ok(server) => server,
            Err(_) => return, // dropping the client closes it, as if refused
        },
        _ = cut.wait_for(ends) => return,
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let up = direction(
        client_read,
        server_write,
        Rng::derive(shared.seed, id * 2),
        &shared,
        &ctl,
        false,
    );
    let down = direction(
        server_read,
        client_write,
        Rng::derive(shared.seed, id * 2 + 1),
        &shared,
        &ctl,
        true,
    );
    let fallback = async {
        // A truncation with no bytes to cut becomes a plain cut.
        let _ = cut.wait_for(|c| c.is_some()).await;
        if *cut.borrow() == Some(Cut::Truncate) {
            tokio::time::sleep(TRUNCATE_WAIT).await;
            if ctl.request(Cut::Close) {
                shared.stats.cut.fetch_add(1, Ordering::Relaxed);
            }
        }
        std::future::pending::<()>().await;
    };
    tokio::select! {
        _ = async { tokio::join!(up, down) } => {}
        () = fallback => {}
    }
}

/// One direction: a reader feeding the latency queue and a writer draining it.
async fn direction(
    read: OwnedReadHalf,
    write: OwnedWriteHalf,
    rng: Rng,
    shared: &Shared,
    ctl: &LinkCtl,
    downstream: bool,
) {
    let (queue, chunks) = mpsc::channel(QUEUE);
    let mut jitter_rng = rng.clone();
    let reader = read_side(read, queue, &mut jitter_rng, shared, ctl);
    let writer = write_side(write, chunks, rng, shared, ctl, downstream);
    tokio::join!(reader, writer);
}

/// Waits while the link is black-holed; `false` when it must end instead.
async fn clear(shared: &Shared, ctl: &LinkCtl) -> bool {
    let mut settings = shared.settings.subscribe();
    let mut cut = ctl.cut.subscribe();
    let open = tokio::select! {
        held = settings.wait_for(|s| !s.blackhole) => held.is_ok(),
        _ = cut.wait_for(ends) => false,
    };
    open && !ends(&ctl.cut.borrow())
}

async fn read_side(
    mut read: OwnedReadHalf,
    queue: mpsc::Sender<Chunk>,
    rng: &mut Rng,
    shared: &Shared,
    ctl: &LinkCtl,
) {
    let mut cut = ctl.cut.subscribe();
    let mut buf = vec![0u8; CHUNK];
    let mut last_due = Instant::now();
    loop {
        if !clear(shared, ctl).await {
            return;
        }
        let n = tokio::select! {
            read = read.read(&mut buf) => match read {
                Ok(n) => n,
                Err(_) => {
                    // A reset from one side ends the link on both.
                    ctl.request(Cut::Close);
                    return;
                }
            },
            _ = cut.wait_for(ends) => return,
        };
        let chunk = if n == 0 {
            Chunk::Eof
        } else {
            let (latency, jitter) = {
                let s = shared.settings.borrow();
                (s.latency, s.jitter)
            };
            let delay = latency + rng.between(Duration::ZERO, jitter);
            last_due = last_due.max(Instant::now() + delay);
            Chunk::Data(last_due, buf[..n].to_vec())
        };
        let eof = matches!(chunk, Chunk::Eof);
        tokio::select! {
            sent = queue.send(chunk) => if sent.is_err() { return },
            _ = cut.wait_for(ends) => return,
        }
        if eof {
            return;
        }
    }
}

async fn write_side(
    mut write: OwnedWriteHalf,
    mut chunks: mpsc::Receiver<Chunk>,
    mut rng: Rng,
    shared: &Shared,
    ctl: &LinkCtl,
    downstream: bool,
) {
    let mut cut = ctl.cut.subscribe();
    let mut tracker = FrameTracker::new();
    loop {
        let chunk = tokio::select! {
            chunk = chunks.recv() => chunk,
            _ = cut.wait_for(ends) => None,
        };
        let (due, bytes) = match chunk {
            Some(Chunk::Data(due, bytes)) => (due, bytes),
            Some(Chunk::Eof) => {
                // Pass the peer's FIN on: a half-close stays a half-close.
                let _ = write.shutdown().await;
                return;
            }
            None => break,
        };
        tokio::select! {
            () = tokio::time::sleep_until(due) => {}
            _ = cut.wait_for(ends) => break,
        }
        if !clear(shared, ctl).await {
            break;
        }
        if *cut.borrow() == Some(Cut::Truncate) {
            let cuts = if tracker.is_opaque() {
                (1..bytes.len()).collect()
            } else {
                tracker.mid_frame_cuts(&bytes)
            };
            if !cuts.is_empty() && !ctl.truncated.swap(true, Ordering::SeqCst) {
                let at = cuts[rng.index(0, cuts.len())];
                let _ = write.write_all(&bytes[..at]).await;
                let _ = write.flush().await;
                shared.stats.truncated.fetch_add(1, Ordering::Relaxed);
                ctl.request(Cut::Close);
                break;
            }
        }
        tracker.feed(&bytes);
        let written = tokio::select! {
            written = write.write_all(&bytes) => written.is_ok(),
            _ = cut.wait_for(ends) => break,
        };
        if !written {
            ctl.request(Cut::Close);
            break;
        }
        let bytes_moved = if downstream {
            &shared.stats.bytes_down
        } else {
            &shared.stats.bytes_up
        };
        bytes_moved.fetch_add(bytes.len() as u64, Ordering::Relaxed);
    }
    if *cut.borrow() == Some(Cut::Reset) {
        // SO_LINGER 0: closing sends RST instead of FIN.
        let _ = write.as_ref().set_zero_linger();
    }
}
