use shared::testing::*;

use super::user;

const ROUTE: &str = "/client/user/user/{user_id}";

#[tokio::test]
async fn another_users_public_view_has_no_im_credentials() {
    let t = TestApp::new().await;
    t.given_user("me", "Me", &[]).await;
    t.given_user("star", "Star", &[("level", "9")]).await;
    let stored = t.stored("star").await.unwrap();
    let r = t
        .client(Method::GET, ROUTE, "me")
        .param("user_id", "star")
        .send(user)
        .await;
    let data = r.assert_ok();
    assert_eq!(
        data,
        &json!({"user_id": "star", "nick": "Star", "avatar": "https://img.example/star.png",
                "extends": {"level": "9"}, "im_userid": stored.info.im_userid})
    );
    assert!(!r.body.to_string().contains(&stored.im_password));
}

#[tokio::test]
async fn unknown_user_is_404_and_no_token_is_401() {
    let t = TestApp::new().await;
    t.client(Method::GET, ROUTE, "me")
        .param("user_id", "ghost")
        .send(user)
        .await
        .assert_error(404, 404, "user not found: ghost");
    t.client_raw(Method::GET, ROUTE, None)
        .param("user_id", "ghost")
        .send(user)
        .await
        .assert_error(401, 401, "missing Authorization");
}
