//! The proxy: accepts on its own address, relays each connection to the upstream through a
//! [`crate::link`], drops links on a seeded schedule or on demand, and counts what it did.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config::{ChaosConfig, Settings};
use crate::link::{self, Cut, LinkCtl};
use crate::rng::Rng;

/// What the proxy has done so far; every count only grows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Connections accepted and relayed.
    pub accepted: u64,
    /// Connections refused (accepted, then reset at once) during a refusal window.
    pub refused: u64,
    /// Drop rounds: scheduled drops plus calls of `drop_all` and `truncate_all`.
    pub drop_rounds: u64,
    /// Links ended by a cut between frames (FIN or RST).
    pub cut: u64,
    /// Links ended by a cut in the middle of a frame (then closed).
    pub truncated: u64,
    /// Bytes relayed client to upstream.
    pub bytes_up: u64,
    /// Bytes relayed upstream to client.
    pub bytes_down: u64,
}

impl Stats {
    /// Links that a drop ended, by either kind of cut.
    pub fn links_dropped(&self) -> u64 {
        self.cut + self.truncated
    }
}

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) accepted: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) drop_rounds: AtomicU64,
    pub(crate) cut: AtomicU64,
    pub(crate) truncated: AtomicU64,
    pub(crate) bytes_up: AtomicU64,
    pub(crate) bytes_down: AtomicU64,
}

/// What the accept loop, the drop schedule, the links and the handle share.
pub(crate) struct Shared {
    pub(crate) seed: u64,
    pub(crate) settings: watch::Sender<Settings>,
    pub(crate) stats: Counters,
    links: Mutex<HashMap<u64, Arc<LinkCtl>>>,
    /// Decides which links a drop round truncates or resets.
    choices: Mutex<Rng>,
}

impl Shared {
    fn links(&self) -> Vec<Arc<LinkCtl>> {
        let links = self.links.lock().unwrap_or_else(PoisonError::into_inner);
        links.values().cloned().collect()
    }

    /// Ends every live link: `kind` fixes the cut, `None` draws it from the settings.
    fn drop_round(&self, kind: Option<Cut>) -> usize {
        self.stats.drop_rounds.fetch_add(1, Ordering::Relaxed);
        let (truncate, reset) = {
            let s = self.settings.borrow();
            (s.truncate_probability, s.reset_probability)
        };
        let mut dropped = 0;
        for link in self.links() {
            let cut = kind.unwrap_or_else(|| {
                let mut rng = self.choices.lock().unwrap_or_else(PoisonError::into_inner);
                if rng.chance(truncate) {
                    Cut::Truncate
                } else if rng.chance(reset) {
                    Cut::Reset
                } else {
                    Cut::Close
                }
            });
            if link.request(cut) {
                dropped += 1;
                if cut != Cut::Truncate {
                    self.stats.cut.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        dropped
    }
}

/// A running chaos proxy; dropping it stops accepting and closes every link.
pub struct ChaosProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl ChaosProxy {
    /// Listens on `listen` (port 0 picks a free port) and relays every connection to
    /// `upstream` with the faults of `config`. Must run inside a Tokio runtime.
    pub async fn start(
        listen: SocketAddr,
        upstream: SocketAddr,
        config: ChaosConfig,
    ) -> io::Result<ChaosProxy> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            seed: config.seed,
            settings: watch::channel(Settings::from_config(&config)).0,
            stats: Counters::default(),
            links: Mutex::new(HashMap::new()),
            choices: Mutex::new(Rng::derive(config.seed, u64::MAX)),
        });
        let accept = tokio::spawn(accept_loop(listener, upstream, shared.clone()));
        let schedule = tokio::spawn(drop_schedule(
            shared.clone(),
            Rng::derive(config.seed, u64::MAX - 1),
        ));
        Ok(ChaosProxy {
            addr,
            shared,
            tasks: vec![accept, schedule],
        })
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Cuts every live connection now, between frames (FIN or RST as the reset probability
    /// draws); returns how many.
    pub fn drop_all(&self) -> usize {
        let reset = {
            let mut rng = self
                .shared
                .choices
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            rng.chance(self.shared.settings.borrow().reset_probability)
        };
        self.shared
            .drop_round(Some(if reset { Cut::Reset } else { Cut::Close }))
    }

    /// Cuts every live connection in the middle of its next WebSocket frame (in whichever
    /// direction bytes flow first), then closes it; a connection that carries no bytes within
    /// half a second is cut plainly. Returns how many were asked to end.
    pub fn truncate_all(&self) -> usize {
        self.shared.drop_round(Some(Cut::Truncate))
    }

    /// On: every connection, live or new, forwards nothing and closes nothing — a half-open
    /// link; bytes wait in the proxy and the kernel buffers. Off: they flow again, in order.
    pub fn blackhole(&self, on: bool) {
        self.shared.settings.send_modify(|s| s.blackhole = on);
    }

    /// Refuses new connections (accepts and resets them at once) for `duration` from now;
    /// live ones are untouched.
    pub fn refuse_for(&self, duration: Duration) {
        let until = Instant::now() + duration;
        self.shared
            .settings
            .send_modify(|s| s.refuse_until = Some(until));
    }

    /// Sets the latency and jitter added to every chunk from now on.
    pub fn set_latency(&self, latency: Duration, jitter: Duration) {
        self.shared.settings.send_modify(|s| {
            s.latency = latency;
            s.jitter = jitter;
        });
    }

    /// Changes the drop schedule (`None` stops it).
    pub fn set_drop_every(&self, range: Option<(Duration, Duration)>) {
        self.shared.settings.send_modify(|s| s.drop_every = range);
    }

    /// Changes the share of scheduled drops that truncate a frame.
    pub fn set_truncate_probability(&self, p: f64) {
        self.shared
            .settings
            .send_modify(|s| s.truncate_probability = p);
    }

    /// What the proxy has done so far.
    pub fn stats(&self) -> Stats {
        let c = &self.shared.stats;
        let read = |n: &AtomicU64| n.load(Ordering::Relaxed);
        Stats {
            accepted: read(&c.accepted),
            refused: read(&c.refused),
            drop_rounds: read(&c.drop_rounds),
            cut: read(&c.cut),
            truncated: read(&c.truncated),
            bytes_up: read(&c.bytes_up),
            bytes_down: read(&c.bytes_down),
        }
    }

    /// Connections being relayed now.
    pub fn live_links(&self) -> usize {
        self.shared
            .links
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl Drop for ChaosProxy {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        for link in self.shared.links() {
            link.request(Cut::Close);
        }
    }
}

async fn accept_loop(listener: TcpListener, upstream: SocketAddr, shared: Arc<Shared>) {
    let mut next_id = 0u64;
    loop {
        let Ok((client, _)) = listener.accept().await else {
            // Out of descriptors or similar: wait a little rather than spin.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        if shared.settings.borrow().refusing(Instant::now()) {
            let _ = client.set_zero_linger();
            shared.stats.refused.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        next_id += 1;
        let id = next_id;
        shared.stats.accepted.fetch_add(1, Ordering::Relaxed);
        let ctl = LinkCtl::new();
        shared
            .links
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, ctl.clone());
        let shared = shared.clone();
        tokio::spawn(async move {
            link::serve(id, client, upstream, shared.clone(), ctl).await;
            shared
                .links
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&id);
        });
    }
}

/// Drops every link at seeded random intervals while a schedule is set; a new schedule takes
/// effect at once, other setting changes leave the current wait alone.
async fn drop_schedule(shared: Arc<Shared>, mut rng: Rng) {
    let mut settings = shared.settings.subscribe();
    loop {
        let range = settings.borrow_and_update().drop_every;
        let Some((low, high)) = range else {
            if settings.changed().await.is_err() {
                return;
            }
            continue;
        };
        let deadline = Instant::now() + rng.between(low, high);
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => {
                    shared.drop_round(None);
                    break;
                }
                changed = settings.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    if settings.borrow_and_update().drop_every != range {
                        break;
                    }
                }
            }
        }
    }
}
