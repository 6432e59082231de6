use shared::limits::Limit;
use shared::testing::*;

use super::session_create;

const ROUTE: &str = "/console/session";

fn log_in(t: &TestApp, username: &str, password: &str) -> TestRequest<Anonymous> {
    t.call(MinApp.public(), Method::POST, ROUTE)
        .json(&json!({"username": username, "password": password}))
}

#[tokio::test]
async fn the_right_password_sets_a_strict_cookie_and_answers_the_csrf_token() {
    let t = TestApp::new().await;
    t.given_operator("ops", Role::Editor, "right-password")
        .await;
    let r = log_in(&t, "ops", "right-password")
        .send(session_create)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["username"], "ops");
    assert_eq!(r.body["role"], "editor");
    assert_eq!(r.body["expires_in"], 1800);
    let csrf = r.body["csrf_token"].as_str().unwrap();
    assert!(csrf.len() > 20);
    let cookie = r.header("set-cookie").unwrap();
    assert!(cookie.starts_with("console_session="), "{cookie}");
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Secure",
        "Path=/",
        "Max-Age=1800",
    ] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    // The cookie is a console session, and the CSRF token is that session's.
    let value = cookie.split(';').next().unwrap().split_once('=').unwrap().1;
    let session = t.app.console_keys().verify(value).unwrap();
    assert!(t.app.console_keys().csrf_matches(&session, csrf));
    // A client token is never a console session.
    let client = client_token("u1", TOKEN_SECRET, shared::clock::now() + 60);
    assert!(t.app.console_keys().verify(&client).is_err());
}

#[tokio::test]
async fn a_wrong_password_or_unknown_operator_is_the_same_401_and_recorded() {
    let t = TestApp::new().await;
    t.given_operator("ops", Role::Admin, "right-password").await;
    for (name, password) in [("ops", "wrong-password"), ("nobody", "right-password")] {
        let r = log_in(&t, name, password).send(session_create).await;
        r.assert_minapp_error(401, "wrong operator name or password");
        assert!(r.header("set-cookie").is_none());
    }
    let text = |i: &StoredItem, a: &str| i.get(a).and_then(|v| v.as_s().ok()).cloned();
    let failures: Vec<_> = t
        .all_items()
        .await
        .into_iter()
        .filter(|i| text(i, "event").as_deref() == Some("operator_login"))
        .map(|i| (text(&i, "pk").unwrap(), text(&i, "outcome").unwrap()))
        .collect();
    assert_eq!(
        failures,
        [
            ("LOGIN#OPERATOR#nobody".to_string(), "failure".to_string()),
            ("LOGIN#OPERATOR#ops".to_string(), "failure".to_string())
        ]
        .iter()
        .filter(|f| failures.contains(f))
        .cloned()
        .collect::<Vec<_>>()
    );
    assert_eq!(failures.len(), 2, "{failures:?}");
}

#[tokio::test]
async fn operator_logins_fall_under_the_login_limits() {
    let t = TestApp::with_config(|c| c.limits.login = Limit::new(2, 60)).await;
    t.given_operator("ops", Role::Admin, "right-password").await;
    for _ in 0..2 {
        log_in(&t, "ops", "wrong-password")
            .send(session_create)
            .await
            .assert_minapp_error(401, "wrong operator");
    }
    let r = log_in(&t, "ops", "right-password")
        .send(session_create)
        .await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.header("retry-after").is_some());
}

#[tokio::test]
async fn a_login_from_another_origin_is_refused() {
    let t = TestApp::new().await;
    t.given_operator("ops", Role::Admin, "right-password").await;
    let r = log_in(&t, "ops", "right-password")
        .header("origin", "https://evil.example")
        .send(session_create)
        .await;
    r.assert_minapp_error(403, "Origin");
    let r = log_in(&t, "ops", "right-password")
        .header("origin", "http://localhost")
        .send(session_create)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn bad_input_names_the_field() {
    let t = TestApp::new().await;
    log_in(&t, "", "x")
        .send(session_create)
        .await
        .assert_minapp_error(400, "username");
    t.call(MinApp.public(), Method::POST, ROUTE)
        .json(&json!({"username": "ops"}))
        .send(session_create)
        .await
        .assert_minapp_error(400, "password");
}
