use shared::testing::*;

use super::update;

const ROUTE: &str = "/client/user/user";

#[tokio::test]
async fn the_caller_updates_itself_with_the_server_merge_rules() {
    let t = TestApp::new().await;
    t.given_user("me", "old", &[("keep", "1"), ("drop", "2")])
        .await;
    t.given_user("other", "untouched", &[]).await;
    let r = t
        .client(Method::PUT, ROUTE, "me")
        .json(&json!({"nick": "new", "avatar": "", "extends": {"drop": null, "add": "3"}}))
        .send(update)
        .await;
    assert!(r.assert_ok().is_null());
    let me = t.stored("me").await.unwrap();
    assert_eq!(me.info.nick, "new");
    assert_eq!(
        me.info.avatar, "https://img.example/me.png",
        "empty avatar leaves it unchanged"
    );
    assert_eq!(me.info.extends.keys().collect::<Vec<_>>(), ["add", "keep"]);
    assert_eq!(t.stored("other").await.unwrap().info.nick, "untouched");
}

#[tokio::test]
async fn the_update_is_visible_through_the_server_info_endpoint() {
    let t = TestApp::new().await;
    t.given_user("me", "old", &[]).await;
    t.client(Method::PUT, ROUTE, "me")
        .json(&json!({"nick": "from phone"}))
        .send(update)
        .await
        .assert_ok();
    assert_eq!(t.app.users.info("me").await.unwrap().nick, "from phone");
}

#[tokio::test]
async fn bad_bodies_are_400_and_a_vanished_caller_is_404() {
    let t = TestApp::new().await;
    t.given_user("me", "same", &[]).await;
    t.client(Method::PUT, ROUTE, "me")
        .json(&json!({"nick": ["x"]}))
        .send(update)
        .await
        .assert_error(400, 400, "nick: must be a string");
    assert_eq!(t.stored("me").await.unwrap().info.nick, "same");
    t.client(Method::PUT, ROUTE, "gone")
        .json(&json!({"nick": "x"}))
        .send(update)
        .await
        .assert_error(404, 404, "user not found: gone");
    assert!(t.stored("gone").await.is_none());
}
