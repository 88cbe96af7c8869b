//! Running child processes and finding tools: every command xtask runs goes through here, so
//! each one is echoed the same way before it runs and fails with the same kind of message.

use std::{
    env,
    ffi::OsString,
    fmt,
    path::{Path, PathBuf},
    process::Command,
};

/// Result of an xtask action; the error is a message for the person at the terminal.
pub type Result<T = ()> = std::result::Result<T, Error>;

/// A failure already phrased for the user (what failed and what to do about it).
#[derive(Debug)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error(e.to_string())
    }
}

/// Shorthand for returning an [`Error`] with a message.
pub fn fail<T>(msg: impl Into<String>) -> Result<T> {
    Err(Error(msg.into()))
}

/// The repository root. xtask sits one directory below it, and every path the tasks use is
/// relative to the root so that `cargo xtask` works from any subdirectory.
///
/// `cargo run` sets `CARGO_MANIFEST_DIR` for the program it runs, so this reads it at run time
/// first: the compile-time value is baked into the binary and goes stale when a build from
/// another checkout (a worktree sharing this target directory) left `target/debug/xtask` behind.
pub fn repo_root() -> PathBuf {
    let manifest_dir = env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .filter(|dir| dir.join("Cargo.toml").is_file())
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    match manifest_dir.parent() {
        Some(root) => root.to_path_buf(),
        None => manifest_dir,
    }
}

/// Cargo's target directory, honouring `CARGO_TARGET_DIR` like cargo itself does.
pub fn target_dir(root: &Path) -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

/// A `cargo` command, using the same cargo that started xtask (it sets `CARGO` for us), so a
/// pinned toolchain stays pinned for every step.
pub fn cargo(root: &Path) -> Command {
    let mut cmd = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(root);
    cmd
}

/// Echoes `cmd` as a shell line, runs it with inherited stdio, and turns a non-zero exit into an
/// error naming the command.
pub fn run(cmd: &mut Command) -> Result {
    let line = render(cmd);
    println!("$ {line}");
    let status = cmd
        .status()
        .map_err(|e| Error(format!("could not start `{line}`: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        let code = status
            .code()
            .map_or_else(|| "a signal".to_string(), |c| format!("exit code {c}"));
        fail(format!("`{line}` failed with {code}"))
    }
}

/// Runs `cmd` quietly and returns its trimmed stdout when it succeeds; `None` when the program is
/// missing or fails. Used for probing versions, never for steps.
pub fn probe(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Finds an executable on `PATH`, like `which`.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file() || path.with_extension("exe").is_file()
}

/// Puts `dir` at the front of `PATH` for xtask and every child it starts, so a tool installed
/// just now (e.g. into `~/.cargo/bin`) is found without a new shell.
pub fn prepend_path(dir: &Path) -> Result {
    let current = env::var_os("PATH").unwrap_or_default();
    if env::split_paths(&current).any(|p| p == dir) {
        return Ok(());
    }
    let mut dirs = vec![dir.to_path_buf()];
    dirs.extend(env::split_paths(&current));
    let joined: OsString =
        env::join_paths(dirs).map_err(|e| Error(format!("cannot add {dir:?} to PATH: {e}")))?;
    // xtask is single-threaded, so changing its own environment is sound.
    env::set_var("PATH", joined);
    Ok(())
}

/// Shell-like rendering of a command (env overrides, program, arguments, and `(in dir)` when it
/// runs elsewhere than the repository root) for echoing.
pub fn render(cmd: &Command) -> String {
    let mut parts = Vec::new();
    for (key, value) in cmd.get_envs() {
        if let Some(value) = value {
            parts.push(format!(
                "{}={}",
                key.to_string_lossy(),
                quote(&value.to_string_lossy())
            ));
        }
    }
    let program = cmd.get_program().to_string_lossy();
    // Show `cargo`, not the toolchain path that `CARGO` points at.
    let program = match Path::new(program.as_ref()).file_stem() {
        Some(stem) if stem == "cargo" => "cargo".to_string(),
        _ => program.to_string(),
    };
    parts.push(program);
    parts.extend(cmd.get_args().map(|a| quote(&a.to_string_lossy())));
    let mut line = parts.join(" ");
    if let Some(dir) = cmd.get_current_dir() {
        let root = repo_root();
        if dir != root {
            let shown = dir.strip_prefix(&root).unwrap_or(dir);
            line.push_str(&format!("   (in {})", shown.display()));
        }
    }
    line
}

fn quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@+".contains(c));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_shows_env_args_and_directory() {
        let root = repo_root();
        let mut cmd = Command::new("npm");
        cmd.arg("test")
            .arg("a b")
            .env("X", "1")
            .current_dir(root.join("tests-node"));
        assert_eq!(render(&cmd), "X=1 npm test 'a b'   (in tests-node)");
    }

    #[test]
    fn which_finds_a_program_that_is_on_every_unix_path() {
        if cfg!(unix) {
            assert!(which("sh").is_some());
        }
        assert!(which("surely-no-such-program-xtask").is_none());
    }
}
