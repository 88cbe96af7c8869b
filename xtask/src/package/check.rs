//! `cargo xtask package --check`: verifies the built `pkg/` the way npm and its users see it.
//! package.json is read and its promises checked (name, version, `files`, every entry point
//! of `main`/`types`/`exports`), `npm pack --dry-run` must ship exactly the files that are
//! listed, which must be exactly the files that were built, the optimised wasm must
//! instantiate with its wasm-bindgen glue, and, when `tests-package/` has its npm packages,
//! the packed tarball is installed there and loaded by Node and by a Vite 7 app.

use std::{
    collections::BTreeSet,
    env, fs,
    path::{Path, PathBuf},
    process::Command,
};

use super::json::Json;
use crate::{
    cmd::{self, fail, run, which, Error, Result},
    steps::Ctx,
};

/// The published name; the JS glue, the README and users' imports rely on it.
const NAME: &str = "durable-iterator-wasm";
/// Files npm ships whatever `files` says, so they need not be listed.
const ALWAYS_SHIPPED: &[&str] = &["package.json"];
/// The npm project that installs the packed package like a user would.
const TESTS_DIR: &str = "tests-package";

/// Runs every check on `pkg/` (already built for `version`).
pub fn check(ctx: &Ctx, pkg: &Path, version: &str) -> Result {
    println!("\n==> checking {}/", super::PKG_DIR);
    if which("npm").is_none() || which("node").is_none() {
        return fail("the package checks need node and npm on PATH (Node.js 20 or newer)");
    }
    let manifest = read_manifest(pkg)?;
    check_manifest(&manifest, version)?;
    let listed = listed_files(&manifest)?;
    let built = built_files(pkg)?;
    let packed = packed_files(pkg)?;
    compare_file_sets(&listed, &built, &packed)?;
    check_entry_points(&manifest, &packed)?;
    println!(
        "    package.json, `files` and `npm pack` agree: {} files",
        packed.len()
    );
    check_wasm_instantiates(pkg)?;
    install_and_load(ctx, pkg, version)
}

fn read_manifest(pkg: &Path) -> Result<Json> {
    let path = pkg.join("package.json");
    let text = fs::read_to_string(&path)
        .map_err(|e| Error(format!("cannot read {}: {e}", path.display())))?;
    Json::parse(&text).map_err(|e| Error(format!("{} is not valid JSON: {e}", path.display())))
}

fn check_manifest(manifest: &Json, version: &str) -> Result {
    let field = |name: &str| manifest.get(name).and_then(Json::as_str);
    let expect = |name: &str, wanted: &str| {
        if field(name) == Some(wanted) {
            Ok(())
        } else {
            fail(format!(
                "package.json: \"{name}\" is {:?}, expected {wanted:?}",
                field(name)
            ))
        }
    };
    expect("name", NAME)?;
    expect("version", version)?;
    expect("type", "module")?;
    if manifest.get("sideEffects") != Some(&Json::Bool(false)) {
        return fail("package.json: \"sideEffects\" must be false so bundlers can tree-shake");
    }
    if manifest.get("exports").and_then(|e| e.get(".")).is_none() {
        return fail("package.json: \"exports\" has no \".\" entry");
    }
    Ok(())
}

/// The `files` array, plus what npm always ships.
fn listed_files(manifest: &Json) -> Result<BTreeSet<String>> {
    let Some(items) = manifest.get("files").and_then(Json::as_array) else {
        return fail("package.json: \"files\" must be an array of file names");
    };
    let mut listed = BTreeSet::new();
    for item in items {
        let Some(name) = item.as_str() else {
            return fail("package.json: every \"files\" entry must be a string");
        };
        if name.contains('*') || name.ends_with('/') {
            return fail(format!(
                "package.json: \"files\" names each shipped file; {name:?} is a pattern"
            ));
        }
        listed.insert(name.trim_start_matches("./").to_string());
    }
    listed.extend(ALWAYS_SHIPPED.iter().map(|s| s.to_string()));
    Ok(listed)
}

/// Every file under `pkg/`, as a relative path with `/` separators.
fn built_files(pkg: &Path) -> Result<BTreeSet<String>> {
    let mut found = BTreeSet::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for entry in fs::read_dir(pkg.join(&rel))? {
            let entry = entry?;
            let path = rel.join(entry.file_name());
            if entry.file_type()?.is_dir() {
                stack.push(path);
            } else {
                found.insert(path.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    Ok(found)
}

/// The paths `npm pack --dry-run --json` would put in the tarball.
fn packed_files(pkg: &Path) -> Result<BTreeSet<String>> {
    let mut pack = Command::new("npm");
    pack.args(["pack", "--dry-run", "--json", "--ignore-scripts"])
        .current_dir(pkg);
    println!("$ {}", cmd::render(&pack));
    let out = pack
        .output()
        .map_err(|e| Error(format!("could not run npm pack: {e}")))?;
    if !out.status.success() {
        return fail(format!(
            "npm pack --dry-run failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let report =
        Json::parse(&text).map_err(|e| Error(format!("npm pack printed invalid JSON: {e}")))?;
    pack_report_paths(&report)
}

/// The `files[].path` of the single package in an `npm pack --json` report.
fn pack_report_paths(report: &Json) -> Result<BTreeSet<String>> {
    let files = report
        .as_array()
        .and_then(|packages| packages.first())
        .and_then(|package| package.get("files"))
        .and_then(Json::as_array);
    let Some(files) = files else {
        return fail("npm pack --json: no files list in its report");
    };
    files
        .iter()
        .map(|file| match file.get("path").and_then(Json::as_str) {
            Some(path) => Ok(path.to_string()),
            None => fail("npm pack --json: a file entry without a path"),
        })
        .collect()
}

/// `files` (listed), the directory (built) and the tarball (packed) must name the same files.
fn compare_file_sets(
    listed: &BTreeSet<String>,
    built: &BTreeSet<String>,
    packed: &BTreeSet<String>,
) -> Result {
    let mut problems = Vec::new();
    for name in listed.difference(built) {
        problems.push(format!(
            "{name} is listed in \"files\" but was not built (is it missing from js/?)"
        ));
    }
    for name in built.difference(listed) {
        problems.push(format!(
            "{name} was built but is not listed in pkg-template/package.json \"files\", so npm \
             would not ship it; list it there or stop producing it"
        ));
    }
    for name in packed.symmetric_difference(built) {
        problems.push(format!(
            "npm pack disagrees about {name} (in the tarball: {}, built: {})",
            packed.contains(name),
            built.contains(name)
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        fail(format!(
            "the package's files are wrong:\n  {}",
            problems.join("\n  ")
        ))
    }
}

/// Every file that `main`, `types` and `exports` point at must be in the tarball.
fn check_entry_points(manifest: &Json, packed: &BTreeSet<String>) -> Result {
    let mut targets: Vec<&str> = Vec::new();
    for field in ["main", "types", "module", "browser"] {
        targets.extend(manifest.get(field).and_then(Json::as_str));
    }
    if let Some(exports) = manifest.get("exports") {
        targets.extend(exports.strings());
    }
    let missing: Vec<&str> = targets
        .into_iter()
        .filter(|t| !packed.contains(t.trim_start_matches("./")))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        fail(format!(
            "package.json points at files the package does not contain: {}",
            missing.join(", ")
        ))
    }
}

/// Loads the shipped wasm through the shipped entry point in Node (`initialize()` reads the
/// file and instantiates it): the module must need no import the loader does not give, and
/// wasm-opt must not have produced something invalid.
fn check_wasm_instantiates(pkg: &Path) -> Result {
    const SCRIPT: &str = "\
        import { pathToFileURL } from 'node:url';\n\
        const { initialize } = await import(pathToFileURL(process.argv[1]).href);\n\
        await initialize();\n\
        console.log(`    the wasm instantiates through index.js in Node ${process.version}`);";
    run(Command::new("node")
        .args(["--input-type=module", "-e", SCRIPT])
        .arg(pkg.join("index.js")))
}

/// Packs the package for real, installs the tarball into `tests-package/` (`--no-save`: its
/// package.json and lockfile stay as they are) and runs its tests there: Node imports and a Vite 7 app.
fn install_and_load(ctx: &Ctx, pkg: &Path, version: &str) -> Result {
    let tests = ctx.root.join(TESTS_DIR);
    if !tests.join("node_modules").is_dir() {
        println!(
            "note: {TESTS_DIR}/node_modules is missing (run without --skip-install); \
             skipping the install-and-load tests"
        );
        return Ok(());
    }
    let scratch =
        env::temp_dir().join(format!("durable-iterator-wasm-pack-{}", std::process::id()));
    fs::create_dir_all(&scratch)?;
    let result = (|| {
        run(Command::new("npm")
            .args(["pack", "--ignore-scripts", "--pack-destination"])
            .arg(&scratch)
            .current_dir(pkg))?;
        let tarball = scratch.join(format!("{NAME}-{version}.tgz"));
        if !tarball.is_file() {
            return fail(format!("npm pack did not write {}", tarball.display()));
        }
        run(Command::new("npm")
            .args([
                "install",
                "--no-save",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
            ])
            .arg(&tarball)
            .current_dir(&tests))?;
        run(Command::new("npm").arg("test").current_dir(&tests))
    })();
    let _ = fs::remove_dir_all(&scratch);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn manifest(text: &str) -> Json {
        Json::parse(text).unwrap_or(Json::Null)
    }

    #[test]
    fn file_sets_must_agree_three_ways() {
        let listed = set(&["package.json", "index.js", "x_bg.wasm"]);
        assert!(compare_file_sets(&listed, &listed, &listed).is_ok());

        let stray = set(&["package.json", "index.js", "x_bg.wasm", "extra.js"]);
        let err = compare_file_sets(&listed, &stray, &listed).map_err(|e| e.0);
        assert!(
            err.as_ref()
                .is_err_and(|e| e.contains("extra.js was built but is not listed")),
            "{err:?}"
        );

        let missing = set(&["package.json", "x_bg.wasm"]);
        let err = compare_file_sets(&listed, &missing, &missing).map_err(|e| e.0);
        assert!(
            err.as_ref()
                .is_err_and(|e| e.contains("index.js is listed")),
            "{err:?}"
        );
    }

    #[test]
    fn files_entries_must_be_plain_names() {
        let ok = listed_files(&manifest(r#"{"files": ["./index.js", "README.md"]}"#));
        assert_eq!(
            ok.map_err(|e| e.0),
            Ok(set(&["index.js", "README.md", "package.json"]))
        );
        assert!(listed_files(&manifest(r#"{"files": ["*.js"]}"#)).is_err());
        assert!(listed_files(&manifest(r#"{"files": "index.js"}"#)).is_err());
    }

    #[test]
    fn entry_points_must_be_packed() {
        let m = manifest(
            r#"{"main": "./index.js", "exports": {".": {"types": "./index.d.ts", "import": "./index.js"},
                "./orpc": {"import": "./orpc.js"}, "./package.json": "./package.json"}}"#,
        );
        let packed = set(&["index.js", "index.d.ts", "package.json"]);
        let err = check_entry_points(&m, &packed).map_err(|e| e.0);
        assert_eq!(
            err,
            Err("package.json points at files the package does not contain: ./orpc.js".into())
        );
        let all = set(&["index.js", "index.d.ts", "orpc.js", "package.json"]);
        assert!(check_entry_points(&m, &all).is_ok());
    }

    #[test]
    fn manifest_fields_are_checked() {
        let good = manifest(
            r#"{"name": "durable-iterator-wasm", "version": "1.2.3", "type": "module",
                "sideEffects": false, "exports": {".": "./index.js"}}"#,
        );
        assert!(check_manifest(&good, "1.2.3").is_ok());
        assert!(check_manifest(&good, "1.2.4").is_err());
        let cjs = manifest(
            r#"{"name": "durable-iterator-wasm", "version": "1.2.3", "sideEffects": false,
                "exports": {".": "./index.js"}}"#,
        );
        assert!(check_manifest(&cjs, "1.2.3").is_err());
    }

    #[test]
    fn pack_report_paths_reads_npm_output() {
        let report = manifest(
            r#"[{"id": "x@1.0.0", "files": [{"path": "a.js", "size": 1}, {"path": "package.json"}]}]"#,
        );
        assert_eq!(
            pack_report_paths(&report).map_err(|e| e.0),
            Ok(set(&["a.js", "package.json"]))
        );
        assert!(pack_report_paths(&manifest("[]")).is_err());
    }
}
