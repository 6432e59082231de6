//! Accounts against the real engine (DynamoDB Local): login names, emails and phones stay
//! unique under any concurrency, through guard items written in one transaction with the user.

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use shared::account::{AccountField, AccountUpdate, guard_key, legacy_guard_key};
use shared::error::ApiError;
use shared::session::Credentials;
use shared::store::attr;
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
        for field in AccountField::ALL {
            if let Some(AttributeValue::S(v)) = item.get(field.name()) {
                let key = guard_key(field, v);
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

#[tokio::test]
async fn a_look_alike_username_is_taken_at_sign_up_and_at_an_account_change() {
    let t = TestApp::new().await;
    t.given_sign_up(AccountField::Username, "paypal", "correct horse")
        .await;
    let sessions = t.sessions();
    let uids = users(&t, 1).await;
    for alike in [
        "PayPal",
        "p\u{430}yp\u{430}l",                               // Cyrillic а
        "\u{ff50}\u{ff41}\u{ff59}\u{ff50}\u{ff41}\u{ff4c}", // fullwidth
        "paypa1",
    ] {
        let body = json!({ "username": alike, "password": "correct horse" });
        let credentials = Credentials::sign_up(AccountField::Username, &body).unwrap();
        match sessions.sign_up(&credentials).await {
            Err(ApiError::Invalid(m)) => {
                assert_eq!(m, "username: is already taken by another user", "{alike}")
            }
            other => panic!("{alike}: expected 400, got {other:?}"),
        }
        let change = t
            .app
            .users
            .change_account(uids[0], &update(json!({ "username": alike })))
            .await;
        assert!(
            matches!(&change, Err(ApiError::Invalid(m)) if m == "username: is already taken by another user"),
            "{alike}: {change:?}"
        );
    }
    // Invisible and bidi characters are refused before any guard is read.
    for hidden in ["pay\u{200b}pal", "\u{202e}lapyap"] {
        let body = json!({ "username": hidden, "password": "correct horse" });
        let refused = Credentials::sign_up(AccountField::Username, &body).unwrap_err();
        assert!(refused.to_string().contains("invisible"), "{refused}");
    }
    // The look-alike logs in to the one account: the password decides.
    let body = json!({ "username": "p\u{430}yp\u{430}l", "password": "correct horse" });
    let login = Credentials::log_in(AccountField::Username, &body).unwrap();
    let signed_in = sessions.log_in(&login).await.unwrap();
    assert_eq!(signed_in.user.0["_username"], "paypal");
    assert_consistent(&t).await;
}

#[tokio::test]
async fn two_spellings_of_a_phone_are_one_phone() {
    let t = TestApp::new().await;
    t.given_sign_up(AccountField::Phone, "13800138000", "correct horse")
        .await;
    let sessions = t.sessions();
    for spelling in ["+8613800138000", "008613800138000"] {
        let body = json!({ "phone": spelling, "password": "correct horse" });
        let credentials = Credentials::sign_up(AccountField::Phone, &body).unwrap();
        let taken = sessions.sign_up(&credentials).await;
        assert!(
            matches!(&taken, Err(ApiError::Invalid(m)) if m == "phone: is already taken by another user"),
            "{spelling}: {taken:?}"
        );
        let login = Credentials::log_in(AccountField::Phone, &body).unwrap();
        let signed_in = sessions.log_in(&login).await.unwrap();
        // Stored and shown as given.
        assert_eq!(signed_in.user.0["_phone"], "13800138000");
    }
    let uids = users(&t, 1).await;
    let change = t
        .app
        .users
        .change_account(uids[0], &update(json!({ "phone": "+8613800138000" })))
        .await;
    assert!(
        matches!(&change, Err(ApiError::Invalid(m)) if m.starts_with("phone: ")),
        "{change:?}"
    );
    assert_consistent(&t).await;
}

/// Puts a user holding account values with the guards an older stack wrote for them
/// ([`legacy_guard_key`]).
async fn given_legacy_user(t: &TestApp, user_id: &str, values: &[(AccountField, &str)]) {
    t.given_user(user_id, "", &[]).await;
    let s = |v: &str| AttributeValue::S(v.to_string());
    for (field, value) in values {
        t.client
            .update_item()
            .table_name(&t.table)
            .key(attr::PK, s(&format!("USER#{user_id}")))
            .key(attr::SK, s("USER"))
            .update_expression("SET #f = :v")
            .expression_attribute_names("#f", field.name())
            .expression_attribute_values(":v", s(value))
            .send()
            .await
            .unwrap();
        t.client
            .put_item()
            .table_name(&t.table)
            .item(attr::PK, s(&legacy_guard_key(*field, value)))
            .item(attr::SK, s("GUARD"))
            .item(attr::USER_ID, s(user_id))
            .send()
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn rekeying_moves_legacy_guards_once_and_reports_collisions() {
    use AccountField::*;
    let t = TestApp::new().await;
    // Distinct under the old keys, look-alikes under the new ones: `Muller` and `rnuller`
    // (whose key does not change), `13800138000` and `+8613800138000` (nor does this one's).
    given_legacy_user(&t, "old-a", &[(Username, "Muller"), (Phone, "13800138000")]).await;
    given_legacy_user(
        &t,
        "old-b",
        &[(Username, "rnuller"), (Email, "Stra\u{df}e@Example.org")],
    )
    .await;
    given_legacy_user(&t, "old-c", &[(Phone, "+8613800138000")]).await;
    // Keys that change without a collision (`m` reads as `rn`), and one that does not change.
    given_legacy_user(&t, "old-e", &[(Username, "Emma")]).await;
    given_legacy_user(&t, "old-d", &[(Username, "dave")]).await;
    let table = t.app.users.table();
    // Before: the legacy guard does not answer under the new key.
    assert!(
        table
            .find_by_account(Username, "emma")
            .await
            .unwrap()
            .is_none()
    );

    let report = table.rekey_guards(2).await.unwrap();
    assert_eq!((report.moved, report.already), (2, 0), "{report:?}");
    let mut collided: Vec<_> = report
        .collisions
        .iter()
        .map(|c| {
            (
                c.user_id.as_str(),
                c.field.name(),
                c.value.as_str(),
                c.holder.as_str(),
            )
        })
        .collect();
    collided.sort();
    assert_eq!(
        collided,
        [
            ("old-a", "phone", "13800138000", "old-c"),
            ("old-a", "username", "Muller", "old-b")
        ]
    );
    let (_, guards) = audit(&t).await;
    for c in &report.collisions {
        // Never merged: the new key stays its holder's, the other keeps its old guard.
        assert_eq!(guards[&guard_key(c.field, &c.value)], c.holder);
        assert_eq!(guards[&legacy_guard_key(c.field, &c.value)], c.user_id);
    }
    // Full case folding: ß is ss.
    assert_eq!(guards["EMAIL#strasse@example.org"], "old-b");
    assert!(!guards.contains_key("EMAIL#stra\u{df}e@example.org"));
    assert_eq!(guards["USERNAME#ernrna"], "old-e");
    assert!(!guards.contains_key("USERNAME#emma"));
    assert_eq!(guards["USERNAME#dave"], "old-d");
    assert_eq!(guards.len(), 7, "{guards:?}");
    let found = table.find_by_account(Username, "EMMA").await.unwrap();
    assert_eq!(found.map(|u| u.user_id).as_deref(), Some("old-e"));

    // Idempotent: a rerun moves nothing and reports the same collisions.
    let again = table.rekey_guards(500).await.unwrap();
    assert_eq!((again.moved, again.already), (0, 2), "{again:?}");
    assert_eq!(again.collisions.len(), 2);
    assert_eq!(audit(&t).await.1, guards);
}

#[tokio::test]
async fn a_login_value_ends_an_anonymous_users_anonymity() {
    let t = TestApp::new().await;
    let anonymous = t.sessions().sign_up_anonymous().await.unwrap();
    let uid = anonymous.user.id();
    let session = t.app.tokens().session(&anonymous.token).unwrap();
    let user_id = session.user_id().to_string();
    assert!(t.stored_item(&user_id).await.contains_key(attr::ANONYMOUS));
    // A change that sets no login value leaves it anonymous.
    t.app
        .users
        .change_account(uid, &update(json!({"username": null})))
        .await
        .unwrap();
    assert!(t.stored_item(&user_id).await.contains_key(attr::ANONYMOUS));
    t.app
        .users
        .change_account(uid, &update(json!({"username": "once_anon"})))
        .await
        .unwrap();
    assert!(!t.stored_item(&user_id).await.contains_key(attr::ANONYMOUS));
    let own: shared::user::User = t.client_of(&session).own().await.unwrap();
    assert!(!own.anonymous);
}
