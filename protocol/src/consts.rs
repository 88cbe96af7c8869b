//! Wire names, byte-identical to oRPC's `packages/durable-iterator/src/consts.ts` and the peer
//! protocol. Client and server both take them from here so the two can never drift apart.

/// Query parameter that carries the signed token on the object upgrade URL.
pub const TOKEN_PARAM: &str = "token";
/// Query parameter that carries the client id on the object upgrade URL.
pub const ID_PARAM: &str = "id";
/// Response header the app server sets when a procedure returned a durable iterator token.
pub const PLUGIN_HEADER_KEY: &str = "x-orpc-durable-iterator";
/// Value of [`PLUGIN_HEADER_KEY`] that marks a durable iterator response.
pub const PLUGIN_HEADER_VALUE: &str = "1";
/// Request header a subscriber uses to ask for events after this id.
pub const LAST_EVENT_ID_HEADER: &str = "last-event-id";
/// Header naming the body's media type.
pub const CONTENT_TYPE_HEADER: &str = "content-type";
/// Content type of a response that opens an event stream on the socket.
pub const EVENT_STREAM_CONTENT_TYPE: &str = "text/event-stream";
/// Content type of oRPC RPC-over-HTTP bodies.
pub const JSON_CONTENT_TYPE: &str = "application/json";

/// Object procedure that streams events, with replay from `last-event-id`.
pub const PATH_SUBSCRIBE: &str = "/subscribe";
/// Object procedure that swaps the socket's token for a fresh one with the same channel and tags.
pub const PATH_UPDATE_TOKEN: &str = "/updateToken";
/// Object procedure that calls an RPC method allowed by the token.
pub const PATH_CALL: &str = "/call";

/// Request path the client uses as a liveness probe: it names no procedure, so both the
/// upstream object and our server answer it at once with 404 [`NO_PROCEDURE_MATCHED`] and
/// nothing else happens. Any answer proves the socket is alive.
pub const PATH_LIVENESS_PROBE: &str = "/__liveness";

/// Byte that separates the JSON part of a binary frame from its raw file bytes.
/// UTF-8 never contains `0xFF`, so the first one is always the boundary.
pub const JSON_AND_BINARY_DELIMITER: u8 = 0xFF;

/// Close code the object uses when a socket's token has expired.
pub const CLOSE_CODE_TOKEN_EXPIRED: u16 = 1008;
/// Close reason that goes with [`CLOSE_CODE_TOKEN_EXPIRED`].
pub const CLOSE_REASON_TOKEN_EXPIRED: &str = "Token expired";

/// Plain-text body of a rejected upgrade without a client id.
pub const UPGRADE_ID_REQUIRED: &str = "ID is required";
/// Plain-text body of a rejected upgrade without a token.
pub const UPGRADE_TOKEN_REQUIRED: &str = "Token is required";
/// Plain-text body of a rejected upgrade with a bad or expired token.
pub const UPGRADE_INVALID_TOKEN: &str = "Invalid Token";
/// Plain-text body of a plain GET at the upgrade URL.
pub const UPGRADE_EXPECTED_WEBSOCKET: &str = "Expected WebSocket upgrade";
/// Bare string body the object answers to a request path that names no procedure.
pub const NO_PROCEDURE_MATCHED: &str = "No procedure matched";

/// Default token lifetime when the app server signs a token (24 hours), in seconds.
pub const DEFAULT_TOKEN_TTL_SECONDS: u64 = 60 * 60 * 24;
