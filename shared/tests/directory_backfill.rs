//! Users written before the directory index existed (issue 17): items without `dir` and
//! `dir_order`, as an older stack wrote every Qiniu user. Every write of a user gives it its
//! directory attributes, against the real engine (DynamoDB Local).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;
use shared::account::AccountUpdate;
use shared::store::attr;
use shared::store::directory::{order_key, shard_of};
use shared::testing::TestApp;
use shared::user::UserUpdate;
use shared::user_profile::{ListQuery, Origin, query_pairs};

type Item = HashMap<String, AttributeValue>;

/// Puts a user item as a stack before the directory index wrote it: no `dir`, `dir_order`,
/// `custom` nor `extends_bytes`. Returns its IM id.
async fn given_old_user(t: &TestApp, user_id: &str, created_at: i64) -> i64 {
    let im = t.app.users.table().allocate_im_ids(1).await.unwrap().start;
    let s = |v: &str| AttributeValue::S(v.to_string());
    let n = |v: i64| AttributeValue::N(v.to_string());
    t.client
        .put_item()
        .table_name(&t.table)
        .item(attr::PK, s(&format!("USER#{user_id}")))
        .item(attr::SK, s("USER"))
        .item(attr::USER_ID, s(user_id))
        .item(attr::NICK, s("old"))
        .item(attr::AVATAR, s(""))
        .item(attr::EXTENDS, AttributeValue::M(HashMap::new()))
        .item(attr::IM_USERID, n(im))
        .item(attr::IM_USERNAME, s(&format!("qlu{im}")))
        .item(attr::IM_PASSWORD, s(&"p".repeat(24)))
        .item(attr::CREATED_AT, n(created_at))
        .item(attr::UPDATED_AT, n(created_at))
        .send()
        .await
        .expect("put an old user");
    im
}

/// The IM ids a MinApp listing in the directory's order shows.
async fn listed(t: &TestApp) -> Vec<i64> {
    let raw = "limit=1000";
    let fields = t.app.users.user_fields();
    let query = ListQuery::parse(&query_pairs(raw), fields).unwrap();
    let origin = Origin {
        path: "/userve/v2.2/miniapp/user_profile/".into(),
        raw_query: raw.into(),
    };
    let listing = t.app.users.list_profiles(&query, &origin).await.unwrap();
    listing
        .objects
        .iter()
        .map(|o| o.0["id"].as_i64().unwrap())
        .collect()
}

/// The user's directory attributes are exactly those its IM id and creation time give.
fn assert_directory(item: &Item, im: i64, created_at: i64) {
    let get = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    assert_eq!(get(attr::DIR), Some(shard_of(im)), "{item:?}");
    assert_eq!(
        get(attr::DIR_ORDER),
        Some(order_key(created_at, im)),
        "{item:?}"
    );
}

const CREATED: i64 = 1_600_000_000;

#[tokio::test]
async fn every_user_write_gives_an_old_user_its_directory_entry() {
    let t = TestApp::new().await;
    let ids = [
        "nick",
        "extends",
        "client",
        "builtin",
        "incr",
        "append",
        "account",
        "untouched",
    ];
    let mut ims = HashMap::new();
    for (i, id) in ids.iter().enumerate() {
        ims.insert(*id, given_old_user(&t, id, CREATED + i as i64).await);
    }
    assert_eq!(
        listed(&t).await,
        Vec::<i64>::new(),
        "old users are not listed"
    );

    // Qiniu updates: plain fields (no read), `extends` (read first), a client's own.
    let users = &t.app.users;
    let nick = UserUpdate {
        nick: Some("new".into()),
        ..UserUpdate::default()
    };
    users.update("nick", nick.clone()).await.unwrap();
    let extends = UserUpdate {
        set_extends: [("k".to_string(), "v".to_string())].into(),
        ..UserUpdate::default()
    };
    users.update("extends", extends).await.unwrap();
    users
        .table()
        .update_as("client", &nick, CREATED + 100, Some(1))
        .await
        .unwrap();
    // MinApp profile updates: a built-in, `$incr_by` (neither reads first, and the old item
    // has no `custom` map), an operator decided from the value read.
    for (id, body) in [
        ("builtin", json!({"nickname": "x"})),
        ("incr", json!({"level": {"$incr_by": 1}})),
        ("append", json!({"tags": {"$append_unique": ["a"]}})),
    ] {
        users.update_profile(ims[id], &body).await.unwrap();
    }
    // An account change.
    let account = AccountUpdate::from_json(&json!({"username": "olduser"})).unwrap();
    users
        .change_account(ims["account"], &account)
        .await
        .unwrap();

    let mut expected: Vec<i64> = ids[..ids.len() - 1].iter().map(|id| ims[id]).collect();
    let mut got = listed(&t).await;
    expected.sort();
    got.sort();
    assert_eq!(
        got, expected,
        "every written user is listed, the untouched one not"
    );
    for (i, id) in ids.iter().enumerate() {
        let item = t.stored_item(id).await;
        if *id == "untouched" {
            assert!(!item.contains_key(attr::DIR), "{item:?}");
        } else {
            assert_directory(&item, ims[id], CREATED + i as i64);
        }
    }
    // What the writes wrote is there too.
    let item = t.stored_item("incr").await;
    assert_eq!(
        item[attr::CUSTOM].as_m().unwrap()["level"],
        AttributeValue::N("1".into())
    );
}
