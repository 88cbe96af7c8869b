//! `durable-iterator`: a wscat for durable iterators. `tail` follows an iterator and prints
//! each event as one JSON line; `call` calls a method of the iterator's object and prints the
//! answer. Both run the native transport of `durable-iterator-wasm` (reconnect, resume,
//! refresh, TLS), so this is also the project's own debugging tool.
//!
//! Exit codes: 0 done, 1 any other failure, 2 bad arguments, 3 token refused, 4 server
//! unreachable, 5 certificate not trusted.
#![deny(missing_docs)]

mod args;
mod failure;
mod run;

use std::process::ExitCode;

use clap::Parser;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = args::Cli::parse();
    match run::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("durable-iterator: {}", failure.message);
            ExitCode::from(failure.kind as u8)
        }
    }
}
