//! The object URL: `upgradeDurableIteratorRequest` and the object's `fetch` in one handler
//! (PROTOCOL.md section 5). Refusals are plain text with upstream's exact statuses and bodies,
//! checked in upstream's order.

use std::sync::Arc;

use axum::extract::ws::{rejection::WebSocketUpgradeRejection, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use durable_iterator_protocol::consts::{
    ID_PARAM, TOKEN_PARAM, UPGRADE_EXPECTED_WEBSOCKET, UPGRADE_ID_REQUIRED, UPGRADE_INVALID_TOKEN,
    UPGRADE_TOKEN_REQUIRED,
};
use durable_iterator_protocol::verify_token;
use tokio::sync::mpsc;

use crate::clock::now_seconds;
use crate::hub::Server;
use crate::object::SocketEntry;
use crate::peer::Peer;
use crate::queue::Control;
use crate::socket::{self, Connection};

/// What workerd sends for a plain-text `Response`.
pub(crate) const TEXT_PLAIN: &str = "text/plain;charset=UTF-8";

/// Read buffer per socket. Requests are small; tungstenite grows it for larger frames.
const READ_BUFFER_BYTES: usize = 4 * 1024;

/// Handles `GET /chat-room?id=...&token=...`.
pub(crate) async fn handle(
    State(server): State<Server>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let is_websocket = headers
        .get(header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    if !is_websocket {
        return text(StatusCode::UPGRADE_REQUIRED, UPGRADE_EXPECTED_WEBSOCKET);
    }

    // The last occurrence wins, as `searchParams.getAll(...).at(-1)` does upstream.
    let mut id = None;
    let mut token = None;
    for (key, value) in form_urlencoded::parse(query.as_deref().unwrap_or_default().as_bytes()) {
        if key == ID_PARAM {
            id = Some(value.into_owned());
        } else if key == TOKEN_PARAM {
            token = Some(value.into_owned());
        }
    }
    let Some(client_id) = id else {
        return text(StatusCode::UNAUTHORIZED, UPGRADE_ID_REQUIRED);
    };
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return text(StatusCode::UNAUTHORIZED, UPGRADE_TOKEN_REQUIRED);
    };
    let config = server.config();
    let Ok(payload) = verify_token(&token, &config.signing_key, now_seconds()) else {
        return text(StatusCode::UNAUTHORIZED, UPGRADE_INVALID_TOKEN);
    };
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };

    let max_queued = config.max_queued_events;
    let upgrade = upgrade
        .max_message_size(config.max_frame_bytes)
        .max_frame_size(config.max_frame_bytes)
        .read_buffer_size(READ_BUFFER_BYTES);
    upgrade.on_upgrade(move |websocket| async move {
        let channel = server.channel(&payload.chn);
        let conn = server.next_conn();
        let client_id: Arc<str> = client_id.into();
        let (tx, rx) = mpsc::channel(max_queued);
        let control = Arc::new(Control::default());
        channel.register(
            conn,
            SocketEntry {
                client_id: Arc::clone(&client_id),
                tags: payload.tags.clone(),
                att: payload.att.clone(),
                exp: payload.exp,
                subscription: None,
                tx,
                control: Arc::clone(&control),
            },
        );
        let peer = Peer {
            server,
            channel,
            conn,
            client_id,
            token: payload,
        };
        socket::run(websocket, Connection { peer, rx, control }).await;
    })
}

/// A plain-text response as the upstream worker sends it.
pub(crate) fn text(status: StatusCode, body: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, TEXT_PLAIN)], body).into_response()
}
