//! The room as a Yew hook: `use_room` opens the durable iterator in a `use_effect_with`, runs
//! its `Stream` in a local task that feeds a reducer (events, connection state, log), and
//! sends typed messages through the object's `singleClient` method on the same socket.
//! Unmounting the component aborts the task, which drops the iterator and so closes it.

use std::rc::Rc;

use durable_iterator_wasm::{ConnectionState, DurableIterator, Notice, Options};
use futures::channel::mpsc::{unbounded, UnboundedReceiver, UnboundedSender};
use futures::future::{abortable, select, Either};
use futures::StreamExt;
use serde::de::IgnoredAny;
use serde::Deserialize;
use yew::prelude::*;

/// An event of the demo room: `{message}`, whose text starts with its author (`name: text`).
#[derive(Deserialize)]
struct RoomEvent {
    message: String,
}

/// One line of the feed.
#[derive(Clone, PartialEq)]
pub struct Line {
    /// Key for the list (unique per page).
    pub key: u64,
    /// Event id, for lines that came from the stream.
    pub id: Option<String>,
    /// The message as it travels (`author: text`).
    pub raw: String,
    /// Written in this tab.
    pub mine: bool,
    /// Delivery note of this tab's own lines, or the event id of the others.
    pub note: String,
}

/// What the page shows.
#[derive(Clone, PartialEq, Default)]
pub struct Room {
    /// The lines, oldest first.
    pub lines: Vec<Line>,
    /// `data-state` of the badge and its text.
    pub state: (&'static str, String),
    /// The id of the last event the stream yielded.
    pub last_event_id: Option<String>,
    /// Connection events, newest first.
    pub log: Vec<(u64, String)>,
    next_key: u64,
}

/// Everything that changes the room.
pub enum Action {
    /// An event from the stream.
    Event {
        id: Option<String>,
        raw: String,
        mine: bool,
    },
    /// A message typed here, before it is sent.
    Typed { key: u64, raw: String },
    /// The delivery note of a typed message.
    Note { key: u64, note: String },
    /// The connection state changed.
    State(ConnectionState),
    /// A line for the connection log.
    Log(String),
}

impl Reducible for Room {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut room = (*self).clone();
        match action {
            Action::Event { id, raw, mine } => {
                let key = room.key();
                let note = id.as_deref().map(|id| format!("#{id}")).unwrap_or_default();
                room.last_event_id = id.clone();
                room.lines.push(Line {
                    key,
                    id,
                    raw,
                    mine,
                    note,
                });
            }
            Action::Typed { key, raw } => room.lines.push(Line {
                key,
                id: None,
                raw,
                mine: true,
                note: "sending…".to_owned(),
            }),
            Action::Note { key, note } => {
                if let Some(line) = room.lines.iter_mut().find(|line| line.key == key) {
                    line.note = note;
                }
            }
            Action::State(state) => {
                if let ConnectionState::Reconnecting { attempt, delay, .. } = &state {
                    let entry = format!(
                        "reconnecting in {} ms (attempt {attempt})",
                        delay.as_millis()
                    );
                    room.record(entry);
                } else if state == ConnectionState::Open {
                    room.record("open".to_owned());
                }
                room.state = describe(&state);
            }
            Action::Log(entry) => room.record(entry),
        }
        Rc::new(room)
    }
}

impl Room {
    fn connecting() -> Self {
        Room {
            state: ("connecting", "Connecting…".to_owned()),
            ..Room::default()
        }
    }

    fn key(&mut self) -> u64 {
        self.next_key += 1;
        self.next_key
    }

    fn record(&mut self, entry: String) {
        let key = self.key();
        self.log.insert(0, (key, entry));
        self.log.truncate(40);
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

/// The room of `user` and a callback that sends a message as `user` (`Send` it the text).
#[hook]
pub fn use_room(user: String) -> (UseReducerHandle<Room>, Callback<String>) {
    let room = use_reducer(Room::connecting);
    // Created once: the sender for the send box, the receiver for the task.
    let channel = use_mut_ref(|| {
        let (sender, receiver) = unbounded::<(u64, String)>();
        (sender, Some(receiver))
    });
    let next_typed = use_mut_ref(|| u64::MAX / 2);

    {
        let dispatch = room.dispatcher();
        let channel = channel.clone();
        let user = user.clone();
        use_effect_with((), move |_| {
            let outgoing = channel.borrow_mut().1.take();
            let (task, abort) = abortable(follow(user, dispatch, outgoing));
            wasm_bindgen_futures::spawn_local(async move {
                let _ = task.await;
            });
            // Aborting drops the task and with it the iterator, which closes the socket.
            move || abort.abort()
        });
    }

    let send = {
        let dispatch = room.dispatcher();
        Callback::from(move |text: String| {
            let key = {
                let mut next = next_typed.borrow_mut();
                *next += 1;
                *next
            };
            let raw = format!("{user}: {text}");
            // singleClient reaches everyone but this tab: show our copy now.
            dispatch.dispatch(Action::Typed {
                key,
                raw: raw.clone(),
            });
            let sender: UnboundedSender<(u64, String)> = channel.borrow().0.clone();
            let _ = sender.unbounded_send((key, raw));
        })
    };
    (room, send)
}

/// Opens the room against the server that served the page and runs the stream and the
/// outgoing messages until the task is aborted or the stream ends.
async fn follow(
    user: String,
    dispatch: UseReducerDispatcher<Room>,
    outgoing: Option<UnboundedReceiver<(u64, String)>>,
) {
    let log = |entry: String| dispatch.dispatch(Action::Log(entry));
    let Ok(origin) = web_sys::window().map_or(Err(()), |w| w.location().origin().map_err(drop))
    else {
        return log("the page has no origin".to_owned());
    };
    let socket_origin = origin.replacen("http", "ws", 1);
    let notices = dispatch.clone();
    let options = Options::new(
        format!("{origin}/rpc"),
        "onMessage",
        format!("{socket_origin}/chat-room"),
    )
    .on_notice(move |notice| match notice {
        Notice::State(state) => notices.dispatch(Action::State(state.clone())),
        Notice::Resumed { last_event_id } => {
            notices.dispatch(Action::Log(format!("resumed from id {last_event_id}")))
        }
        Notice::PossibleGap => {
            notices.dispatch(Action::Log("gap: some events may be missing".to_owned()))
        }
        _ => {}
    });
    let options = match options.input(&serde_json::json!({ "userId": user })) {
        Ok(options) => options,
        Err(e) => return log(format!("bad input: {e}")),
    };
    let mut events = match DurableIterator::<RoomEvent>::connect(options).await {
        Ok(events) => events,
        Err(e) => {
            dispatch.dispatch(Action::State(ConnectionState::Closed {
                code: 1006,
                reason: e.to_string(),
            }));
            return log(format!("onMessage failed: {e}"));
        }
    };
    let mut outgoing = outgoing;
    let prefix = format!("{user}: ");
    loop {
        // Whichever comes first; the other future is dropped (both are cancel-safe).
        let next = match outgoing.as_mut() {
            Some(typed) => match select(events.next(), typed.next()).await {
                Either::Left((event, _)) => Either::Left(event),
                Either::Right((message, _)) => Either::Right(message),
            },
            None => Either::Left(events.next().await),
        };
        match next {
            Either::Left(Some(Ok(event))) => {
                let id = events.last_event_id().map(str::to_owned);
                let mine = event.message.starts_with(&prefix);
                dispatch.dispatch(Action::Event {
                    id,
                    raw: event.message,
                    mine,
                });
            }
            Either::Left(Some(Err(e))) => {
                log(format!("the stream failed: {e}"));
                break;
            }
            Either::Left(None) => break,
            Either::Right(Some((key, raw))) => {
                let call = events.rpc(["singleClient"]);
                let dispatch = dispatch.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    let body = serde_json::json!({ "message": raw });
                    let note = match call.call::<_, IgnoredAny>(&body).await {
                        Ok(_) => "sent".to_owned(),
                        Err(e) => format!("not sent: {e}"),
                    };
                    dispatch.dispatch(Action::Note { key, note });
                });
            }
            // The page dropped its sender: nothing more to send, keep reading.
            Either::Right(None) => outgoing = None,
        }
    }
    dispatch.dispatch(Action::State(ConnectionState::Closed {
        code: 1000,
        reason: String::new(),
    }));
}
