//! Installs what the tasks need on a fresh machine that has only a Rust toolchain: the wasm32
//! target, the standard library's sources (rust-src), the wasm-bindgen CLI matching Cargo.lock, Chromium + ChromeDriver and binaryen from
//! Debian, and the npm packages of every directory with a package-lock.json. Each check is cheap
//! when the tool is already there, so a warm run spends well under a second here.

use std::{
    env, fs,
    path::{Path, PathBuf},
    process::Command,
    thread,
    time::{Duration, Instant},
};

use crate::cmd::{self, fail, probe, run, which, Error, Result};

const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// Debian packages and the program each one provides; the program is what we look for.
const DEBIAN_PACKAGES: &[(&str, &str)] = &[
    ("chromium", "chromium"),
    ("chromium-driver", "chromedriver"),
    ("binaryen", "wasm-opt"),
];

/// Directories never searched for package-lock.json: dependencies, build output, VCS data.
const SKIP_DIRS: &[&str] = &["node_modules", "target", "pkg", "dist", ".git"];

/// Makes sure every prerequisite is present, installing what is missing, and says what it does.
pub fn ensure_all(root: &Path) -> Result {
    println!("==> prerequisites (pass --skip-install to skip this)");
    if let Some(bin) = cargo_bin_dir() {
        if bin.is_dir() {
            cmd::prepend_path(&bin)?;
        }
    }
    ensure_wasm_target()?;
    ensure_rust_src()?;
    ensure_wasm_bindgen_cli(root)?;
    ensure_debian_packages()?;
    ensure_npm_packages(root)?;
    Ok(())
}

fn ensure_wasm_target() -> Result {
    let installed = probe(Command::new("rustup").args(["target", "list", "--installed"]));
    match installed {
        Some(list) if list.lines().any(|l| l.trim() == WASM_TARGET) => {
            println!("    {WASM_TARGET} target: present");
            Ok(())
        }
        Some(_) => {
            println!("    {WASM_TARGET} target: missing, adding it");
            run(Command::new("rustup").args(["target", "add", WASM_TARGET]))
        }
        None => {
            // No rustup (e.g. a distribution's Rust): accept the target if its std is there.
            let sysroot = probe(Command::new("rustc").args(["--print", "sysroot"]));
            let std_dir = sysroot.map(|s| Path::new(&s).join("lib/rustlib").join(WASM_TARGET));
            if std_dir.is_some_and(|d| d.is_dir()) {
                println!("    {WASM_TARGET} target: present");
                Ok(())
            } else {
                fail(format!(
                    "the {WASM_TARGET} target is missing and rustup is not on PATH to add it"
                ))
            }
        }
    }
}

/// The standard library's sources: the package's wasm is built with its own `core` and
/// `alloc` (`-Zbuild-std`, see `package::build_engine`).
fn ensure_rust_src() -> Result {
    let sysroot = probe(Command::new("rustc").args(["--print", "sysroot"]));
    let core = sysroot.map(|s| Path::new(s.trim()).join("lib/rustlib/src/rust/library/core"));
    if core.is_some_and(|dir| dir.is_dir()) {
        println!("    rust-src component: present");
        return Ok(());
    }
    if which("rustup").is_none() {
        return fail("the rust-src component is missing and rustup is not on PATH to add it");
    }
    println!("    rust-src component: missing, adding it");
    run(Command::new("rustup").args(["component", "add", "rust-src"]))
}

/// The `wasm-bindgen` CLI must be exactly the version of the `wasm-bindgen` crate in Cargo.lock,
/// or it refuses to process the module (its schema check compares the two).
fn ensure_wasm_bindgen_cli(root: &Path) -> Result {
    let lock = fs::read_to_string(root.join("Cargo.lock"))
        .map_err(|e| Error(format!("cannot read Cargo.lock: {e}")))?;
    let Some(wanted) = locked_version(&lock, "wasm-bindgen") else {
        return fail("Cargo.lock has no wasm-bindgen package; cannot pick a wasm-bindgen CLI");
    };
    let mut waited = false;
    loop {
        let have = installed_wasm_bindgen();
        if have.as_deref() == Some(wanted.as_str()) {
            println!("    wasm-bindgen CLI {wanted}: present");
            return Ok(());
        }
        // Two concurrent `cargo install`s of the same crate fight over the same files; if one is
        // already running (another terminal, another task) wait for it and check again.
        if other_wasm_bindgen_install_running() {
            if !waited {
                println!("    wasm-bindgen CLI: another `cargo install wasm-bindgen-cli` is running; waiting for it");
                waited = true;
            }
            thread::sleep(Duration::from_secs(10));
            continue;
        }
        let found = have.map_or_else(|| "none".to_string(), |v| format!("found {v}"));
        println!("    wasm-bindgen CLI {wanted}: {found}; installing it (takes about 3 minutes)");
        let started = Instant::now();
        run(Command::new("cargo").args([
            "install",
            "wasm-bindgen-cli",
            "--version",
            &wanted,
            "--locked",
        ]))?;
        println!(
            "    wasm-bindgen CLI {wanted}: installed in {:.0?}",
            started.elapsed()
        );
        let have = installed_wasm_bindgen();
        if have.as_deref() == Some(wanted.as_str()) {
            return Ok(());
        }
        return fail(format!(
            "installed wasm-bindgen-cli {wanted}, but `wasm-bindgen --version` on PATH reports {}; \
             put the cargo install directory first on PATH",
            have.unwrap_or_else(|| "nothing".into())
        ));
    }
}

/// The version of `package` recorded in a Cargo.lock, by a plain text scan of its
/// `[[package]]` entries (no TOML parser needed for this fixed format).
pub fn locked_version(lock: &str, package: &str) -> Option<String> {
    let wanted_name = format!("name = \"{package}\"");
    let mut in_package = false;
    for line in lock.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = false;
        } else if line == wanted_name {
            in_package = true;
        } else if in_package {
            if let Some(rest) = line.strip_prefix("version = \"") {
                return rest.strip_suffix('"').map(str::to_string);
            }
        }
    }
    None
}

/// The version printed by `wasm-bindgen --version` ("wasm-bindgen 0.2.129"), if it runs.
fn installed_wasm_bindgen() -> Option<String> {
    let out = probe(Command::new("wasm-bindgen").arg("--version"))?;
    out.split_whitespace().nth(1).map(str::to_string)
}

/// Whether some other process is `cargo install`-ing wasm-bindgen-cli (Linux `/proc` scan; on
/// other systems we cannot tell and assume not).
fn other_wasm_bindgen_install_running() -> bool {
    let me = std::process::id().to_string();
    let Ok(entries) = fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|entry| {
        let pid = entry.file_name();
        if pid.to_string_lossy() == me {
            return false;
        }
        let Ok(raw) = fs::read(entry.path().join("cmdline")) else {
            return false;
        };
        let args: Vec<String> = raw
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        is_wasm_bindgen_install(&args)
    })
}

fn is_wasm_bindgen_install(args: &[String]) -> bool {
    // A process that rewrote its title (or a pgrep-style view) may show all of its arguments in
    // one string, so look at words rather than argv entries.
    let mut words = args.iter().flat_map(|a| a.split_whitespace());
    let is_cargo = words
        .next()
        .and_then(|program| Path::new(program).file_name())
        .is_some_and(|name| name == "cargo");
    let rest: Vec<&str> = words.collect();
    is_cargo && rest.contains(&"install") && rest.contains(&"wasm-bindgen-cli")
}

/// Where `cargo install` puts binaries.
fn cargo_bin_dir() -> Option<PathBuf> {
    if let Some(root) = env::var_os("CARGO_INSTALL_ROOT") {
        return Some(PathBuf::from(root).join("bin"));
    }
    if let Some(home) = env::var_os("CARGO_HOME") {
        return Some(PathBuf::from(home).join("bin"));
    }
    env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo/bin"))
}

fn ensure_debian_packages() -> Result {
    let mut missing = Vec::new();
    for (package, program) in DEBIAN_PACKAGES {
        match which(program) {
            Some(path) => println!("    {program} ({package}): {}", path.display()),
            None => missing.push(*package),
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    println!(
        "    missing Debian packages: {}; installing them",
        missing.join(" ")
    );
    if which("apt-get").is_none() {
        return fail(format!(
            "apt-get is not available to install {}; install them with your package manager \
             (or pass --skip-install)",
            missing.join(" ")
        ));
    }
    let sudo = if is_root() {
        None
    } else if which("sudo").is_some() {
        Some("sudo")
    } else {
        return fail(format!(
            "installing {} needs root, and sudo is not available; install them as root",
            missing.join(" ")
        ));
    };
    let apt = |args: &[&str]| {
        let mut cmd = match sudo {
            Some(sudo) => {
                let mut c = Command::new(sudo);
                c.arg("apt-get");
                c
            }
            None => Command::new("apt-get"),
        };
        cmd.env("DEBIAN_FRONTEND", "noninteractive").args(args);
        cmd
    };
    run(&mut apt(&["update"]))?;
    let mut install = apt(&["install", "-y", "--no-install-recommends"]);
    install.args(&missing);
    run(&mut install)?;
    for (package, program) in DEBIAN_PACKAGES {
        if which(program).is_none() {
            return fail(format!(
                "installed {package}, but `{program}` is still not on PATH"
            ));
        }
    }
    Ok(())
}

fn is_root() -> bool {
    probe(Command::new("id").arg("-u")).is_some_and(|uid| uid == "0")
}

/// Runs `npm ci` in every directory of the repository that has a package-lock.json.
fn ensure_npm_packages(root: &Path) -> Result {
    let mut dirs = Vec::new();
    find_lockfiles(root, &mut dirs)?;
    dirs.sort();
    if dirs.is_empty() {
        println!("    npm packages: no package-lock.json in the repository");
        return Ok(());
    }
    if which("npm").is_none() {
        return fail("npm is not on PATH; install Node.js 20 or newer (it includes npm)");
    }
    let in_ci = env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false");
    for dir in dirs {
        let shown = dir.strip_prefix(root).unwrap_or(&dir).display().to_string();
        // npm ci wipes node_modules; skip it locally when npm's own record of the install is
        // newer than the lockfile, so a warm run does not reinstall (CI always installs).
        if !in_ci && npm_install_is_current(&dir) {
            println!("    npm packages in {shown}/: up to date with package-lock.json");
            continue;
        }
        println!("    npm packages in {shown}/: installing");
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir))?;
    }
    Ok(())
}

fn npm_install_is_current(dir: &Path) -> bool {
    let modified = |p: PathBuf| fs::metadata(p).and_then(|m| m.modified()).ok();
    match (
        modified(dir.join("node_modules/.package-lock.json")),
        modified(dir.join("package-lock.json")),
    ) {
        (Some(installed), Some(lock)) => installed >= lock,
        _ => false,
    }
}

fn find_lockfiles(dir: &Path, found: &mut Vec<PathBuf>) -> Result {
    if dir.join("package-lock.json").is_file() {
        found.push(dir.to_path_buf());
    }
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if SKIP_DIRS.contains(&name.as_ref()) || name.starts_with('.') {
            continue;
        }
        if entry.file_type()?.is_dir() {
            find_lockfiles(&entry.path(), found)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"
[[package]]
name = "wasm-bindgen-macro"
version = "0.2.129"

[[package]]
name = "wasm-bindgen"
version = "0.2.129"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = [
 "wasm-bindgen",
]
"#;

    #[test]
    fn locked_version_finds_the_exact_package_only() {
        assert_eq!(
            locked_version(LOCK, "wasm-bindgen").as_deref(),
            Some("0.2.129")
        );
        assert_eq!(locked_version(LOCK, "wasm-bindgen-shared"), None);
    }

    #[test]
    fn locked_version_reads_this_workspace_lock() {
        let lock = fs::read_to_string(cmd::repo_root().join("Cargo.lock")).unwrap_or_default();
        let version = locked_version(&lock, "wasm-bindgen");
        assert!(version.is_some_and(|v| v.split('.').count() == 3));
    }

    #[test]
    fn install_detection_needs_cargo_install_and_the_crate() {
        let args = |s: &str| s.split(' ').map(str::to_string).collect::<Vec<_>>();
        assert!(is_wasm_bindgen_install(&args(
            "/root/.rustup/toolchains/stable/bin/cargo install wasm-bindgen-cli --version 0.2.129 --locked"
        )));
        assert!(!is_wasm_bindgen_install(&args(
            "cargo build -p wasm-bindgen-cli"
        )));
        assert!(!is_wasm_bindgen_install(&args(
            "bash -c cargo install wasm-bindgen-cli"
        )));
        assert!(is_wasm_bindgen_install(&[
            "cargo install wasm-bindgen-cli --locked".to_string()
        ]));
    }

    #[test]
    fn lockfile_search_skips_node_modules() {
        let root = env::temp_dir().join(format!("xtask-lockfiles-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        for dir in ["a", "a/node_modules/dep", "b/c", "target/x"] {
            fs::create_dir_all(root.join(dir)).unwrap_or_default();
            fs::write(root.join(dir).join("package-lock.json"), "{}").unwrap_or_default();
        }
        let mut found = Vec::new();
        let result = find_lockfiles(&root, &mut found);
        found.sort();
        let _ = fs::remove_dir_all(&root);
        assert!(result.is_ok());
        assert_eq!(found, vec![root.join("a"), root.join("b/c")]);
    }
}
