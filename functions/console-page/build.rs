//! Embeds the console's built files (`console/dist`, written by `make console`) in the binary:
//! the function serves them with no file system or bucket to deploy beside it.

use std::fmt::Write;
use std::path::Path;

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

fn main() {
    // Read when the script runs (not `env!`, which would keep the path it was compiled at).
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let dist = Path::new(&manifest_dir).join("../../console/dist");
    // A directory: cargo rebuilds when anything under it changes.
    println!("cargo:rerun-if-changed={}", dist.display());
    let dist = dist
        .canonicalize()
        .ok()
        .filter(|d| d.join("index.html").is_file());
    let Some(dist) = dist else {
        panic!(
            "console/dist/index.html is missing: run `make console` (npm ci + vite build) first"
        );
    };
    let mut out = String::new();
    let index = dist.join("index.html");
    writeln!(
        out,
        "pub static INDEX_HTML: &[u8] = include_bytes!({:?});",
        index
    )
    .unwrap();
    out.push_str("pub static ASSETS: &[super::Asset] = &[\n");
    let mut assets: Vec<_> = std::fs::read_dir(dist.join("assets"))
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    assets.sort();
    let served = assets
        .iter()
        .filter(|p| p.is_file() && p.extension().is_none_or(|e| e != "gz"));
    for path in served {
        let name = path.file_name().unwrap().to_string_lossy();
        let gz = dist.join("assets").join(format!("{name}.gz"));
        let gz = if gz.is_file() {
            format!("Some(include_bytes!({gz:?}))")
        } else {
            "None".to_string()
        };
        writeln!(
            out,
            "    super::Asset {{ name: {name:?}, content_type: {:?}, body: include_bytes!({path:?}), \
             gzipped: {gz} }},",
            content_type(&name)
        )
        .unwrap();
    }
    out.push_str("];\n");
    let target = Path::new(&std::env::var("OUT_DIR").unwrap()).join("dist.rs");
    std::fs::write(target, out).unwrap();
}
