//! `durable-iterator-server`: the reference object server as a program (see `--help`).

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use durable_iterator_server::{Cli, Server};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

/// How long a stop waits for sockets to finish their closing handshakes.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Logs go to stderr: stdout carries only the "listening" line that scripts wait for.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();

    let (config, dev_key) = cli.to_config();
    if dev_key {
        tracing::warn!(
            "no --signing-key given: using the PUBLIC development key; anyone can forge tokens. \
             Fine for the local demo only."
        );
    }
    let server = match Server::open(config) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("durable-iterator-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match TcpListener::bind(cli.addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!(
                "durable-iterator-server: cannot listen on {}: {e}",
                cli.addr
            );
            return ExitCode::FAILURE;
        }
    };
    let addr = match listener.local_addr() {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("durable-iterator-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "durable-iterator-server listening on http://{addr}");
    let _ = stdout.flush();
    drop(stdout);

    let served = axum::serve(listener, server.router())
        .with_graceful_shutdown(stop_signal(server.clone()))
        .await;
    if let Err(e) = served {
        eprintln!("durable-iterator-server: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Resolves on Ctrl-C or SIGTERM, after asking every socket to close (1001) and giving the
/// closing handshakes a moment.
async fn stop_signal(server: Server) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    let sockets = server.close_all();
    tracing::info!(sockets, "stopping");
    let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
    while server.connected() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
