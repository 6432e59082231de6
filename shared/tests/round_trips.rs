//! DynamoDB round trips per operation, counted with an SDK interceptor against DynamoDB
//! Local. Deterministic, so asserted here; they are what users pay for and wait on.

use serde_json::json;
use shared::testing::{RoundTrips, TestApp};
use shared::user::{NewUser, UserInfo, UserProfile, UserUpdate};
use shared::users::IM_ID_BLOCK;

fn ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("u{i}")).collect()
}

async fn given(t: &TestApp, trips: &RoundTrips, n: usize) {
    let body = json!(
        ids(n)
            .iter()
            .map(|id| json!({"user_id": id}))
            .collect::<Vec<_>>()
    );
    for chunk in body.as_array().unwrap().chunks(200) {
        t.app.users.register_batch(&json!(chunk)).await.unwrap();
    }
    trips.take();
}

#[tokio::test]
async fn reads_cost_one_call_per_user_or_per_100_ids() {
    let (t, trips) = TestApp::counting_round_trips().await;
    given(&t, &trips, 250).await;

    t.app.users.info("u1").await.unwrap();
    assert_eq!(trips.take(), ["GetItem"], "info");
    t.app.users.profile("u1").await.unwrap();
    assert_eq!(trips.take(), ["GetItem"], "profile");

    for (n, calls) in [(1, 1), (100, 1), (101, 2), (200, 2)] {
        let infos: Vec<UserInfo> = t.app.users.infos(&ids(n)).await.unwrap();
        assert_eq!(infos.len(), n);
        assert_eq!(trips.take(), vec!["BatchGetItem"; calls], "infos of {n}");
        let profiles: Vec<UserProfile> = t.app.users.profiles(&ids(n)).await.unwrap();
        assert_eq!(profiles.len(), n);
        assert_eq!(trips.take(), vec!["BatchGetItem"; calls], "profiles of {n}");
    }
}

fn new_user(user_id: &str) -> NewUser {
    NewUser {
        user_id: user_id.into(),
        nick: String::new(),
        avatar: String::new(),
        extends: Default::default(),
    }
}

#[tokio::test]
async fn register_costs_one_put_and_the_counter_once_per_block() {
    let (t, trips) = TestApp::counting_round_trips().await;

    // The first registration reserves its IM id and a block for the ones after it (one
    // counter call), then writes the user and its audit record; the next IM_ID_BLOCK
    // registrations only write.
    t.app.users.register(new_user("first")).await.unwrap();
    assert_eq!(
        trips.take(),
        ["UpdateItem", "PutItem", "PutItem"],
        "first register"
    );
    for i in 0..IM_ID_BLOCK {
        t.app
            .users
            .register(new_user(&format!("u{i}")))
            .await
            .unwrap();
        assert_eq!(
            trips.take(),
            ["PutItem", "PutItem"],
            "register {i} from the reserve"
        );
    }
    t.app.users.register(new_user("next-block")).await.unwrap();
    assert_eq!(
        trips.take(),
        ["UpdateItem", "PutItem", "PutItem"],
        "reserve used up"
    );

    // A token for an existing user reads it once; for a new one it also registers it.
    t.app.users.ensure("first").await.unwrap();
    assert_eq!(trips.take(), ["GetItem"], "token, existing user");
    t.app.users.ensure("newcomer").await.unwrap();
    assert_eq!(
        trips.take(),
        ["GetItem", "PutItem", "PutItem"],
        "token, new user (and its record)"
    );
}

#[tokio::test]
async fn batch_register_costs_one_transaction_per_100_and_at_most_one_counter_call() {
    let (t, trips) = TestApp::counting_round_trips().await;
    // Larger than the reserve: one counter call for the whole range, one transaction per 100,
    // then the audit records, one BatchWriteItem per 25 (concurrently).
    for (n, transactions) in [(100_usize, 1), (150, 2), (200, 2)] {
        let body = json!(
            (0..n)
                .map(|i| json!({"user_id": format!("b{n}-{i}")}))
                .collect::<Vec<_>>()
        );
        assert_eq!(t.app.users.register_batch(&body).await.unwrap(), None);
        let mut expected = vec!["UpdateItem"];
        expected.extend(vec!["TransactWriteItems"; transactions]);
        expected.extend(vec!["BatchWriteItem"; n.div_ceil(25)]);
        assert_eq!(trips.take(), expected, "batch register of {n}");
    }
    // A small batch the reserve covers needs no counter call.
    let body = json!([{"user_id": "small-1"}, {"user_id": "small-2"}]);
    assert_eq!(t.app.users.register_batch(&body).await.unwrap(), None);
    assert_eq!(
        trips.take(),
        ["TransactWriteItems", "BatchWriteItem"],
        "batch of 2 from the reserve"
    );
}

#[tokio::test]
async fn update_costs_one_call_or_two_with_extends() {
    let (t, trips) = TestApp::counting_round_trips().await;
    given(&t, &trips, 1).await;
    let update = UserUpdate::from_json(&json!({"nick": "n", "avatar": "a"})).unwrap();
    t.app.users.update("u0", update).await.unwrap();
    assert_eq!(
        trips.take(),
        ["UpdateItem", "PutItem"],
        "update of nick and avatar, its audit record"
    );
    // Touching `extends` reads the map first: the write's condition pins each touched key to
    // the value read, so that the stored map's exact size after the write (at most 64 keys
    // and EXTENDS_MAX_BYTES) is decided by DynamoDB atomically with it. DynamoDB cannot
    // compute a JSON size itself, so one write alone cannot keep the bound exact.
    let update =
        UserUpdate::from_json(&json!({"nick": "n", "extends": {"a": "1", "b": null}})).unwrap();
    t.app.users.update("u0", update).await.unwrap();
    assert_eq!(
        trips.take(),
        ["GetItem", "UpdateItem", "PutItem"],
        "update of extends"
    );
}

#[tokio::test]
async fn imusers_costs_one_index_query_per_id() {
    let (t, trips) = TestApp::counting_round_trips().await;
    given(&t, &trips, 3).await;
    t.app.users.imusers(&[1, 2, 3, 999]).await.unwrap();
    assert_eq!(trips.take(), vec!["Query"; 4]);
}

#[tokio::test]
async fn lookups_cost_a_guard_or_index_read_and_a_user_read() {
    use shared::account::AccountUpdate;
    use shared::lookup::{Identify, UsersQuery};
    let (t, trips) = TestApp::counting_round_trips().await;
    given(&t, &trips, 4).await;
    for (i, name) in ["Alice", "Bob"].iter().enumerate() {
        let change = AccountUpdate::from_json(
            &json!({"username": name, "email": format!("{name}@example.org")}),
        )
        .unwrap();
        t.app
            .users
            .change_account(i as i64 + 1, &change)
            .await
            .unwrap();
        // The numeric id through the index, the user read, one transaction (with the audit
        // record).
        assert_eq!(
            trips.take(),
            ["Query", "GetItem", "TransactWriteItems"],
            "account change"
        );
    }
    let find = |s: &str| Identify::parse(s).unwrap();
    t.app.users.find(&find("alice@example.org")).await.unwrap();
    assert_eq!(trips.take(), ["BatchGetItem", "GetItem"], "by email");
    t.app.users.find(&find("1")).await.unwrap();
    assert_eq!(trips.take(), ["Query", "GetItem"], "by uid");
    t.app.users.find(&find("ALICE")).await.unwrap();
    assert_eq!(trips.take(), ["BatchGetItem", "GetItem"], "by login name");
    // A string id is never a lookup key: the name's guard read finds nobody.
    assert!(t.app.users.find(&find("u3")).await.is_err());
    assert_eq!(trips.take(), ["BatchGetItem"], "a string id");
    assert!(t.app.users.find(&find("999")).await.is_err());
    assert_eq!(
        trips.take(),
        ["Query", "BatchGetItem"],
        "a uid nobody has, then as a name"
    );

    // Multi lookups: one index query per id, one read of every guard, one of the users.
    let q = UsersQuery::parse(["1", "2", "3"], [], []).unwrap();
    assert_eq!(t.app.users.find_all(&q).await.unwrap().len(), 3);
    assert_eq!(
        trips.take(),
        ["Query", "Query", "Query", "BatchGetItem"],
        "3 ids"
    );
    let q = UsersQuery::parse([], ["alice", "bob", "u3"], ["bob@example.org"]).unwrap();
    assert_eq!(t.app.users.find_all(&q).await.unwrap().len(), 1);
    assert_eq!(
        trips.take(),
        ["BatchGetItem", "BatchGetItem"],
        "names and an email"
    );
}
