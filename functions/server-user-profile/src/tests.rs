use shared::testing::*;

use super::profile;

const ROUTE: &str = "/server/user/profile/{user_id}";

#[tokio::test]
async fn profile_adds_im_credentials_to_the_public_view() {
    let t = TestApp::new().await;
    t.given_user("user-1", "n", &[("k", "v")]).await;
    let stored = t.stored("user-1").await.unwrap();
    let r = t
        .server(Method::GET, ROUTE)
        .param("user_id", "user-1")
        .send(profile)
        .await;
    let data = r.assert_ok();
    assert_eq!(data["user_id"], "user-1");
    assert_eq!(data["extends"], json!({"k": "v"}));
    assert_eq!(data["im_userid"], stored.info.im_userid);
    assert_eq!(data["im_username"], "qluser-1");
    let password = data["im_password"].as_str().unwrap();
    assert!(password.len() >= 16);
    assert_eq!(password, stored.im_password);
}

#[tokio::test]
async fn im_username_uses_the_configured_prefix() {
    let t = TestApp::with_config(|c| c.im_username_prefix = "live_".into()).await;
    t.given_user("bob", "b", &[]).await;
    let r = t
        .server(Method::GET, ROUTE)
        .param("user_id", "bob")
        .send(profile)
        .await;
    assert_eq!(r.assert_ok()["im_username"], "live_bob");
}

#[tokio::test]
async fn unknown_user_is_404_and_unsigned_is_401() {
    let t = TestApp::new().await;
    t.server(Method::GET, ROUTE)
        .param("user_id", "none")
        .send(profile)
        .await
        .assert_error(404, 404, "user not found: none");
    t.server(Method::GET, ROUTE)
        .param("user_id", "none")
        .authorization(Some("Bearer abc"))
        .send(profile)
        .await
        .assert_error(401, 401, "Qiniu <AK>:<sign>");
}
