use shared::testing::*;

use super::session_get;

const ROUTE: &str = "/console/session";

#[tokio::test]
async fn the_session_answers_who_is_logged_in_and_renews_the_cookie() {
    let t = TestApp::new().await;
    let login = t.console_login("ops", Role::Viewer).await;
    let r = t
        .call(MinApp.console(), Method::GET, ROUTE)
        .console_cookie(&login)
        .send(session_get)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["username"], "ops");
    assert_eq!(r.body["role"], "viewer");
    assert_eq!(r.body["csrf_token"], login.csrf.as_str());
    let cookie = r.header("set-cookie").unwrap();
    assert!(
        cookie.contains("Max-Age=1800") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
}

#[tokio::test]
async fn no_cookie_a_client_token_or_a_removed_operator_is_401() {
    let t = TestApp::new().await;
    let get = || t.call(MinApp.console(), Method::GET, ROUTE);
    get()
        .send(session_get)
        .await
        .assert_minapp_error(401, "console session");
    // A client token in the cookie is not a console session.
    let client = client_token("u1", TOKEN_SECRET, shared::clock::now() + 60);
    get()
        .header("cookie", &format!("console_session={client}"))
        .send(session_get)
        .await
        .assert_minapp_error(401, "console session");
    // A session of an operator with no item (removed) is refused.
    let ghost = t.console_session_of("ghost");
    get()
        .console_cookie(&ghost)
        .send(session_get)
        .await
        .assert_minapp_error(401, "console session");
}

#[tokio::test]
async fn a_role_change_counts_at_once() {
    let t = TestApp::new().await;
    let login = t.console_login("ops", Role::Viewer).await;
    t.console_login("root", Role::Admin).await;
    t.app
        .users
        .table()
        .change_operator("ops", Some(Role::Editor))
        .await
        .unwrap();
    let r = t
        .call(MinApp.console(), Method::GET, ROUTE)
        .console_cookie(&login)
        .send(session_get)
        .await;
    assert_eq!(r.body["role"], "editor", "{}", r.body);
}
