//! Conformance against frames, bodies and tokens produced by the real oRPC 1.x npm packages
//! (`../shared/vectors/orpc-v1-vectors.json`, relative to the repository root).
//!
//! Every entry must decode, and re-encoding the decoded value must give the identical string:
//! that is what "wire compatible" means for a client and a server that talk to upstream peers.
#![cfg(feature = "codec")]

use durable_iterator_protocol::{
    parse_token, sign, signed_value, unsign, ClientMessage, MetaEntry, MetaType, PathSegment,
    RichBody, ServerMessage,
};
use serde_json::Value;
use std::path::PathBuf;

fn vectors() -> Value {
    let path = std::env::var_os("DURABLE_ITERATOR_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/vectors/orpc-v1-vectors.json")
        });
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the conformance vectors are required at {} ({e}); set DURABLE_ITERATOR_VECTORS to override",
            path.display()
        )
    });
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", path.display()))
}

fn entries<'a>(vectors: &'a Value, group: &str) -> &'a Vec<Value> {
    let list = vectors[group]
        .as_array()
        .unwrap_or_else(|| panic!("vector group `{group}` is missing or not a list"));
    assert!(!list.is_empty(), "vector group `{group}` is empty");
    list
}

fn text<'a>(entry: &'a Value, field: &str) -> &'a str {
    entry[field]
        .as_str()
        .unwrap_or_else(|| panic!("vector {entry} has no string field `{field}`"))
}

/// Runs `check` on every entry and fails once with every failing entry named.
fn check_all(group: &str, check: impl Fn(&Value) -> Result<(), String>) {
    let vectors = vectors();
    let list = entries(&vectors, group);
    let failures: Vec<String> = list
        .iter()
        .filter_map(|entry| {
            check(entry)
                .err()
                .map(|why| format!("{}: {why}", entry["name"].as_str().unwrap_or("?")))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} `{group}` vectors failed:\n{}",
        failures.len(),
        list.len(),
        failures.join("\n")
    );
    println!("{group}: {} vectors passed", list.len());
}

#[test]
fn peer_requests_round_trip_byte_identically() {
    check_all("peerRequests", |entry| {
        let encoded = text(entry, "encoded");
        let decoded = ClientMessage::decode_text(encoded).map_err(|e| e.to_string())?;
        let again = decoded.encode_text();
        (again == encoded)
            .then_some(())
            .ok_or_else(|| format!("re-encoded as {again}"))
    });
}

#[test]
fn peer_responses_round_trip_byte_identically() {
    check_all("peerResponses", |entry| {
        let encoded = text(entry, "encoded");
        let decoded = ServerMessage::decode_text(encoded).map_err(|e| e.to_string())?;
        let again = decoded.encode_text();
        (again == encoded)
            .then_some(())
            .ok_or_else(|| format!("re-encoded as {again}"))
    });
}

#[test]
fn hibernation_events_round_trip_byte_identically() {
    check_all("hibernationEvents", |entry| {
        let encoded = text(entry, "encoded");
        let decoded = ServerMessage::decode_text(encoded).map_err(|e| e.to_string())?;
        if !matches!(decoded, ServerMessage::Event { .. }) {
            return Err(format!("decoded as {decoded:?}, not an event"));
        }
        let again = decoded.encode_text();
        (again == encoded)
            .then_some(())
            .ok_or_else(|| format!("re-encoded as {again}"))
    });
}

fn expected_meta(entry: &Value) -> Result<Vec<MetaEntry>, String> {
    let list = entry["meta"].as_array().ok_or("no meta list")?;
    list.iter()
        .map(|item| {
            let parts = item.as_array().ok_or("meta item is not a list")?;
            let (code, path) = parts.split_first().ok_or("meta item is empty")?;
            let code = code.as_u64().ok_or("meta type is not a number")?;
            let path = path
                .iter()
                .map(|segment| match segment {
                    Value::String(key) => Ok(PathSegment::Key(key.clone())),
                    Value::Number(n) => n.as_u64().map(PathSegment::Index).ok_or("bad index"),
                    _ => Err("bad path segment"),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(MetaEntry::new(MetaType::from_code(code as u32), path))
        })
        .collect()
}

#[test]
fn rpc_json_bodies_decode_to_typed_meta_and_re_encode_identically() {
    check_all("rpcJson", |entry| {
        let body = &entry["body"];
        let wire = serde_json::to_string(body).map_err(|e| e.to_string())?;
        let decoded = RichBody::from_json_str(&wire).map_err(|e| e.to_string())?;

        let expected_json = match &entry["json"] {
            Value::String(s) if s == "__undefined__" => None,
            other => Some(other.clone()),
        };
        if decoded.json != expected_json {
            return Err(format!("json decoded as {:?}", decoded.json));
        }
        let meta = expected_meta(entry)?;
        if decoded.meta != meta {
            return Err(format!(
                "meta decoded as {:?}, expected {meta:?}",
                decoded.meta
            ));
        }
        decoded.validate().map_err(|e| e.to_string())?;
        let again = decoded.to_json_string();
        if again != wire {
            return Err(format!("re-encoded as {again}, expected {wire}"));
        }
        // Applying the meta for Rust users must succeed on everything upstream produces.
        decoded.into_plain().map_err(|e| e.to_string())?;
        Ok(())
    });
}

#[test]
fn signing_matches_upstream_and_rejects_the_wrong_secret() {
    check_all("signing", |entry| {
        let (secret, value, signed) = (
            text(entry, "secret"),
            text(entry, "value"),
            text(entry, "signed"),
        );
        let ours = sign(value, secret);
        if ours != signed {
            return Err(format!("signed as {ours}"));
        }
        if unsign(signed, secret).map_err(|e| e.to_string())? != value {
            return Err("unsign with the right secret did not give the value back".into());
        }
        if unsign(signed, &format!("{secret}-wrong")).is_ok() {
            return Err("verified with the wrong secret".into());
        }
        if entry["unsignWithWrongSecret"] != Value::Null {
            return Err("vector expects the wrong secret to verify?".into());
        }
        if signed_value(signed) != Some(text(entry, "getSignedValue")) {
            return Err("signed value differs from getSignedValue".into());
        }
        // Token-shaped values must also parse as token payloads and re-encode identically.
        if value.starts_with('{') {
            let payload = parse_token(signed).map_err(|e| e.to_string())?;
            if payload.to_json() != value {
                return Err(format!("payload re-encoded as {}", payload.to_json()));
            }
        }
        Ok(())
    });
}

#[test]
fn a_broken_vector_is_caught() {
    // The checks above are only worth something if a corrupted frame fails them.
    let vectors = vectors();
    let frame = text(&entries(&vectors, "peerResponses")[3], "encoded").to_owned();
    let corrupted = frame.replacen("403", "404", 1);
    let again = ServerMessage::decode_text(&corrupted).map(|m| m.encode_text());
    assert_ne!(again.as_deref(), Ok(frame.as_str()));
    assert!(ServerMessage::decode_text(&frame[..frame.len() - 1]).is_err());
}

fn upstream_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/upstream")
}

#[test]
fn every_recorded_upstream_frame_round_trips_byte_identically() {
    let dir = upstream_dir();
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut check = |direction: &str, frame: &str, origin: String| {
        let again = match direction {
            "c2s" => ClientMessage::decode_text(frame).map(|m| m.encode_text()),
            _ => ServerMessage::decode_text(frame).map(|m| m.encode_text()),
        };
        checked += 1;
        match again {
            Ok(again) if again == frame => {}
            other => failures.push(format!("{origin}: {frame} -> {other:?}")),
        }
    };
    let listing = std::fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!(
            "recorded upstream frames are required at {} ({e})",
            dir.display()
        )
    });
    for file in listing.flatten() {
        let path = file.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_owned();
        let content = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        if name.ends_with(".jsonl") {
            for (line_no, line) in content.lines().enumerate() {
                let record: Value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("{name}:{}: {e}", line_no + 1));
                if record["event"] == "frame" {
                    check(
                        record["dir"].as_str().unwrap_or(""),
                        text(&record, "text"),
                        format!("{name}:{}", line_no + 1),
                    );
                }
            }
        } else if name == "upstream-ws-probes.json" {
            let probes: Value =
                serde_json::from_str(&content).unwrap_or_else(|e| panic!("{name}: {e}"));
            for probe in probes["results"].as_array().into_iter().flatten() {
                check(
                    "c2s",
                    text(probe, "sent"),
                    format!("{name}: {}", probe["name"]),
                );
                for frame in probe["frames"].as_array().into_iter().flatten() {
                    check(
                        "s2c",
                        frame.as_str().unwrap_or(""),
                        format!("{name}: {}", probe["name"]),
                    );
                }
            }
        }
    }
    assert!(
        checked > 100,
        "only {checked} recorded frames found in {}",
        dir.display()
    );
    assert!(
        failures.is_empty(),
        "{} of {checked} frames failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    println!("upstream recordings: {checked} frames passed");
}
