//! Test-only endpoints, mounted with `--test-endpoints` (off by default). They let tests and
//! benchmarks drive the object from outside:
//!
//! - `POST /test/publish` `{"channel":"some-room","count":N,"size":S,"tags"?:[..]}` publishes
//!   N events `{"seq":k,"pad":"xxx…"}` (k from 1; the pad makes each payload about S bytes)
//!   and answers `{"published":N,"firstId":"..","lastId":".."}` (decimal strings; null when
//!   resume is off). The burst is paced: between chunks it waits (at most 5 s) while a
//!   subscriber's queue is nearly full, so a benchmark burst does not trip the slow-consumer
//!   rule by itself; a consumer that stays stuck is still closed. For benchmarks: `"rate":R`
//!   publishes at a steady R events/s instead of a burst (the answer comes when the last is
//!   out), and `"stamp":true` adds `"t"`, the publish time in ms since the epoch (fractional),
//!   to every payload: `{"seq":k,"t":..,"pad":".."}`.
//! - `POST /test/drop` `{"channel":"some-room","id"?:clientId}` drops every socket of the
//!   channel (or only those of client `id`) without a close frame (a simulated network loss)
//!   and answers `{"dropped":N}`.
//! - `GET /test/sockets?channel=some-room` answers `{"sockets":[{"id","conn","tags","att",
//!   "exp","subscribed","queued"}]}`: `id` is the client id, `conn` a per-connection serial
//!   number (a token refresh over the open socket keeps it, a reconnect gets a new one),
//!   `queued` what waits in the socket's queue.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use durable_iterator_protocol::RichBody;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::clock::now_ms;
use crate::hub::Server;
use crate::publish::PublishOptions;

/// Most events one `/test/publish` call may ask for.
const MAX_COUNT: usize = 1_000_000;
/// Largest event one `/test/publish` call may ask for.
const MAX_SIZE: usize = 16 * 1024 * 1024;
/// Longest a paced burst waits for one full queue to drain.
const MAX_PACE_WAIT: Duration = Duration::from_secs(5);

/// The test routes.
pub(crate) fn routes() -> Router<Server> {
    Router::new()
        .route("/test/publish", post(publish))
        .route("/test/drop", post(drop_sockets))
        .route("/test/sockets", get(sockets))
}

#[derive(Deserialize)]
struct PublishRequest {
    channel: String,
    count: usize,
    #[serde(default)]
    size: usize,
    #[serde(default)]
    tags: Option<Vec<String>>,
    /// Steady events per second instead of a burst.
    #[serde(default)]
    rate: Option<f64>,
    /// Whether payloads carry their publish time.
    #[serde(default)]
    stamp: bool,
}

#[derive(Deserialize)]
struct ChannelRequest {
    channel: String,
}

async fn publish(State(server): State<Server>, body: Bytes) -> Response {
    let request: PublishRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => return bad_request(&e.to_string()),
    };
    if request.count > MAX_COUNT || request.size > MAX_SIZE {
        return bad_request(&format!(
            "count must be <= {MAX_COUNT} and size <= {MAX_SIZE}"
        ));
    }
    let channel = server.channel(&request.channel);
    let options = PublishOptions {
        tags: request.tags,
        ..PublishOptions::default()
    };
    let capacity = server.config().max_queued_events;
    let chunk = (capacity / 4).clamp(1, 256);
    let rate = request.rate.filter(|r| r.is_finite() && *r > 0.0);
    let started = Instant::now();
    let (mut first_id, mut last_id) = (None, None);
    let mut seq = 1;
    while seq <= request.count {
        let end = match rate {
            // Everything due by now (at least one), then a short sleep: a steady stream.
            Some(rate) => {
                let due = (started.elapsed().as_secs_f64() * rate) as usize + 1;
                if due < seq {
                    tokio::time::sleep(Duration::from_micros(500)).await;
                    continue;
                }
                due.min(request.count) + 1
            }
            None => (seq + chunk).min(request.count + 1),
        };
        let deadline = Instant::now() + MAX_PACE_WAIT;
        while channel.max_queued() + (end - seq) > capacity && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let stamp = request.stamp.then(wall_clock_ms);
        let payloads: Vec<String> = (seq..end)
            .map(|k| event_body(k, request.size, stamp))
            .collect();
        let receipt = channel.publish(&payloads, &options, now_ms());
        first_id = first_id.or(receipt.first_id);
        last_id = receipt.last_id.or(last_id);
        seq = end;
    }
    Json(json!({
        "published": request.count,
        "firstId": first_id.map(|id| id.to_string()),
        "lastId": last_id.map(|id| id.to_string()),
    }))
    .into_response()
}

/// `{"json":{"seq":k,"pad":"xx…"}}` (with `"t"` after `seq` when stamped) whose payload is
/// about `size` bytes.
fn event_body(seq: usize, size: usize, stamp: Option<f64>) -> String {
    let payload = |pad: &str| match stamp {
        Some(t) => json!({ "seq": seq, "t": t, "pad": pad }),
        None => json!({ "seq": seq, "pad": pad }),
    };
    let bare = payload("").to_string().len();
    RichBody::plain(payload(&"x".repeat(size.saturating_sub(bare)))).to_json_string()
}

/// Milliseconds since the Unix epoch with microsecond precision, comparable with a browser's
/// `performance.timeOrigin + performance.now()` on the same machine.
fn wall_clock_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

#[derive(Deserialize)]
struct DropRequest {
    channel: String,
    /// Only this client's sockets, so one tab or test can lose its connection alone.
    #[serde(default)]
    id: Option<String>,
}

async fn drop_sockets(State(server): State<Server>, body: Bytes) -> Response {
    match serde_json::from_slice::<DropRequest>(&body) {
        Ok(request) => {
            let dropped = match &request.id {
                Some(id) => server.drop_client(&request.channel, id),
                None => server.drop_sockets(&request.channel),
            };
            Json(json!({ "dropped": dropped })).into_response()
        }
        Err(e) => bad_request(&e.to_string()),
    }
}

async fn sockets(State(server): State<Server>, Query(request): Query<ChannelRequest>) -> Response {
    let sockets: Vec<Value> = server
        .sockets(&request.channel)
        .into_iter()
        .map(|s| {
            json!({
                "id": s.client_id,
                "conn": s.conn,
                "tags": s.tags,
                "att": s.att,
                "exp": s.exp,
                "subscribed": s.subscribed,
                "queued": s.queued,
            })
        })
        .collect();
    Json(json!({ "sockets": sockets })).into_response()
}

fn bad_request(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": message }))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_events_have_about_the_asked_size() {
        let body = event_body(7, 100, None);
        let payload = &body["{\"json\":".len()..body.len() - 1];
        assert_eq!(payload.len(), 100);
        assert!(event_body(1, 0, None).contains("\"pad\":\"\""));
        let stamped = event_body(7, 100, Some(1_700_000_000_123.5));
        assert!(stamped.starts_with("{\"json\":{\"seq\":7,\"t\":1700000000123.5,\"pad\":\"x"));
        assert_eq!(stamped.len(), body.len());
    }
}
