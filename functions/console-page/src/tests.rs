use shared::testing::*;

use super::{Asset, CSP, console_page, dist};

const ROUTE: &str = "/console/";
const ASSET: &str = "/console/assets/{file}";

#[tokio::test]
async fn the_page_is_uncached_html_under_the_csp_and_costs_no_round_trip() {
    let (t, trips) = TestApp::counting_round_trips().await;
    let r = t
        .call(MinApp.public(), Method::GET, ROUTE)
        .send(console_page)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.content_type.as_deref(), Some("text/html; charset=utf-8"));
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    assert_eq!(r.header("content-security-policy"), Some(CSP));
    assert_eq!(r.bytes, dist::INDEX_HTML);
    let html = r.body.as_str().unwrap();
    // Every script and style the page names is an embedded asset, under /console/assets/.
    assert!(html.contains("<script type=\"module\""), "{html}");
    assert!(
        !html.contains("<style") && !html.contains(" style="),
        "{html}"
    );
    for name in dist::ASSETS
        .iter()
        .map(|a| a.name)
        .filter(|n| n.starts_with("index-"))
    {
        assert!(html.contains(&format!("/console/assets/{name}")), "{name}");
    }
    assert!(trips.take().is_empty(), "serves what it was built with");
}

#[tokio::test]
async fn assets_are_served_with_their_type_and_a_year_of_caching() {
    let t = TestApp::new().await;
    let js = dist::ASSETS
        .iter()
        .find(|a| a.name.ends_with(".js"))
        .expect("the build has a script");
    let css = dist::ASSETS
        .iter()
        .find(|a| a.name.ends_with(".css"))
        .expect("the build has a style sheet");
    for (&Asset { name, body, .. }, content_type) in [
        (js, "text/javascript; charset=utf-8"),
        (css, "text/css; charset=utf-8"),
    ] {
        let r = t
            .call(MinApp.public(), Method::GET, ASSET)
            .param("file", name)
            .send(console_page)
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.content_type.as_deref(), Some(content_type));
        assert_eq!(
            r.header("cache-control"),
            Some("public, max-age=31536000, immutable")
        );
        assert_eq!(&r.bytes, body, "{name}");
        assert_eq!(r.header("content-encoding"), None);
    }
}

#[tokio::test]
async fn a_browser_that_accepts_gzip_gets_the_gzipped_build() {
    let t = TestApp::new().await;
    let &Asset {
        name,
        body,
        gzipped,
        ..
    } = dist::ASSETS
        .iter()
        .find(|a| a.name.ends_with(".js"))
        .unwrap();
    let gzipped = gzipped.expect("make console writes <asset>.gz");
    assert!(
        gzipped.len() * 2 < body.len(),
        "{} of {}",
        gzipped.len(),
        body.len()
    );
    let get = |accept: &'static str| {
        t.call(MinApp.public(), Method::GET, ASSET)
            .param("file", name)
            .header("accept-encoding", accept)
            .send(console_page)
    };
    for accept in [
        "gzip, deflate, br, zstd",
        "GZIP",
        "br;q=1, *;q=0.5",
        "gzip;q=0.2",
    ] {
        let r = get(accept).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.header("content-encoding"), Some("gzip"), "{accept}");
        // (and `origin` when CORS_ALLOW_ORIGINS names any)
        assert!(r.header("vary").unwrap().starts_with("accept-encoding"));
        assert_eq!(
            r.content_type.as_deref(),
            Some("text/javascript; charset=utf-8")
        );
        assert_eq!(r.bytes, gzipped, "{accept}");
    }
    for accept in ["br", "identity", "gzip;q=0", "gzip;q=0.0, *"] {
        let r = get(accept).await;
        assert_eq!(r.header("content-encoding"), None, "{accept}");
        assert_eq!(&r.bytes, body, "{accept}");
    }
}

#[tokio::test]
async fn an_unknown_asset_is_404_in_minapp_form() {
    let t = TestApp::new().await;
    for name in ["nope.js", "index.html", "..%2Findex.html", "%00"] {
        let r = t
            .call(MinApp.public(), Method::GET, ASSET)
            .param("file", name)
            .send(console_page)
            .await;
        r.assert_minapp_error(404, "no such console asset");
        assert_eq!(r.header("cache-control"), None, "{name}");
    }
}
