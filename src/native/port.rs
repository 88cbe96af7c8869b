//! The native side of the transport port (`crate::port`): the Tokio driver behind the one
//! Rust front end. Values shared with the driver task are `Arc` and `Send + Sync`.

use std::task::{Context, Poll};

use durable_iterator_protocol::client::{EngineOptions, Event};

use super::driver::{self, DriverConfig};
use crate::error::Error;
use crate::port::Start;
use crate::procedure::{ProcedureCall, ProcedureOutput};

pub(crate) use super::driver::{BoxFuture, EventStream, Handle, NoticeFn, RefreshFn};
pub(crate) use super::tls::TransportOptions;

/// How front-end values are shared with the driver task.
pub(crate) type Shared<T> = std::sync::Arc<T>;

/// Starts the driver task on the current Tokio runtime; the socket opens right away.
pub(crate) fn start(
    engine: EngineOptions,
    token: String,
    start: Start,
) -> Result<(Handle, EventStream), Error> {
    let config = DriverConfig {
        url: start.object_url,
        refresh: start.refresh,
        on_notice: start.on_notice,
        tls: start.transport.client_config()?,
    };
    driver::start(engine, token, start.last_event_id, config)
}

/// The next event from the driver task.
pub(crate) fn poll_event(
    events: &mut EventStream,
    cx: &mut Context<'_>,
) -> Poll<Option<Result<Event, Error>>> {
    events.poll_recv(cx)
}

/// Calls an app-server procedure over HTTP(S).
pub(crate) async fn call_procedure(
    call: &ProcedureCall,
    transport: &TransportOptions,
) -> Result<ProcedureOutput, Error> {
    super::http::send(call, transport).await
}
