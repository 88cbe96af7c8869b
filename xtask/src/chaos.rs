//! The chaos proxy (`chaos-proxy`, crate `chaos/`) as a process in front of a test server, for
//! the browser soak test (tests-wasm/tests/soak.rs): seeded drops every 0.3-1.2 s, a third of
//! them cutting a WebSocket frame in half, a little latency and jitter. Stopped when dropped.

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    thread,
    time::Duration,
};

use crate::cmd::{cargo, fail, run, Error, Result};

/// What the proxy prints on stdout once it is bound (see `chaos-proxy --help`).
const LISTENING: &str = "chaos-proxy listening on ";

/// The proxy's faults for the browser soak; the test's expectations (20+ drops in its run)
/// depend on the drop interval.
const ARGS: &[&str] = &[
    "--seed",
    "20261122",
    "--drop-every-ms",
    "300..1200",
    "--truncate-probability",
    "0.3",
    "--latency-ms",
    "2",
    "--jitter-ms",
    "5",
    "--report-every-seconds",
    "30",
];

/// A running chaos proxy; dropping it kills the process and waits for it.
pub struct ChaosProxy {
    child: Child,
    /// Base URL through the proxy, e.g. `http://127.0.0.1:41235`.
    pub url: String,
}

/// Builds the proxy binary (debug, like the server) and returns its path.
pub fn build(root: &Path, target: &Path) -> Result<PathBuf> {
    run(cargo(root).args(["build", "-p", "durable-iterator-chaos", "--locked"]))?;
    Ok(target
        .join("debug")
        .join(format!("chaos-proxy{}", std::env::consts::EXE_SUFFIX)))
}

impl ChaosProxy {
    /// Starts `binary` in front of `upstream_url` (`http://host:port`) and waits for its
    /// listening line; its counts (stderr) go to ours.
    pub fn start(binary: &Path, upstream_url: &str) -> Result<Self> {
        let upstream = upstream_url.trim_start_matches("http://");
        let mut cmd = Command::new(binary);
        cmd.args(["--listen", "127.0.0.1:0", "--upstream", upstream])
            .args(ARGS)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        println!(
            "$ {} --listen 127.0.0.1:0 --upstream {upstream} {} &",
            binary.display(),
            ARGS.join(" ")
        );
        let mut child = cmd
            .spawn()
            .map_err(|e| Error(format!("could not start {}: {e}", binary.display())))?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            return fail("the proxy's stdout was not captured");
        };
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
                if let Some(addr) = line.trim().strip_prefix(LISTENING) {
                    let _ = tx.send(format!("http://{addr}"));
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(url) => {
                println!("    chaos proxy listening on {url}");
                Ok(ChaosProxy { child, url })
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                fail("the chaos proxy did not print its listening line within 30s")
            }
        }
    }
}

impl Drop for ChaosProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
