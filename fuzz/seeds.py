#!/usr/bin/env python3
"""Writes the fuzz corpora from oRPC's recorded vectors (../shared/vectors beside the repo).

    python3 fuzz/seeds.py [--vectors DIR] [--out DIR]

For each target, every relevant string of the vectors becomes one file in
<out>/<target>/ (default fuzz/corpus/), named by its SHA-1 as libFuzzer names inputs:
- message_decoder: encoded peer requests, responses and events; every frame of the upstream
  transcripts and probes; plus the same as binary frames with a raw attachment.
- rich_json_meta: the rich-JSON bodies (`{json, meta}`) of the vectors and of every frame.
- token_parser: the signed strings and every token the transcripts carry.
- engine_frames: per transcript connection, its object-to-client frames, one per line.
The committed seeds/ holds a few of each, so a run works without the vectors too.
"""
import argparse
import glob
import hashlib
import json
import os
import sys
from urllib.parse import parse_qs, urlparse

HERE = os.path.dirname(os.path.abspath(__file__))


def collect(vectors):
    frames, bodies, tokens, sessions = [], [], [], []
    with open(os.path.join(vectors, "orpc-v1-vectors.json"), encoding="utf-8") as f:
        data = json.load(f)
    for item in data.get("signing", []):
        tokens.append(item["signed"])
    for group in ("peerRequests", "peerResponses", "hibernationEvents"):
        for item in data.get(group, []):
            frames.append(item["encoded"])
    for item in data.get("rpcJson", []):
        bodies.append(json.dumps(item["body"], separators=(",", ":")))

    upstream = os.path.join(vectors, "upstream")
    for path in sorted(glob.glob(os.path.join(upstream, "*.jsonl"))):
        by_conn = {}
        with open(path, encoding="utf-8") as f:
            for line in f:
                record = json.loads(line)
                if record.get("event") == "frame" and "text" in record:
                    frames.append(record["text"])
                    if record.get("dir") == "s2c":
                        by_conn.setdefault(record.get("conn"), []).append(record["text"])
                if record.get("event") == "upgrade":
                    raw = record.get("rawUrl", "")
                    tokens.extend(parse_qs(urlparse(raw).query).get("token", []))
                if record.get("event") == "http":
                    body = record.get("response", {}).get("body", "")
                    try:
                        value = json.loads(body).get("json")
                    except (ValueError, AttributeError):
                        value = None
                    if isinstance(value, str) and "." in value:
                        tokens.append(value)
        sessions.extend("\n".join(texts) for texts in by_conn.values())
    probes = os.path.join(upstream, "upstream-ws-probes.json")
    if os.path.exists(probes):
        with open(probes, encoding="utf-8") as f:
            data = json.load(f)
        tokens.append(data.get("token", ""))
        for result in data.get("results", []):
            frames.append(result.get("sent", ""))
            frames.extend(result.get("frames", []))

    for text in frames:
        try:
            message = json.loads(text)
        except ValueError:
            continue
        payload = message.get("p") if isinstance(message, dict) else None
        if isinstance(payload, dict):
            for key in ("b", "d"):
                if isinstance(payload.get(key), dict):
                    bodies.append(json.dumps(payload[key], separators=(",", ":")))
    binary = [t.encode() + b"\xff" + b"raw file bytes" for t in frames[:20]]
    return {
        "message_decoder": [t.encode() for t in frames] + binary,
        "rich_json_meta": [b.encode() for b in bodies],
        "token_parser": [t.encode() for t in tokens if t],
        "engine_frames": [s.encode() for s in sessions],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", default=os.path.join(HERE, "..", "..", "shared", "vectors"))
    parser.add_argument("--out", default=os.path.join(HERE, "corpus"))
    args = parser.parse_args()
    if not os.path.isdir(args.vectors):
        sys.exit(f"no vectors at {args.vectors}: clone `shared` beside the repository")
    for target, inputs in collect(args.vectors).items():
        directory = os.path.join(args.out, target)
        os.makedirs(directory, exist_ok=True)
        unique = {hashlib.sha1(item).hexdigest(): item for item in inputs}
        for name, item in unique.items():
            with open(os.path.join(directory, name), "wb") as f:
                f.write(item)
        print(f"{target}: {len(unique)} inputs in {directory}")


if __name__ == "__main__":
    main()
