use shared::testing::*;

use shared::endpoint::not_served;

/// A MinApp SDK call the product leaves out (email verification mail).
const UNSERVED: &str = "/hserve/v2.0/user/email-verify/";
/// What Chromium asks before the SDK's PUT with a token (tests/sdk/SDK-NOTES.md).
const ASKED_HEADERS: &str = "authorization,content-type,x-hydrogen-client-id,\
    x-hydrogen-client-platform,x-hydrogen-client-sdk-type,x-hydrogen-client-version";

fn preflight(t: &TestApp, route: &str, origin: &str) -> TestRequest<Anonymous> {
    t.call(MinApp.public(), Method::OPTIONS, route)
        .header("origin", origin)
        .header("access-control-request-method", "PUT")
        .header("access-control-request-headers", ASKED_HEADERS)
}

#[tokio::test]
async fn an_unserved_sdk_call_is_a_404_in_minapp_form_naming_it() {
    let (t, trips) = TestApp::counting_round_trips().await;
    let r = t
        .call(MinApp.public(), Method::POST, UNSERVED)
        .json(&serde_json::json!({"email": "a@example.com"}))
        .send(not_served::<Anonymous>)
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.body["status"], "error");
    assert_eq!(
        r.body["error_msg"],
        format!("POST {UNSERVED} is not served by this service")
    );
    assert!(trips.take().is_empty(), "no storage");
}

#[tokio::test]
async fn a_preflight_from_the_allowed_origin_gets_what_the_sdk_asks_for() {
    let (t, trips) = TestApp::counting_round_trips().await;
    // The SDK's served paths are preflighted here too (OPTIONS /{proxy+}).
    for route in [UNSERVED, "/hserve/v2.5/user/info/"] {
        let r = preflight(&t, route, TEST_PAGE_ORIGIN)
            .send(not_served::<Anonymous>)
            .await;
        assert_eq!(r.status, 204, "{}", r.body);
        assert_eq!(
            r.header("access-control-allow-origin"),
            Some(TEST_PAGE_ORIGIN)
        );
        let allowed = r.header("access-control-allow-headers").unwrap();
        for asked in ASKED_HEADERS.split(',') {
            assert!(allowed.split(", ").any(|h| h == asked), "{asked}");
        }
        assert!(
            r.header("access-control-allow-methods")
                .unwrap()
                .contains("PUT")
        );
        assert_eq!(r.header("vary"), Some("origin"));
    }
    assert!(trips.take().is_empty(), "a preflight does no work");
}

#[tokio::test]
async fn another_origin_gets_a_preflight_without_permissions_and_unreadable_answers() {
    let t = TestApp::new().await;
    let r = preflight(&t, UNSERVED, "https://evil.example.test")
        .send(not_served::<Anonymous>)
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(r.header("access-control-allow-origin"), None);
    assert_eq!(r.header("access-control-allow-headers"), None);

    let r = t
        .call(MinApp.public(), Method::GET, UNSERVED)
        .header("origin", "https://evil.example.test")
        .send(not_served::<Anonymous>)
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.header("access-control-allow-origin"), None);

    let r = t
        .call(MinApp.public(), Method::GET, UNSERVED)
        .header("origin", TEST_PAGE_ORIGIN)
        .send(not_served::<Anonymous>)
        .await;
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some(TEST_PAGE_ORIGIN)
    );
}
