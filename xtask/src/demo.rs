//! `cargo xtask demo`: builds the server and the npm package, puts the demo page
//! (`examples/web/`) and the package side by side in `target/demo-site/`, and runs the reference
//! server on it in demo mode (test endpoints for the page's drop button, resume retention) until
//! Ctrl-C.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use crate::{
    cmd::{cargo, run, Error, Result},
    package::{self, PKG_DIR},
    steps::Ctx,
};

/// The server's own default address; passed explicitly so the URL we print is the real one.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8787";
/// The page's sources, relative to the root.
const PAGE_DIR: &str = "examples/web";
/// What the server serves, under the target directory: the page with the package at `/pkg/`.
const SITE_DIR: &str = "demo-site";
/// How long the demo keeps events for resuming tabs (the page says 300 s).
const RETENTION_SECONDS: &str = "300";
const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// A Rust UI example: its own cargo workspace, built for wasm32 only (see its Cargo.toml),
/// linked by the wasm-bindgen CLI beside its index.html.
pub struct RustExample {
    /// For messages: `Leptos`.
    pub name: &'static str,
    /// Its sources, relative to the root.
    pub dir: &'static str,
    /// Its target directory, under the root one.
    target_dir: &'static str,
    /// Where the built app goes, under the target directory: index.html and pkg/.
    site_dir: &'static str,
    /// The wasm file cargo writes (the crate name with underscores).
    wasm_file: &'static str,
    /// The wasm-bindgen output name that its index.html imports.
    out_name: &'static str,
}

/// The Leptos example.
pub const LEPTOS: RustExample = RustExample {
    name: "Leptos",
    dir: "examples/leptos",
    target_dir: "leptos",
    site_dir: "leptos-site",
    wasm_file: "durable_iterator_leptos_example.wasm",
    out_name: "leptos_chat",
};

/// The Yew example.
pub const YEW: RustExample = RustExample {
    name: "Yew",
    dir: "examples/yew",
    target_dir: "yew",
    site_dir: "yew-site",
    wasm_file: "durable_iterator_yew_example.wasm",
    out_name: "yew_chat",
};

/// Server options of demo mode; the page depends on each (tests-demo starts the server alike).
/// Each is skipped when the caller's `-- SERVER-ARGS` set it already.
fn demo_mode_args(ctx: &Ctx, site: &Path) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("--static-dir", Some(site.display().to_string())),
        ("--test-endpoints", None),
        (
            "--resume-retention-seconds",
            Some(RETENTION_SECONDS.to_string()),
        ),
        // Resume storage lives with the build output, not in the working tree.
        (
            "--db",
            Some(ctx.target.join("demo.sqlite3").display().to_string()),
        ),
    ]
}

/// Builds everything the demo needs, then replaces this process with the server.
pub fn run_demo(ctx: &Ctx, addr: &str, server_args: &[String]) -> Result {
    println!("\n==> building the reference server");
    run(cargo(&ctx.root).args(["build", "--locked", "-p", "durable-iterator-server"]))?;
    let site = prepare_site(ctx)?;

    let mut server = Command::new(ctx.server_binary());
    server.current_dir(&ctx.root).args(["--addr", addr]);
    for (flag, value) in demo_mode_args(ctx, &site) {
        if sets_flag(server_args, flag) {
            continue;
        }
        server.arg(flag);
        if let Some(value) = value {
            server.arg(value);
        }
    }
    server.args(server_args);
    println!("\n==> starting the reference server in demo mode (Ctrl-C to stop)");
    println!("$ {}", crate::cmd::render(&server));
    println!("\n    Open http://{addr}/ in two or more tabs and chat between them.\n");
    exec(server)
}

/// Builds the npm package into `pkg/` and assembles `target/demo-site/`: the files of
/// `examples/web/` with the package copied to `pkg/` inside it, so the page's
/// `import ... from '/pkg/index.js'` resolves. Returns the site directory.
pub fn prepare_site(ctx: &Ctx) -> Result<PathBuf> {
    package::package(ctx, false)?;
    let site = ctx.target.join(SITE_DIR);
    println!(
        "\n==> assembling the demo site in {} ({PAGE_DIR}/ + {PKG_DIR}/)",
        site.display()
    );
    if site.exists() {
        fs::remove_dir_all(&site)
            .map_err(|e| Error(format!("cannot remove the old {}: {e}", site.display())))?;
    }
    copy_tree(&ctx.root.join(PAGE_DIR), &site)?;
    copy_tree(&ctx.root.join(PKG_DIR), &site.join("pkg"))?;
    Ok(site)
}

/// The stylesheet both Rust examples link as `chat.css`.
const RUST_CHAT_CSS: &str = "examples/rust-chat.css";

impl RustExample {
    /// The directory [`RustExample::build`] fills.
    pub fn site(&self, ctx: &Ctx) -> PathBuf {
        ctx.target.join(self.site_dir)
    }

    /// Checks the example's formatting, builds it for wasm32 (debug) and links it with the
    /// wasm-bindgen CLI into its site directory beside its index.html, ready to be served
    /// with the server's `--static-dir`. Returns the site directory.
    pub fn build(&self, ctx: &Ctx) -> Result<PathBuf> {
        let manifest = ctx.root.join(self.dir).join("Cargo.toml");
        // Outside the root workspace, so `cargo fmt --all` at the root does not see it.
        run(cargo(&ctx.root)
            .args(["fmt", "--check", "--manifest-path"])
            .arg(&manifest))?;
        // A target directory of its own: the client crate is a cdylib, whose rlib cargo names
        // without a hash on wasm32, so the root workspace's build and this one (other serde
        // and web-sys features) would overwrite each other's `libdurable_iterator_wasm.rlib`,
        // and whichever build found its own copy fresh linked against the other's (trait
        // mismatches). Not --locked: a new dependency of the client crate would otherwise
        // fail this step until someone refreshed the example's lockfile; every crate already
        // in it stays pinned.
        let target = ctx.target.join(self.target_dir);
        run(cargo(&ctx.root)
            .env("CARGO_TARGET_DIR", &target)
            .args(["build", "--target", WASM_TARGET, "--manifest-path"])
            .arg(&manifest))?;
        let wasm = target.join(WASM_TARGET).join("debug").join(self.wasm_file);
        let site = self.site(ctx);
        if site.exists() {
            fs::remove_dir_all(&site)
                .map_err(|e| Error(format!("cannot remove the old {}: {e}", site.display())))?;
        }
        run(Command::new("wasm-bindgen")
            .args([
                "--target",
                "web",
                "--no-typescript",
                "--out-name",
                self.out_name,
            ])
            .arg("--out-dir")
            .arg(site.join("pkg"))
            .arg(&wasm))?;
        fs::copy(
            ctx.root.join(self.dir).join("index.html"),
            site.join("index.html"),
        )?;
        fs::copy(ctx.root.join(RUST_CHAT_CSS), site.join("chat.css"))?;
        println!("    the {} app is in {}", self.name, site.display());
        Ok(site)
    }
}

/// Copies the regular files of `from` into `to`, recursively.
fn copy_tree(from: &Path, to: &Path) -> Result {
    fs::create_dir_all(to)?;
    let entries =
        fs::read_dir(from).map_err(|e| Error(format!("cannot read {}: {e}", from.display())))?;
    for entry in entries {
        let entry = entry?;
        let kind = entry.file_type()?;
        let dest = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &dest)?;
        } else if kind.is_file() {
            fs::copy(entry.path(), &dest)?;
        }
    }
    Ok(())
}

/// Whether `args` set `flag`, as `--flag value` or `--flag=value`.
fn sets_flag(args: &[String], flag: &str) -> bool {
    args.iter()
        .any(|arg| arg == flag || arg.strip_prefix(flag).is_some_and(|r| r.starts_with('=')))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_flags_are_recognised_in_both_spellings() {
        let args = [
            "--db".to_string(),
            "x.db".into(),
            "--static-dir=/srv".into(),
        ];
        assert!(sets_flag(&args, "--db"));
        assert!(sets_flag(&args, "--static-dir"));
        assert!(!sets_flag(&args, "--test-endpoints"));
        assert!(!sets_flag(&["--dbx".to_string()], "--db"));
    }

    #[test]
    fn copy_tree_copies_nested_files() {
        let base = std::env::temp_dir().join(format!("xtask-copy-tree-{}", std::process::id()));
        let (from, to) = (base.join("from"), base.join("to"));
        fs::create_dir_all(from.join("sub")).unwrap_or_default();
        fs::write(from.join("a.txt"), "a").unwrap_or_default();
        fs::write(from.join("sub/b.txt"), "b").unwrap_or_default();
        let copied = copy_tree(&from, &to);
        let b = fs::read_to_string(to.join("sub/b.txt")).unwrap_or_default();
        let _ = fs::remove_dir_all(&base);
        assert!(copied.is_ok());
        assert_eq!(b, "b");
    }
}
