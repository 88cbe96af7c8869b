//! Resume storage: every published event with its recipients rule and its integer id, kept for
//! the retention window in SQLite, so a reconnecting client gets what it missed.
//!
//! One database serves every channel (upstream has one per object); ids are per channel and
//! never reused, even after every row of a channel expired and the server restarted: cleanup
//! first records each channel's highest id in `channel_seq`.
//!
//! Calls are synchronous and short (one indexed insert or range scan); they run under the
//! channel's ordering lock so that ids, storage order and delivery order are the same thing.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};

use crate::config::DbLocation;
use crate::error::{Error, Result};
use crate::filter::EventFilter;

/// Expired rows are deleted at most this often (and at start): cleanup may lag a little, which
/// upstream allows too; replay itself never returns a row older than the retention.
const MAX_CLEANUP_INTERVAL_MS: i64 = 60_000;

/// An event to store.
pub(crate) struct NewEvent<'a> {
    /// Its id, assigned by the channel.
    pub id: u64,
    /// The rich-JSON `{json, meta}` text of the payload.
    pub data: &'a str,
    /// Who may see it.
    pub filter: &'a EventFilter,
}

/// An event read back for replay.
pub(crate) struct StoredEvent {
    /// Its id.
    pub id: u64,
    /// The rich-JSON `{json, meta}` text of the payload.
    pub data: String,
    /// Who may see it.
    pub filter: EventFilter,
}

/// The SQLite event store.
pub(crate) struct ResumeStore {
    db: Mutex<Db>,
    retention_ms: i64,
    /// Replay in text order of ids, like the real object (`--compat upstream`).
    text_order: bool,
}

struct Db {
    conn: Connection,
    last_cleanup_ms: Option<i64>,
}

impl ResumeStore {
    /// Opens (creating if needed) the database and its schema.
    pub fn open(location: &DbLocation, retention: Duration) -> Result<Self> {
        let conn = match location {
            DbLocation::Memory => Connection::open_in_memory()?,
            DbLocation::File(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|source| Error::DataDir {
                        path: dir.to_path_buf(),
                        source,
                    })?;
                }
                let conn = Connection::open(path)?;
                // WAL without a sync per commit: a crash may lose the last moments of events,
                // never corrupt the file; resume is best effort within retention anyway.
                conn.pragma_update(None, "journal_mode", "WAL")?;
                conn.pragma_update(None, "synchronous", "NORMAL")?;
                conn
            }
        };
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS events (
                 channel TEXT NOT NULL,
                 id INTEGER NOT NULL,
                 data TEXT NOT NULL,
                 tags TEXT,
                 target_ids TEXT,
                 exclusion_ids TEXT,
                 stored_at_ms INTEGER NOT NULL,
                 PRIMARY KEY (channel, id)
             ) WITHOUT ROWID;
             CREATE INDEX IF NOT EXISTS events_stored_at ON events (stored_at_ms);
             CREATE TABLE IF NOT EXISTS channel_seq (
                 channel TEXT PRIMARY KEY,
                 last_id INTEGER NOT NULL
             );",
        )?;
        let retention_ms = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
        Ok(ResumeStore {
            db: Mutex::new(Db {
                conn,
                last_cleanup_ms: None,
            }),
            retention_ms,
            text_order: false,
        })
    }

    /// Replays in text order of ids ("10" before "9"), as the real object's SQL does.
    pub fn with_text_order(mut self, on: bool) -> Self {
        self.text_order = on;
        self
    }

    fn lock(&self) -> MutexGuard<'_, Db> {
        // A panic while holding the lock cannot leave SQLite half-written (statements are
        // atomic), so the data behind a poisoned lock is still good.
        self.db.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The highest id the channel ever used (0 for a new channel).
    pub fn last_id(&self, channel: &str) -> Result<u64> {
        let db = self.lock();
        let stored: Option<i64> = db
            .conn
            .prepare_cached("SELECT MAX(id) FROM events WHERE channel = ?1")?
            .query_row(params![channel], |row| row.get(0))?;
        let recorded: Option<i64> = db
            .conn
            .prepare_cached("SELECT last_id FROM channel_seq WHERE channel = ?1")?
            .query_row(params![channel], |row| row.get(0))
            .optional()?;
        let last = stored.unwrap_or(0).max(recorded.unwrap_or(0));
        Ok(u64::try_from(last).unwrap_or(0))
    }

    /// Stores events (one transaction for the lot).
    pub fn insert(&self, channel: &str, events: &[NewEvent<'_>], now_ms: i64) -> Result<()> {
        let mut db = self.lock();
        self.cleanup_if_due(&mut db, now_ms)?;
        let tx = db.conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO events (channel, id, data, tags, target_ids, exclusion_ids, stored_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for event in events {
                insert.execute(params![
                    channel,
                    i64::try_from(event.id).unwrap_or(i64::MAX),
                    event.data,
                    list_to_json(event.filter.tags.as_deref()),
                    list_to_json(event.filter.targets.as_deref()),
                    list_to_json(event.filter.exclude.as_deref()),
                    now_ms,
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Events of `channel` with an id greater than `after` and younger than the retention, in
    /// integer id order, or in text order with [`Self::with_text_order`] (upstream orders them
    /// as text: PROTOCOL.md section 10).
    pub fn events_after(&self, channel: &str, after: u64, now_ms: i64) -> Result<Vec<StoredEvent>> {
        let mut db = self.lock();
        self.cleanup_if_due(&mut db, now_ms)?;
        let oldest = now_ms.saturating_sub(self.retention_ms);
        let mut select = db.conn.prepare_cached(if self.text_order {
            "SELECT id, data, tags, target_ids, exclusion_ids FROM events
             WHERE channel = ?1 AND id > ?2 AND stored_at_ms >= ?3
             ORDER BY CAST(id AS TEXT) ASC"
        } else {
            "SELECT id, data, tags, target_ids, exclusion_ids FROM events
             WHERE channel = ?1 AND id > ?2 AND stored_at_ms >= ?3
             ORDER BY id ASC"
        })?;
        let rows = select.query_map(
            params![channel, i64::try_from(after).unwrap_or(i64::MAX), oldest],
            |row| {
                let id: i64 = row.get(0)?;
                Ok(StoredEvent {
                    id: u64::try_from(id).unwrap_or(0),
                    data: row.get(1)?,
                    filter: EventFilter {
                        tags: list_from_json(row.get(2)?),
                        targets: list_from_json(row.get(3)?),
                        exclude: list_from_json(row.get(4)?),
                    },
                })
            },
        )?;
        rows.collect::<Result<Vec<_>, _>>().map_err(Error::from)
    }

    /// Deletes expired rows now (normally done lazily); returns how many went.
    #[cfg(test)]
    pub fn cleanup(&self, now_ms: i64) -> Result<usize> {
        let mut db = self.lock();
        self.delete_expired(&mut db, now_ms)
    }

    fn cleanup_if_due(&self, db: &mut Db, now_ms: i64) -> Result<()> {
        let interval = self.retention_ms.min(MAX_CLEANUP_INTERVAL_MS);
        if db
            .last_cleanup_ms
            .is_some_and(|last| now_ms.saturating_sub(last) < interval)
        {
            return Ok(());
        }
        self.delete_expired(db, now_ms).map(drop)
    }

    fn delete_expired(&self, db: &mut Db, now_ms: i64) -> Result<usize> {
        db.last_cleanup_ms = Some(now_ms);
        let oldest = now_ms.saturating_sub(self.retention_ms);
        let tx = db.conn.transaction()?;
        // Remember each channel's highest id before its rows may all go, so ids keep growing.
        tx.execute(
            "INSERT INTO channel_seq (channel, last_id)
             SELECT channel, MAX(id) FROM events WHERE stored_at_ms < ?1 GROUP BY channel
             ON CONFLICT (channel) DO UPDATE SET last_id = MAX(last_id, excluded.last_id)",
            params![oldest],
        )?;
        let deleted = tx.execute(
            "DELETE FROM events WHERE stored_at_ms < ?1",
            params![oldest],
        )?;
        tx.commit()?;
        Ok(deleted)
    }
}

fn list_to_json(list: Option<&[String]>) -> Option<String> {
    list.and_then(|items| serde_json::to_string(items).ok())
}

/// A column we wrote ourselves; should one be unreadable it becomes an empty list, which for
/// tags and targets means "nobody" rather than "everybody".
fn list_from_json(text: Option<String>) -> Option<Vec<String>> {
    text.map(|t| serde_json::from_str(&t).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(retention_ms: u64) -> ResumeStore {
        ResumeStore::open(&DbLocation::Memory, Duration::from_millis(retention_ms)).unwrap()
    }

    #[test]
    fn replays_in_integer_order_with_filters() {
        let store = store(60_000);
        let open = EventFilter::default();
        let tagged = EventFilter {
            tags: Some(vec!["t".into()]),
            ..EventFilter::default()
        };
        let events: Vec<NewEvent<'_>> = (1..=12)
            .map(|id| NewEvent {
                id,
                data: "{}",
                filter: if id == 7 { &tagged } else { &open },
            })
            .collect();
        store.insert("c", &events, 1_000).unwrap();
        let ids: Vec<u64> = store
            .events_after("c", 4, 1_000)
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(ids, (5..=12).collect::<Vec<_>>());
        let seventh = store.events_after("c", 6, 1_000).unwrap();
        assert_eq!(seventh.first().map(|e| &e.filter), Some(&tagged));
        assert!(store.events_after("other", 0, 1_000).unwrap().is_empty());
        assert_eq!(store.last_id("c").unwrap(), 12);
    }

    #[test]
    fn expired_rows_are_not_replayed_and_ids_survive_cleanup() {
        let store = store(1_000);
        let open = EventFilter::default();
        store
            .insert(
                "c",
                &[NewEvent {
                    id: 41,
                    data: "{}",
                    filter: &open,
                }],
                10_000,
            )
            .unwrap();
        assert_eq!(store.events_after("c", 0, 10_500).unwrap().len(), 1);
        assert_eq!(store.cleanup(11_001).unwrap(), 1);
        assert!(store.events_after("c", 0, 11_001).unwrap().is_empty());
        assert_eq!(
            store.last_id("c").unwrap(),
            41,
            "the id is remembered without its row"
        );
    }
}
