//! Users written before the directory index existed (issue 17): items without `dir` and
//! `dir_order`, as an older stack wrote every Qiniu user. Every write of a user gives it its
//! directory attributes, and the operator's backfill gives them to the rest, against the real
//! engine (DynamoDB Local).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;
use shared::account::AccountUpdate;
use shared::query::query_pairs;
use shared::store::attr;
use shared::store::backfill::{BackfillCounts, BackfillPosition};
use shared::store::directory::{order_key, shard_of};
use shared::testing::{TestApp, join_all};
use shared::user::UserUpdate;
use shared::user_profile::{ListQuery, Origin, UserProfiles};

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
    let listing = UserProfiles::new(&t.app.users)
        .list(&query, &origin)
        .await
        .unwrap();
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
        .update_own(&t.session("client", 1), &nick, CREATED + 100)
        .await
        .unwrap();
    // MinApp profile updates: a built-in, `$incr_by` (neither reads first, and the old item
    // has no `custom` map), an operator decided from the value read.
    for (id, body) in [
        ("builtin", json!({"nickname": "x"})),
        ("incr", json!({"level": {"$incr_by": 1}})),
        ("append", json!({"tags": {"$append_unique": ["a"]}})),
    ] {
        UserProfiles::new(users)
            .update(ims[id], &body)
            .await
            .unwrap();
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

/// Scans a whole table, as many rounds as it takes.
async fn backfill(t: &TestApp, segments: u32, page_size: i32) -> BackfillCounts {
    let table = t.app.users.table();
    let mut position = BackfillPosition::start(segments);
    let mut total = BackfillCounts::default();
    while !position.is_done() {
        total += table
            .backfill_directory_round(&mut position, page_size)
            .await
            .unwrap();
    }
    total
}

#[tokio::test]
async fn the_backfill_gives_old_users_their_entry_and_leaves_the_rest_alone() {
    let t = TestApp::new().await;
    let mut old = Vec::new();
    for i in 0..5 {
        let id = format!("old{i}");
        old.push((
            id.clone(),
            given_old_user(&t, &id, CREATED + i).await,
            CREATED + i,
        ));
    }
    // Users written by this stack (with an account: a guard item too) are untouched.
    t.given_user("new0", "n", &[]).await;
    t.given_user("new1", "n", &[("k", "v")]).await;
    t.given_account("new1", Some("someone"), None).await;
    let before: Vec<Item> = join_all(["new0", "new1"].map(|id| t.stored_item(id))).await;

    let counts = backfill(&t, 2, 2).await;
    assert_eq!(counts.updated, 5, "{counts:?}");
    assert_eq!(counts.already, 2, "{counts:?}");
    // 7 users, the IM id counter, one guard, three audit records (the two registrations, the
    // account change): the backfill leaves all but the users alone.
    assert_eq!(counts.scanned, 12, "{counts:?}");
    assert_eq!(counts.other, 5, "{counts:?}");

    for (id, im, created) in &old {
        let item = t.stored_item(id).await;
        assert_directory(&item, *im, *created);
        assert_eq!(
            item[attr::NICK],
            AttributeValue::S("old".into()),
            "nothing else"
        );
        assert_eq!(
            item[attr::UPDATED_AT],
            AttributeValue::N(created.to_string())
        );
    }
    let after: Vec<Item> = join_all(["new0", "new1"].map(|id| t.stored_item(id))).await;
    assert_eq!(after, before, "users that had their entry are untouched");
    assert_eq!(listed(&t).await.len(), 7);

    // Twice: nothing left to do.
    let again = backfill(&t, 1, 100).await;
    assert_eq!((again.updated, again.already), (0, 7), "{again:?}");
}

#[tokio::test]
async fn the_backfill_resumes_from_its_token() {
    let t = TestApp::new().await;
    for i in 0..6 {
        given_old_user(&t, &format!("old{i}"), CREATED + i).await;
    }
    let table = t.app.users.table();
    let mut position = BackfillPosition::start(1);
    let first = table
        .backfill_directory_round(&mut position, 3)
        .await
        .unwrap();
    assert!(!position.is_done());
    // A new process from the printed token goes on where the first stopped.
    let token = position.token();
    let mut resumed = BackfillPosition::from_token(&token).unwrap();
    assert_eq!(resumed, position);
    let mut rest = BackfillCounts::default();
    while !resumed.is_done() {
        rest += table
            .backfill_directory_round(&mut resumed, 3)
            .await
            .unwrap();
    }
    assert_eq!(first.updated + rest.updated, 6, "{first:?} {rest:?}");
    assert_eq!(
        first.scanned + rest.scanned,
        7,
        "six users and the counter, each once"
    );
    assert_eq!(listed(&t).await.len(), 6);
    assert!(BackfillPosition::from_token("not a token").is_err());
}

#[tokio::test]
async fn the_backfill_loses_no_concurrent_update() {
    let t = TestApp::new().await;
    let mut old = Vec::new();
    for i in 0..12 {
        let id = format!("old{i}");
        old.push((id.clone(), given_old_user(&t, &id, CREATED + i).await));
    }
    const ROUNDS: i64 = 4;
    let updates = async {
        for _ in 0..ROUNDS {
            join_all(old.iter().map(|(id, im)| async move {
                UserProfiles::new(&t.app.users)
                    .update(*im, &json!({"level": {"$incr_by": 1}}))
                    .await
                    .unwrap();
                let nick = UserUpdate {
                    nick: Some(format!("nick-{id}")),
                    ..UserUpdate::default()
                };
                t.app.users.update(id, nick).await.unwrap();
            }))
            .await;
        }
    };
    let (counts, ()) = tokio::join!(backfill(&t, 3, 1), updates);
    assert!(counts.updated <= 12, "{counts:?}");
    for (i, (id, im)) in old.iter().enumerate() {
        let item = t.stored_item(id).await;
        assert_directory(&item, *im, CREATED + i as i64);
        assert_eq!(item[attr::NICK], AttributeValue::S(format!("nick-{id}")));
        assert_eq!(
            item[attr::CUSTOM].as_m().unwrap()["level"],
            AttributeValue::N(ROUNDS.to_string()),
            "every increment of {id} counted"
        );
    }
    assert_eq!(listed(&t).await.len(), 12);
}
