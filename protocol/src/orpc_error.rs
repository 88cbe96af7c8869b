//! oRPC's error JSON: `{defined, code, status, message, data?}` (PROTOCOL.md section 3).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};

/// The common oRPC error codes with their HTTP status and default message.
pub const COMMON_CODES: &[(&str, u16, &str)] = &[
    ("BAD_REQUEST", 400, "Bad Request"),
    ("UNAUTHORIZED", 401, "Unauthorized"),
    ("FORBIDDEN", 403, "Forbidden"),
    ("NOT_FOUND", 404, "Not Found"),
    ("METHOD_NOT_SUPPORTED", 405, "Method Not Supported"),
    ("NOT_ACCEPTABLE", 406, "Not Acceptable"),
    ("TIMEOUT", 408, "Request Timeout"),
    ("CONFLICT", 409, "Conflict"),
    ("PRECONDITION_FAILED", 412, "Precondition Failed"),
    ("PAYLOAD_TOO_LARGE", 413, "Payload Too Large"),
    ("UNSUPPORTED_MEDIA_TYPE", 415, "Unsupported Media Type"),
    ("UNPROCESSABLE_CONTENT", 422, "Unprocessable Content"),
    ("TOO_MANY_REQUESTS", 429, "Too Many Requests"),
    ("CLIENT_CLOSED_REQUEST", 499, "Client Closed Request"),
    ("INTERNAL_SERVER_ERROR", 500, "Internal Server Error"),
    ("NOT_IMPLEMENTED", 501, "Not Implemented"),
    ("BAD_GATEWAY", 502, "Bad Gateway"),
    ("SERVICE_UNAVAILABLE", 503, "Service Unavailable"),
    ("GATEWAY_TIMEOUT", 504, "Gateway Timeout"),
];

/// An oRPC error as it travels in a body's `json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrpcError {
    /// Whether the procedure declared this error in its contract.
    pub defined: bool,
    /// Machine-readable code, e.g. `FORBIDDEN`.
    pub code: String,
    /// HTTP status that goes with the code.
    pub status: u16,
    /// Human-readable message.
    pub message: String,
    /// Extra data, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl OrpcError {
    /// An undefined error with `code`, the code's status (500 for unknown codes) and `message`
    /// (the code's default message when empty).
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let (status, default_message) = COMMON_CODES
            .iter()
            .find(|(known, _, _)| *known == code)
            .map(|(_, status, text)| (*status, *text))
            .unwrap_or((500, code));
        OrpcError {
            defined: false,
            code: code.to_owned(),
            status,
            message: if message.is_empty() {
                default_message.to_owned()
            } else {
                message
            },
            data: None,
        }
    }

    /// BAD_REQUEST (400).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new("BAD_REQUEST", message)
    }
    /// UNAUTHORIZED (401).
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new("UNAUTHORIZED", message)
    }
    /// FORBIDDEN (403).
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new("FORBIDDEN", message)
    }
    /// NOT_FOUND (404).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new("NOT_FOUND", message)
    }
    /// INTERNAL_SERVER_ERROR (500).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new("INTERNAL_SERVER_ERROR", message)
    }

    /// Adds `data`.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// Reads an error from the `json` of a body.
    pub fn from_value(value: &Value) -> Result<Self> {
        OrpcError::deserialize(value).map_err(|e| Error::MalformedOrpcError {
            reason: e.to_string(),
        })
    }

    /// The error as a JSON value (for a body's `json`).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The complete rich-JSON body `{"json": error}`.
    pub fn to_body_string(&self) -> String {
        format!(
            "{{\"json\":{}}}",
            serde_json::to_string(self).unwrap_or_default()
        )
    }
}

impl std::fmt::Display for OrpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl std::error::Error for OrpcError {}
