//! A reference server started for a test step: on a free loopback port, with a fresh signing
//! key, in-memory resume storage and the test endpoints, stopped when the value is dropped.

use std::{
    io::{BufRead, BufReader, Read},
    path::Path,
    process::{Child, Command, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use crate::cmd::{fail, Error, Result};

/// What the server prints on stdout once it is bound (see `durable-iterator-server --help`).
const LISTENING: &str = "durable-iterator-server listening on ";

/// How long the server may take to print its listening line.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running server process; dropping it kills the process and waits for it.
pub struct TestServer {
    child: Child,
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
}

impl TestServer {
    /// Starts `binary` with the test flags and `extra` (e.g. `["--compat", "upstream"]`), and
    /// waits for its listening line. Its log (stderr) goes to ours, each line prefixed, so a
    /// failing test shows what the server saw.
    pub fn start_with(binary: &Path, extra: &[&str]) -> Result<Self> {
        let key = signing_key();
        let mut cmd = Command::new(binary);
        cmd.args(["--addr", "127.0.0.1:0", "--signing-key", &key])
            .args(["--resume-retention-seconds", "60", "--db", ":memory:"])
            .arg("--test-endpoints")
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        println!(
            "$ {} --addr 127.0.0.1:0 --signing-key <random> --resume-retention-seconds 60 --db :memory: --test-endpoints {} &",
            binary.display(),
            extra.join(" ")
        );
        let mut child = cmd
            .spawn()
            .map_err(|e| Error(format!("could not start {}: {e}", binary.display())))?;
        if let Some(stderr) = child.stderr.take() {
            forward_lines(stderr, "[server] ");
        }
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            return fail("the server's stdout was not captured");
        };
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
                match line.trim().strip_prefix(LISTENING) {
                    Some(url) if !sent => {
                        let _ = tx.send(url.to_string());
                        sent = true;
                    }
                    // Keep draining so the server never blocks on a full pipe.
                    _ => println!("[server] {line}"),
                }
            }
        });
        match rx.recv_timeout(START_TIMEOUT) {
            Ok(url) => {
                println!("    server listening on {url}");
                Ok(TestServer { child, url })
            }
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
                fail(format!(
                    "the server did not print its listening line within {}s ({status}); its log is above",
                    START_TIMEOUT.as_secs()
                ))
            }
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn forward_lines(stream: impl Read + Send + 'static, prefix: &'static str) {
    thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(|l| l.ok()) {
            eprintln!("{prefix}{line}");
        }
    });
}

/// A fresh key per run, so nothing a test signs works against any other server.
fn signing_key() -> String {
    let mut bytes = [0u8; 24];
    let from_os = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if from_os.is_err() {
        // No /dev/urandom: the key only has to differ between runs, not resist an attacker.
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let seed = nanos ^ u128::from(std::process::id());
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = (seed >> ((i % 16) * 8)) as u8;
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_keys_are_hex_and_differ() {
        let (a, b) = (signing_key(), signing_key());
        assert_eq!(a.len(), 48);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn a_program_that_exits_without_listening_is_an_error() {
        // `true` exits at once without printing the listening line.
        if let Some(program) = crate::cmd::which("true") {
            assert!(TestServer::start_with(&program, &[]).is_err());
        }
    }
}
