//! `cargo xtask bench`: builds what the benchmarks measure (the release server, the native
//! fan-out client, the npm package) and runs the harness in `bench/` (headless Chromium through
//! playwright-core). `--quick` is the smoke run with tiny sizes; `cargo xtask test` runs it too,
//! on the debug builds the earlier steps made, so the harness cannot rot.

use std::{path::PathBuf, process::Command};

use crate::{
    cmd::{cargo, fail, run, Result},
    steps::Ctx,
};

/// The harness directory, relative to the root.
pub const BENCH_DIR: &str = "bench";
/// The native fan-out client (an example of the server crate).
const NATIVE_EXAMPLE: &str = "bench_fanout";

/// Which cargo profile the measured binaries come from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// `--release`: what the published figures use.
    Release,
    /// The debug builds of the test command (smoke run only).
    Debug,
}

impl Profile {
    fn dir(self) -> &'static str {
        match self {
            Profile::Release => "release",
            Profile::Debug => "debug",
        }
    }
}

/// `cargo xtask bench [--quick] [-- HARNESS-ARGS]`: release builds, the package, the harness.
pub fn bench(ctx: &Ctx, quick: bool, harness_args: &[String]) -> Result {
    build_binaries(ctx, Profile::Release)?;
    crate::package::package(ctx, false)?;
    run_harness(ctx, Profile::Release, quick, harness_args)
}

/// The smoke step of `cargo xtask test`: tiny sizes on the debug server, against the `pkg/`
/// the package step built.
pub fn smoke(ctx: &Ctx) -> Result {
    build_binaries(ctx, Profile::Debug)?;
    if !ctx
        .root
        .join(crate::package::PKG_DIR)
        .join("package.json")
        .is_file()
    {
        crate::package::package(ctx, false)?;
    }
    let out = ctx.target.join("bench-smoke");
    run_harness(
        ctx,
        Profile::Debug,
        true,
        &["--out".to_owned(), out.to_string_lossy().into_owned()],
    )
}

fn build_binaries(ctx: &Ctx, profile: Profile) -> Result {
    let mut build = cargo(&ctx.root);
    build.args([
        "build",
        "--locked",
        "-p",
        "durable-iterator-server",
        "--bins",
        "--example",
    ]);
    build.arg(NATIVE_EXAMPLE);
    if profile == Profile::Release {
        build.arg("--release");
    }
    run(&mut build)
}

fn binary(ctx: &Ctx, profile: Profile, relative: &str) -> PathBuf {
    ctx.target
        .join(profile.dir())
        .join(format!("{relative}{}", std::env::consts::EXE_SUFFIX))
}

fn run_harness(ctx: &Ctx, profile: Profile, quick: bool, extra: &[String]) -> Result {
    let dir = ctx.root.join(BENCH_DIR);
    if !dir.join("node_modules").is_dir() {
        return fail(format!(
            "{BENCH_DIR}/node_modules is missing: run without --skip-install (it runs `npm ci` there)"
        ));
    }
    let server = binary(ctx, profile, "durable-iterator-server");
    let native = binary(ctx, profile, &format!("examples/{NATIVE_EXAMPLE}"));
    let mut node = Command::new("node");
    node.arg("run.js")
        .arg("--server")
        .arg(&server)
        .arg("--native")
        .arg(&native);
    if quick {
        node.arg("--quick");
    }
    node.args(extra).current_dir(&dir);
    run(&mut node)
}
