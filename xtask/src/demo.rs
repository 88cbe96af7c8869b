//! `cargo xtask demo`: builds everything and runs the reference server in the foreground (with
//! the demo page when `examples/web/` exists) until Ctrl-C.

use std::process::Command;

use crate::{
    cmd::{cargo, run, Result},
    steps::{exists, Ctx},
};

/// The server's own default address; passed explicitly so the URL we print is the real one.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8787";

/// Builds the workspace and the wasm client, then replaces this process with the server.
pub fn run_demo(ctx: &Ctx, addr: &str, server_args: &[String]) -> Result {
    println!("\n==> building the workspace");
    run(cargo(&ctx.root).args(["build", "--workspace", "--locked"]))?;
    println!("\n==> building the wasm client for wasm32-unknown-unknown");
    run(cargo(&ctx.root).args([
        "build",
        "--locked",
        "--target",
        "wasm32-unknown-unknown",
        "-p",
        "durable-iterator-wasm",
    ]))?;

    let mut server = Command::new(ctx.server_binary());
    server.current_dir(&ctx.root).args(["--addr", addr]);
    if exists(&ctx.root, "examples/web") {
        server
            .arg("--static-dir")
            .arg(ctx.root.join("examples/web"));
    }
    server.args(server_args);
    println!("\n==> starting the reference server: http://{addr}/  (Ctrl-C to stop)");
    println!("$ {}", crate::cmd::render(&server));
    exec(server)
}

/// Hands the terminal to the server: on Unix the server replaces xtask, so Ctrl-C and its exit
/// code reach it directly; elsewhere we wait for it.
#[cfg(unix)]
fn exec(mut cmd: Command) -> Result {
    use std::os::unix::process::CommandExt;
    let program = cmd.get_program().to_string_lossy().into_owned();
    let err = cmd.exec();
    crate::cmd::fail(format!("could not start {program}: {err}"))
}

#[cfg(not(unix))]
fn exec(mut cmd: Command) -> Result {
    run(&mut cmd)
}
