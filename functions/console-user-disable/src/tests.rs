use shared::account::AccountField;
use shared::error::ApiError;
use shared::session::{Credentials, USER_DISABLED};
use shared::testing::*;
use shared::user::User;

use super::user_disable;

const ROUTE: &str = "/console/users/{id}/disabled";

fn disable(t: &TestApp, uid: i64, body: serde_json::Value) -> TestRequest<Operator> {
    t.call(MinApp.console(), Method::PUT, ROUTE)
        .param("id", &uid.to_string())
        .json(&body)
}

async fn im_userid(t: &TestApp, user_id: &str) -> i64 {
    t.stored(user_id).await.unwrap().info.im_userid
}

#[tokio::test]
async fn a_disabled_user_cannot_log_in_and_its_tokens_are_refused() {
    let t = TestApp::new().await;
    let up = t
        .given_sign_up(AccountField::Username, "erin", "correct horse")
        .await;
    let session = t.app.tokens().session(&up.token).unwrap();
    let uid = im_userid(&t, session.user_id()).await;
    let admin = t.console_login("admin", Role::Admin).await;
    let r = disable(&t, uid, json!({"until": null}))
        .console(&admin)
        .send(user_disable)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, json!({"disabled": true, "until": null}));
    // The right password: 403 in MinApp form; a wrong one: the same 400 as for anyone.
    let login = |password: &str| {
        Credentials::log_in(
            AccountField::Username,
            &json!({"username": "erin", "password": password}),
        )
        .unwrap()
    };
    let refused = t.sessions().log_in(&login("correct horse")).await;
    assert_eq!(refused.err(), Some(ApiError::Forbidden(USER_DISABLED)));
    let wrong = t.sessions().log_in(&login("wrong horse")).await;
    assert!(matches!(wrong, Err(ApiError::Invalid(_))), "{wrong:?}");
    assert_eq!(
        t.client_of(&session).own::<User>().await.err(),
        Some(ApiError::Unauthorized(USER_DISABLED))
    );
    // The user's own page says so.
    let object = shared::user_profile::UserProfiles::new(&t.app.users)
        .get(uid)
        .await
        .unwrap();
    assert_eq!(object.0["_disabled"], true);
    assert_eq!(object.0["_disabled_until"], serde_json::Value::Null);
}

#[tokio::test]
async fn an_end_time_is_answered_and_shown() {
    let t = TestApp::new().await;
    t.given_user("u1", "n", &[]).await;
    let uid = im_userid(&t, "u1").await;
    let admin = t.console_login("admin", Role::Admin).await;
    let until = shared::clock::now() + 3600;
    let r = disable(&t, uid, json!({"until": until}))
        .console(&admin)
        .send(user_disable)
        .await;
    assert_eq!(r.body, json!({"disabled": true, "until": until}));
    let object = shared::user_profile::UserProfiles::new(&t.app.users)
        .get(uid)
        .await
        .unwrap();
    assert_eq!(object.0["_disabled_until"], until);
    disable(&t, uid, json!({"until": 5}))
        .console(&admin)
        .send(user_disable)
        .await
        .assert_minapp_error(400, "until");
    disable(&t, uid, json!({"until": "soon"}))
        .console(&admin)
        .send(user_disable)
        .await
        .assert_minapp_error(400, "until");
}

#[tokio::test]
async fn only_admins_disable_and_never_without_the_csrf_token() {
    let t = TestApp::new().await;
    t.given_user("u1", "n", &[]).await;
    let uid = im_userid(&t, "u1").await;
    let editor = t.console_login("editor", Role::Editor).await;
    let admin = t.console_login("admin", Role::Admin).await;
    disable(&t, uid, json!({}))
        .console(&editor)
        .send(user_disable)
        .await
        .assert_minapp_error(403, "this needs the admin role");
    disable(&t, uid, json!({}))
        .console_cookie(&admin)
        .send(user_disable)
        .await
        .assert_minapp_error(403, "X-CSRF-Token");
    let stored = t.stored_item("u1").await;
    assert!(!stored.contains_key("disabled_until"), "nothing changed");
    disable(&t, 999_999, json!({}))
        .console(&admin)
        .send(user_disable)
        .await
        .assert_minapp_error(404, "user not found");
}
