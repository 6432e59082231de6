use shared::testing::*;

use super::update;

const ROUTE: &str = "/server/user/{user_id}";

#[tokio::test]
async fn update_merges_extends_per_key_and_null_removes_a_key() {
    let t = TestApp::new().await;
    t.given_user(
        "u1",
        "old nick",
        &[("age", "18"), ("city", "Shanghai"), ("gone", "x")],
    )
    .await;
    let r = t
        .server(Method::PUT, ROUTE)
        .param("user_id", "u1")
        .json(&json!({"nick": "new nick", "extends": {"age": "19", "gone": null, "new": "y"}}))
        .send(update)
        .await;
    assert!(r.assert_ok().is_null());
    let u = t.stored("u1").await.unwrap();
    assert_eq!(u.info.nick, "new nick");
    let extends: Vec<(&str, &str)> = u
        .info
        .extends
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(extends, [("age", "19"), ("city", "Shanghai"), ("new", "y")]);
}

#[tokio::test]
async fn empty_or_null_fields_leave_values_unchanged() {
    let t = TestApp::new().await;
    t.given_user("u2", "keep", &[("a", "1")]).await;
    let before = t.stored("u2").await.unwrap();
    let r = t
        .server(Method::PUT, ROUTE)
        .param("user_id", "u2")
        .json(&json!({"nick": "", "avatar": null}))
        .send(update)
        .await;
    r.assert_ok();
    let after = t.stored("u2").await.unwrap();
    assert_eq!(after.info, before.info);
    assert_eq!(after.im_password, before.im_password);
}

#[tokio::test]
async fn unknown_user_is_404_and_nothing_is_created() {
    let t = TestApp::new().await;
    for body in [
        json!({"nick": "ghost"}),
        json!({}),
        json!({"extends": {"k": "v"}}),
    ] {
        let r = t
            .server(Method::PUT, ROUTE)
            .param("user_id", "ghost")
            .json(&body)
            .send(update)
            .await;
        r.assert_error(404, 404, "user not found: ghost");
    }
    assert!(t.stored("ghost").await.is_none());
}

#[tokio::test]
async fn fifty_concurrent_updates_of_different_keys_all_survive() {
    let t = TestApp::new().await;
    t.given_user("busy", "n", &[]).await;
    let writers = (0..50).map(|i| {
        t.server(Method::PUT, ROUTE)
            .param("user_id", "busy")
            .json(&json!({"extends": {format!("k{i}"): format!("v{i}")}}))
            .send(update)
    });
    for r in join_all(writers).await {
        r.assert_ok();
    }
    let extends = t.stored("busy").await.unwrap().info.extends;
    assert_eq!(extends.len(), 50);
    for i in 0..50 {
        assert_eq!(extends.get(&format!("k{i}")), Some(&format!("v{i}")));
    }
}

#[tokio::test]
async fn invalid_updates_name_the_field_and_change_nothing() {
    let t = TestApp::new().await;
    t.given_user("u3", "same", &[("a", "1")]).await;
    let before = t.stored("u3").await.unwrap();
    let cases = [
        (json!({"nick": 5}), "nick: must be a string"),
        (
            json!({"avatar": "a".repeat(1025)}),
            "avatar: must be at most 1024 characters",
        ),
        (
            json!({"nick": "ok", "extends": {"a": 2}}),
            "extends.a: value must be a string, or null",
        ),
        (
            json!({"extends": "flat"}),
            "extends: must be an object of strings",
        ),
        (json!([]), "body: must be a JSON object"),
    ];
    for (body, message) in cases {
        let r = t
            .server(Method::PUT, ROUTE)
            .param("user_id", "u3")
            .json(&body)
            .send(update)
            .await;
        r.assert_error(400, 400, message);
    }
    let r = t
        .server(Method::PUT, ROUTE)
        .param("user_id", &"x".repeat(65))
        .json(&json!({"nick": "n"}))
        .send(update)
        .await;
    r.assert_error(400, 400, "user_id: must be at most 64 characters");
    assert_eq!(t.stored("u3").await.unwrap().info, before.info);
}

#[tokio::test]
async fn stored_extends_never_exceed_64_keys() {
    let t = TestApp::new().await;
    let full: Vec<(String, String)> = (0..64)
        .map(|i| (format!("k{i}"), "v".to_string()))
        .collect();
    let pairs: Vec<(&str, &str)> = full.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    t.given_user("full", "n", &pairs).await;
    let put = |extends: serde_json::Value| {
        t.server(Method::PUT, ROUTE)
            .param("user_id", "full")
            .json(&json!({ "extends": extends }))
            .send(update)
    };
    put(json!({"one-more": "v"})).await.assert_error(
        400,
        400,
        "extends: a user may have at most 64 keys",
    );
    // Overwriting existing keys, or removing one and adding another later, is fine.
    put(json!({"k0": "changed"})).await.assert_ok();
    put(json!({"k1": null})).await.assert_ok();
    put(json!({"one-more": "v"})).await.assert_ok();
    let extends = t.stored("full").await.unwrap().info.extends;
    assert_eq!(extends.len(), 64);
    assert_eq!(extends["k0"], "changed");
}

#[tokio::test]
async fn user_ids_with_reserved_url_characters_round_trip() {
    let t = TestApp::new().await;
    t.given_user("a/b?c%d", "n", &[]).await;
    let r = t
        .server(Method::PUT, ROUTE)
        .param("user_id", "a/b?c%d")
        .json(&json!({"nick": "ok"}))
        .send(update)
        .await;
    r.assert_ok();
    assert_eq!(t.stored("a/b?c%d").await.unwrap().info.nick, "ok");
}
