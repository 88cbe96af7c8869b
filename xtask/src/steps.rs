//! The steps of `cargo xtask test`, in order. This list is the one place to add a step: give
//! it a name, the directory it needs (if any), and a function that runs its commands.

use std::{
    fs,
    path::PathBuf,
    process::Command,
    time::{Duration, Instant},
};

use crate::{
    cmd::{self, cargo, run, which, Result},
    demo,
    server::TestServer,
};

/// What a step can use: where the repository and cargo's output are.
pub struct Ctx {
    /// Repository root.
    pub root: PathBuf,
    /// Cargo's target directory (where the server binary is built).
    pub target: PathBuf,
}

impl Ctx {
    /// The context for this checkout.
    pub fn new() -> Self {
        let root = cmd::repo_root();
        let target = cmd::target_dir(&root);
        Ctx { root, target }
    }

    /// The debug build of the reference server, as `cargo build -p durable-iterator-server`
    /// leaves it.
    pub fn server_binary(&self) -> PathBuf {
        self.target.join("debug").join(format!(
            "durable-iterator-server{}",
            std::env::consts::EXE_SUFFIX
        ))
    }
}

/// One step of the test command.
pub struct Step {
    /// Short name, shown in the banner and in the summary.
    pub name: &'static str,
    /// A directory (relative to the root) the step tests; the step is skipped while it does not
    /// exist, so suites that later issues add start running as soon as they land.
    pub needs_dir: Option<&'static str>,
    /// Runs the step's commands; the first failing command fails the step.
    pub run: fn(&Ctx) -> Result,
}

/// Every step of `cargo xtask test`, in the order they run (cheap checks first, to fail fast).
pub const TEST_STEPS: &[Step] = &[
    Step {
        name: "format",
        needs_dir: None,
        run: format,
    },
    Step {
        // Clippy, then the API docs with warnings denied.
        name: "clippy",
        needs_dir: None,
        run: clippy,
    },
    Step {
        name: "native tests",
        needs_dir: None,
        run: native_tests,
    },
    Step {
        name: "wasm32 build",
        needs_dir: None,
        run: wasm_build,
    },
    Step {
        name: "package",
        needs_dir: Some("pkg-template"),
        run: package,
    },
    Step {
        name: "js unit tests",
        needs_dir: Some("js/test"),
        run: js_tests,
    },
    Step {
        name: "node interop tests",
        needs_dir: Some("tests-node"),
        run: node_tests,
    },
    Step {
        name: "browser tests",
        needs_dir: Some("tests-wasm"),
        run: browser_tests,
    },
    Step {
        name: "npm package browser tests",
        needs_dir: Some("tests-browser"),
        run: package_browser_tests,
    },
    Step {
        name: "leptos example build",
        needs_dir: Some(demo::LEPTOS.dir),
        run: leptos_build,
    },
    Step {
        name: "yew example build",
        needs_dir: Some(demo::YEW.dir),
        run: yew_build,
    },
    Step {
        name: "demo page tests",
        needs_dir: Some("tests-demo"),
        run: demo_tests,
    },
    Step {
        name: "bench smoke run",
        needs_dir: Some(crate::bench::BENCH_DIR),
        run: crate::bench::smoke,
    },
];

fn format(ctx: &Ctx) -> Result {
    run(cargo(&ctx.root).args(["fmt", "--all", "--check"]))
}

fn clippy(ctx: &Ctx) -> Result {
    run(cargo(&ctx.root).args([
        "clippy",
        "--workspace",
        "--all-targets",
        // Every feature, so the native transport (`durable-iterator-wasm/native`) is linted.
        "--all-features",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))?;
    // The npm wasm's exports, allocator and panic handler exist only on wasm32, and the crate
    // must be built alone there (with the workspace, std would come in through shared
    // dependencies and clash with its panic handler).
    run(cargo(&ctx.root).args([
        "clippy",
        "--locked",
        "--target",
        "wasm32-unknown-unknown",
        "-p",
        "durable-iterator-js-engine",
        "--",
        "-D",
        "warnings",
    ]))?;
    docs(ctx)
}

/// The API docs as docs.rs would build them, with every rustdoc warning an error (broken
/// links, missing docs, bad code blocks): natively with every feature (the Tokio transport),
/// and the client for wasm32 (the browser transport). The doc examples themselves compile and
/// run with the native tests. The npm wasm (js-engine) is left out: it is no Rust API, and its
/// exports exist only when it is built alone for wasm32.
fn docs(ctx: &Ctx) -> Result {
    run(cargo(&ctx.root).env("RUSTDOCFLAGS", "-D warnings").args([
        "doc",
        "--no-deps",
        "--workspace",
        "--exclude",
        "durable-iterator-js-engine",
        "--all-features",
        "--locked",
    ]))?;
    run(cargo(&ctx.root).env("RUSTDOCFLAGS", "-D warnings").args([
        "doc",
        "--no-deps",
        "--locked",
        "--target",
        "wasm32-unknown-unknown",
        "-p",
        "durable-iterator-wasm",
    ]))
}

fn native_tests(ctx: &Ctx) -> Result {
    // The conformance tests read ../shared/vectors (CI clones `shared` beside the repository).
    let vectors = ctx.root.join("../shared/vectors");
    if !vectors.is_dir() {
        println!(
            "warning: {} is missing; the conformance tests need the shared vectors beside the repository",
            vectors.display()
        );
    }
    // The native transport's suites (tests/native_*.rs) need its feature; building with it
    // also keeps the shared client modules compiled and tested natively.
    run(cargo(&ctx.root).args([
        "test",
        "--workspace",
        "--locked",
        "--features",
        "durable-iterator-wasm/native",
    ]))?;
    // The native client suites again, against the real oRPC object's behaviour (text-ordered
    // replay, lazy expiry, 500 for an unknown nested path): tests/native_support reads
    // DURABLE_ITERATOR_COMPAT. The soak against it is its own test (soak_native.rs).
    println!("\n--- the native client suites against `--compat upstream` ---");
    run(cargo(&ctx.root)
        .env("DURABLE_ITERATOR_COMPAT", "upstream")
        .args([
            "test",
            "--locked",
            "--features",
            "native",
            "--test",
            "native_iterator",
            "--test",
            "native_network",
            "--test",
            "token_life",
            "--test",
            "restart",
        ]))
}

fn wasm_build(ctx: &Ctx) -> Result {
    run(cargo(&ctx.root).args([
        "build",
        "--locked",
        "--target",
        "wasm32-unknown-unknown",
        "-p",
        "durable-iterator-wasm",
    ]))
}

/// Builds the npm package into pkg/ and checks it (`cargo xtask package --check`); the
/// browser tests that import pkg/ run after it.
fn package(ctx: &Ctx) -> Result {
    crate::package::package(ctx, true)
}

fn build_server(ctx: &Ctx) -> Result {
    run(cargo(&ctx.root).args(["build", "-p", "durable-iterator-server", "--locked"]))
}

fn node_tests(ctx: &Ctx) -> Result {
    build_server(ctx)?;
    run(Command::new("npm")
        .arg("test")
        .env("DURABLE_ITERATOR_SERVER_BIN", ctx.server_binary())
        .current_dir(ctx.root.join("tests-node")))
}

fn js_tests(ctx: &Ctx) -> Result {
    // Name the files: `node --test <dir>` means different things across Node versions.
    let mut files: Vec<String> = fs::read_dir(ctx.root.join("js/test"))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".test.js") || name.ends_with(".test.mjs"))
        .map(|name| format!("js/test/{name}"))
        .collect();
    files.sort();
    if files.is_empty() {
        return cmd::fail("js/test/ has no *.test.js or *.test.mjs files");
    }
    run(Command::new("node")
        .arg("--test")
        .args(&files)
        .current_dir(&ctx.root))
}

fn browser_tests(ctx: &Ctx) -> Result {
    build_server(ctx)?;
    let proxy_binary = crate::chaos::build(&ctx.root, &ctx.target)?;
    let chromedriver =
        which("chromedriver").unwrap_or_else(|| PathBuf::from("/usr/bin/chromedriver"));
    wasm_tests(ctx, &proxy_binary, &chromedriver, &[], &[])?;
    // The resume suite and the soak again, against the real oRPC object's behaviour
    // (text-ordered replay, lazy expiry). The URLs are compiled in, so only the test crate
    // itself builds again.
    println!("\n--- the resume suite and the soak against `--compat upstream` ---");
    wasm_tests(
        ctx,
        &proxy_binary,
        &chromedriver,
        &["--compat", "upstream"],
        &["--test", "resume", "--test", "soak"],
    )
}

/// Runs tests-wasm in Chromium against a server started with `server_flags`, limited to the
/// test targets `only` names (all when empty).
fn wasm_tests(
    ctx: &Ctx,
    proxy_binary: &std::path::Path,
    chromedriver: &std::path::Path,
    server_flags: &[&str],
    only: &[&str],
) -> Result {
    // A wasm test cannot read the environment at run time, so the server's URL is compiled in
    // (tests-wasm reads DURABLE_ITERATOR_TEST_SERVER with option_env!).
    let server = TestServer::start_with(&ctx.server_binary(), server_flags)?;
    // The soak suite (tests-wasm/tests/soak.rs) reaches the object through a chaos proxy that
    // keeps dropping its connections; its URL is compiled in the same way.
    let proxy = crate::chaos::ChaosProxy::start(proxy_binary, &server.url)?;
    let mut test = cargo(&ctx.root);
    if std::env::var_os("WASM_BINDGEN_TEST_TIMEOUT").is_none() {
        // The runner gives each test binary 20 s by default; the soak alone takes about 40.
        test.env("WASM_BINDGEN_TEST_TIMEOUT", "120");
    }
    run(test
        .env("CHROMEDRIVER", chromedriver)
        .env("DURABLE_ITERATOR_TEST_SERVER", &server.url)
        .env("DURABLE_ITERATOR_TEST_PROXY", &proxy.url)
        .args([
            "test",
            "--locked",
            "--target",
            "wasm32-unknown-unknown",
            "--manifest-path",
            "tests-wasm/Cargo.toml",
        ])
        .args(only))
}

fn leptos_build(ctx: &Ctx) -> Result {
    demo::LEPTOS.build(ctx).map(drop)
}

fn yew_build(ctx: &Ctx) -> Result {
    demo::YEW.build(ctx).map(drop)
}

/// Playwright in headless Chromium: the demo page (built like `cargo xtask demo` builds it)
/// and smoke tests of the Leptos and Yew apps that the previous steps built.
fn demo_tests(ctx: &Ctx) -> Result {
    build_server(ctx)?;
    let site = demo::prepare_site(ctx)?;
    let mut npm = Command::new("npm");
    npm.arg("test")
        .env("DURABLE_ITERATOR_SERVER_BIN", ctx.server_binary())
        .env("DEMO_SITE_DIR", site)
        .current_dir(ctx.root.join("tests-demo"));
    for (example, variable) in [
        (&demo::LEPTOS, "LEPTOS_SITE_DIR"),
        (&demo::YEW, "YEW_SITE_DIR"),
    ] {
        if ctx.root.join(example.dir).is_dir() {
            npm.env(variable, example.site(ctx));
        }
    }
    run(&mut npm)
}

/// The npm package in headless Chromium (playwright-core) against the reference server: the JS
/// API, the oRPC drop-in with the real @orpc/client, oRPC's TanStack Query integration over it,
/// and the TypeScript types (tsc, with the oRPC docs' contract-first code). The
/// package step builds pkg/ earlier in the list; this builds it only when it is missing.
fn package_browser_tests(ctx: &Ctx) -> Result {
    build_server(ctx)?;
    if !ctx
        .root
        .join(crate::package::PKG_DIR)
        .join("package.json")
        .is_file()
    {
        crate::package::package(ctx, false)?;
    }
    run(Command::new("npm")
        .arg("test")
        .env("DURABLE_ITERATOR_SERVER_BIN", ctx.server_binary())
        .current_dir(ctx.root.join("tests-browser")))?;
    // The client suites again, against the real oRPC object's behaviour (text-ordered replay,
    // lazy expiry, 500 for an unknown nested path): the server reads DURABLE_ITERATOR_COMPAT.
    println!("\n--- the same client suites against `--compat upstream` ---");
    run(Command::new("npm")
        .args(["test", "--"])
        .args(COMPAT_BROWSER_SUITES)
        .env("DURABLE_ITERATOR_SERVER_BIN", ctx.server_binary())
        .env("DURABLE_ITERATOR_COMPAT", "upstream")
        .current_dir(ctx.root.join("tests-browser")))
}

/// The tests-browser files that run a second time against `--compat upstream`: everything
/// that talks to the object (the type, TanStack and socket-worker files add nothing there).
const COMPAT_BROWSER_SUITES: &[&str] = &[
    "test/api-iterator.test.js",
    "test/api-rpc.test.js",
    "test/api-frames.test.js",
    "test/api-order.test.js",
    "test/orpc.test.js",
];

/// How one step ended, for the summary line.
pub enum Outcome {
    /// Ran and passed, in this long.
    Passed(Duration),
    /// Not run because its directory does not exist.
    Skipped,
    /// Ran and failed, after this long.
    Failed(Duration),
}

/// Runs the steps in order with a banner each, stopping at the first failure. Returns each
/// step's outcome (steps after a failure are absent) and whether all ran steps passed.
pub fn run_all(ctx: &Ctx, steps: &[Step]) -> (Vec<(&'static str, Outcome)>, bool) {
    let mut outcomes = Vec::new();
    let total = steps.len();
    for (i, step) in steps.iter().enumerate() {
        let n = i + 1;
        if let Some(dir) = step.needs_dir {
            if !ctx.root.join(dir).is_dir() {
                println!(
                    "\n==> [{n}/{total}] {}: skipped ({dir}/ does not exist yet)",
                    step.name
                );
                outcomes.push((step.name, Outcome::Skipped));
                continue;
            }
        }
        println!("\n==> [{n}/{total}] {}", step.name);
        let started = Instant::now();
        let result = (step.run)(ctx);
        let took = started.elapsed();
        match result {
            Ok(()) => {
                println!("==> [{n}/{total}] {}: ok in {}", step.name, human(took));
                outcomes.push((step.name, Outcome::Passed(took)));
            }
            Err(e) => {
                println!("\n==> [{n}/{total}] {}: FAILED: {e}", step.name);
                outcomes.push((step.name, Outcome::Failed(took)));
                return (outcomes, false);
            }
        }
    }
    (outcomes, true)
}

/// One line: every step with its time, e.g. `format 0.3s, clippy 12.0s, tests-node skipped`.
pub fn summary(outcomes: &[(&'static str, Outcome)]) -> String {
    outcomes
        .iter()
        .map(|(name, outcome)| match outcome {
            Outcome::Passed(d) => format!("{name} {}", human(*d)),
            Outcome::Skipped => format!("{name} skipped"),
            Outcome::Failed(d) => format!("{name} FAILED after {}", human(*d)),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Durations as people read them: `0.4s`, `12.3s`, `2m05s`.
pub fn human(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        let whole = d.as_secs();
        format!("{}m{:02}s", whole / 60, whole % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations() {
        assert_eq!(human(Duration::from_millis(420)), "0.4s");
        assert_eq!(human(Duration::from_secs(125)), "2m05s");
    }

    #[test]
    fn step_names_are_unique() {
        let mut names: Vec<_> = TEST_STEPS.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), TEST_STEPS.len());
    }

    #[test]
    fn run_all_stops_at_the_first_failure_and_skips_missing_dirs() {
        fn ok(_: &Ctx) -> Result {
            Ok(())
        }
        fn bad(_: &Ctx) -> Result {
            cmd::fail("boom")
        }
        let steps = [
            Step {
                name: "a",
                needs_dir: None,
                run: ok,
            },
            Step {
                name: "b",
                needs_dir: Some("no-such-dir-xtask"),
                run: bad,
            },
            Step {
                name: "c",
                needs_dir: None,
                run: bad,
            },
            Step {
                name: "d",
                needs_dir: None,
                run: ok,
            },
        ];
        let (outcomes, passed) = run_all(&Ctx::new(), &steps);
        assert!(!passed);
        let line = summary(&outcomes);
        assert!(line.starts_with("a "), "{line}");
        assert!(line.contains("b skipped"), "{line}");
        assert!(line.contains("c FAILED"), "{line}");
        assert!(!line.contains("d "), "{line}");
    }
}
