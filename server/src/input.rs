//! Procedure inputs: rich-JSON bodies decoded to plain JSON, and the small schema checks the
//! demo procedures need, failing like oRPC does (BAD_REQUEST "Input validation failed" with
//! `data.issues`, or "Malformed request..." when the body itself is unreadable).

use durable_iterator_protocol::{MetaType, OrpcError, PathSegment, RichBody};
use serde_json::{json, Map, Value};

/// oRPC's message for a body that cannot be decoded at all.
pub(crate) const MALFORMED_REQUEST: &str = "Malformed request. Ensure the request body is properly formatted and the 'Content-Type' header is set correctly.";

/// How procedures fail: an oRPC error, boxed because it is large and failure is the cold path.
pub(crate) type Failure = Box<OrpcError>;

/// BAD_REQUEST for a body that cannot be decoded.
pub(crate) fn malformed() -> Failure {
    Box::new(OrpcError::bad_request(MALFORMED_REQUEST))
}

/// The `data` query parameter, where oRPC's RPC protocol puts a GET request's `{json, meta}`.
pub(crate) fn query_data(query: Option<&str>) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes())
        .filter(|(key, _)| key == "data")
        .last()
        .map(|(_, value)| value.into_owned())
}

/// Decodes a `{json, meta}` body into a plain value; `None` is `undefined`.
///
/// An object property marked undefined (meta type 3) is removed, as JavaScript would not see
/// it either: `{"input": null}` with meta `[[3, "input"]]` is the same as no `input` key.
pub(crate) fn decode_body(body: Option<Value>) -> Result<Option<Value>, Failure> {
    let Some(body) = body else {
        return Ok(None);
    };
    if body.is_null() {
        return Err(malformed());
    }
    if !body.is_object() {
        // oRPC reads `.json` of whatever came; a non-object has none: undefined input.
        return Ok(None);
    }
    let rich = RichBody::from_value(body).map_err(|_| malformed())?;
    let undefined_keys: Vec<Vec<PathSegment>> = rich
        .meta
        .iter()
        .filter(|entry| entry.kind == MetaType::Undefined)
        .map(|entry| entry.path.clone())
        .collect();
    let mut plain = rich.into_plain().map_err(|_| malformed())?;
    if let Some(value) = plain.as_mut() {
        for path in &undefined_keys {
            remove_object_key(value, path);
        }
    }
    Ok(plain)
}

fn remove_object_key(root: &mut Value, path: &[PathSegment]) {
    let Some((PathSegment::Key(last), parents)) = path.split_last() else {
        return;
    };
    let mut node = root;
    for segment in parents {
        node = match (node, segment) {
            (Value::Object(map), PathSegment::Key(key)) => match map.get_mut(key) {
                Some(next) => next,
                None => return,
            },
            (Value::Array(items), PathSegment::Index(i)) => {
                match usize::try_from(*i).ok().and_then(|i| items.get_mut(i)) {
                    Some(next) => next,
                    None => return,
                }
            }
            _ => return,
        };
    }
    if let Value::Object(map) = node {
        map.remove(last);
    }
}

/// Collects schema issues for one input, then turns them into the oRPC error.
#[derive(Debug, Default)]
pub(crate) struct Checker {
    issues: Vec<Value>,
}

impl Checker {
    pub fn new() -> Self {
        Self::default()
    }

    /// The input as an object (`allow_undefined`: a missing input counts as `{}`).
    pub fn object<'v>(
        &mut self,
        input: Option<&'v Value>,
        allow_undefined: bool,
    ) -> Option<&'v Map<String, Value>> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        match input {
            Some(Value::Object(map)) => Some(map),
            None if allow_undefined => Some(EMPTY.get_or_init(Map::new)),
            other => {
                self.type_issue("Object", other, None);
                None
            }
        }
    }

    /// A required string property.
    pub fn string<'v>(&mut self, map: &'v Map<String, Value>, key: &str) -> Option<&'v str> {
        match map.get(key) {
            Some(Value::String(text)) => Some(text),
            None => {
                self.missing_key(key);
                None
            }
            other => {
                self.type_issue("string", other, Some(key));
                None
            }
        }
    }

    /// An optional string property.
    pub fn opt_string<'v>(&mut self, map: &'v Map<String, Value>, key: &str) -> Option<&'v str> {
        match map.get(key) {
            None => None,
            Some(Value::String(text)) => Some(text),
            other => {
                self.type_issue("string", other, Some(key));
                None
            }
        }
    }

    /// An optional array of strings.
    pub fn opt_strings(&mut self, map: &Map<String, Value>, key: &str) -> Option<Vec<String>> {
        match map.get(key) {
            None => None,
            Some(Value::Array(items)) => {
                let strings: Option<Vec<String>> = items
                    .iter()
                    .map(|item| item.as_str().map(str::to_owned))
                    .collect();
                if strings.is_none() {
                    self.type_issue("Array<string>", map.get(key), Some(key));
                }
                strings
            }
            other => {
                self.type_issue("Array", other, Some(key));
                None
            }
        }
    }

    /// An optional finite number greater than zero.
    pub fn opt_positive(&mut self, map: &Map<String, Value>, key: &str) -> Option<f64> {
        match map.get(key) {
            None => None,
            Some(value) => match value.as_f64() {
                Some(n) if n.is_finite() && n > 0.0 => Some(n),
                _ => {
                    self.type_issue("positive number", Some(value), Some(key));
                    None
                }
            },
        }
    }

    /// An array of at least one string.
    pub fn nonempty_strings(&mut self, map: &Map<String, Value>, key: &str) -> Option<Vec<String>> {
        let value = map.get(key);
        let strings: Option<Vec<String>> = match value {
            None => {
                self.missing_key(key);
                return None;
            }
            Some(Value::Array(items)) if !items.is_empty() => items
                .iter()
                .map(|item| item.as_str().map(str::to_owned))
                .collect(),
            Some(_) => None,
        };
        if strings.is_none() {
            self.type_issue("[string, ...string[]]", value, Some(key));
        }
        strings
    }

    /// `Ok` when no issue was found, else the oRPC validation error.
    pub fn finish(self) -> Result<(), Failure> {
        if self.issues.is_empty() {
            Ok(())
        } else {
            Err(Box::new(
                OrpcError::bad_request("Input validation failed")
                    .with_data(json!({ "issues": self.issues })),
            ))
        }
    }

    fn missing_key(&mut self, key: &str) {
        self.issues.push(json!({
            "kind": "schema",
            "type": "object",
            "expected": format!("\"{key}\""),
            "received": "undefined",
            "message": format!("Invalid key: Expected \"{key}\" but received undefined"),
            "path": [{ "type": "object", "origin": "key", "key": key }],
        }));
    }

    fn type_issue(&mut self, expected: &str, value: Option<&Value>, key: Option<&str>) {
        let received = describe(value);
        let path: Vec<Value> = key
            .map(|k| json!({ "type": "object", "origin": "value", "key": k }))
            .into_iter()
            .collect();
        self.issues.push(json!({
            "kind": "schema",
            "type": expected,
            "expected": expected,
            "received": received,
            "message": format!("Invalid type: Expected {expected} but received {received}"),
            "path": path,
        }));
    }
}

/// How valibot names a received value in its messages.
fn describe(value: Option<&Value>) -> String {
    match value {
        None => "undefined".to_owned(),
        Some(Value::Null) => "null".to_owned(),
        Some(Value::Array(_)) => "Array".to_owned(),
        Some(Value::Object(_)) => "Object".to_owned(),
        Some(Value::String(s)) => format!("\"{s}\""),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undefined_properties_disappear() {
        let body = json!({"json": {"path": ["a"], "input": null}, "meta": [[3, "input"]]});
        assert_eq!(
            decode_body(Some(body)).unwrap(),
            Some(json!({"path": ["a"]}))
        );
        let explicit_null = json!({"json": {"input": null}});
        assert_eq!(
            decode_body(Some(explicit_null)).unwrap(),
            Some(json!({"input": null}))
        );
        assert_eq!(decode_body(Some(json!({}))).unwrap(), None);
        assert!(decode_body(Some(json!({"json": 1, "meta": [[1, "x"]]}))).is_err());
    }

    #[test]
    fn issues_read_like_valibot() {
        let input = json!({"text": 1});
        let mut check = Checker::new();
        let map = check.object(Some(&input), false).unwrap();
        assert_eq!(check.string(map, "text"), None);
        let error = check.finish().unwrap_err();
        assert_eq!(error.status, 400);
        assert_eq!(error.message, "Input validation failed");
        let issues = &error.data.unwrap()["issues"];
        assert_eq!(
            issues[0]["message"],
            "Invalid type: Expected string but received 1"
        );
    }
}
