//! `cargo xtask package`: builds the npm package `durable-iterator-wasm` into `pkg/`, ready for
//! `npm pack`, `npm publish` or `npm i ./pkg`. The pieces: the engine crate (`js-engine/`)
//! built with the size-first `wasm-release` profile and its own `core` and `alloc` (see
//! `build_engine`; no wasm-bindgen: `js/engine.js` loads it),
//! `wasm-opt -Oz --converge` when binaryen is installed, the hand-written JS in `js/`, and
//! `pkg-template/` (package.json, whose `{{version}}` becomes the crate's version, README,
//! LICENSE).

mod check;
mod json;

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use crate::{
    cmd::{self, cargo, fail, run, which, Error, Result},
    steps::Ctx,
};

pub use check::check;

/// Output directory, relative to the root.
pub const PKG_DIR: &str = "pkg";
/// Directory whose files are copied into the package as they are (package.json templated).
const TEMPLATE_DIR: &str = "pkg-template";
/// Placeholder in the template's package.json for the root crate's version.
const VERSION_PLACEHOLDER: &str = "{{version}}";
/// Base name of the shipped wasm, `<name>_bg.wasm` (the name wasm-bindgen used to give it, which
/// pages and bundlers already resolve); no file in js/ may start with it.
const OUT_NAME: &str = "durable_iterator_wasm";
/// The wasm file inside `pkg/`.
const WASM_FILE: &str = "durable_iterator_wasm_bg.wasm";
/// The crate whose wasm the package ships (the engine behind one entry point) and its lib name.
const ENGINE_CRATE: &str = "durable-iterator-js-engine";
const ENGINE_LIB: &str = "durable_iterator_js_engine";
/// The package's JS entry points (in `js/`, bundled into `pkg/` under the same names).
const ENTRY_POINTS: &[&str] = &["index.js", "orpc.js"];
/// The socket worker's program (shared with the Rust API's driver) and the module that carries
/// it in the package.
const WORKER_PROGRAM: &str = "src/socket_worker.js";
const WORKER_MODULE: &str = "socket-worker-program.js";
/// The npm tools of the package build (esbuild, terser, binaryen).
pub const TOOLS_DIR: &str = "xtask/npm";
/// The most the shipped wasm and JS may weigh together, gzip -9: issue 11's goal, which the
/// package meets (24,979: wasm 14,780, JS 10,199), so any growth past it is a decision.
pub const SIZE_BUDGET_GZIP: u64 = 25_000;
/// Cargo profile for the package: opt-level "z", LTO, one codegen unit (see Cargo.toml).
const PROFILE: &str = "wasm-release";
/// The engine's own target directory (under cargo's), for its build with unstable options.
const ENGINE_TARGET_DIR: &str = "pkg-wasm";
const TARGET: &str = "wasm32-unknown-unknown";

/// WebAssembly features the module may use. rustc's wasm32 target enables exactly these by
/// default (and records them in the module's `target_features` section); naming them keeps
/// wasm-opt from rejecting the module should that section ever be stripped. Every browser that
/// runs ES modules with top-level `await` and Node 20 support all six.
const WASM_FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-reference-types",
    "--enable-multivalue",
];

/// Builds `pkg/` from scratch and prints its size table; with `check`, also verifies it.
pub fn package(ctx: &Ctx, check: bool) -> Result {
    let version = crate_version(&ctx.root)?;
    println!("\n==> building the npm package durable-iterator-wasm {version} into {PKG_DIR}/");
    let pkg = ctx.root.join(PKG_DIR);
    build(ctx, &pkg, &version)?;
    print_sizes(&pkg)?;
    if check {
        self::check(ctx, &pkg, &version)?;
    }
    Ok(())
}

/// Builds the engine's wasm with its own `core` and `alloc` (`-Zbuild-std`), compiled for size
/// with panics that abort on the spot (`-Cpanic=immediate-abort`) and no source locations
/// (`-Zlocation-detail=none`): no panic message, file name or formatting table is left in
/// the module's data, which `wasm-opt` cannot drop (606 B gzip when measured). Both are unstable options of the stable toolchain, switched on with
/// `RUSTC_BOOTSTRAP=1` for this one build, in a target directory of its own so no other build
/// sees them; `build-std` compiles the library sources of the `rust-src` component. Returns
/// the module's path.
fn build_engine(ctx: &Ctx) -> Result<PathBuf> {
    let target_dir = ctx.target.join(ENGINE_TARGET_DIR);
    let built = run(cargo(&ctx.root)
        .args([
            "build",
            "--locked",
            "--profile",
            PROFILE,
            "--target",
            TARGET,
            "-p",
            ENGINE_CRATE,
            "-Zbuild-std=core,alloc",
            "--target-dir",
        ])
        .arg(&target_dir)
        .env("RUSTC_BOOTSTRAP", "1")
        .env(
            "RUSTFLAGS",
            "-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none",
        ));
    if let Err(error) = built {
        return fail(format!(
            "{error}\nthe package's wasm is built with -Zbuild-std and -Cpanic=immediate-abort \
             (unstable options of the stable toolchain, through RUSTC_BOOTSTRAP=1): it needs the \
             rust-src component (`rustup component add rust-src`, which `cargo xtask package` \
             without --skip-install runs) and a toolchain that knows the immediate-abort panic \
             strategy (Rust 1.91 or later)"
        ));
    }
    Ok(target_dir
        .join(TARGET)
        .join(PROFILE)
        .join(format!("{ENGINE_LIB}.wasm")))
}

fn build(ctx: &Ctx, pkg: &Path, version: &str) -> Result {
    let wasm = build_engine(ctx)?;

    // Start empty so a file removed from js/ or the template does not linger in the package.
    let stage = ctx.target.join("pkg-stage");
    for dir in [pkg, stage.as_path()] {
        if dir.exists() {
            fs::remove_dir_all(dir)
                .map_err(|e| Error(format!("cannot remove the old {}: {e}", dir.display())))?;
        }
        fs::create_dir_all(dir)?;
    }

    // No wasm-bindgen: the module has four plain exports that js/engine.js loads itself.
    let shipped_wasm = pkg.join(WASM_FILE);
    fs::copy(&wasm, &shipped_wasm)?;
    optimize_wasm(&ctx.root, &shipped_wasm)?;

    copy_js(&ctx.root, &stage, pkg)?;
    bundle_js(&ctx.root, &stage, pkg)?;
    copy_template(&ctx.root.join(TEMPLATE_DIR), pkg, version)?;
    Ok(())
}

/// A tool of `xtask/npm/` (installed with the other npm packages).
fn npm_tool(root: &Path, name: &str) -> Result<PathBuf> {
    let bin = root.join(TOOLS_DIR).join("node_modules/.bin").join(name);
    if bin.is_file() {
        Ok(bin)
    } else {
        fail(format!(
            "{} is missing: run `npm ci` in {TOOLS_DIR}/ (or `cargo xtask package` without \
             --skip-install)",
            bin.display()
        ))
    }
}

/// Bundles each entry point with esbuild (minified, with a source map) into the staging
/// directory, then compresses it again with terser into `pkg/`: terser's repeated passes find
/// what one esbuild pass leaves (238 B gzip of index.js when measured), and it carries
/// esbuild's source map through. `index.js` carries the wasm glue, rich JSON and the driver;
/// the other entries import `./index.js` at run time, so a page that loads both loads the
/// engine once.
fn bundle_js(root: &Path, stage: &Path, pkg: &Path) -> Result {
    let esbuild = npm_tool(root, "esbuild")?;
    let terser = npm_tool(root, "terser")?;
    let bundled = stage.join("bundled");
    for entry in ENTRY_POINTS {
        let mut command = Command::new(&esbuild);
        command
            .arg(stage.join(entry))
            .args([
                "--bundle",
                "--format=esm",
                "--minify",
                "--sourcemap",
                "--sources-content=true",
                "--legal-comments=none",
                "--target=es2022",
                // Bare imports (`@orpc/client` in orpc.js) stay imports: the app provides them.
                "--packages=external",
                "--log-level=warning",
            ])
            .arg(format!("--outfile={}", bundled.join(entry).display()));
        if *entry != "index.js" {
            command.arg("--external:./index.js");
        }
        run(&mut command)?;
        let map = bundled.join(format!("{entry}.map"));
        run(Command::new(&terser)
            .arg(bundled.join(entry))
            // Function declarations hoisted to the top of their scope (where JS puts them
            // anyway) gather what gzip can share: 56 B gzip when measured. Functions are not
            // inlined into their callers: that cost the fan-out benchmark about 10% (inlined
            // copies in the hot paths) for 12 B.
            .args([
                "--module",
                "--compress",
                "passes=2,hoist_funs=true,inline=false,reduce_funcs=false",
                "--mangle",
                "--source-map",
            ])
            .arg(format!(
                "content='{}',url='{entry}.map',includeSources",
                map.display()
            ))
            .arg("--output")
            .arg(pkg.join(entry)))?;
    }
    println!("    bundled and minified: {}", ENTRY_POINTS.join(" "));
    Ok(())
}

/// Runs `wasm-opt -Oz --converge` on the module and keeps the result when Node compiles it
/// and it is not larger once gzipped (what a page downloads). The wasm-opt of binaryen's npm package (in
/// `xtask/npm/`) comes first: Debian 12's binaryen (108) predates the reference-types
/// instructions Rust emits and may not read the module; then the module ships as cargo built
/// it, with a note.
fn optimize_wasm(root: &Path, wasm: &Path) -> Result {
    let npm_wasm_opt = root.join(TOOLS_DIR).join("node_modules/.bin/wasm-opt");
    let wasm_opt_bin = if npm_wasm_opt.is_file() {
        npm_wasm_opt
    } else if let Some(system) = which("wasm-opt") {
        system
    } else {
        println!(
            "note: wasm-opt is not installed ({TOOLS_DIR}/ npm packages, or Debian's binaryen); \
             the wasm file is not optimised further"
        );
        return Ok(());
    };
    let optimized = wasm.with_extension("opt.wasm");
    let mut wasm_opt = Command::new(&wasm_opt_bin);
    wasm_opt
        // The linker exports the heap's and data's bounds (`__heap_base`, `__data_end`) for
        // tools that extend a module; js/engine.js reads neither (34 B gzip).
        .args([
            "--remove-exports",
            "--pass-arg=remove-exports@__heap_base,__data_end",
        ])
        // `--converge` repeats -Oz while it still shrinks the module: a second round finds
        // more after the first one's inlining (88 B gzip at the time of writing).
        .args(["-Oz", "--converge", "--strip-debug", "--strip-producers"])
        .args(WASM_FEATURES)
        .arg(wasm)
        .arg("-o")
        .arg(&optimized);
    if run(&mut wasm_opt).is_err() {
        let _ = fs::remove_file(&optimized);
        let version = cmd::probe(Command::new(&wasm_opt_bin).arg("--version"))
            .unwrap_or_else(|| "wasm-opt of unknown version".into());
        println!(
            "note: {version} cannot read this module (its error is above; binaryen 108, \
             Debian 12's, predates the reference-types instructions); shipping the module \
             unoptimised"
        );
        return Ok(());
    }
    if which("node").is_some() {
        run(Command::new("node")
            .args([
                "--input-type=module",
                "-e",
                "import { readFileSync } from 'node:fs'; \
                 await WebAssembly.compile(readFileSync(process.argv[1]))",
            ])
            .arg(&optimized))?;
    }
    let before = gzip_size(wasm)?;
    let after = gzip_size(&optimized)?;
    if after <= before {
        println!("    wasm-opt: {before} -> {after} bytes gzipped; keeping its output");
        fs::rename(&optimized, wasm)?;
    } else {
        println!(
            "    wasm-opt: {before} -> {after} bytes gzipped (larger); keeping cargo's output"
        );
        fs::remove_file(&optimized)?;
    }
    Ok(())
}

/// Copies `js/*.js` into the staging directory (esbuild bundles them from there) and
/// `js/*.d.ts` into `pkg/`; also stages the socket worker's program as a module
/// (`socket-worker-program.js`, default export: its source text), so the package and the Rust
/// API run the one program in `src/socket_worker.js` (minified here: it ships as a string, which
/// esbuild cannot minify later).
fn copy_js(root: &Path, stage: &Path, pkg: &Path) -> Result {
    let js = root.join("js");
    let mut copied = Vec::new();
    for (name, path) in files_in(&js)? {
        let dest = if name.ends_with(".d.ts") {
            pkg.join(&name)
        } else if name.ends_with(".js") {
            stage.join(&name)
        } else {
            println!("note: js/{name} is not shipped (only *.js and *.d.ts are)");
            continue;
        };
        if name.starts_with(OUT_NAME) || name == WORKER_MODULE {
            return fail(format!(
                "js/{name} would overwrite a generated file of the package build; rename it"
            ));
        }
        fs::copy(&path, dest)?;
        copied.push(name);
    }
    if !copied.iter().any(|name| name == "index.js") {
        return fail("js/index.js, the package's entry point, is missing");
    }
    println!("    staged from js/: {}", copied.join(" "));
    // A module (the worker starts as one), so its top-level names are shortened too.
    let minified = Command::new(npm_tool(root, "esbuild")?)
        .arg(root.join(WORKER_PROGRAM))
        .args([
            "--minify",
            "--format=esm",
            "--legal-comments=none",
            "--log-level=warning",
        ])
        .output()
        .map_err(|e| Error(format!("cannot run esbuild on {WORKER_PROGRAM}: {e}")))?;
    if !minified.status.success() {
        return fail(format!(
            "esbuild could not minify {WORKER_PROGRAM}: {}",
            String::from_utf8_lossy(&minified.stderr)
        ));
    }
    let program = String::from_utf8(minified.stdout).map_err(|_| {
        Error(format!(
            "esbuild's output for {WORKER_PROGRAM} is not UTF-8"
        ))
    })?;
    fs::write(
        stage.join(WORKER_MODULE),
        format!(
            "// Generated from {WORKER_PROGRAM} by `cargo xtask package`.\nexport default {}\n",
            json::quote(&program)
        ),
    )?;
    Ok(())
}

/// Copies the template's files, putting the crate version into package.json.
fn copy_template(template: &Path, pkg: &Path, version: &str) -> Result {
    let mut saw_manifest = false;
    for (name, path) in files_in(template)? {
        let dest = pkg.join(&name);
        if dest.exists() {
            return fail(format!(
                "{TEMPLATE_DIR}/{name} and a file from js/ or the wasm build have the same name"
            ));
        }
        if name == "package.json" {
            saw_manifest = true;
            let text = fs::read_to_string(&path)?;
            if !text.contains(VERSION_PLACEHOLDER) {
                return fail(format!(
                    "{TEMPLATE_DIR}/package.json must say \"version\": \"{VERSION_PLACEHOLDER}\" \
                     (the version comes from Cargo.toml)"
                ));
            }
            fs::write(&dest, text.replace(VERSION_PLACEHOLDER, version))?;
        } else {
            fs::copy(&path, &dest)?;
        }
    }
    if !saw_manifest {
        return fail(format!("{TEMPLATE_DIR}/package.json is missing"));
    }
    println!("    copied {TEMPLATE_DIR}/ (version {version})");
    Ok(())
}

/// The regular files directly inside `dir`, sorted by name.
fn files_in(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let entries =
        fs::read_dir(dir).map_err(|e| Error(format!("cannot read {}: {e}", dir.display())))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            files.push((
                entry.file_name().to_string_lossy().into_owned(),
                entry.path(),
            ));
        }
    }
    files.sort();
    Ok(files)
}

/// The `version` of the root package in Cargo.toml: the npm package has the crate's version.
fn crate_version(root: &Path) -> Result<String> {
    let manifest = fs::read_to_string(root.join("Cargo.toml"))
        .map_err(|e| Error(format!("cannot read Cargo.toml: {e}")))?;
    match package_version(&manifest) {
        Some(version) => Ok(version),
        None => fail("Cargo.toml has no version = \"...\" in its [package] table"),
    }
}

/// The `version = "..."` line of the `[package]` table, by a plain scan (std-only xtask).
fn package_version(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package {
            let Some(rest) = line.strip_prefix("version") else {
                continue;
            };
            let value = rest.trim_start().strip_prefix('=')?.trim();
            return value
                .strip_prefix('"')
                .and_then(|v| v.split('"').next())
                .map(str::to_string);
        }
    }
    None
}

/// Raw and `gzip -9` size of one shipped file.
struct Size {
    name: String,
    raw: u64,
    gzip: u64,
}

/// Prints the size of everything a page loads (wasm and JS; types listed apart), then one
/// machine-readable line for benchmarks: `package-size wasm_raw=.. wasm_gzip=.. js_raw=.. js_gzip=..`.
fn print_sizes(pkg: &Path) -> Result {
    let mut wasm = Vec::new();
    let mut js = Vec::new();
    let mut types = Vec::new();
    for (name, path) in files_in(pkg)? {
        let group = if name.ends_with(".wasm") {
            &mut wasm
        } else if name.ends_with(".d.ts") {
            &mut types
        } else if name.ends_with(".js") {
            // Source maps (`.js.map`) are not loaded by a page and do not count.
            &mut js
        } else {
            continue;
        };
        let raw = fs::metadata(&path)?.len();
        group.push(Size {
            name,
            raw,
            gzip: gzip_size(&path)?,
        });
    }
    let total = |sizes: &[Size]| {
        (
            sizes.iter().map(|s| s.raw).sum::<u64>(),
            sizes.iter().map(|s| s.gzip).sum::<u64>(),
        )
    };
    let (wasm_raw, wasm_gzip) = total(&wasm);
    let (js_raw, js_gzip) = total(&js);

    println!("\n==> package size (bytes; gzip -9)");
    let row = |name: &str, raw: u64, gzip: u64| println!("    {name:<36} {raw:>9} {gzip:>9}");
    println!("    {:<36} {:>9} {:>9}", "file", "raw", "gzip");
    for s in wasm.iter().chain(&js) {
        row(&s.name, s.raw, s.gzip);
    }
    println!("    {}", "-".repeat(56));
    row("wasm total", wasm_raw, wasm_gzip);
    row("js total", js_raw, js_gzip);
    row(
        "loaded by a page (wasm + js)",
        wasm_raw + js_raw,
        wasm_gzip + js_gzip,
    );
    for s in &types {
        row(&format!("{} (types, not loaded)", s.name), s.raw, s.gzip);
    }
    println!(
        "package-size wasm_raw={wasm_raw} wasm_gzip={wasm_gzip} js_raw={js_raw} js_gzip={js_gzip}"
    );
    check_budget(wasm_gzip + js_gzip)
}

/// Fails the build when what a page loads outgrows [`SIZE_BUDGET_GZIP`]: size is a figure
/// of the product, checked on every build like a test (gzip -9 is deterministic).
fn check_budget(total_gzip: u64) -> Result {
    if total_gzip > SIZE_BUDGET_GZIP {
        return fail(format!(
            "the package is {total_gzip} bytes gzipped (wasm + js), over its budget of \
             {SIZE_BUDGET_GZIP}: find what grew (the table above) before raising the budget"
        ));
    }
    println!(
        "    within the size budget: {total_gzip} of {SIZE_BUDGET_GZIP} bytes gzipped ({} to spare)",
        SIZE_BUDGET_GZIP - total_gzip
    );
    Ok(())
}

/// Bytes of `gzip -9 -c file` (the gzip program keeps xtask free of a deflate dependency).
fn gzip_size(path: &Path) -> Result<u64> {
    let out = Command::new("gzip")
        .args(["-9", "-c", "-n"])
        .arg(path)
        .output()
        .map_err(|e| {
            Error(format!(
                "could not run gzip (needed for the size table): {e}"
            ))
        })?;
    if !out.status.success() {
        return cmd::fail(format!("gzip -9 {} failed", path.display()));
    }
    Ok(out.stdout.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_version_reads_only_the_package_table() {
        let manifest = "[workspace.package]\nversion = \"9.9.9\"\n\n[package]\nname = \"x\"\n\
                        version = \"0.3.1\" # note\nedition = \"2021\"\n\n[dependencies]\n\
                        version = \"1\"\n";
        assert_eq!(package_version(manifest).as_deref(), Some("0.3.1"));
        assert_eq!(package_version("[dependencies]\nversion = \"1\"\n"), None);
        assert_eq!(
            package_version("[package]\nversion.workspace = true\n"),
            None
        );
    }

    #[test]
    fn crate_version_reads_this_repository() {
        let version = crate_version(&cmd::repo_root());
        assert!(
            version.as_ref().is_ok_and(|v| v.split('.').count() == 3),
            "{version:?}"
        );
    }

    #[test]
    fn the_budget_fails_only_above_it() {
        assert!(check_budget(SIZE_BUDGET_GZIP).is_ok());
        assert!(check_budget(SIZE_BUDGET_GZIP + 1).is_err());
    }

    #[test]
    fn gzip_size_is_smaller_than_a_repetitive_file() {
        let path = std::env::temp_dir().join(format!("xtask-gzip-{}.txt", std::process::id()));
        let written = fs::write(&path, "durable iterator ".repeat(1000));
        let size = gzip_size(&path);
        let _ = fs::remove_file(&path);
        assert!(written.is_ok());
        assert!(size.as_ref().is_ok_and(|s| *s > 20 && *s < 500), "{size:?}");
    }
}
