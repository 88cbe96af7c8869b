//! The browser side of the transport port (`crate::port`): the page's driver behind the one
//! Rust front end. Everything stays on the page's thread, so shared values are `Rc`.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use durable_iterator_protocol::client::{
    CallId, CallRequest, ConnectionState, EngineOptions, Event,
};
use durable_iterator_protocol::{RawJson, TokenPayload};
use futures_channel::oneshot;
use futures_core::Stream;

use crate::call::CallPort;
use crate::driver::{Driver, DriverConfig};
use crate::error::Error;
use crate::port::{Port, Start};
use crate::procedure::{ProcedureCall, ProcedureOutput};

pub(crate) use crate::driver::{EventStream, NoticeFn, RefreshFn};

/// How front-end values are shared with the driver.
pub(crate) type Shared<T> = Rc<T>;

/// A future the driver can hold.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// The iterator's handle on its driver.
pub(crate) type Handle = Rc<Driver>;

/// The browser's own settings.
#[derive(Debug, Clone)]
pub(crate) struct TransportOptions {
    /// Whether the socket may live in the page's socket worker.
    pub(crate) off_main_thread: bool,
}

impl Default for TransportOptions {
    fn default() -> Self {
        TransportOptions {
            off_main_thread: true,
        }
    }
}

/// Starts the page's driver; the socket opens right away.
pub(crate) fn start(
    engine: EngineOptions,
    token: String,
    start: Start,
) -> Result<(Handle, EventStream), Error> {
    let object_url = start.object_url;
    let config = DriverConfig {
        url: Rc::new(move |payload| Ok(object_url(payload))),
        refresh: start.refresh,
        websocket: None,
        off_main_thread: start.transport.off_main_thread,
        on_notice: start.on_notice,
        client_id: None,
    };
    Driver::start(engine, token, start.last_event_id, config)
}

/// The next event from the driver.
pub(crate) fn poll_event(
    events: &mut EventStream,
    cx: &mut Context<'_>,
) -> Poll<Option<Result<Event, Error>>> {
    Pin::new(events).poll_next(cx)
}

/// Calls an app-server procedure with `fetch`.
pub(crate) async fn call_procedure(
    call: &ProcedureCall,
    _transport: &TransportOptions,
) -> Result<ProcedureOutput, Error> {
    call.send(None).await
}

impl Port for Rc<Driver> {
    fn stop(&self) {
        Driver::stop(self);
    }

    fn state(&self) -> ConnectionState {
        self.with_engine(|engine| engine.engine().state().clone())
    }

    fn token_payload(&self) -> TokenPayload {
        self.with_engine(|engine| engine.token_payload().clone())
    }

    fn client_id(&self) -> String {
        self.with_engine(|engine| engine.engine().client_id().to_owned())
    }
}

impl CallPort for Rc<Driver> {
    type Ticket = CallId;
    type Answer = oneshot::Receiver<Result<RawJson, Error>>;

    fn start(&self, request: CallRequest) -> Result<(CallId, Self::Answer), Error> {
        self.call(request)
    }

    fn abort(&self, call: CallId) {
        self.abort_call(call);
    }
}
