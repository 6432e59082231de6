use shared::testing::*;

use super::user_profile_update;

const ROUTE: &str = "/userve/v2.6/miniapp/user_profile/{id}/";

fn put(t: &TestApp, uid: i64, body: serde_json::Value) -> TestRequest<Server> {
    t.minapp(Method::PUT, ROUTE)
        .param("id", &uid.to_string())
        .json(&body)
}

#[tokio::test]
async fn only_the_fields_sent_change_and_the_whole_object_is_answered() {
    let t = TestApp::new().await;
    let uid = t
        .given_minapp_user(
            "u1",
            json!({"nickname": "Guoch", "city": "广州", "tags": ["a", "b"], "prefs": {"x": 1}, "bio": "old"}),
        )
        .await;
    let r = put(
        &t,
        uid,
        json!({
            "nickname": "PCG", "gender": 1, "language": "zh_CN",
            "level": {"$incr_by": 5}, "score": 1.5, "vip": true, "birthday": "2024-05-01T08:00:00+08:00",
            "tags": {"$append_unique": ["b", "c"]}, "prefs": {"$update": {"y": 2}},
            "$unset": {"bio": ""}
        }),
    )
    .send(user_profile_update)
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let o = &r.body;
    assert_eq!(o["id"], uid);
    assert_eq!(o["nickname"], "PCG");
    assert_eq!(o["city"], "广州", "untouched");
    assert_eq!(o["gender"], 1);
    assert_eq!(o["level"], 5);
    assert_eq!(o["score"], 1.5);
    assert_eq!(o["vip"], true);
    assert_eq!(o["birthday"], "2024-05-01T00:00:00.000000Z");
    assert_eq!(o["tags"], json!(["a", "b", "c"]));
    assert_eq!(o["prefs"], json!({"x": 1, "y": 2}));
    assert_eq!(o["bio"], serde_json::Value::Null);
    // What was answered is what is stored.
    let stored = shared::user_profile::UserProfiles::new(&t.app.users)
        .get(uid)
        .await
        .unwrap();
    assert_eq!(&stored.0, o);
    let r = put(
        &t,
        uid,
        json!({"tags": {"$remove": ["a"]}, "level": {"$incr_by": -2}}),
    )
    .send(user_profile_update)
    .await;
    assert_eq!(
        (r.body["tags"].clone(), r.body["level"].clone()),
        (json!(["b", "c"]), json!(3))
    );
    let r = put(&t, uid, json!({"tags": {"$pop": 1}, "nickname": null}))
        .send(user_profile_update)
        .await;
    assert_eq!(r.body["tags"], json!(["b"]));
    assert_eq!(
        r.body["nickname"], "",
        "a cleared nickname is empty, as every user has one"
    );
}

#[tokio::test]
async fn a_change_through_minapp_shows_through_qiniu_and_the_reverse() {
    let t = TestApp::new().await;
    t.given_user("u1", "qiniu-nick", &[]).await;
    let uid = t.stored("u1").await.unwrap().info.im_userid;
    let r = shared::user_profile::UserProfiles::new(&t.app.users)
        .get(uid)
        .await
        .unwrap();
    assert_eq!(r.0["nickname"], "qiniu-nick");
    assert_eq!(r.0["avatar"], "https://img.example/u1.png");
    let r = put(
        &t,
        uid,
        json!({"nickname": "minapp-nick", "avatar": "a.png"}),
    )
    .send(user_profile_update)
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let info = t.app.users.info("u1").await.unwrap();
    assert_eq!(
        (info.nick.as_str(), info.avatar.as_str()),
        ("minapp-nick", "a.png")
    );
}

#[tokio::test]
async fn bad_writes_are_400_naming_the_problem_and_change_nothing() {
    let t = TestApp::new().await;
    let uid = t
        .given_minapp_user("u1", json!({"level": 1, "tags": ["x"], "nickname": "n"}))
        .await;
    let before = t.stored_item("u1").await;
    for (body, prefix) in [
        (json!({"id": 5}), "id"),
        (json!({"created_at": 5}), "created_at"),
        (json!({"openid": "o"}), "openid"),
        (json!({"_email": "a@b.c"}), "_email"),
        (json!({"_username": "x"}), "_username"),
        (json!({"user_id": 9}), "user_id"),
        (json!({"_user_id": "other"}), "_user_id"),
        (json!({"nope": 1}), "nope"),
        (json!({"level": "high"}), "level"),
        (json!({"level": 1.5}), "level"),
        (json!({"vip": "yes"}), "vip"),
        (json!({"birthday": "yesterday"}), "birthday"),
        (json!({"gender": 3}), "gender"),
        (json!({"tags": {"$incr_by": 1}}), "tags"),
        (json!({"level": {"$append": [1]}}), "level"),
        (json!({"level": {"$bogus": 1}}), "level"),
        (json!({"nickname": {"$incr_by": 1}}), "nickname"),
        (
            json!({"level": {"$incr_by": 9007199254740991_i64}}),
            "level",
        ),
        (json!({"tags": {"$append": vec!["y"; 64]}}), "tags"),
        (json!({"$unset": {"id": ""}}), "id"),
        (json!({"bio": "x".repeat(1025)}), "bio"),
        (json!([1, 2]), "body"),
    ] {
        let r = put(&t, uid, body.clone()).send(user_profile_update).await;
        r.assert_minapp_error(400, prefix);
        assert_eq!(t.stored_item("u1").await, before, "{body} changed the user");
    }
}

#[tokio::test]
async fn an_unknown_id_is_404_and_creates_nothing() {
    let t = TestApp::new().await;
    let r = put(&t, 424242, json!({"nickname": "x"}))
        .send(user_profile_update)
        .await;
    r.assert_minapp_error(404, "user not found");
    let scan = t.client.scan().table_name(&t.table).send().await.unwrap();
    assert_eq!(scan.count(), 0, "nothing created");
}

#[tokio::test]
async fn twenty_concurrent_increments_all_count() {
    let t = TestApp::new().await;
    let uid = t.given_minapp_user("u1", json!({"level": 100})).await;
    let answers = join_all(
        (0..20).map(|_| put(&t, uid, json!({"level": {"$incr_by": 1}})).send(user_profile_update)),
    )
    .await;
    assert!(answers.iter().all(|r| r.status == 200), "{answers:?}");
    let stored = shared::user_profile::UserProfiles::new(&t.app.users)
        .get(uid)
        .await
        .unwrap();
    assert_eq!(stored.0["level"], 120);
}

#[tokio::test]
async fn concurrent_updates_of_different_fields_all_survive() {
    let t = TestApp::new().await;
    let uid = t.given_minapp_user("u1", json!({})).await;
    let bodies = [
        json!({"nickname": "n"}),
        json!({"level": 3}),
        json!({"score": 2.5}),
        json!({"vip": true}),
        json!({"bio": "b"}),
        json!({"tags": {"$append": ["t"]}}),
        json!({"prefs": {"$update": {"k": "v"}}}),
        json!({"city": "c"}),
        json!({"gender": 2}),
        json!({"birthday": "2020-01-01"}),
    ];
    let answers = join_all(
        bodies
            .iter()
            .map(|b| put(&t, uid, b.clone()).send(user_profile_update)),
    )
    .await;
    assert!(answers.iter().all(|r| r.status == 200), "{answers:?}");
    let o = shared::user_profile::UserProfiles::new(&t.app.users)
        .get(uid)
        .await
        .unwrap()
        .0;
    for (key, value) in [
        ("nickname", json!("n")),
        ("level", json!(3)),
        ("score", json!(2.5)),
        ("vip", json!(true)),
        ("bio", json!("b")),
        ("tags", json!(["t"])),
        ("prefs", json!({"k": "v"})),
        ("city", json!("c")),
        ("gender", json!(2)),
        ("birthday", json!("2020-01-01T00:00:00.000000Z")),
    ] {
        assert_eq!(o[key], value, "{key} lost");
    }
}

#[tokio::test]
async fn concurrent_append_unique_of_one_value_stores_it_once_and_loses_no_other() {
    let t = TestApp::new().await;
    let uid = t.given_minapp_user("u1", json!({"tags": ["a"]})).await;
    let answers = join_all((0..12).map(|i| {
        put(
            &t,
            uid,
            json!({"tags": {"$append_unique": ["x", format!("v{i}")]}, "level": {"$incr_by": 1}}),
        )
        .send(user_profile_update)
    }))
    .await;
    assert!(answers.iter().all(|r| r.status == 200), "{answers:?}");
    let o = shared::user_profile::UserProfiles::new(&t.app.users)
        .get(uid)
        .await
        .unwrap()
        .0;
    let tags = o["tags"].as_array().unwrap();
    assert_eq!(tags.iter().filter(|t| *t == "x").count(), 1, "{tags:?}");
    for i in 0..12 {
        assert!(
            tags.contains(&json!(format!("v{i}"))),
            "v{i} lost: {tags:?}"
        );
    }
    assert_eq!(tags.len(), 14);
    assert_eq!(o["level"], 12, "every retried update still counts once");
}

#[tokio::test]
async fn an_update_costs_the_id_lookup_and_one_update_item_plus_a_read_when_decided_from_the_value()
{
    let (t, trips) = TestApp::counting_round_trips().await;
    let uid = t.given_minapp_user("u1", json!({"tags": ["a"]})).await;
    for (body, calls) in [
        (
            json!({"nickname": "n", "gender": 1, "level": {"$incr_by": 1}, "$unset": {"bio": ""}}),
            vec!["Query", "UpdateItem"],
        ),
        (
            json!({"tags": {"$append_unique": ["b"]}}),
            vec!["Query", "GetItem", "UpdateItem"],
        ),
        (
            json!({"bio": "grows the custom fields"}),
            vec!["Query", "GetItem", "UpdateItem"],
        ),
        (json!({}), vec!["Query", "GetItem"]),
    ] {
        trips.take();
        let r = put(&t, uid, body.clone()).send(user_profile_update).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(trips.take(), calls, "{body}");
    }
}

/// Writes a custom field's stored number as is, past any check (a value written by an older
/// release, or by hand).
async fn given_stored_number(t: &TestApp, user_id: &str, field: &str, n: &str) {
    use aws_sdk_dynamodb::types::AttributeValue::{N, S};
    t.client
        .update_item()
        .table_name(&t.table)
        .key("pk", S(format!("USER#{user_id}")))
        .key("sk", S("USER".into()))
        .update_expression("SET #c.#f = :n")
        .expression_attribute_names("#c", "custom")
        .expression_attribute_names("#f", field)
        .expression_attribute_values(":n", N(n.into()))
        .send()
        .await
        .expect("write a stored number");
}

#[tokio::test]
async fn an_increment_past_a_number_fields_range_is_400_naming_it_and_changes_nothing() {
    let t = TestApp::new().await;
    let uid = t
        .given_minapp_user("u1", json!({"level": 1, "score": 9e124}))
        .await;
    for (stored, body, prefix) in [
        // Within the declared range, but the sum is not.
        (None, json!({"score": {"$incr_by": 9e124}}), "score"),
        (None, json!({"score": {"$incr_by": -1e125}}), "score"),
        // Stored values outside the declared range, written before it held.
        (
            Some(("level", (i64::MAX - 1).to_string())),
            json!({"level": {"$incr_by": 5}}),
            "level",
        ),
        (
            Some(("level", u64::MAX.to_string())),
            json!({"level": {"$incr_by": 1}}),
            "level",
        ),
        (
            Some(("score", "9.9E125".to_string())),
            json!({"score": {"$incr_by": 9e124}}),
            "score",
        ),
        // The increment itself out of range.
        (None, json!({"level": {"$incr_by": i64::MAX}}), "level"),
        (None, json!({"score": {"$incr_by": 1e200}}), "score"),
    ] {
        if let Some((field, n)) = &stored {
            given_stored_number(&t, "u1", field, n).await;
        }
        let before = t.stored_item("u1").await;
        let r = put(&t, uid, body.clone()).send(user_profile_update).await;
        r.assert_minapp_error(400, prefix);
        assert_eq!(t.stored_item("u1").await, before, "{body} changed the user");
    }
}

/// The console's cookie: an editor's update goes through; a viewer's, or a write without the
/// session's CSRF token or from another origin, is 403 before any work and changes nothing.
#[tokio::test]
async fn with_the_console_cookie_editors_update_and_everything_else_is_refused() {
    let t = TestApp::new().await;
    let uid = t.given_minapp_user("u1", json!({"nickname": "old"})).await;
    let viewer = t.console_login("viewer", Role::Viewer).await;
    let editor = t.console_login("editor", Role::Editor).await;
    let body = json!({"nickname": "new"});
    let cookie_put = || put(&t, uid, body.clone()).authorization(None);
    cookie_put()
        .console(&viewer)
        .send(user_profile_update)
        .await
        .assert_minapp_error(403, "this needs the editor or admin role");
    cookie_put()
        .console_cookie(&editor)
        .send(user_profile_update)
        .await
        .assert_minapp_error(403, "X-CSRF-Token");
    cookie_put()
        .console_cookie(&editor)
        .header("x-csrf-token", &editor.csrf)
        .header("origin", "https://evil.example")
        .send(user_profile_update)
        .await
        .assert_minapp_error(403, "Origin");
    let stored = shared::user_profile::UserProfiles::new(&t.app.users)
        .get(uid)
        .await
        .unwrap();
    assert_eq!(stored.0["nickname"], "old", "nothing changed");
    let r = cookie_put()
        .console(&editor)
        .send(user_profile_update)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["nickname"], "new");
    assert_eq!(r.body["_disabled"], false);
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=1800"));
}
