//! oRPC's rich JSON body `{json, meta}` (PROTOCOL.md section 4).
//!
//! `meta` lists `[type, ...path]` entries that say which JSON values stand for types JSON lacks
//! (BigInt, Date, Set, ...). This module decodes and encodes that list and, for Rust users,
//! applies it to a [`serde_json::Value`] so ordinary `Deserialize` types can read the result.
//! A path that points at nothing is a typed error, never a panic: upstream treats it as a
//! security error, and so do we.

use serde::de::{self, SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::fmt;

use crate::error::{Error, Result};

/// What a meta entry says the value at its path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetaType {
    /// `0`: a BigInt; the JSON is its decimal string.
    BigInt,
    /// `1`: a Date; the JSON is an ISO string, or null for an invalid date.
    Date,
    /// `2`: NaN; the JSON is null.
    NaN,
    /// `3`: undefined inside an array; the JSON is null.
    Undefined,
    /// `4`: a URL; the JSON is its string.
    Url,
    /// `5`: a RegExp; the JSON is `/source/flags`.
    RegExp,
    /// `6`: a Set; the JSON is an array of its items.
    Set,
    /// `7`: a Map; the JSON is an array of `[key, value]` pairs.
    Map,
    /// Any other number: a custom serializer of the application.
    Custom(u32),
}

impl MetaType {
    /// The wire number of this type.
    pub fn code(self) -> u32 {
        match self {
            MetaType::BigInt => 0,
            MetaType::Date => 1,
            MetaType::NaN => 2,
            MetaType::Undefined => 3,
            MetaType::Url => 4,
            MetaType::RegExp => 5,
            MetaType::Set => 6,
            MetaType::Map => 7,
            MetaType::Custom(code) => code,
        }
    }

    /// The type for a wire number.
    pub fn from_code(code: u32) -> Self {
        match code {
            0 => MetaType::BigInt,
            1 => MetaType::Date,
            2 => MetaType::NaN,
            3 => MetaType::Undefined,
            4 => MetaType::Url,
            5 => MetaType::RegExp,
            6 => MetaType::Set,
            7 => MetaType::Map,
            other => MetaType::Custom(other),
        }
    }
}

/// One step of a meta path: an object key or an array index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathSegment {
    /// An object property name (a JSON string on the wire).
    Key(String),
    /// An array index (a JSON number on the wire).
    Index(u64),
}

impl Serialize for PathSegment {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            PathSegment::Key(key) => serializer.serialize_str(key),
            PathSegment::Index(index) => serializer.serialize_u64(*index),
        }
    }
}

/// One `[type, ...path]` meta entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MetaEntry {
    /// What the value at `path` is.
    pub kind: MetaType,
    /// Where the value is, from the root of `json`; empty means the root itself.
    pub path: Vec<PathSegment>,
}

impl MetaEntry {
    /// An entry of `kind` at `path`.
    pub fn new(kind: MetaType, path: Vec<PathSegment>) -> Self {
        MetaEntry { kind, path }
    }

    fn path_text(&self) -> String {
        serde_json::to_string(&self.path).unwrap_or_default()
    }
}

impl Serialize for MetaEntry {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(1 + self.path.len()))?;
        seq.serialize_element(&self.kind.code())?;
        for segment in &self.path {
            seq.serialize_element(segment)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for MetaEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntryVisitor;
        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = MetaEntry;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a meta entry [type, ...path]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MetaEntry, A::Error> {
                let code: u32 = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::custom("meta entry is empty"))?;
                let mut path = Vec::new();
                while let Some(segment) = seq.next_element::<Value>()? {
                    path.push(match segment {
                        Value::String(key) => PathSegment::Key(key),
                        Value::Number(n) => PathSegment::Index(n.as_u64().ok_or_else(|| {
                            de::Error::custom("meta path index is not a non-negative integer")
                        })?),
                        _ => {
                            return Err(de::Error::custom(
                                "meta path segment is not a key or index",
                            ))
                        }
                    });
                }
                Ok(MetaEntry {
                    kind: MetaType::from_code(code),
                    path,
                })
            }
        }
        deserializer.deserialize_seq(EntryVisitor)
    }
}

/// A decoded rich-JSON body.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RichBody {
    /// The JSON value; `None` is JavaScript `undefined` (the `json` key is absent).
    pub json: Option<Value>,
    /// The meta entries, in wire order (nested items before their containers).
    pub meta: Vec<MetaEntry>,
}

#[derive(Serialize, Deserialize)]
struct WireBody {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_value"
    )]
    json: Option<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    meta: Vec<MetaEntry>,
}

fn present_value<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

impl RichBody {
    /// A body carrying a plain JSON value and no meta.
    pub fn plain(json: Value) -> Self {
        RichBody {
            json: Some(json),
            meta: Vec::new(),
        }
    }

    /// The body of `undefined`: `{}` on the wire.
    pub fn undefined() -> Self {
        RichBody::default()
    }

    /// Decodes a body from its JSON text.
    pub fn from_json_str(text: &str) -> Result<Self> {
        let wire: WireBody = serde_json::from_str(text)
            .map_err(|e| Error::malformed(format!("rich-JSON body: {e}")))?;
        Ok(RichBody {
            json: wire.json,
            meta: wire.meta,
        })
    }

    /// Decodes a body from an already parsed JSON value.
    pub fn from_value(value: Value) -> Result<Self> {
        let wire: WireBody = serde_json::from_value(value)
            .map_err(|e| Error::malformed(format!("rich-JSON body: {e}")))?;
        Ok(RichBody {
            json: wire.json,
            meta: wire.meta,
        })
    }

    /// Encodes the body as oRPC does: `json` left out when undefined, `meta` when empty.
    pub fn to_json_string(&self) -> String {
        serde_json::to_string(&WireBodyRef {
            json: self.json.as_ref(),
            meta: &self.meta,
        })
        .unwrap_or_default()
    }

    /// The body as a JSON value (`{json?, meta?}`).
    pub fn to_value(&self) -> Value {
        let mut object = Map::new();
        if let Some(json) = &self.json {
            object.insert("json".to_owned(), json.clone());
        }
        if !self.meta.is_empty() {
            object.insert(
                "meta".to_owned(),
                serde_json::to_value(&self.meta).unwrap_or(Value::Null),
            );
        }
        Value::Object(object)
    }

    /// Checks that every meta path exists, without changing anything.
    pub fn validate(&self) -> Result<()> {
        let Some(json) = &self.json else {
            return match self.meta.first() {
                Some(entry) => Err(Error::MetaPathNotFound {
                    path: entry.path_text(),
                }),
                None => Ok(()),
            };
        };
        for entry in &self.meta {
            resolve(json, &entry.path).ok_or_else(|| Error::MetaPathNotFound {
                path: entry.path_text(),
            })?;
        }
        Ok(())
    }

    /// Applies the meta for Rust consumers and returns the plain value (`None` = undefined).
    ///
    /// What each type becomes, chosen so that common `Deserialize` impls accept it:
    /// BigInt -> a JSON number when it fits `i64`/`u64`, else its decimal string; Date, URL and
    /// RegExp -> their strings (invalid Date stays null); NaN and undefined -> null; Set -> an
    /// array; Map -> an object when every key is a string or a number (serde_json reads
    /// numeric keys of maps from such objects), else the array of pairs. Custom types are left
    /// as they are on the wire.
    pub fn into_plain(self) -> Result<Option<Value>> {
        self.validate()?;
        let Some(mut json) = self.json else {
            return Ok(None);
        };
        for entry in &self.meta {
            let target =
                resolve_mut(&mut json, &entry.path).ok_or_else(|| Error::MetaPathNotFound {
                    path: entry.path_text(),
                })?;
            apply_one(entry, target)?;
        }
        Ok(Some(json))
    }

    /// The inverse of [`RichBody::into_plain`]: turns a Rust-side plain value back into the wire
    /// `json` for the given meta (BigInt numbers become decimal strings, Map objects become
    /// `[key, value]` pairs), so Rust callers can send BigInt, Date, Set and Map values.
    /// Entries are processed containers first so nested paths keep pointing at the right place.
    pub fn from_plain(plain: Option<Value>, meta: Vec<MetaEntry>) -> Result<Self> {
        let Some(mut json) = plain else {
            let body = RichBody { json: None, meta };
            body.validate()?;
            return Ok(body);
        };
        for entry in meta.iter().rev() {
            let target =
                resolve_mut(&mut json, &entry.path).ok_or_else(|| Error::MetaPathNotFound {
                    path: entry.path_text(),
                })?;
            strip_one(entry, target)?;
        }
        let body = RichBody {
            json: Some(json),
            meta,
        };
        body.validate()?;
        Ok(body)
    }
}

#[derive(Serialize)]
struct WireBodyRef<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    json: Option<&'a Value>,
    #[serde(skip_serializing_if = "<[MetaEntry]>::is_empty")]
    meta: &'a [MetaEntry],
}

fn segment_index(segment: &PathSegment) -> Option<usize> {
    match segment {
        PathSegment::Index(index) => usize::try_from(*index).ok(),
        // JavaScript indexes arrays by string keys too.
        PathSegment::Key(key) => key.parse().ok().filter(|i: &usize| i.to_string() == *key),
    }
}

fn segment_key(segment: &PathSegment) -> String {
    match segment {
        PathSegment::Key(key) => key.clone(),
        PathSegment::Index(index) => index.to_string(),
    }
}

fn resolve<'v>(mut value: &'v Value, path: &[PathSegment]) -> Option<&'v Value> {
    for segment in path {
        value = match value {
            Value::Array(items) => items.get(segment_index(segment)?)?,
            Value::Object(map) => map.get(&segment_key(segment))?,
            _ => return None,
        };
    }
    Some(value)
}

fn resolve_mut<'v>(mut value: &'v mut Value, path: &[PathSegment]) -> Option<&'v mut Value> {
    for segment in path {
        value = match value {
            Value::Array(items) => items.get_mut(segment_index(segment)?)?,
            Value::Object(map) => map.get_mut(&segment_key(segment))?,
            _ => return None,
        };
    }
    Some(value)
}

fn mismatch(entry: &MetaEntry, reason: &str) -> Error {
    Error::MetaTypeMismatch {
        kind: entry.kind.code(),
        path: entry.path_text(),
        reason: reason.to_owned(),
    }
}

fn apply_one(entry: &MetaEntry, target: &mut Value) -> Result<()> {
    match entry.kind {
        MetaType::BigInt => {
            let Value::String(digits) = target else {
                return Err(mismatch(entry, "BigInt must be a decimal string"));
            };
            if let Ok(n) = digits.parse::<i64>() {
                *target = Value::from(n);
            } else if let Ok(n) = digits.parse::<u64>() {
                *target = Value::from(n);
            } else if !is_decimal_integer(digits) {
                return Err(mismatch(entry, "BigInt must be a decimal string"));
            }
        }
        MetaType::Date => {
            if !matches!(target, Value::String(_) | Value::Null) {
                return Err(mismatch(entry, "Date must be an ISO string or null"));
            }
        }
        MetaType::NaN | MetaType::Undefined => *target = Value::Null,
        MetaType::Url | MetaType::RegExp => {
            if !target.is_string() {
                return Err(mismatch(entry, "URL and RegExp must be strings"));
            }
        }
        MetaType::Set => {
            if !target.is_array() {
                return Err(mismatch(entry, "Set must be an array"));
            }
        }
        MetaType::Map => {
            let Value::Array(pairs) = target else {
                return Err(mismatch(entry, "Map must be an array of pairs"));
            };
            let mut keys_are_simple = true;
            let mut object = Map::new();
            for pair in pairs.iter() {
                let Some([key, value]) = pair
                    .as_array()
                    .map(Vec::as_slice)
                    .and_then(|p| <&[Value; 2]>::try_from(p).ok())
                else {
                    return Err(mismatch(entry, "Map entries must be [key, value] pairs"));
                };
                let key = match key {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => {
                        keys_are_simple = false;
                        continue;
                    }
                };
                if object.insert(key, value.clone()).is_some() {
                    keys_are_simple = false;
                }
            }
            if keys_are_simple {
                *target = Value::Object(object);
            }
        }
        MetaType::Custom(_) => {}
    }
    Ok(())
}

fn strip_one(entry: &MetaEntry, target: &mut Value) -> Result<()> {
    match entry.kind {
        MetaType::BigInt => match target {
            Value::Number(n) if n.is_i64() || n.is_u64() => *target = Value::String(n.to_string()),
            Value::String(digits) if is_decimal_integer(digits) => {}
            _ => return Err(mismatch(entry, "BigInt must be an integer")),
        },
        MetaType::Map => {
            if let Value::Object(map) = target {
                let pairs = std::mem::take(map)
                    .into_iter()
                    .map(|(key, value)| Value::Array(vec![Value::String(key), value]))
                    .collect();
                *target = Value::Array(pairs);
            }
        }
        MetaType::NaN | MetaType::Undefined => *target = Value::Null,
        _ => {}
    }
    Ok(())
}

fn is_decimal_integer(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn applies_every_builtin_type() {
        let body = RichBody::from_json_str(
            r#"{"json":{"id":"123","big":"123456789012345678901234","at":"2020-01-01T00:00:00.000Z","n":null,"s":[1,2],"m":[["a",1],[2,"b"]],"u":[1,null]},"meta":[[0,"id"],[0,"big"],[1,"at"],[2,"n"],[6,"s"],[7,"m"],[3,"u",1]]}"#,
        )
        .unwrap();
        let plain = body.into_plain().unwrap().unwrap();
        assert_eq!(
            plain,
            json!({"id":123,"big":"123456789012345678901234","at":"2020-01-01T00:00:00.000Z","n":null,"s":[1,2],"m":{"a":1,"2":"b"},"u":[1,null]})
        );
    }

    #[test]
    fn missing_path_is_an_error_not_a_panic() {
        let body = RichBody::from_json_str(r#"{"json":{"a":[1]},"meta":[[1,"a",5]]}"#).unwrap();
        assert!(matches!(
            body.into_plain(),
            Err(Error::MetaPathNotFound { .. })
        ));
        let body = RichBody::from_json_str(r#"{"meta":[[1]]}"#).unwrap();
        assert!(matches!(
            body.validate(),
            Err(Error::MetaPathNotFound { .. })
        ));
    }

    #[test]
    fn from_plain_inverts_into_plain() {
        let meta = vec![
            MetaEntry::new(MetaType::BigInt, vec![PathSegment::Key("id".into())]),
            MetaEntry::new(MetaType::Map, vec![PathSegment::Key("m".into())]),
        ];
        let body = RichBody::from_plain(Some(json!({"id": 5, "m": {"k": 1}})), meta).unwrap();
        assert_eq!(
            body.to_json_string(),
            r#"{"json":{"id":"5","m":[["k",1]]},"meta":[[0,"id"],[7,"m"]]}"#
        );
        assert_eq!(
            body.into_plain().unwrap(),
            Some(json!({"id": 5, "m": {"k": 1}}))
        );
    }
}
