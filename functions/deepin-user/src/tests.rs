use shared::testing::*;

use super::user;

const ROUTE: &str = "/v1/user";

#[tokio::test]
async fn the_token_user_is_shown_with_email_and_scope_from_every_token_source() {
    let t = TestApp::new().await;
    t.given_user("u1", "Nick", &[("signature", "hi")]).await;
    t.given_account("u1", Some("Iceyer"), Some("iceyers@gmail.com"))
        .await;
    let uid = t.stored("u1").await.unwrap().info.im_userid;
    let token = client_token("u1", TOKEN_SECRET, shared::users::now() + 600);
    let base = || t.call(Deepin.client(), Method::GET, ROUTE);
    for request in [
        base().header("Access-Token", &token),
        base().query("access_token", &token),
        base().authorization(Some(&format!("Bearer {token}"))),
    ] {
        let r = request.send(user).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            r.body,
            json!({
                "uid": uid, "username": "Iceyer", "nickname": "Nick",
                "email": "iceyers@gmail.com", "scope": "base,user:read",
                "avatar": "https://img.example/u1.png",
                "profile_image": "https://img.example/u1.png",
                "website": "", "signature": "hi"
            })
        );
    }
}

#[tokio::test]
async fn bad_missing_or_expired_tokens_are_401_in_deepin_form() {
    let t = TestApp::new().await;
    t.given_user("u1", "n", &[]).await;
    let base = || t.call(Deepin.client(), Method::GET, ROUTE);
    let expired = client_token("u1", TOKEN_SECRET, shared::users::now() - 10);
    let forged = client_token("u1", "not-the-secret-0123456789", shared::users::now() + 60);
    for (request, message) in [
        (base(), "missing Access-Token header"),
        (base().header("Access-Token", &expired), "token expired"),
        (
            base().header("Access-Token", &forged),
            "token signature does not match",
        ),
        (base().header("Access-Token", "garbage"), "malformed token"),
    ] {
        let r = request.send(user).await;
        assert_eq!(r.status, 401);
        assert!(
            r.body["message"]
                .as_str()
                .unwrap_or("")
                .starts_with(message),
            "{}",
            r.body
        );
        assert_eq!(r.body.as_object().unwrap().len(), 1, "only a message");
    }
}

#[tokio::test]
async fn a_server_signature_is_no_deepin_token() {
    let t = TestApp::new().await;
    t.given_user("u1", "n", &[]).await;
    let r = t
        .call(Deepin.client(), Method::GET, ROUTE)
        .signed()
        .send(user)
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
}
