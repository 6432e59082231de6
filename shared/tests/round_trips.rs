//! DynamoDB round trips per operation, counted with an SDK interceptor against DynamoDB
//! Local. Deterministic, so asserted here; they are what users pay for and wait on.

use serde_json::json;
use shared::testing::{RoundTrips, TestApp};
use shared::user::{NewUser, UserInfo, UserProfile, UserUpdate};

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

#[tokio::test]
async fn writes_cost_the_fewest_calls_the_guarantees_allow() {
    let (t, trips) = TestApp::counting_round_trips().await;

    // Register: reserve an IM id (atomic counter), then one conditional put. Two calls: the
    // id must exist before the item that carries it is written.
    let user = NewUser {
        user_id: "solo".into(),
        nick: String::new(),
        avatar: String::new(),
        extends: Default::default(),
    };
    t.app.users.register(user).await.unwrap();
    assert_eq!(trips.take(), ["UpdateItem", "PutItem"], "register");

    // Batch register of n: one counter call for the whole range, one transaction per 100.
    for (n, transactions) in [(1, 1), (100, 1), (150, 2), (200, 2)] {
        let body = json!(
            (0..n)
                .map(|i| json!({"user_id": format!("b{n}-{i}")}))
                .collect::<Vec<_>>()
        );
        assert_eq!(t.app.users.register_batch(&body).await.unwrap(), None);
        let mut expected = vec!["UpdateItem"];
        expected.extend(vec!["TransactWriteItems"; transactions]);
        assert_eq!(trips.take(), expected, "batch register of {n}");
    }

    // Update: one UpdateItem, whatever it touches.
    let update =
        UserUpdate::from_json(&json!({"nick": "n", "extends": {"a": "1", "b": null}})).unwrap();
    t.app.users.update("solo", update).await.unwrap();
    assert_eq!(trips.take(), ["UpdateItem"], "update");

    // A token for an existing user reads it once; for a new one it also registers it.
    t.app.users.ensure("solo").await.unwrap();
    assert_eq!(trips.take(), ["GetItem"], "token, existing user");
    t.app.users.ensure("newcomer").await.unwrap();
    assert_eq!(
        trips.take(),
        ["GetItem", "UpdateItem", "PutItem"],
        "token, new user"
    );
}

#[tokio::test]
async fn imusers_costs_one_index_query_per_id() {
    let (t, trips) = TestApp::counting_round_trips().await;
    given(&t, &trips, 3).await;
    t.app.users.imusers(&[1, 2, 3, 999]).await.unwrap();
    assert_eq!(trips.take(), vec!["Query"; 4]);
}
