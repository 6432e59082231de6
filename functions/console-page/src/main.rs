//! GET /console/ and GET /console/assets/{file}: the operator console (issue 21), a single-page
//! app built from `console/` by `make console` and compiled into this binary (build.rs). The
//! page is never cached (a deployment changes it at once) and carries a strict CSP: its own
//! origin only, no inline script or style. Assets have content-hashed names, so they are
//! cached for a year. An unknown asset is a 404 in MinApp's form. No credentials, no storage.

use shared::prelude::*;

/// One built file under /console/assets/.
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
    /// The build's gzipped copy (`<name>.gz`), when it wrote one.
    pub gzipped: Option<&'static [u8]>,
}

mod dist {
    include!(concat!(env!("OUT_DIR"), "/dist.rs"));
}

/// The console's Content-Security-Policy (the HTTP contract of issue 21).
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
form-action 'self'";

const PAGE_HEADERS: &[(&str, &str)] = &[
    ("cache-control", "no-cache"),
    ("content-security-policy", CSP),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
];

const ASSET_HEADERS: &[(&str, &str)] = &[
    ("cache-control", "public, max-age=31536000, immutable"),
    ("x-content-type-options", "nosniff"),
    ("vary", "accept-encoding"),
];

/// API Gateway does not compress: a browser that accepts gzip gets the build's gzipped copy.
const GZIP_ASSET_HEADERS: &[(&str, &str)] = &[
    ("cache-control", "public, max-age=31536000, immutable"),
    ("x-content-type-options", "nosniff"),
    ("vary", "accept-encoding"),
    ("content-encoding", "gzip"),
];

async fn console_page(call: Call<Anonymous>) -> ApiResult<Page> {
    // Only the assets route has a `{file}`.
    let Ok(file) = call.path_param("file") else {
        return Ok(Page {
            content_type: "text/html; charset=utf-8",
            body: dist::INDEX_HTML,
            headers: PAGE_HEADERS,
        });
    };
    let asset = dist::ASSETS
        .iter()
        .find(|asset| asset.name == file)
        .ok_or_else(|| ApiError::NotServed("no such console asset".to_string()))?;
    let gzip = accepts_gzip(call.header("accept-encoding"));
    Ok(match asset.gzipped.filter(|_| gzip) {
        Some(gzipped) => Page {
            content_type: asset.content_type,
            body: gzipped,
            headers: GZIP_ASSET_HEADERS,
        },
        None => Page {
            content_type: asset.content_type,
            body: asset.body,
            headers: ASSET_HEADERS,
        },
    })
}

/// Whether `Accept-Encoding` accepts gzip: named with a non-zero weight, or not named and
/// `*` accepted.
fn accepts_gzip(accept_encoding: Option<&str>) -> bool {
    let weight = |name: &str| {
        accept_encoding.unwrap_or("").split(',').find_map(|coding| {
            let mut parts = coding.split(';');
            let named = parts.next()?.trim().eq_ignore_ascii_case(name);
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok());
            named.then_some(q.unwrap_or(0.0))
        })
    };
    weight("gzip")
        .or_else(|| weight("*"))
        .is_some_and(|q| q > 0.0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.public(), console_page).await
}

#[cfg(test)]
mod tests;
