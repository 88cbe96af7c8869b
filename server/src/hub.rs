//! The server handle: configuration, the resume store and the channel objects, created on
//! first use. Cheap to clone; every route and socket task holds one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use durable_iterator_protocol::RichBody;

use crate::clock::now_ms;
use crate::config::Config;
use crate::error::Result;
use crate::object::Channel;
use crate::publish::{PublishOptions, PublishReceipt, SocketInfo};
use crate::queue::Kick;
use crate::resume::ResumeStore;

/// A running reference server: build its routes with [`Server::router`], publish with
/// [`Server::publish_event`].
#[derive(Clone)]
pub struct Server {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    store: Option<Arc<ResumeStore>>,
    /// Channels are never removed: their id counter and ordering lock must stay unique for
    /// the life of the process, and an idle channel costs a map entry.
    channels: Mutex<HashMap<String, Arc<Channel>>>,
    next_conn: AtomicU64,
}

impl Server {
    /// Validates `config` and opens resume storage (only when resume is on, like upstream).
    pub fn open(config: Config) -> Result<Self> {
        config.validate()?;
        let store = match config.resume_retention.filter(|_| config.resume_enabled()) {
            Some(retention) => Some(Arc::new(
                ResumeStore::open(&config.db, retention)?.with_text_order(config.compat.upstream()),
            )),
            None => None,
        };
        Ok(Server {
            inner: Arc::new(Inner {
                config,
                store,
                channels: Mutex::new(HashMap::new()),
                next_conn: AtomicU64::new(1),
            }),
        })
    }

    /// The HTTP routes: object upgrade, app procedures, test endpoints, static files.
    pub fn router(&self) -> Router {
        crate::routes::router(self.clone())
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Publishes one event to `channel` (upstream `publishEvent`): stored first when resume
    /// is on, then queued to every subscribed socket the options admit. Never waits for a
    /// socket; a socket whose queue is full is closed so that it resumes.
    pub fn publish_event(
        &self,
        channel: &str,
        payload: RichBody,
        options: PublishOptions,
    ) -> PublishReceipt {
        self.publish_events(channel, std::slice::from_ref(&payload), &options)
    }

    /// Publishes several events in order under one lock and one storage transaction.
    pub fn publish_events(
        &self,
        channel: &str,
        payloads: &[RichBody],
        options: &PublishOptions,
    ) -> PublishReceipt {
        let texts: Vec<String> = payloads.iter().map(RichBody::to_json_string).collect();
        self.channel(channel).publish(&texts, options, now_ms())
    }

    /// A snapshot of `channel`'s sockets.
    pub fn sockets(&self, channel: &str) -> Vec<SocketInfo> {
        self.existing_channel(channel)
            .map(|c| c.sockets())
            .unwrap_or_default()
    }

    /// Drops every socket of `channel` without a close frame (a simulated network loss);
    /// returns how many there were.
    pub fn drop_sockets(&self, channel: &str) -> usize {
        self.existing_channel(channel)
            .map(|c| c.kick_all(Kick::Drop))
            .unwrap_or(0)
    }

    /// Drops the sockets of one client of a channel the same way; returns how many.
    pub fn drop_client(&self, channel: &str, client_id: &str) -> usize {
        self.existing_channel(channel)
            .map(|c| c.kick_client(Kick::Drop, client_id))
            .unwrap_or(0)
    }

    /// Closes every socket with 1001 (going away), for a graceful stop; returns how many.
    pub fn close_all(&self) -> usize {
        let channels: Vec<Arc<Channel>> = self.lock_channels().values().cloned().collect();
        channels.iter().map(|c| c.kick_all(Kick::Shutdown)).sum()
    }

    /// How many sockets are connected, over all channels.
    pub fn connected(&self) -> usize {
        let channels: Vec<Arc<Channel>> = self.lock_channels().values().cloned().collect();
        channels.iter().map(|c| c.socket_count()).sum()
    }

    /// The channel's object, created on first use.
    pub(crate) fn channel(&self, name: &str) -> Arc<Channel> {
        let mut channels = self.lock_channels();
        if let Some(channel) = channels.get(name) {
            return Arc::clone(channel);
        }
        let channel = Arc::new(Channel::new(name, self.inner.store.clone()));
        channels.insert(name.to_owned(), Arc::clone(&channel));
        channel
    }

    pub(crate) fn existing_channel(&self, name: &str) -> Option<Arc<Channel>> {
        self.lock_channels().get(name).cloned()
    }

    /// A connection serial number, unique for the life of the process.
    pub(crate) fn next_conn(&self) -> u64 {
        self.inner.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    fn lock_channels(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Channel>>> {
        self.inner
            .channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("resume", &self.inner.store.is_some())
            .finish_non_exhaustive()
    }
}
