//! The chat's one durable iterator, run as a local task: its events land in a signal, its
//! notices in the state badge and the log, and messages typed into the page go out through
//! the object's `singleClient` method on the same socket.

use durable_iterator_wasm::{ConnectionState, DurableIterator, Notice, Options};
use futures::channel::mpsc::UnboundedReceiver;
use futures::future::{select, Either};
use futures::StreamExt;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::de::IgnoredAny;
use serde::Deserialize;

/// An event of the demo room: `{message}`, whose text starts with its author (`name: text`).
#[derive(Deserialize)]
struct RoomEvent {
    message: String,
}

/// One line of the chat.
#[derive(Clone, Debug)]
pub struct Line {
    /// Key for the list (unique per page).
    pub key: u64,
    /// Event id, for lines that came from the stream.
    pub id: Option<String>,
    /// Who wrote it.
    pub author: String,
    /// What they wrote.
    pub text: String,
    /// The message as it travels (`author: text`).
    pub raw: String,
    /// Written in this tab.
    pub mine: bool,
    /// Delivery note of this tab's own lines (`sending…`, `sent`, `not sent: ...`).
    pub note: String,
}

/// A message typed in this tab, to send through `singleClient`.
pub struct Outgoing {
    /// The key of its line, to update the line's note.
    pub key: u64,
    /// The message as it travels (`author: text`).
    pub raw: String,
}

/// The signals the page shows.
#[derive(Clone, Copy)]
pub struct Chat {
    /// The chat lines, oldest first.
    pub lines: RwSignal<Vec<Line>>,
    /// `data-state` of the badge and its text.
    pub state: RwSignal<(&'static str, String)>,
    /// The id of the last event the stream yielded.
    pub last_event_id: RwSignal<Option<String>>,
    /// Connection events with a key each, newest first.
    pub log: RwSignal<Vec<(u64, String)>>,
    /// The next line key.
    pub next_key: RwSignal<u64>,
}

impl Chat {
    /// Empty signals, before the connection starts.
    pub fn new() -> Self {
        Chat {
            lines: RwSignal::new(Vec::new()),
            state: RwSignal::new(("connecting", "Connecting…".to_owned())),
            last_event_id: RwSignal::new(None),
            log: RwSignal::new(Vec::new()),
            next_key: RwSignal::new(0),
        }
    }

    /// A fresh line key.
    pub fn key(&self) -> u64 {
        let key = self.next_key.get_untracked();
        self.next_key.set(key + 1);
        key
    }

    /// Adds a line and returns its key.
    pub fn push(&self, id: Option<String>, raw: String, mine: bool, note: &str) -> u64 {
        let key = self.key();
        let (author, text) = split_author(&raw);
        let line = Line {
            key,
            id,
            author,
            text,
            raw,
            mine,
            note: note.to_owned(),
        };
        self.lines.update(|lines| lines.push(line));
        key
    }

    fn set_note(&self, key: u64, note: String) {
        self.lines.update(|lines| {
            if let Some(line) = lines.iter_mut().find(|line| line.key == key) {
                line.note = note;
            }
        });
    }

    fn record(&self, entry: String) {
        let key = self.key();
        self.log.update(|log| {
            log.insert(0, (key, entry));
            log.truncate(40);
        });
    }
}

/// `("alice", "hi")` from `"alice: hi"`; messages without a name are by `someone`.
fn split_author(raw: &str) -> (String, String) {
    match raw.split_once(": ") {
        Some((name, text))
            if !name.is_empty()
                && name.len() <= 32
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)) =>
        {
            (name.to_owned(), text.to_owned())
        }
        _ => ("someone".to_owned(), raw.to_owned()),
    }
}

/// The badge's `data-state` and text of a connection state.
fn describe(state: &ConnectionState) -> (&'static str, String) {
    match state {
        ConnectionState::Connecting { .. } => ("connecting", "Connecting…".to_owned()),
        ConnectionState::Open => ("open", "Open".to_owned()),
        ConnectionState::Reconnecting { attempt, delay, .. } => (
            "reconnecting",
            format!(
                "Reconnecting · attempt {attempt} in {} ms",
                delay.as_millis()
            ),
        ),
        ConnectionState::Offline => ("offline", "Offline".to_owned()),
        ConnectionState::Refreshing => ("refreshing", "Refreshing token".to_owned()),
        ConnectionState::Closed { code, .. } => ("closed", format!("Closed ({code})")),
    }
}

/// Opens the room as `user` against the server that served the page, and runs the stream
/// and the outgoing messages until the page goes away.
pub fn start(user: String, chat: Chat, mut outgoing: UnboundedReceiver<Outgoing>) {
    spawn_local(async move {
        let origin = match window().location().origin() {
            Ok(origin) => origin,
            Err(_) => return chat.record("the page has no origin".to_owned()),
        };
        let socket_origin = origin.replacen("http", "ws", 1);
        let options = Options::new(
            format!("{origin}/rpc"),
            "onMessage",
            format!("{socket_origin}/chat-room"),
        )
        .on_notice(move |notice| match notice {
            Notice::State(state) => {
                chat.state.set(describe(state));
                if let ConnectionState::Reconnecting { attempt, delay, .. } = state {
                    chat.record(format!(
                        "reconnecting in {} ms (attempt {attempt})",
                        delay.as_millis()
                    ));
                } else if *state == ConnectionState::Open {
                    chat.record("open".to_owned());
                }
            }
            Notice::Resumed { last_event_id } => {
                chat.record(format!("resumed from id {last_event_id}"))
            }
            Notice::PossibleGap => chat.record("gap: some events may be missing".to_owned()),
            _ => {}
        });
        let options = match options.input(&serde_json::json!({ "userId": user })) {
            Ok(options) => options,
            Err(e) => return chat.record(format!("bad input: {e}")),
        };
        let mut events = match DurableIterator::<RoomEvent>::connect(options).await {
            Ok(events) => events,
            Err(e) => {
                chat.state.set(("closed", "Closed".to_owned()));
                return chat.record(format!("onMessage failed: {e}"));
            }
        };
        let mut sending = true;
        loop {
            // Whichever comes first; the other future is dropped (both are cancel-safe).
            let next = if sending {
                match select(events.next(), outgoing.next()).await {
                    Either::Left((event, _)) => Either::Left(event),
                    Either::Right((message, _)) => Either::Right(message),
                }
            } else {
                Either::Left(events.next().await)
            };
            match next {
                Either::Left(Some(Ok(event))) => {
                    let id = events.last_event_id().map(str::to_owned);
                    let mine = split_author(&event.message).0 == user;
                    let note = id.as_deref().map(|id| format!("#{id}")).unwrap_or_default();
                    chat.push(id.clone(), event.message, mine, &note);
                    chat.last_event_id.set(id);
                }
                Either::Left(Some(Err(e))) => {
                    chat.record(format!("the stream failed: {e}"));
                    break;
                }
                Either::Left(None) => break,
                Either::Right(Some(message)) => {
                    let call = events.rpc(["singleClient"]);
                    spawn_local(async move {
                        let body = serde_json::json!({ "message": message.raw });
                        let note = match call.call::<_, IgnoredAny>(&body).await {
                            Ok(_) => "sent".to_owned(),
                            Err(e) => format!("not sent: {e}"),
                        };
                        chat.set_note(message.key, note);
                    });
                }
                // The page dropped its sender: nothing more to send, keep reading.
                Either::Right(None) => sending = false,
            }
        }
        chat.state.set(("closed", "Closed".to_owned()));
    });
}
