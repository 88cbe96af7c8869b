//! Frames for the differential tests of the one-pass server-frame decoder (issue #7): every
//! frame of the vectors, frames of tricky shapes, and the check that both decoders agree.

use std::collections::BTreeSet;
use std::path::PathBuf;

use durable_iterator_protocol::{Frame, ServerMessage};
use serde_json::Value;

fn shared(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/vectors")
        .join(path)
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} is required ({e})", path.display()))
}

/// Every frame of the vectors: oRPC's encoded responses and events, and every frame of the
/// upstream recordings in both directions (a client frame is just more input here).
pub fn vector_frames() -> Vec<String> {
    let mut frames = BTreeSet::new();
    let vectors: Value = serde_json::from_str(&read(shared("orpc-v1-vectors.json"))).unwrap();
    for group in ["peerResponses", "hibernationEvents", "peerRequests"] {
        for entry in vectors[group].as_array().unwrap() {
            frames.insert(entry["encoded"].as_str().unwrap().to_owned());
        }
    }
    for file in std::fs::read_dir(shared("upstream")).unwrap().flatten() {
        let path = file.path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let content = read(path);
        if name.ends_with(".jsonl") {
            for line in content.lines() {
                let record: Value = serde_json::from_str(line).unwrap();
                if record["event"] == "frame" {
                    frames.insert(record["text"].as_str().unwrap().to_owned());
                }
            }
        } else if name == "upstream-ws-probes.json" {
            let probes: Value = serde_json::from_str(&content).unwrap();
            for probe in probes["results"].as_array().unwrap() {
                frames.insert(probe["sent"].as_str().unwrap().to_owned());
                for frame in probe["frames"].as_array().unwrap() {
                    frames.insert(frame.as_str().unwrap().to_owned());
                }
            }
        }
    }
    assert!(frames.len() > 30, "only {} distinct frames", frames.len());
    frames.into_iter().collect()
}

/// Frames of the shapes the scanner must get exactly right or leave alone.
pub fn tricky_frames() -> Vec<String> {
    let deep = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
    let deep_objects = |n: usize| format!("{}1{}", r#"{"a":"#.repeat(n), "}".repeat(n));
    let event =
        |d: &str| format!(r#"{{"i":"1","t":3,"p":{{"e":"message","d":{d},"m":{{"id":"2"}}}}}}"#);
    let mut frames: Vec<String> = [
        r#"{"i":"1","t":3,"p":{"e":"message","d":{"json":1},"m":{"id":"2","retry":5000,"comments":["a","b"]}}}"#,
        r#"{"p":{"m":{"id":"2"},"d":{"json":1},"e":"message"},"t":3,"i":"1"}"#,
        r#"{"i":"1","p":{"e":"done"},"t":3}"#,
        r#"{"i":"1","t":3,"p":{"e":"error","d":null}}"#,
        r#"{"i":"1","t":3,"p":{"e":"message","m":null,"x":[1,{"y":null}]}}"#,
        r#"{"i":"1","t":3,"p":{"e":"message","m":{"id":null,"retry":null,"comments":null}}}"#,
        r#"{"i":"1","t":3,"p":{"e":"message","m":{"comments":[]}}}"#,
        r#"{"i":"1","t":3,"p":{"e":"message","s":"not a status","h":1,"b":[]}}"#,
        r#"{"i":"1","t":null,"p":{"s":404,"b":"not found"}}"#,
        r#"{"i":"1","p":{"s":65535}}"#,
        r#"{"i":"1","p":{"s":65536}}"#,
        r#"{"i":"1","p":{"h":{"a":"1","a":["2","3"],"b":[]},"b":{"json":{}}}}"#,
        r#"{"i":"1","p":{"h":null,"s":null}}"#,
        r#"{"i":"1","p":{"h":{"a":1}}}"#,
        r#"{"i":"1","p":{"h":{"a":["x",1]}}}"#,
        r#"{"i":"1","p":{"e":"message","d":1}}"#,
        r#"{"i":"1","p":{}}"#,
        r#"{"i":"1","p":null}"#,
        r#"{"i":"1"}"#,
        r#"{"i":"1","t":2}"#,
        r#"{"i":"1","t":4}"#,
        r#"{"i":"1","t":4,"p":null}"#,
        r#"{"i":"1","t":4,"p":"anything"}"#,
        r#"{"i":"1","t":4,"p":[1,2,{"x":[]}]}"#,
        r#"{"i":"1","t":1,"p":{}}"#,
        r#"{"i":"1","t":5,"p":{}}"#,
        r#"{"i":"1","t":0}"#,
        r#"{"i":"1","t":-0}"#,
        r#"{"i":"1","t":-3}"#,
        r#"{"i":"1","t":3.0,"p":{"e":"done"}}"#,
        r#"{"i":"1","t":3e0,"p":{"e":"done"}}"#,
        r#"{"i":"1","t":03,"p":{"e":"done"}}"#,
        r#"{"i":"1","t":18446744073709551615}"#,
        r#"{"i":"1","t":18446744073709551616}"#,
        r#"{"i":"1","t":99999999999999999999999999999}"#,
        r#"{"i":"1","t":"3"}"#,
        r#"{"i":1,"t":4}"#,
        r#"{"i":null,"t":4}"#,
        r#"{"t":4}"#,
        r#"{"i":"1","i":"2","t":4}"#,
        r#"{"i":"1","t":4,"t":4}"#,
        r#"{"i":"1","t":null,"t":4}"#,
        r#"{"i":"1","t":4,"p":1,"p":2}"#,
        r#"{"i":"1","t":3,"p":{"e":"done","e":"done"}}"#,
        r#"{"i":"1","t":3,"p":{"e":"done","d":1,"d":1}}"#,
        r#"{"i":"1","t":3,"p":{"e":"done","m":{"id":"1","id":"1"}}}"#,
        r#"{"i":"1","t":3,"p":{"e":"done","x":1,"x":2}}"#,
        r#"{"i":"1","t":4,"x":1,"x":{}}"#,
        r#"{"\u0069":"1","t":4}"#,
        r#"{"i":"\u0031","t":4}"#,
        r#"{"i":"1","\u0074":4}"#,
        r#"{"i":"1","t":3,"p":{"e":"mess\u0061ge"}}"#,
        r#"{"i":"1","t":3,"p":{"e":{"message":null}}}"#,
        r#"{"i":"1","t":3,"p":{"e":"Message"}}"#,
        r#"{"i":"1","t":3,"p":{"e":null}}"#,
        r#"{"i":"1","t":3,"p":{"e":"done","m":{"id":"\ud800"}}}"#,
        r#"{"i":"1","t":3,"p":{"e":"done","d":"\ud800"}}"#,
        r#"{"i":"1","t":3,"p":{"e":"done","d":"\ud83d\ude00 \u00e9 é 😀 \"\\\/\b\f\n\r\t"}}"#,
        r#"{"i":"1","t":3,"p":{"e":"done","d":"\x"}}"#,
        r#"{"i":"1","t":3,"p":{"e":"done","d":"\u12"}}"#,
        r#"{"i":"1","t":3,"p":{"e":"done","d":"\u12g4"}}"#,
        r#"["1",3,{"e":"done"}]"#,
        r#"["1",4]"#,
        r#"["1"]"#,
        r#"{"i":"1","t":3,"p":["done",1,["7",1000,["c"]]]}"#,
        r#"{"i":"1","t":3,"p":{"e":"done","m":["7",1000]}}"#,
        r#"{"i":"1","t":4,}"#,
        r#"{"i":"1",,"t":4}"#,
        r#"{,"i":"1","t":4}"#,
        r#"{"i":"1","t":4} x"#,
        r#"{"i":"1","t":4}{}"#,
        "{\"i\":\"1\",\"t\":4}\u{feff}",
        "\u{feff}{\"i\":\"1\",\"t\":4}",
        " \t\r\n{ \t\r\n\"i\" \t\r\n: \t\r\n\"1\" \t\r\n, \"t\" : 4 \t\r\n} \t\r\n",
        "{\"i\":\"1\"\u{a0},\"t\":4}",
        "{\"i\":\"1\u{1}\",\"t\":4}",
        "{\"i\":\"1\",\"t\":3,\"p\":{\"e\":\"done\",\"d\":\"a\u{7f}b\u{1f}\"}}",
        r#"{"i":"","t":4}"#,
        r#"{"i":"1","t":4,"p":nul}"#,
        r#"{"i":"1","t":4,"p":nulll}"#,
        r#"{"i":"1","t":4,"p":tru}"#,
        r#"{"i":"1","t":4,"p":[true,false,null,-0,-0.0e+0,1E5,1e-5,0.5]}"#,
        r#"{"i":"1","t":4,"p":[01]}"#,
        r#"{"i":"1","t":4,"p":[-]}"#,
        r#"{"i":"1","t":4,"p":[1.]}"#,
        r#"{"i":"1","t":4,"p":[.5]}"#,
        r#"{"i":"1","t":4,"p":[1e]}"#,
        r#"{"i":"1","t":4,"p":[1e+]}"#,
        r#"{"i":"1","t":4,"p":[+1]}"#,
        r#"{"i":"1","t":4,"p":[1,]}"#,
        r#"{"i":"1","t":4,"p":{"a":1,}}"#,
        r#"{"i":"1","t":4,"p":{"a"}}"#,
        r#"{"i":"1","t":4,"p":{1:1}}"#,
        r#"{"i":"1","t":4,"p":[}"#,
        r#"{"i":"1","t":4,"p":{]}"#,
        r#"{"i":"1","t":4,"p":[1 2]}"#,
        r#"{"i":"1","t":4,"p":1e999999}"#,
        r#"{"i":"1","t":4,"p":123456789012345678901234567890.5e-400}"#,
        r#"{"i":"1","t":3,"p":{"e":"done","m":{"retry":1e3}}}"#,
        r#"{"i":"1","t":3,"p":{"e":"done","m":{"retry":-1}}}"#,
        r#"{"i":"1","t":3,"p":{"e":"done","m":{"retry":18446744073709551616}}}"#,
        r#"{"i":"1","t":3,"p":{"e":"done","m":{"comments":["a",1]}}}"#,
        r#"{"i":"1","t":3,"p":{"e":"done","m":{"comments":["a",]}}}"#,
        r#"{"i":"1","t":3,"p":{"e":"done","m":{"other":{"deep":[[[]]]}}}}"#,
        "",
        " ",
        "null",
        "{}",
        "[]",
        "\"x\"",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    // Values where the scanner validates them itself: the event's data, unknown members of
    // the envelope, of the payload and of the meta, the body of a response.
    let values = [
        "[true,false,null,-0,-0.0e+0,1E5,1e-5,0.5,1e400,-1e-400]",
        "123456789012345678901234567890.5e-400",
        r#""\ud83d\ude00 \u00e9 é 😀 \"\\\/\b\f\n\r\t""#,
        r#""\ud800""#,
        r#""\uDFFF\uD800""#,
        r#""\u12g4""#,
        r#""\u12""#,
        r#""\x""#,
        r#""\U0041""#,
        "\"a\u{7f}b\"",
        "\"a\u{1f}b\"",
        "\"a\u{0}b\"",
        "\"a\tb\"",
        "[01]",
        "[-]",
        "[-a]",
        "[1.]",
        "[.5]",
        "[1e]",
        "[1e+]",
        "[1E-]",
        "[+1]",
        "[1,]",
        "[,1]",
        "[1 2]",
        "[00]",
        "[-01]",
        "[0.0.0]",
        "[1e5e5]",
        "[Infinity]",
        "[NaN]",
        "[-0]",
        "[1.5E+10]",
        r#"{"a":1,}"#,
        r#"{"a"}"#,
        r#"{"a":}"#,
        r#"{1:1}"#,
        r#"{"a" 1}"#,
        r#"{"a":1 "b":2}"#,
        "[}",
        "{]",
        "[",
        "{",
        "]",
        "}",
        "nul",
        "nulll",
        "tru",
        "truee",
        "fals",
        "NULL",
        "True",
        r#"{"a":{"b":[{"c":null}]},"a":1}"#,
        "{ }",
        "[ ]",
        "[\n1\t,\r2 ]",
        r#"{"":""}"#,
        r#"{"\u0061":1}"#,
        r#"{"a\"b":1}"#,
    ];
    for value in values {
        frames.push(event(value));
        frames.push(format!(r#"{{"i":"1","t":4,"x":{value}}}"#));
        frames.push(format!(r#"{{"x":{value},"i":"1","t":4}}"#));
        frames.push(format!(
            r#"{{"i":"1","t":3,"p":{{"e":"done","x":{value}}}}}"#
        ));
        frames.push(format!(
            r#"{{"i":"1","t":3,"p":{{"e":"done","m":{{"x":{value}}}}}}}"#
        ));
        frames.push(format!(r#"{{"i":"1","p":{{"b":{value}}}}}"#));
        frames.push(format!(r#"{{"i":"1","p":{{"b":{value},"s":200}}}}"#));
    }
    for n in [1, 2, 63, 64, 65, 126, 127, 128, 129, 200, 10_000, 200_000] {
        frames.push(event(&deep(n)));
        frames.push(event(&deep_objects(n)));
        frames.push(event(&format!(
            "{}{}",
            "[".repeat(n),
            "]".repeat(n.saturating_sub(1))
        )));
        frames.push(format!(r#"{{"i":"1","t":4,"x":{}}}"#, deep(n)));
        frames.push(format!(
            r#"{{"i":"1","t":3,"p":{{"e":"done","m":{{"x":{}}}}}}}"#,
            deep(n)
        ));
    }
    frames
}

/// Decodes `frame` both ways (as text; with `binary` also as a binary frame with and without
/// an attachment) and describes the first disagreement.
fn disagreement(frame: &str, binary: bool) -> Option<String> {
    let mut frames = vec![Frame::Text(frame.to_owned())];
    if binary {
        let mut with_attachment = frame.as_bytes().to_vec();
        with_attachment.extend_from_slice(&[0xFF, 1, 2, 0xFF]);
        frames.push(Frame::Binary(frame.as_bytes().to_vec()));
        frames.push(Frame::Binary(with_attachment));
    }
    for frame in frames {
        let fast = ServerMessage::decode(&frame);
        let reference = ServerMessage::decode_reference(&frame);
        if fast != reference {
            return Some(format!(
                "{frame:?}\n  fast: {fast:?}\n  reference: {reference:?}"
            ));
        }
    }
    None
}

pub fn check(frames: impl IntoIterator<Item = String>, binary: bool) -> usize {
    let mut count = 0;
    let mut failures = Vec::new();
    for frame in frames {
        count += 1;
        if let Some(why) = disagreement(&frame, binary) {
            failures.push(why);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} frames decode differently:\n{}",
        failures.len(),
        failures
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    count
}
