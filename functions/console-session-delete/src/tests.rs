use shared::testing::*;

use super::session_delete;

const ROUTE: &str = "/console/session";

fn delete(t: &TestApp) -> TestRequest<Operator> {
    t.call(MinApp.console(), Method::DELETE, ROUTE)
}

#[tokio::test]
async fn logout_clears_the_cookie_and_voids_the_session() {
    let t = TestApp::new().await;
    let login = t.console_login("ops", Role::Viewer).await;
    let r = delete(&t).console(&login).send(session_delete).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, json!({}));
    let cookie = r.header("set-cookie").unwrap();
    assert!(
        cookie.starts_with("console_session=;") && cookie.contains("Max-Age=0"),
        "{cookie}"
    );
    // The same cookie, replayed, is refused: the session ended server-side.
    delete(&t)
        .console(&login)
        .send(session_delete)
        .await
        .assert_minapp_error(401, "console session");
}

#[tokio::test]
async fn logout_needs_the_csrf_token_and_the_own_origin() {
    let t = TestApp::new().await;
    let login = t.console_login("ops", Role::Viewer).await;
    delete(&t)
        .console_cookie(&login)
        .send(session_delete)
        .await
        .assert_minapp_error(403, "X-CSRF-Token");
    let other = t.console_session_of("ops");
    delete(&t)
        .console_cookie(&login)
        .header("x-csrf-token", &other.csrf)
        .send(session_delete)
        .await
        .assert_minapp_error(403, "X-CSRF-Token");
    delete(&t)
        .console_cookie(&login)
        .header("x-csrf-token", &login.csrf)
        .header("origin", "https://evil.example")
        .send(session_delete)
        .await
        .assert_minapp_error(403, "Origin");
    // Nothing changed: the session still works.
    let r = delete(&t).console(&login).send(session_delete).await;
    assert_eq!(r.status, 200, "{}", r.body);
}
