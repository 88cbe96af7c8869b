//! Sockets off the main thread. A browser dispatches every WebSocket message as its own task on
//! the thread that owns the socket; at thousands of small events per second that dispatch, not
//! the client's work, limits the page. So by default every iterator of the page opens its socket
//! in one shared dedicated worker (`socket_worker.js`, started from a blob URL so no extra file
//! has to be served), which forwards frames in batches: one page task per batch, however many
//! frames it carries.
//!
//! Messages are arrays, the cheapest to build from wasm. Page to worker: `[0]` acknowledges a
//! batch, `[1, id, url]` opens, `[2, id, data]` sends, `[3, id, code, reason]` closes. Worker
//! to page: a batch `[[id, kind, a, b], ...]` with kind 0 = open, 1 = message (a: string or
//! ArrayBuffer), 2 = closed (a: code, b: reason). Until the page has acknowledged a batch the
//! worker collects the next one, so a page that keeps up gets each frame at once and a busy
//! page gets one batch per task.
//!
//! A page whose thread is blocked no longer slows the socket down (the worker keeps reading), so
//! the worker bounds what waits for the page: past 64 MiB of frames it closes that socket and
//! reports code 1013, as the server does for a slow consumer; the engine reconnects and resumes
//! after the last event the page took.
//!
//! Where no worker can start (no `Worker`, or a Content-Security-Policy without
//! `worker-src blob:`) [`WorkerSocket::open`] fails and the caller opens a page socket instead;
//! a worker that fails later is abandoned: its sockets report an abnormal close, so the engine
//! reconnects, on the page.

use std::cell::{Cell, RefCell};

use durable_iterator_protocol::client::SocketId;
use gloo_timers::callback::Timeout;
use js_sys::Array;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Blob, BlobPropertyBag, Event, MessageEvent, Url, Worker, WorkerOptions, WorkerType};

use crate::socket::{SocketEvent, SocketSink};

/// The worker's program.
const PROGRAM: &str = include_str!("socket_worker.js");

/// How long the worker outlives its last socket (a reconnect usually comes much sooner).
const IDLE_TERMINATE_MS: u32 = 30_000;

/// Report kinds of `socket_worker.js`.
const OPENED: u32 = 0;
const MESSAGE: u32 = 1;
const CLOSED: u32 = 2;

/// Commands to `socket_worker.js`.
const ACK: u32 = 0;
const OPEN: u32 = 1;
const SEND: u32 = 2;
const CLOSE: u32 = 3;

thread_local! {
    static HOST: RefCell<Option<Host>> = const { RefCell::new(None) };
    /// Set once a worker could not start or failed: later sockets stay on the page.
    static BROKEN: Cell<bool> = const { Cell::new(false) };
    static NEXT_ID: Cell<u32> = const { Cell::new(1) };
}

/// The page's socket worker and the sockets it carries.
struct Host {
    worker: Worker,
    /// A page has a handful of iterators: a list is smaller than a map and as fast.
    sockets: Vec<(u32, SocketId, SocketSink)>,
    idle: Option<Timeout>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(Event)>,
}

impl Drop for Host {
    fn drop(&mut self) {
        self.worker.set_onmessage(None);
        self.worker.set_onerror(None);
        self.worker.terminate();
    }
}

/// One WebSocket living in the page's socket worker. Dropping it closes the connection and
/// detaches it: nothing it reports afterwards reaches the sink.
pub struct WorkerSocket {
    id: u32,
    closed: bool,
}

impl WorkerSocket {
    /// Opens a socket to `url` in the worker (starting the worker if needed); its events go to
    /// `sink`, tagged with `socket`. Fails where workers are unavailable or blocked.
    pub fn open(url: &str, socket: SocketId, sink: SocketSink) -> Result<Self, JsValue> {
        if BROKEN.with(Cell::get) {
            return Err(JsValue::from_str("the socket worker is unavailable"));
        }
        let id = NEXT_ID.with(|next| {
            let id = next.get();
            next.set(id.wrapping_add(1).max(1));
            id
        });
        let worker = HOST.with(|host| -> Result<Worker, JsValue> {
            let mut host = host.borrow_mut();
            if host.is_none() {
                *host = Some(start().inspect_err(|_| BROKEN.with(|b| b.set(true)))?);
            }
            let Some(host) = host.as_mut() else {
                return Err(JsValue::from_str("the socket worker is unavailable"));
            };
            host.idle = None;
            host.sockets.push((id, socket, sink));
            Ok(host.worker.clone())
        })?;
        if let Err(error) = post(&worker, &[OPEN.into(), id.into(), url.into()]) {
            forget(id);
            return Err(error);
        }
        Ok(WorkerSocket { id, closed: false })
    }

    /// Sends a text frame; one sent before the socket opened is dropped by the worker.
    pub fn send_text(&self, text: &str) -> Result<(), JsValue> {
        match worker() {
            Some(worker) => post(&worker, &[SEND.into(), self.id.into(), text.into()]),
            None => Err(JsValue::from_str("the socket worker is gone")),
        }
    }

    /// Starts the closing handshake with `code` (already one a script may send) and `reason`.
    pub fn close(&mut self, code: u16, reason: &str) {
        if self.closed {
            return;
        }
        self.closed = true;
        if let Some(worker) = worker() {
            let _ = post(
                &worker,
                &[CLOSE.into(), self.id.into(), code.into(), reason.into()],
            );
        }
    }
}

impl Drop for WorkerSocket {
    fn drop(&mut self) {
        self.close(1000, "");
        forget(self.id);
    }
}

fn worker() -> Option<Worker> {
    HOST.with(|host| host.borrow().as_ref().map(|h| h.worker.clone()))
}

fn post(worker: &Worker, command: &[JsValue]) -> Result<(), JsValue> {
    let message = Array::new();
    for part in command {
        message.push(part);
    }
    worker.post_message(&message)
}

fn start() -> Result<Host, JsValue> {
    let parts = Array::of1(&JsValue::from_str(PROGRAM));
    let kind = BlobPropertyBag::new();
    kind.set_type("text/javascript");
    let blob = Blob::new_with_str_sequence_and_options(&parts, &kind)?;
    let url = Url::create_object_url_with_blob(&blob)?;
    let options = WorkerOptions::new();
    // A module worker, because some hosts (Deno) have only those; the program imports nothing.
    options.set_type(WorkerType::Module);
    options.set_name("durable-iterator-sockets");
    let worker = Worker::new_with_options(&url, &options);
    let _ = Url::revoke_object_url(&url);
    let worker = worker?;
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(on_batch);
    let on_error = Closure::<dyn FnMut(Event)>::new(|event: Event| {
        event.prevent_default();
        abandon("the socket worker failed");
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    Ok(Host {
        worker,
        sockets: Vec::new(),
        idle: None,
        _on_message: on_message,
        _on_error: on_error,
    })
}

/// Hands each report of a batch to its socket's sink, then acknowledges the batch. Sinks run
/// outside any borrow of the host: they may open, drop or close sockets.
fn on_batch(event: MessageEvent) {
    let batch: Array = match event.data().dyn_into() {
        Ok(batch) => batch,
        Err(_) => return acknowledge(),
    };
    for record in batch.iter() {
        let Ok(record) = record.dyn_into::<Array>() else {
            continue;
        };
        let Some(id) = record.get(0).as_f64().map(|id| id as u32) else {
            continue;
        };
        let target = HOST.with(|host| {
            host.borrow().as_ref().and_then(|h| {
                h.sockets
                    .iter()
                    .find(|(known, ..)| *known == id)
                    .map(|(_, socket, sink)| (*socket, sink.clone()))
            })
        });
        let Some((socket, sink)) = target else {
            continue;
        };
        let report = match record.get(1).as_f64().map(|kind| kind as u32) {
            Some(OPENED) => SocketEvent::Opened(socket),
            Some(MESSAGE) => {
                let data = record.get(2);
                if let Some(text) = data.as_string() {
                    SocketEvent::Text(socket, text)
                } else if let Ok(buffer) = data.dyn_into::<js_sys::ArrayBuffer>() {
                    SocketEvent::Binary(socket, js_sys::Uint8Array::new(&buffer).to_vec())
                } else {
                    continue;
                }
            }
            Some(CLOSED) => {
                forget(id);
                let code = record.get(2).as_f64().map_or(1006, |code| code as u16);
                SocketEvent::Closed(socket, code, record.get(3).as_string().unwrap_or_default())
            }
            _ => continue,
        };
        sink(report);
    }
    acknowledge();
}

fn acknowledge() {
    if let Some(worker) = worker() {
        let _ = post(&worker, &[ACK.into()]);
    }
}

/// Stops routing reports to socket `id`; the last socket gone arms the idle timer.
fn forget(id: u32) {
    HOST.with(|host| {
        let mut host = host.borrow_mut();
        let Some(h) = host.as_mut() else {
            return;
        };
        h.sockets.retain(|(known, ..)| *known != id);
        if h.sockets.is_empty() && h.idle.is_none() {
            h.idle = Some(Timeout::new(IDLE_TERMINATE_MS, || {
                // Dropping the host terminates the worker, unless a socket came meanwhile.
                let idle_host = HOST.with(|host| {
                    let mut host = host.borrow_mut();
                    match host.as_ref() {
                        Some(h) if h.sockets.is_empty() => host.take(),
                        _ => None,
                    }
                });
                drop(idle_host);
            }));
        }
    });
}

/// Gives up on the worker: its sockets report an abnormal close (the engine reconnects) and
/// later sockets stay on the page.
fn abandon(reason: &str) {
    BROKEN.with(|b| b.set(true));
    let Some(mut host) = HOST.with(|host| host.borrow_mut().take()) else {
        return;
    };
    let sockets = std::mem::take(&mut host.sockets);
    // Dropping the host inside its own error handler is fine: the closure's memory is only
    // released after the handler returns (wasm-bindgen keeps it alive while it runs).
    drop(host);
    for (_, socket, sink) in sockets {
        sink(SocketEvent::Closed(socket, 1006, reason.to_owned()));
    }
}
