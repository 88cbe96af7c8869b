//! `chaos-proxy`: the chaos proxy as a process, for tests that cannot start it in-process
//! (the browser soak test). Prints one line once bound, then a stats line now and then.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use durable_iterator_chaos::{parse_range_ms, ChaosConfig, ChaosProxy};

/// A seeded chaos TCP proxy: relays --listen to --upstream while dropping, delaying,
/// black-holing and truncating.
///
/// Once bound it prints exactly one line to stdout:
/// `chaos-proxy listening on <addr>` (with the real port when --listen ends in :0),
/// then every --report-every-seconds a line of counts to stderr.
#[derive(Debug, Parser)]
#[command(name = "chaos-proxy", version, verbatim_doc_comment)]
struct Cli {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Address to relay to.
    #[arg(long)]
    upstream: SocketAddr,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Latency added to every chunk, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Extra random latency per chunk, up to this many milliseconds.
    #[arg(long, default_value_t = 0)]
    jitter_ms: u64,
    /// Drop every connection at random intervals in this range, in milliseconds: `200..3000`,
    /// or one number. Default: never.
    #[arg(long, value_parser = parse_range_ms)]
    drop_every_ms: Option<(Duration, Duration)>,
    /// Share of scheduled drops that cut a WebSocket frame in the middle (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    truncate_probability: f64,
    /// Share of plain cuts that reset (RST) rather than close (FIN) (0 to 1).
    #[arg(long, default_value_t = 0.5)]
    reset_probability: f64,
    /// Print counts to stderr this often (0: never).
    #[arg(long, default_value_t = 10)]
    report_every_seconds: u64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = ChaosConfig {
        seed: cli.seed,
        latency: Duration::from_millis(cli.latency_ms),
        jitter: Duration::from_millis(cli.jitter_ms),
        drop_every: cli.drop_every_ms,
        truncate_probability: cli.truncate_probability,
        reset_probability: cli.reset_probability,
    };
    let proxy = match ChaosProxy::start(cli.listen, cli.upstream, config).await {
        Ok(proxy) => proxy,
        Err(e) => {
            eprintln!("chaos-proxy: cannot listen on {}: {e}", cli.listen);
            return ExitCode::FAILURE;
        }
    };
    println!("chaos-proxy listening on {}", proxy.addr());
    let report = async {
        if cli.report_every_seconds == 0 {
            return std::future::pending().await;
        }
        let mut every = tokio::time::interval(Duration::from_secs(cli.report_every_seconds));
        every.tick().await;
        loop {
            every.tick().await;
            eprintln!("chaos-proxy: {:?}", proxy.stats());
        }
    };
    tokio::select! {
        () = report => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    eprintln!("chaos-proxy: stopping: {:?}", proxy.stats());
    ExitCode::SUCCESS
}
