//! The binary: one "listening" line on stdout with the real port, flags documented in
//! `--help`, an empty signing key refused, a clean stop on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_durable-iterator-server");

#[test]
fn help_documents_every_flag_with_its_default() {
    let output = Command::new(BIN).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for flag in [
        "--addr",
        "--signing-key",
        "--resume-retention-seconds",
        "--db",
        "--static-dir",
        "--max-frame-bytes",
        "--token-ttl-seconds",
        "--max-queued-events",
        "--test-endpoints",
        "--compat",
        "upstream",
        "/test/publish",
        "/test/drop",
        "/test/sockets",
    ] {
        assert!(help.contains(flag), "--help mentions {flag}:\n{help}");
    }
    for default in [
        "127.0.0.1:8787",
        "data/durable-iterator.sqlite3",
        "1048576",
        "86400",
        "4096",
    ] {
        assert!(help.contains(default), "--help shows the default {default}");
    }
}

#[test]
fn an_empty_signing_key_is_refused() {
    let output = Command::new(BIN)
        .args([
            "--signing-key",
            "",
            "--addr",
            "127.0.0.1:0",
            "--db",
            ":memory:",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("signing key is empty"));
    assert!(
        output.stdout.is_empty(),
        "nothing on stdout when it does not listen"
    );
}

#[tokio::test]
async fn prints_the_bound_address_and_serves_it() {
    let mut child = Command::new(BIN)
        .args([
            "--addr",
            "127.0.0.1:0",
            "--signing-key",
            "k",
            "--db",
            ":memory:",
            "--test-endpoints",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    let url = line
        .trim_end()
        .strip_prefix("durable-iterator-server listening on http://")
        .unwrap_or_else(|| panic!("unexpected line {line:?}"));
    let addr: std::net::SocketAddr = url.parse().unwrap();
    assert_ne!(addr.port(), 0, "the real port");

    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(b"GET /test/sockets?channel=x HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with(r#"{"sockets":[]}"#), "{response}");

    // SIGTERM stops it cleanly.
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status}");
            break;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
