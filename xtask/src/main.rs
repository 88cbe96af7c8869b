//! The project's task runner, reached as `cargo xtask <command>` through the alias in
//! `.cargo/config.toml`. Std only, so it compiles in seconds on a fresh machine and in CI.

mod bench;
mod chaos;
mod cmd;
mod demo;
mod install;
mod package;
mod server;
mod steps;

use std::{process::ExitCode, time::Instant};

use steps::{Ctx, TEST_STEPS};

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  test [--skip-install]          run every check and test, in order, as CI does
  demo [--skip-install] [--addr HOST:PORT] [-- SERVER-ARGS...]
                                 build the server and the npm package, then serve
                                 the demo chat (examples/web/) until Ctrl-C at
                                 http://127.0.0.1:8787/ (or --addr), in demo mode:
                                 --test-endpoints, --resume-retention-seconds 300;
                                 arguments after -- go to the server (see its --help)
  package [--skip-install] [--check]
                                 build the npm package into pkg/ (size-optimised
                                 wasm engine, minified js/, pkg-template/) and
                                 print its size; --check also verifies package.json
                                 against `npm pack` and loads the packed tarball
                                 in Node and a Vite app (tests-package/)
  bench [--skip-install] [--quick] [-- HARNESS-ARGS...]
                                 build the release server, the native fan-out
                                 client and the npm package, then run the
                                 benchmarks in headless Chromium (bench/run.js;
                                 table in target/bench/results.md); --quick is the
                                 smoke run with tiny sizes; harness arguments such
                                 as --runs 3 or --only throughput,size go after --
  help                           show this text

Each command first installs what it needs (wasm32 target, wasm-bindgen CLI,
chromium, chromedriver, binaryen, npm packages); --skip-install skips that.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    match command.as_str() {
        "test" => with_options(rest, false, |opts| test(&opts)),
        "demo" => with_options(rest, true, |opts| demo(&opts)),
        "package" => package_command(rest),
        "bench" => bench_command(rest),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        other => {
            eprintln!("unknown command `{other}`\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// Options shared by the commands.
struct Options {
    skip_install: bool,
    addr: String,
    /// Extra arguments for the demo's server (everything after `--`).
    server_args: Vec<String>,
}

/// Parses `rest` into [`Options`] (rejecting anything unknown with the usage) and runs `f`;
/// `--addr` and `-- SERVER-ARGS` are accepted only with `demo_options`.
fn with_options(
    rest: &[String],
    demo_options: bool,
    f: impl FnOnce(Options) -> ExitCode,
) -> ExitCode {
    let mut opts = Options {
        skip_install: false,
        addr: demo::DEFAULT_ADDR.to_string(),
        server_args: Vec::new(),
    };
    let mut it = rest.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--skip-install" => opts.skip_install = true,
            "--" if demo_options => {
                opts.server_args = it.by_ref().cloned().collect();
            }
            "--addr" if demo_options => match it.next() {
                Some(addr) => opts.addr = addr.clone(),
                None => {
                    eprintln!("--addr needs a value, e.g. --addr 127.0.0.1:8787");
                    return ExitCode::from(2);
                }
            },
            other => {
                eprintln!("unknown option `{other}`\n\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    f(opts)
}

fn install(ctx: &Ctx, opts: &Options) -> cmd::Result {
    if opts.skip_install {
        println!("==> prerequisites: skipped (--skip-install)");
        Ok(())
    } else {
        install::ensure_all(&ctx.root)
    }
}

fn test(opts: &Options) -> ExitCode {
    let ctx = Ctx::new();
    let started = Instant::now();
    if let Err(e) = install(&ctx, opts) {
        eprintln!("\nerror: prerequisites: {e}");
        return ExitCode::FAILURE;
    }
    let install_took = started.elapsed();
    let (outcomes, passed) = steps::run_all(&ctx, TEST_STEPS);
    let line = format!(
        "prerequisites {}, {}",
        steps::human(install_took),
        steps::summary(&outcomes)
    );
    let total = steps::human(started.elapsed());
    if passed {
        println!("\n==> test passed in {total}: {line}");
        ExitCode::SUCCESS
    } else {
        println!("\n==> test FAILED after {total}: {line}");
        ExitCode::FAILURE
    }
}

/// `cargo xtask package [--skip-install] [--check]`.
fn package_command(rest: &[String]) -> ExitCode {
    let mut skip_install = false;
    let mut check = false;
    for arg in rest {
        match arg.as_str() {
            "--skip-install" => skip_install = true,
            "--check" => check = true,
            other => {
                eprintln!("unknown option `{other}`\n\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let ctx = Ctx::new();
    let opts = Options {
        skip_install,
        addr: String::new(),
        server_args: Vec::new(),
    };
    match install(&ctx, &opts).and_then(|()| package::package(&ctx, check)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nerror: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo xtask bench [--skip-install] [--quick] [-- HARNESS-ARGS...]`.
fn bench_command(rest: &[String]) -> ExitCode {
    let mut skip_install = false;
    let mut quick = false;
    let mut harness_args = Vec::new();
    let mut it = rest.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--skip-install" => skip_install = true,
            "--quick" => quick = true,
            "--" => harness_args = it.by_ref().cloned().collect(),
            other => {
                eprintln!("unknown option `{other}`\n\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let ctx = Ctx::new();
    let opts = Options {
        skip_install,
        addr: String::new(),
        server_args: Vec::new(),
    };
    match install(&ctx, &opts).and_then(|()| bench::bench(&ctx, quick, &harness_args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nerror: {e}");
            ExitCode::FAILURE
        }
    }
}

fn demo(opts: &Options) -> ExitCode {
    let ctx = Ctx::new();
    let result =
        install(&ctx, opts).and_then(|()| demo::run_demo(&ctx, &opts.addr, &opts.server_args));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nerror: {e}");
            ExitCode::FAILURE
        }
    }
}
