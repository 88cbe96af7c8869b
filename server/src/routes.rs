//! The HTTP surface, assembled in one place.

use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::any;
use axum::Router;
use tower_http::cors::CorsLayer;
use tower_http::services::ServeDir;

use crate::hub::Server;
use crate::upgrade::text;
use crate::{rpc_http, test_endpoints, upgrade};

/// Where the object is reached (the demo's `upgradeDurableIteratorRequest` URL).
pub const OBJECT_PATH: &str = "/chat-room";

/// `/chat-room` (object), `/rpc/...` (app procedures, CORS open so pages served from other
/// local ports can call them), `/test/...` when enabled, and the static directory or a 404.
pub(crate) fn router(server: Server) -> Router {
    let cors = CorsLayer::permissive();
    let mut router = Router::new()
        .route(OBJECT_PATH, any(upgrade::handle))
        .route("/rpc/{*path}", any(rpc_http::handle).layer(cors.clone()));
    if server.config().test_endpoints {
        router = router.merge(test_endpoints::routes().layer(cors));
    }
    router = match &server.config().static_dir {
        Some(dir) => router.fallback_service(ServeDir::new(dir)),
        None => router.fallback(not_found),
    };
    router.with_state(server)
}

async fn not_found() -> Response {
    text(StatusCode::NOT_FOUND, "Not Found")
}
