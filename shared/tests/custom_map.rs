//! MinApp custom fields on users stored before custom fields existed (no `custom` map): the
//! write is conditioned on the map, never told apart by DynamoDB's English message text.

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;
use shared::store::attr;
use shared::testing::TestApp;
use shared::user_profile::UserProfiles;

/// A user stored before custom fields existed: no `custom` map at all.
async fn user_without_custom_map(t: &TestApp, user_id: &str) -> i64 {
    let uid = t
        .given_minapp_user(user_id, json!({"nickname": "old"}))
        .await;
    t.client
        .update_item()
        .table_name(&t.table)
        .key(attr::PK, AttributeValue::S(format!("USER#{user_id}")))
        .key(attr::SK, AttributeValue::S("USER".into()))
        .update_expression("REMOVE #c")
        .expression_attribute_names("#c", attr::CUSTOM)
        .send()
        .await
        .expect("remove the custom map");
    assert!(!t.stored_item(user_id).await.contains_key(attr::CUSTOM));
    uid
}

/// Without the map, `SET custom.f` is a ValidationException that only its English message
/// tells apart; the write is conditioned on the map instead, so DynamoDB answers
/// ConditionalCheckFailed with the item, the map is made and the write goes through.
#[tokio::test]
async fn custom_fields_of_a_user_without_the_map_are_written_after_making_it() {
    let t = TestApp::new().await;
    let uid = user_without_custom_map(&t, "old1").await;
    let written = UserProfiles::new(&t.app.users)
        .update(uid, &json!({"level": 3, "nickname": "new"}))
        .await
        .expect("written");
    assert_eq!(written.0["level"], 3);
    assert_eq!(written.0["nickname"], "new");
    let item = t.stored_item("old1").await;
    assert_eq!(
        item[attr::CUSTOM].as_m().unwrap().get("level"),
        Some(&AttributeValue::N("3".into()))
    );

    // Each operator kind: an increment, an append, an unset on a user without the map.
    for (i, body) in [
        json!({"level": {"$incr_by": 2}}),
        json!({"tags": {"$append": ["a"]}}),
        json!({"$unset": {"bio": ""}}),
        json!({"tags": {"$append_unique": ["a"]}}),
    ]
    .into_iter()
    .enumerate()
    {
        let id = format!("old-op{i}");
        let uid = user_without_custom_map(&t, &id).await;
        let written = UserProfiles::new(&t.app.users).update(uid, &body).await;
        assert!(written.is_ok(), "{body}: {written:?}");
        assert!(
            t.stored_item(&id).await.contains_key(attr::CUSTOM),
            "{body}"
        );
    }

    // Built-in fields alone need no map: none is made.
    let uid = user_without_custom_map(&t, "old2").await;
    UserProfiles::new(&t.app.users)
        .update(uid, &json!({"nickname": "n"}))
        .await
        .expect("written");
    assert!(!t.stored_item("old2").await.contains_key(attr::CUSTOM));
}
