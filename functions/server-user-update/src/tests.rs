use shared::testing::*;

use super::update;
use shared::prelude::{ApiError, UserUpdate};

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
    given_user_with_keys(&t, "full", 64).await;
    let put = |extends| put_extends(&t, "full", extends);
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

#[tokio::test]
async fn a_user_id_holding_a_percent_sequence_is_addressed_by_its_path_on_watch_and_api_gateway() {
    let t = TestApp::new().await;
    // `a%41` must never be confused with `aA`, which is what decoding twice would give.
    t.given_user("a%41", "literal", &[]).await;
    t.given_user("aA", "decoded", &[]).await;
    for (nick, request) in [
        ("via watch", t.server(Method::PUT, ROUTE)),
        (
            "via api gateway",
            t.server(Method::PUT, ROUTE).as_api_gateway(),
        ),
    ] {
        let r = request
            .param("user_id", "a%41")
            .json(&json!({ "nick": nick }))
            .send(update)
            .await;
        r.assert_ok();
        assert_eq!(t.stored("a%41").await.unwrap().info.nick, nick);
        assert_eq!(t.stored("aA").await.unwrap().info.nick, "decoded");
    }
}

#[tokio::test]
async fn a_qbox_signature_never_carries_a_json_body() {
    let t = TestApp::new().await;
    t.given_user("u1", "before", &[]).await;
    let r = t
        .server(Method::PUT, ROUTE)
        .param("user_id", "u1")
        .json(&json!({"nick": "replayed"}))
        .signing(Signing::QBox {
            ak: TEST_AK.into(),
            sk: TEST_SK.into(),
        })
        .send(update)
        .await;
    r.assert_error(401, 401, "QBox");
    assert_eq!(t.stored("u1").await.unwrap().info.nick, "before");
}

#[tokio::test]
async fn a_body_the_v2_signature_left_out_is_401_and_changes_nothing() {
    let t = TestApp::new().await;
    t.given_user("u1", "before", &[]).await;
    let body = br#"{"nick":"injected"}"#.to_vec();
    for request in [
        t.server(Method::PUT, ROUTE).untyped_body(body.clone()),
        t.server(Method::PUT, ROUTE)
            .raw_body(body.clone(), "application/octet-stream"),
    ] {
        let r = request.param("user_id", "u1").send(update).await;
        r.assert_error(401, 401, "does not cover the body");
    }
    assert_eq!(t.stored("u1").await.unwrap().info.nick, "before");
}

#[tokio::test]
async fn a_signed_body_that_is_not_json_typed_is_400_naming_content_type() {
    let t = TestApp::new().await;
    t.given_user("u1", "before", &[]).await;
    let r = t
        .server(Method::PUT, ROUTE)
        .param("user_id", "u1")
        .raw_body(br#"{"nick":"x"}"#.to_vec(), "text/plain")
        .send(update)
        .await;
    r.assert_error(400, 400, "Content-Type");
    // JSON with parameters is JSON.
    let r = t
        .server(Method::PUT, ROUTE)
        .param("user_id", "u1")
        .raw_body(
            br#"{"nick":"after"}"#.to_vec(),
            "application/json; charset=utf-8",
        )
        .send(update)
        .await;
    r.assert_ok();
    assert_eq!(t.stored("u1").await.unwrap().info.nick, "after");
}

/// A user whose `extends` holds `n` keys `k0`, `k1`, ... all set to `v`.
async fn given_user_with_keys(t: &TestApp, user_id: &str, n: usize) {
    let keys: Vec<(String, String)> = (0..n).map(|i| (format!("k{i}"), "v".into())).collect();
    let pairs: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    t.given_user(user_id, "n", &pairs).await;
}

/// `PUT {"extends": extends}` to `user_id`, signed, through the handler.
async fn put_extends(t: &TestApp, user_id: &str, extends: serde_json::Value) -> TestResponse {
    t.server(Method::PUT, ROUTE)
        .param("user_id", user_id)
        .json(&json!({ "extends": extends }))
        .send(update)
        .await
}

/// How many of `responses` succeeded; every other one is a 400 about `extends` saying `why`.
#[track_caller]
fn accepted_else_400(responses: Vec<TestResponse>, why: &str) -> usize {
    let mut accepted = 0;
    for r in responses {
        if r.status == 200 {
            accepted += 1;
        } else {
            r.assert_error(400, 400, "extends: ");
            assert!(r.message().contains(why), "{}", r.message());
        }
    }
    accepted
}

/// The stored `extends` of `user_id`, once its stored total is checked to be its exact size.
async fn extends_with_exact_total(
    t: &TestApp,
    user_id: &str,
) -> std::collections::BTreeMap<String, String> {
    let extends = t.stored(user_id).await.unwrap().info.extends;
    let exact = shared::user::extends_bytes(&extends);
    assert_eq!(
        t.stored_extends_bytes(user_id).await,
        Some(exact),
        "{user_id}"
    );
    extends
}

#[tokio::test]
async fn a_full_map_takes_a_removal_and_a_new_key_in_one_update() {
    let t = TestApp::new().await;
    given_user_with_keys(&t, "full", 64).await;
    let put = |extends| put_extends(&t, "full", extends);
    // The map after it has 64 keys: a removal makes room for the new key.
    put(json!({"k1": null, "new": "v"})).await.assert_ok();
    // A value of the same size leaves the total as it is.
    put(json!({"k2": "w"})).await.assert_ok();
    // An existing key and a new one would make 65.
    put(json!({"k0": "changed", "another": "v"}))
        .await
        .assert_error(400, 400, "extends: a user may have at most 64 keys");
    // Removing a key that is not there makes no room.
    put(json!({"absent": null, "another": "v"}))
        .await
        .assert_error(400, 400, "extends: a user may have at most 64 keys");
    let stored = extends_with_exact_total(&t, "full").await;
    assert_eq!(stored.len(), 64);
    assert!(!stored.contains_key("k1") && stored["new"] == "v" && stored["k2"] == "w");
}

#[tokio::test]
async fn concurrent_additions_to_an_almost_full_map_stop_at_exactly_64_keys() {
    // Each writer read 60 keys and saw room for its one; DynamoDB's condition on the map's
    // size lets exactly four of them in.
    let t = TestApp::new().await;
    given_user_with_keys(&t, "crowded", 60).await;
    let writers = (0..20).map(|i| put_extends(&t, "crowded", json!({format!("new{i}"): "v"})));
    let accepted = accepted_else_400(join_all(writers).await, "at most 64 keys");
    let stored = extends_with_exact_total(&t, "crowded").await;
    assert_eq!((accepted, stored.len()), (4, 64));
}

#[tokio::test]
async fn concurrent_growth_stops_at_the_byte_limit_and_the_total_stays_exact() {
    // Each writer adds one entry of about 1 KB to an empty map; only eight fit in 8192 bytes,
    // whatever the interleaving, and the stored total is the map's exact size.
    let t = TestApp::new().await;
    t.given_user("growing", "n", &[]).await;
    let writers =
        (0..12).map(|i| put_extends(&t, "growing", json!({format!("k{i:02}"): "x".repeat(1000)})));
    let accepted = accepted_else_400(join_all(writers).await, "8192 bytes");
    let stored = extends_with_exact_total(&t, "growing").await;
    assert_eq!((accepted, stored.len()), (8, 8));
    assert!(shared::user::extends_bytes(&stored) <= shared::user::EXTENDS_MAX_BYTES);
}

#[tokio::test]
async fn the_byte_limit_counts_json_escapes_and_credits_replaced_values() {
    let t = TestApp::new().await;
    t.given_user("big", "n", &[]).await;
    let put = |extends| put_extends(&t, "big", extends);
    // 4 values of 1000 quotes, 2 bytes each in JSON: 8028 bytes in all.
    let quotes = "\"".repeat(1000);
    put(json!({"a": quotes, "b": quotes, "c": quotes, "d": quotes}))
        .await
        .assert_ok();
    put(json!({"e": "x".repeat(200)})).await.assert_error(
        400,
        400,
        "extends: must take at most 8192 bytes as JSON",
    );
    // Replacing a large value with a small one makes the room.
    put(json!({"a": "", "e": "x".repeat(200)}))
        .await
        .assert_ok();
    put(json!({"b": null, "f": "y".repeat(900)}))
        .await
        .assert_ok();
    let stored = extends_with_exact_total(&t, "big").await;
    assert_eq!(stored.len(), 5);
}

#[tokio::test]
async fn an_update_built_without_from_json_is_refused_not_overflowed() {
    // 70 keys at once (more than from_json lets through) on an empty map: a 400, no panic.
    let t = TestApp::new().await;
    t.given_user("direct", "n", &[]).await;
    let update = UserUpdate {
        set_extends: (0..70)
            .map(|i| (format!("k{i}"), "v".to_string()))
            .collect(),
        ..UserUpdate::default()
    };
    let result = t.app.users.update("direct", update).await;
    assert_eq!(
        result,
        Err(ApiError::invalid(
            "extends",
            "a user may have at most 64 keys"
        ))
    );
    assert!(t.stored("direct").await.unwrap().info.extends.is_empty());
}

#[tokio::test]
async fn a_user_stored_before_extends_bytes_gets_its_exact_total_on_its_first_update() {
    let t = TestApp::new().await;
    t.given_user_without_extends_bytes("legacy", &[("a", "1"), ("b", "22")])
        .await;
    let r = t
        .server(Method::PUT, ROUTE)
        .param("user_id", "legacy")
        .json(&json!({"extends": {"a": null, "c": "333"}}))
        .send(update)
        .await;
    r.assert_ok();
    let stored = extends_with_exact_total(&t, "legacy").await;
    assert_eq!(stored.keys().collect::<Vec<_>>(), ["b", "c"]);
}
