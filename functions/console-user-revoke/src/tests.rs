use shared::error::ApiError;
use shared::testing::*;
use shared::user::User;

use super::user_revoke;

const ROUTE: &str = "/console/users/{id}/revoke";

#[tokio::test]
async fn revoke_voids_every_token_and_is_recorded_with_the_operator() {
    let t = TestApp::new().await;
    t.given_user("u1", "n", &[]).await;
    let uid = t.stored("u1").await.unwrap().info.im_userid;
    let session = t.session("u1", shared::clock::now_ms() - 10);
    assert!(t.client_of(&session).own::<User>().await.is_ok());
    let admin = t.console_login("admin", Role::Admin).await;
    let editor = t.console_login("editor", Role::Editor).await;
    let revoke = || {
        t.call(MinApp.console(), Method::POST, ROUTE)
            .param("id", &uid.to_string())
    };
    revoke()
        .console(&editor)
        .send(user_revoke)
        .await
        .assert_minapp_error(403, "this needs the admin role");
    assert!(t.client_of(&session).own::<User>().await.is_ok());
    let r = revoke().console(&admin).send(user_revoke).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, json!({}));
    assert_eq!(
        t.client_of(&session).own::<User>().await.err(),
        Some(ApiError::Unauthorized(shared::session::TOKEN_REVOKED))
    );
    let page = t
        .app
        .users
        .table()
        .audit_records("u1", 10, None)
        .await
        .unwrap();
    let record = &page.entries[0].record;
    assert_eq!(record.event, "tokens_revoked");
    assert_eq!(record.caller, "operator");
    assert_eq!(record.caller_id.as_deref(), Some("admin"));
}

#[tokio::test]
async fn a_malformed_or_unknown_id_is_refused() {
    let t = TestApp::new().await;
    let admin = t.console_login("admin", Role::Admin).await;
    for (id, status, prefix) in [
        ("abc", 400, "id"),
        ("0", 400, "id"),
        ("424242", 404, "user not found"),
    ] {
        t.call(MinApp.console(), Method::POST, ROUTE)
            .param("id", id)
            .console(&admin)
            .send(user_revoke)
            .await
            .assert_minapp_error(status, prefix);
    }
}
