use shared::account::AccountField;
use shared::testing::*;

use super::user_profile_current;

const ROUTE: &str = "/userve/v1/user-profile/";

#[tokio::test]
async fn the_caller_is_shown_as_the_seed_shows_it_until_its_token_is_revoked() {
    let t = TestApp::new().await;
    let up = t
        .given_sign_up(AccountField::Email, "example@163.com", "correct horse")
        .await;
    let get = |token: &str| t.call(MinApp.client(), Method::GET, ROUTE).hydrogen(token);
    let r = get(&up.token).send(user_profile_current).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"avatar_link": "", "email": "example@163.com", "nickname": "", "user_id": up.user.id()})
    );
    let session = t.app.tokens().session(&up.token).unwrap();
    t.client_of(&session).log_out().await.unwrap();
    get(&up.token)
        .send(user_profile_current)
        .await
        .assert_minapp_error(401, "token revoked");
    // A Qiniu token of a user without an account (no iat_ms: issued at 0) works until its
    // user's first revocation.
    t.given_user("u1", "Nick", &[]).await;
    let r = t
        .call(MinApp.client(), Method::GET, ROUTE)
        .token("u1")
        .send(user_profile_current)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["nickname"], "Nick");
    assert_eq!(r.body["email"], serde_json::Value::Null);
    let r = t
        .call(MinApp.client(), Method::GET, ROUTE)
        .token("nobody")
        .send(user_profile_current)
        .await;
    r.assert_minapp_error(404, "user not found");
}
