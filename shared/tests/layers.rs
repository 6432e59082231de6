//! The shared code reads from the ground up. Crates draw the big boundaries (the compiler
//! refuses an import from a crate above); this test draws the modules inside each crate: every
//! module has a place in its crate's order, and imports (`crate::m`, or `super::m` from a
//! top-level module) only modules before it. So there is no import cycle and no upward import;
//! a new module must be given its place here.
//!
//! Test code (`tests.rs` files and `tests/` folders) may use the test support at the top of
//! its crate (`testing`); the crate root (`lib.rs`) is its facade, above every module.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Each crate's modules, bottom first.
const LAYERS: [(&str, &[&str]); 4] = [
    (
        "domain",
        &[
            // ground
            "error", "clock", "limits", "config", // pure domain
            "account", "lookup", "user", "profile", "query", "views", "moving",
            // test support
            "testing",
        ],
    ),
    (
        "auth",
        &["token", "console", "caller", "qiniu", "server_token"],
    ),
    (
        "store",
        &[
            "client",
            "deadline",
            "expr",
            "directory",
            "item",
            "access",
            "attempts",
            "audit",
            "operators",
            "lookup",
            "update",
            "profile",
            "accounts",
            "sessions",
            "backfill",
            "rekey",
            "import",
            "filter",
        ],
    ),
    (
        "shared",
        &[
            // operations
            "users",
            "user_profile",
            "session",
            "console",
            "lookups",
            "moving",
            // dialects, then the pipeline
            "dialect",
            "cors",
            "logging",
            "endpoint",
            // test support
            "testing",
        ],
    ),
];

fn source_root(krate: &str) -> PathBuf {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR"));
    match krate {
        "shared" => shared.join("src"),
        other => shared.join(other).join("src"),
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Module names a line of code refers to with `prefix` (`crate::` or `super::`).
fn referred(code: &str, prefix: &str) -> Vec<String> {
    code.match_indices(prefix)
        .map(|(at, _)| {
            code[at + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect::<String>()
        })
        .filter(|name| !name.is_empty())
        .collect()
}

/// (module, module it imports, where) for every import between two modules of `krate`.
fn imports(krate: &str, modules: &[&str]) -> Vec<(String, String, String)> {
    let root = source_root(krate);
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut found = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&root).expect("under the root");
        let parts: Vec<String> = relative
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        let module = parts[0].trim_end_matches(".rs").to_string();
        if module == "lib" || module == "bin" {
            continue;
        }
        let test_code = parts.iter().any(|p| p == "tests" || p == "tests.rs");
        let top_level = parts.len() == 1;
        let text = std::fs::read_to_string(&file).expect("readable source");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            let mut names = referred(code, "crate::");
            if top_level {
                names.extend(referred(code, "super::"));
            }
            for name in names {
                if name == module || !modules.contains(&name.as_str()) {
                    continue;
                }
                if test_code && name == "testing" {
                    continue;
                }
                found.push((
                    module.clone(),
                    name,
                    format!("{}:{}", relative.display(), n + 1),
                ));
            }
        }
    }
    found
}

#[test]
fn every_module_imports_only_the_layers_below_it() {
    let mut wrong = Vec::new();
    for (krate, modules) in LAYERS {
        let rank: BTreeMap<&str, usize> =
            modules.iter().enumerate().map(|(i, m)| (*m, i)).collect();
        for (module, imported, at) in imports(krate, modules) {
            match (rank.get(module.as_str()), rank.get(imported.as_str())) {
                (Some(m), Some(i)) if i < m => {}
                (None, _) => wrong.push(format!("{krate}: module {module} has no layer ({at})")),
                _ => wrong.push(format!(
                    "{krate}: {module} imports {imported}, which is not below it ({at})"
                )),
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_module_has_its_place_in_the_layers() {
    let mut missing = Vec::new();
    for (krate, modules) in LAYERS {
        for entry in std::fs::read_dir(source_root(krate)).expect("readable source folder") {
            let path = entry.expect("a folder entry").path();
            let name = path
                .file_stem()
                .expect("a file name")
                .to_string_lossy()
                .into_owned();
            let is_module = path.is_dir() || path.extension().is_some_and(|e| e == "rs");
            if is_module
                && !["lib", "bin"].contains(&name.as_str())
                && !modules.contains(&name.as_str())
            {
                missing.push(format!("{krate}: {name}"));
            }
        }
    }
    assert!(missing.is_empty(), "modules without a layer: {missing:?}");
}

#[test]
fn the_domain_and_auth_crates_need_no_aws_sdk() {
    for krate in ["domain", "auth"] {
        let manifest = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(krate)
                .join("Cargo.toml"),
        )
        .expect("a manifest");
        assert!(
            !manifest.contains("aws-") && !manifest.contains("lambda_http"),
            "{krate} must stay free of I/O crates"
        );
    }
}

#[test]
fn an_upward_import_is_seen() {
    // The check itself: a line that imports a module above is found.
    let found = referred("use crate::endpoint::Call; crate::users::now()", "crate::");
    assert_eq!(found, ["endpoint", "users"]);
}
