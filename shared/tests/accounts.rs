//! Accounts against the real engine (DynamoDB Local): login names, emails and phones stay
//! unique under any concurrency, through guard items written in one transaction with the user.

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use shared::account::AccountUpdate;
use shared::error::ApiError;
use shared::testing::{TestApp, join_all};

fn update(body: Value) -> AccountUpdate {
    AccountUpdate::from_json(&body).expect("a valid account body")
}

async fn users(t: &TestApp, n: usize) -> Vec<i64> {
    let mut uids = Vec::new();
    for i in 0..n {
        let id = format!("u{i}");
        t.given_user(&id, "", &[]).await;
        uids.push(t.stored(&id).await.unwrap().info.im_userid);
    }
    uids
}

/// Every item of the table, by kind: users (user_id -> item) and guards (pk -> holder).
async fn audit(
    t: &TestApp,
) -> (
    HashMap<String, HashMap<String, AttributeValue>>,
    HashMap<String, String>,
) {
    let mut users = HashMap::new();
    let mut guards = HashMap::new();
    let mut start = None;
    loop {
        // A Scan is fine in a test, never on a request path.
        let page = t
            .client
            .scan()
            .table_name(&t.table)
            .set_exclusive_start_key(start)
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        for item in page.items() {
            let pk = item["pk"].as_s().unwrap().clone();
            if let Some(id) = pk.strip_prefix("USER#") {
                users.insert(id.to_string(), item.clone());
            } else if item["sk"].as_s().unwrap() == "GUARD" {
                guards.insert(pk, item["user_id"].as_s().unwrap().clone());
            }
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return (users, guards);
        }
    }
}

/// The invariant: every guard points at the user holding its value, every held value is
/// guarded, and no value is held twice.
async fn assert_consistent(t: &TestApp) {
    let (users, guards) = audit(t).await;
    let mut expected = HashMap::new();
    for (id, item) in &users {
        for (field, prefix, fold) in [
            ("username", "USERNAME#", true),
            ("email", "EMAIL#", true),
            ("phone", "PHONE#", false),
        ] {
            if let Some(AttributeValue::S(v)) = item.get(field) {
                let key = format!(
                    "{prefix}{}",
                    if fold { v.to_lowercase() } else { v.clone() }
                );
                let before = expected.insert(key.clone(), id.clone());
                assert!(before.is_none(), "{key} held by {before:?} and {id}");
            }
        }
    }
    assert_eq!(guards, expected, "guards and held values differ");
}

#[tokio::test]
async fn fifty_concurrent_claims_of_one_username_in_different_cases_leave_one_holder() {
    let t = TestApp::new().await;
    let uids = users(&t, 50).await;
    let claims = uids.iter().enumerate().map(|(i, uid)| {
        // "alice", "Alice", "ALICE", "aLiCe"...: one value, case-insensitively.
        let name: String = "alice"
            .chars()
            .enumerate()
            .map(|(j, c)| {
                if (i >> j) & 1 == 1 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect();
        let change = update(json!({ "username": name }));
        let users = &t.app.users;
        async move { users.change_account(*uid, &change).await }
    });
    let results = join_all(claims).await;
    let winners = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(winners, 1, "{results:?}");
    for r in results.iter().filter_map(|r| r.as_ref().err()) {
        match r {
            ApiError::Invalid(m) => assert!(m.starts_with("username: "), "{m}"),
            other => panic!("a lost claim is a 400 naming username, got {other:?}"),
        }
    }
    assert_consistent(&t).await;
}

#[tokio::test]
async fn storms_of_claims_changes_and_releases_keep_every_guard_on_its_holder() {
    let t = TestApp::new().await;
    let uids = users(&t, 12).await;
    // Rounds in which 12 users each claim, swap or drop one value from pools of 6 names,
    // emails and phones at once: claims race, and changes release what others then take.
    for round in 0..6 {
        let changes = uids.iter().enumerate().map(|(i, uid)| {
            let n = (i * 5 + round * 3) % 7;
            let value = |make: &dyn Fn(usize) -> String| {
                if n == 6 { Value::Null } else { json!(make(n)) }
            };
            let change = update(match (i + round) % 3 {
                0 => json!({ "username": value(&|n| format!("Name{n}")) }),
                1 => json!({ "email": value(&|n| format!("User{n}@Example.org")) }),
                _ => json!({ "phone": value(&|n| format!("+86138000{n:05}")) }),
            });
            let users = &t.app.users;
            async move { users.change_account(*uid, &change).await }
        });
        let results = join_all(changes).await;
        for r in &results {
            match r {
                Ok(_) | Err(ApiError::Invalid(_)) => {}
                Err(other) => panic!("only success or a taken value, got {other:?}"),
            }
        }
        assert!(
            results.iter().any(|r| r.is_ok()),
            "round {round} changed nothing"
        );
        assert_consistent(&t).await;
    }
}

#[tokio::test]
async fn a_change_releases_the_old_value_and_null_releases_too() {
    let t = TestApp::new().await;
    let uids = users(&t, 2).await;
    let users = &t.app.users;
    let named = |v: &str| update(json!({"username": v, "email": format!("{v}@example.org")}));
    users
        .change_account(uids[0], &named("first"))
        .await
        .unwrap();
    // Taken: by the other user, in another case.
    let taken = users.change_account(uids[1], &named("FIRST")).await;
    assert!(matches!(taken, Err(ApiError::Invalid(m)) if m.starts_with("username")));
    // A -> B frees A at once.
    users
        .change_account(uids[0], &named("second"))
        .await
        .unwrap();
    users
        .change_account(uids[1], &named("First"))
        .await
        .unwrap();
    // null releases.
    let clear = update(json!({"username": null, "email": null}));
    let u = users.change_account(uids[0], &clear).await.unwrap();
    assert_eq!((u.username, u.email), (None, None));
    users
        .change_account(uids[1], &named("second"))
        .await
        .unwrap();
    // A change of case only keeps the value (and its guard).
    let u = users
        .change_account(uids[1], &named("SECOND"))
        .await
        .unwrap();
    assert_eq!(u.username.as_deref(), Some("SECOND"));
    assert!(!u.email_verified);
    assert_consistent(&t).await;
    let (_, guards) = audit(&t).await;
    let held: HashSet<_> = guards.keys().cloned().collect();
    assert_eq!(
        held,
        HashSet::from(["USERNAME#second".into(), "EMAIL#second@example.org".into()])
    );
}

#[tokio::test]
async fn an_unknown_id_is_404_and_creates_nothing() {
    let t = TestApp::new().await;
    users(&t, 1).await;
    let change = update(json!({"username": "ghost"}));
    let r = t.app.users.change_account(999_999, &change).await;
    assert!(matches!(r, Err(ApiError::UserNotFound(_))), "{r:?}");
    let (users, guards) = audit(&t).await;
    assert_eq!((users.len(), guards.len()), (1, 0));
}
