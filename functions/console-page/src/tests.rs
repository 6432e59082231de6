use shared::testing::*;

use super::{CSP, console_page, dist};

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
    for (name, _, _) in dist::ASSETS
        .iter()
        .filter(|(n, _, _)| n.starts_with("index-"))
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
        .find(|(name, _, _)| name.ends_with(".js"))
        .expect("the build has a script");
    let css = dist::ASSETS
        .iter()
        .find(|(name, _, _)| name.ends_with(".css"))
        .expect("the build has a style sheet");
    for ((name, _, body), content_type) in [
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
