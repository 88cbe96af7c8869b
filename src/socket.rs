//! The browser `WebSocket`, owned by a Rust value: its handlers live exactly as long as the
//! [`BrowserSocket`], and dropping it detaches them and closes the connection, so a reconnect
//! can never leave a stale socket feeding events into the engine. The socket itself lives in
//! the page's socket worker ([`crate::socket_worker`]) by default, or on the page.

use std::rc::Rc;

use durable_iterator_protocol::client::SocketId;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{BinaryType, CloseEvent, Event, MessageEvent, WebSocket};

use crate::socket_worker::WorkerSocket;

/// What a socket reports, tagged with the engine's name for it so events of a socket that was
/// already replaced are recognised (and ignored by the engine).
#[derive(Debug)]
pub enum SocketEvent {
    /// The connection is open.
    Opened(SocketId),
    /// A text frame arrived.
    Text(SocketId, String),
    /// A binary frame arrived.
    Binary(SocketId, Vec<u8>),
    /// The connection closed (or failed to open: browsers report that as a close, code 1006).
    Closed(SocketId, u16, String),
}

/// Where a socket's events go.
pub type SocketSink = Rc<dyn Fn(SocketEvent)>;

/// One open (or opening) WebSocket, in the socket worker or on the page.
pub struct BrowserSocket {
    transport: Transport,
}

enum Transport {
    Page(PageSocket),
    Worker(WorkerSocket),
}

impl BrowserSocket {
    /// Opens a socket to `url`; its events go to `sink`, tagged with `id`. `constructor` is a
    /// `WebSocket`-compatible class for hosts without a global one (Node: the `ws` package),
    /// used as is on this thread; without one, `off_main_thread` asks for the socket worker,
    /// and where none can run the socket opens on the page.
    pub fn open(
        url: &str,
        id: SocketId,
        constructor: Option<&js_sys::Function>,
        off_main_thread: bool,
        sink: SocketSink,
    ) -> Result<Self, JsValue> {
        if constructor.is_none() && off_main_thread {
            if let Ok(socket) = WorkerSocket::open(url, id, sink.clone()) {
                return Ok(BrowserSocket {
                    transport: Transport::Worker(socket),
                });
            }
        }
        Ok(BrowserSocket {
            transport: Transport::Page(PageSocket::open(url, id, constructor, sink)?),
        })
    }

    /// Sends a text frame; a socket that is not open drops it (the engine resends what matters
    /// after the next open).
    pub fn send_text(&self, text: &str) -> Result<(), JsValue> {
        match &self.transport {
            Transport::Page(socket) => socket.socket.send_with_str(text),
            Transport::Worker(socket) => socket.send_text(text),
        }
    }

    /// Starts the closing handshake with `code` and `reason`.
    pub fn close(&mut self, code: u16, reason: &str) {
        // Only 1000 and 3000-4999 may be sent by scripts; anything else would throw.
        let code = if code == 1000 || (3000..=4999).contains(&code) {
            code
        } else {
            1000
        };
        match &mut self.transport {
            Transport::Page(socket) => socket.close(code, reason),
            Transport::Worker(socket) => socket.close(code, reason),
        }
    }
}

/// A WebSocket on the page with its handlers.
struct PageSocket {
    socket: WebSocket,
    _on_open: Closure<dyn FnMut(Event)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
    closed: bool,
}

impl PageSocket {
    fn open(
        url: &str,
        id: SocketId,
        constructor: Option<&js_sys::Function>,
        sink: SocketSink,
    ) -> Result<Self, JsValue> {
        let socket: WebSocket = match constructor {
            Some(class) => {
                js_sys::Reflect::construct(class, &js_sys::Array::of1(&JsValue::from_str(url)))?
                    .unchecked_into()
            }
            None => WebSocket::new(url)?,
        };
        socket.set_binary_type(BinaryType::Arraybuffer);

        let events = sink.clone();
        let on_open = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            events(SocketEvent::Opened(id));
        });
        let events = sink.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let data = event.data();
            let message = if let Some(text) = data.as_string() {
                SocketEvent::Text(id, text)
            } else if let Ok(buffer) = data.dyn_into::<js_sys::ArrayBuffer>() {
                SocketEvent::Binary(id, js_sys::Uint8Array::new(&buffer).to_vec())
            } else {
                return;
            };
            events(message);
        });
        // A failed open fires `error` and then `close` (code 1006): `close` alone is enough.
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
            sink(SocketEvent::Closed(id, event.code(), event.reason()));
        });
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(PageSocket {
            socket,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
            closed: false,
        })
    }

    fn close(&mut self, code: u16, reason: &str) {
        if !self.closed {
            self.closed = true;
            let _ = self.socket.close_with_code_and_reason(code, reason);
        }
    }
}

impl Drop for PageSocket {
    fn drop(&mut self) {
        self.socket.set_onopen(None);
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        self.close(1000, "");
    }
}
