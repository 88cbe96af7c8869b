//! Page and network signals that should change reconnect behaviour: coming back online or to
//! a visible page means "try now" instead of waiting out a long backoff, and being offline
//! means "do not burn attempts". Listeners are owned and removed when [`PageSignals`] drops.

use std::rc::Rc;

use gloo_events::EventListener;
use wasm_bindgen::JsCast;

/// A change the driver forwards to the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageSignal {
    /// The browser reports network connectivity again (`online`).
    Online,
    /// The browser reports no network (`offline`).
    Offline,
    /// The page became visible again or was restored from the back/forward cache.
    Visible,
}

/// The listeners for [`PageSignal`]s; dropping this removes them.
pub struct PageSignals {
    _listeners: Vec<EventListener>,
}

impl PageSignals {
    /// Listens on the current window and document, when there are any (there are none in a
    /// worker or in Node, where this quietly listens to nothing).
    pub fn listen(sink: Rc<dyn Fn(PageSignal)>) -> Self {
        let mut listeners = Vec::new();
        let global = js_sys::global();
        if let Some(window) = global.dyn_ref::<web_sys::Window>() {
            for (name, signal) in [
                ("online", PageSignal::Online),
                ("offline", PageSignal::Offline),
                ("pageshow", PageSignal::Visible),
            ] {
                let sink = sink.clone();
                listeners.push(EventListener::new(window, name, move |_| {
                    sink(signal);
                }));
            }
            if let Some(document) = window.document() {
                let watched = document.clone();
                listeners.push(EventListener::new(
                    &document,
                    "visibilitychange",
                    move |_| {
                        if watched.visibility_state() == web_sys::VisibilityState::Visible {
                            sink(PageSignal::Visible);
                        }
                    },
                ));
            }
        }
        PageSignals {
            _listeners: listeners,
        }
    }

    /// Whether the browser currently believes it is offline (`navigator.onLine === false`).
    pub fn is_offline() -> bool {
        js_sys::global()
            .dyn_ref::<web_sys::Window>()
            .is_some_and(|window| !window.navigator().on_line())
    }
}
