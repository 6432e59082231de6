use shared::account::{AccountField, password_verifications_on_this_thread};
use shared::testing::*;

use super::login_username;

const ROUTE: &str = "/hserve/v2.1/login/username/";
const INVALID: &str = "Invalid username/email or password.";

fn login(t: &TestApp, body: serde_json::Value) -> TestRequest<Anonymous> {
    t.call(MinApp.public().created(), Method::POST, ROUTE)
        .header("x-hydrogen-client-id", "test-client")
        .json(&body)
}

#[tokio::test]
async fn the_right_password_in_any_case_of_the_username_signs_in_with_a_token_every_dialect_takes()
{
    let t = TestApp::new().await;
    let signed_up = t
        .given_sign_up(AccountField::Username, "Pretty_Girl", "correct horse")
        .await;
    for name in ["Pretty_Girl", "pretty_girl", "PRETTY_GIRL"] {
        let r = login(&t, json!({"username": name, "password": "correct horse"}))
            .send(login_username)
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["id"], signed_up.user.id());
        assert_eq!(r.body["user_id"], signed_up.user.id());
        assert_eq!(r.body["_username"], "Pretty_Girl", "shown as given");
        assert_eq!(r.body["expires_in"], 7 * 24 * 3600);
        assert!(r.body.get("password").is_none() && r.body.get("password_hash").is_none());
        let token = r.body["token"].as_str().unwrap();
        let claims = t.app.tokens().verify_token(token).unwrap();
        assert_eq!(claims.app_id, TEST_APP_ID, "the configured app");
        assert!(claims.user_id.starts_with("hs_"));
        assert!(claims.iat_ms > 0);
    }
}

#[tokio::test]
async fn wrong_password_and_unknown_user_answer_alike_after_the_same_argon2_work() {
    let t = TestApp::new().await;
    t.given_sign_up(AccountField::Username, "alice", "correct horse")
        .await;
    let mut answers = Vec::new();
    for body in [
        json!({"username": "alice", "password": "wrong horse"}),
        json!({"username": "nobody", "password": "wrong horse"}),
    ] {
        let before = password_verifications_on_this_thread();
        let r = login(&t, body.clone()).send(login_username).await;
        assert_eq!(
            password_verifications_on_this_thread() - before,
            1,
            "{body}: one argon2 verification"
        );
        answers.push((r.status, r.body));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(
        answers[0],
        (400, json!({"status": "error", "error_msg": INVALID}))
    );
}

#[tokio::test]
async fn failures_lock_the_account_and_a_success_resets_the_count() {
    let t = TestApp::with_config(|c| {
        c.login.max_failures = 3;
        c.login.failure_window_seconds = 600;
        c.login.lockout_seconds = 600;
    })
    .await;
    let signed_up = t
        .given_sign_up(AccountField::Username, "bob", "correct horse")
        .await;
    let wrong = json!({"username": "bob", "password": "wrong horse"});
    let right = json!({"username": "BOB", "password": "correct horse"});
    // Two failures, then a success: the count starts again.
    for _ in 0..2 {
        assert_eq!(
            login(&t, wrong.clone()).send(login_username).await.status,
            400
        );
    }
    assert_eq!(
        login(&t, right.clone()).send(login_username).await.status,
        201
    );
    let item = t.stored_item(&signed_up_user_id(&t, &signed_up)).await;
    assert!(!item.contains_key("login_failures"), "reset: {item:?}");
    // Two more are still below the limit, so the right password still works.
    for _ in 0..2 {
        assert_eq!(
            login(&t, wrong.clone()).send(login_username).await.status,
            400
        );
    }
    let r = login(&t, right.clone()).send(login_username).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let token = r.body["token"].as_str().unwrap().to_string();
    // Three in a row lock it: even the right password is refused, with 429.
    for _ in 0..3 {
        assert_eq!(
            login(&t, wrong.clone()).send(login_username).await.status,
            400
        );
    }
    let r = login(&t, right.clone()).send(login_username).await;
    r.assert_minapp_error(429, "Too many failed logins");
    // ... before any argon2 work.
    let before = password_verifications_on_this_thread();
    login(&t, right.clone()).send(login_username).await;
    assert_eq!(password_verifications_on_this_thread(), before);
    // The lockout voided the tokens issued before it.
    let session = t.app.tokens().session(&token).unwrap();
    assert!(matches!(
        t.client_of(&session).own::<shared::user::User>().await,
        Err(shared::error::ApiError::Unauthorized(_))
    ));
    // An unknown user is never locked: it answers the same 400 as ever.
    for _ in 0..4 {
        let r = login(&t, json!({"username": "ghost", "password": "x"}))
            .send(login_username)
            .await;
        r.assert_minapp_error(400, INVALID);
    }
}

#[tokio::test]
async fn a_lockout_ends_and_the_right_password_then_signs_in() {
    let t = TestApp::with_config(|c| {
        c.login.max_failures = 2;
        c.login.lockout_seconds = 3;
    })
    .await;
    t.given_sign_up(AccountField::Username, "carol", "correct horse")
        .await;
    for _ in 0..2 {
        login(&t, json!({"username": "carol", "password": "nope nope"}))
            .send(login_username)
            .await;
    }
    let right = json!({"username": "carol", "password": "correct horse"});
    assert_eq!(
        login(&t, right.clone()).send(login_username).await.status,
        429
    );
    tokio::time::sleep(std::time::Duration::from_millis(4100)).await;
    let r = login(&t, right).send(login_username).await;
    assert_eq!(r.status, 201, "{}", r.body);
}

#[tokio::test]
async fn bad_input_is_400_naming_the_field_never_5xx() {
    let t = TestApp::new().await;
    for (body, field) in [
        (json!({"password": "x"}), "username"),
        (json!({"username": "bob"}), "password"),
        (json!({"username": 7, "password": "x"}), "username"),
        (json!({"username": "bob", "password": 7}), "password"),
        (json!({"username": "a b", "password": "x"}), "username"),
        (
            json!({"username": "bob", "password": "x".repeat(257)}),
            "password",
        ),
        (
            json!({"username": "bob", "password": "x", "email": "a@b.c"}),
            "email",
        ),
        (json!([]), "body"),
    ] {
        let r = login(&t, body.clone()).send(login_username).await;
        r.assert_minapp_error(400, field);
    }
    let r = t
        .call(MinApp.public().created(), Method::POST, ROUTE)
        .raw_body("username=bob", "application/x-www-form-urlencoded")
        .send(login_username)
        .await;
    r.assert_minapp_error(400, "Content-Type");
}

fn signed_up_user_id(t: &TestApp, s: &shared::session::SignedIn) -> String {
    t.app.tokens().verify_token(&s.token).unwrap().user_id
}

#[tokio::test]
async fn the_token_app_is_the_deployments_and_another_apps_client_id_is_refused() {
    let t = TestApp::new().await;
    t.given_sign_up(AccountField::Username, "alice", "correct horse")
        .await;
    let body = json!({"username": "alice", "password": "correct horse"});
    // Without the header (curl, a server): the configured app.
    let r = t
        .call(MinApp.public().created(), Method::POST, ROUTE)
        .json(&body)
        .send(login_username)
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let claims = t
        .app
        .tokens()
        .verify_token(r.body["token"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims.app_id, TEST_APP_ID);
    // Another app's client ID is never copied into a token: 401 before any work.
    let before = password_verifications_on_this_thread();
    let r = t
        .call(MinApp.public().created(), Method::POST, ROUTE)
        .header("x-hydrogen-client-id", "someone-elses-app")
        .json(&body)
        .send(login_username)
        .await;
    assert_eq!(
        (r.status, &r.body),
        (
            401,
            &json!({"status": "error", "error_msg": "X-Hydrogen-Client-ID: not this app's client ID"})
        )
    );
    assert_eq!(password_verifications_on_this_thread(), before);
}
