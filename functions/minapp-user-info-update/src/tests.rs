use shared::session::SignedIn;
use shared::testing::*;
use shared::user_profile::UserProfiles;

use super::user_info_update;

const ROUTE: &str = "/hserve/v2.5/user/info/";

/// The test fields, and one private to its owner.
fn fields() -> String {
    format!("{TEST_USER_FIELDS},diary:string:private")
}

fn put(t: &TestApp, caller: &SignedIn, body: serde_json::Value) -> TestRequest<Session> {
    t.call(MinApp.client(), Method::PUT, ROUTE)
        .authorization(Some(&format!("Hydrogen-r1 {}", caller.token)))
        .json(&body)
}

/// The caller's string id (the store's key).
fn user_id(t: &TestApp, caller: &SignedIn) -> String {
    t.app
        .tokens()
        .session(&caller.token)
        .unwrap()
        .user_id()
        .to_string()
}

/// The user as stored, as the `userve` API reads it.
/// The stored user as the app server sees it, less what only the server and operators see.
async fn stored(t: &TestApp, caller: &SignedIn) -> serde_json::Value {
    let mut object = UserProfiles::new(&t.app.users)
        .get(caller.user.id())
        .await
        .unwrap()
        .0;
    if let Some(o) = object.as_object_mut() {
        o.remove("_disabled");
        o.remove("_disabled_until");
    }
    object
}

#[tokio::test]
async fn every_operator_the_sdk_sends_applies_and_the_whole_object_is_answered() {
    let t = TestApp::with_config(|c| c.user_fields = fields()).await;
    let (ann, _) = t.given_ann_and_bob().await;
    let r = put(
        &t,
        &ann,
        json!({"nickname": "Ann", "city": "广州", "level": 1, "tags": ["a", "b"],
               "prefs": {"x": 1}, "bio": "old", "diary": "dear diary"}),
    )
    .send(user_info_update)
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = put(
        &t,
        &ann,
        json!({"level": {"$incr_by": 4}, "tags": {"$append_unique": ["b", "c"]},
               "prefs": {"$update": {"y": 2}}, "$unset": {"bio": ""}}),
    )
    .send(user_info_update)
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let o = &r.body;
    assert_eq!(o["id"], ann.user.id());
    assert_eq!(o["_username"], "ann", "the caller's whole object");
    assert_eq!(o["nickname"], "Ann");
    assert_eq!(o["city"], "广州", "untouched");
    assert_eq!(o["diary"], "dear diary", "its own private field");
    assert_eq!(o["level"], 5);
    assert_eq!(o["tags"], json!(["a", "b", "c"]));
    assert_eq!(o["prefs"], json!({"x": 1, "y": 2}));
    assert_eq!(o["bio"], serde_json::Value::Null);
    // The caller's own object: the stored user plus its `_anonymous` flag.
    let mut own = o.clone();
    assert_eq!(
        own.as_object_mut().unwrap().remove("_anonymous"),
        Some(json!(false))
    );
    assert_eq!(stored(&t, &ann).await, own, "what was answered is stored");
    let r = put(
        &t,
        &ann,
        json!({"tags": {"$append": ["d"]}, "level": {"$incr_by": -2}}),
    )
    .send(user_info_update)
    .await;
    assert_eq!(
        (r.body["tags"].clone(), r.body["level"].clone()),
        (json!(["a", "b", "c", "d"]), json!(3))
    );
    let r = put(&t, &ann, json!({"tags": {"$remove": ["b"]}}))
        .send(user_info_update)
        .await;
    assert_eq!(r.body["tags"], json!(["a", "c", "d"]));
    let r = put(&t, &ann, json!({"tags": {"$pop": 1}}))
        .send(user_info_update)
        .await;
    assert_eq!(r.body["tags"], json!(["a", "c"]), "pop");
    let r = put(&t, &ann, json!({"tags": {"$pop": -1}}))
        .send(user_info_update)
        .await;
    assert_eq!(r.body["tags"], json!(["c"]), "shift");
}

#[tokio::test]
async fn what_a_client_may_not_write_is_400_naming_it_and_changes_nothing() {
    let t = TestApp::with_config(|c| c.user_fields = fields()).await;
    let (ann, bob) = t.given_ann_and_bob().await;
    put(&t, &ann, json!({"level": 1, "nickname": "n"}))
        .send(user_info_update)
        .await;
    let (ann_id, bob_id) = (user_id(&t, &ann), user_id(&t, &bob));
    let before = (t.stored_item(&ann_id).await, t.stored_item(&bob_id).await);
    for (body, field) in [
        // No other user can be named: the caller is the only target.
        (json!({"id": bob.user.id(), "nickname": "x"}), "id"),
        (json!({"user_id": bob.user.id()}), "user_id"),
        (json!({"_user_id": bob_id}), "_user_id"),
        (json!({"created_by": bob.user.id()}), "created_by"),
        // Account values go through the account path.
        (json!({"_username": "mallory"}), "_username"),
        (json!({"_email": "m@example.org"}), "_email"),
        (json!({"_phone": "+8613800138000"}), "_phone"),
        (json!({"_email_verified": true}), "_email_verified"),
        (json!({"created_at": 5}), "created_at"),
        (json!({"updated_at": 5}), "updated_at"),
        (json!({"openid": "o"}), "openid"),
        (json!({"nope": 1}), "nope"),
        (json!({"level": "high"}), "level"),
        (json!({"tags": {"$incr_by": 1}}), "tags"),
        (json!({"$unset": {"_username": ""}}), "_username"),
        (json!({"$set": {"level": 2}}), "$set"),
        (json!([1]), "body"),
    ] {
        put(&t, &ann, body.clone())
            .send(user_info_update)
            .await
            .assert_minapp_error(400, field);
        assert_eq!(
            (t.stored_item(&ann_id).await, t.stored_item(&bob_id).await),
            before,
            "{body} changed a user"
        );
    }
}

#[tokio::test]
async fn twenty_concurrent_increments_from_one_client_all_count() {
    let t = TestApp::with_config(|c| c.user_fields = fields()).await;
    let (ann, bob) = t.given_ann_and_bob().await;
    let answers = join_all(
        (0..20).map(|_| put(&t, &ann, json!({"level": {"$incr_by": 1}})).send(user_info_update)),
    )
    .await;
    assert!(answers.iter().all(|r| r.status == 200), "{answers:?}");
    assert_eq!(stored(&t, &ann).await["level"], 20);
    assert_eq!(
        stored(&t, &bob).await["level"],
        serde_json::Value::Null,
        "only the caller"
    );
}

#[tokio::test]
async fn a_revoked_or_missing_token_changes_nothing() {
    let t = TestApp::with_config(|c| c.user_fields = fields()).await;
    let (ann, _) = t.given_ann_and_bob().await;
    let session = t.app.tokens().session(&ann.token).unwrap();
    t.client_of(&session).log_out().await.unwrap();
    let before = t.stored_item(session.user_id()).await;
    // Each path through the store: a blind write, one decided from a read, the empty update.
    for body in [
        json!({"nickname": "x", "level": {"$incr_by": 1}}),
        json!({"tags": {"$append_unique": ["x"]}}),
        json!({}),
    ] {
        put(&t, &ann, body.clone())
            .send(user_info_update)
            .await
            .assert_minapp_error(401, "token revoked");
        assert_eq!(t.stored_item(session.user_id()).await, before, "{body}");
    }
    let r = t
        .call(MinApp.client(), Method::PUT, ROUTE)
        .json(&json!({"nickname": "x"}))
        .send(user_info_update)
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(t.stored_item(session.user_id()).await, before);
}

#[tokio::test]
async fn the_token_check_is_folded_into_the_update_round_trips() {
    let (t, trips) = TestApp::counting_round_trips_with(|c| c.user_fields = fields()).await;
    let (ann, _) = t.given_ann_and_bob().await;
    put(&t, &ann, json!({"tags": ["a"]}))
        .send(user_info_update)
        .await;
    for (body, calls) in [
        (
            json!({"nickname": "n", "gender": 1, "level": {"$incr_by": 1}, "$unset": {"bio": ""}}),
            vec!["UpdateItem"],
        ),
        (
            json!({"tags": {"$append_unique": ["b"]}}),
            vec!["GetItem", "UpdateItem"],
        ),
        (
            json!({"bio": "grows the custom fields"}),
            vec!["GetItem", "UpdateItem"],
        ),
        (json!({}), vec!["GetItem"]),
    ] {
        trips.take();
        let r = put(&t, &ann, body.clone()).send(user_info_update).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(trips.take(), calls, "{body}");
    }
}
