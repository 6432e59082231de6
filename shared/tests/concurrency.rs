//! Concurrency against the real engine (DynamoDB Local): registrations through the single and
//! the batch operation at once, overlapping ids, exactly one user per id.

use std::collections::HashSet;

use serde_json::json;
use shared::error::ApiError;
use shared::testing::{TestApp, join_all};
use shared::user::{NewUser, UserProfile};

#[tokio::test]
async fn two_hundred_mixed_concurrent_registrations_create_exactly_the_right_users() {
    let t = TestApp::new().await;
    let users = &t.app.users;
    // u0..u199 are wanted. 100 come through single registers, 100 through five batches of 20;
    // on top, ids u0..u39 are also sent by the other path, racing with the first.
    let singles = (0..100).chain(100..140).map(|i| {
        let id = format!("u{i}");
        async move {
            let user = NewUser {
                user_id: id.clone(),
                nick: "single".into(),
                avatar: String::new(),
                extends: Default::default(),
            };
            (id, users.register(user).await)
        }
    });
    let batches = [
        (100, 120),
        (120, 140),
        (140, 160),
        (160, 180),
        (180, 200),
        (0, 20),
        (20, 40),
    ]
    .map(|(a, b)| {
        let body = json!(
            (a..b)
                .map(|i| json!({"user_id": format!("u{i}"), "nick": "batch"}))
                .collect::<Vec<_>>()
        );
        async move {
            (
                (a, b),
                users.register_batch(&body).await.expect("batch answers"),
            )
        }
    });
    let (singles, batches) = tokio::join!(join_all(singles), join_all(batches));

    let mut created = HashSet::new();
    for (id, result) in singles {
        match result {
            Ok(()) => assert!(created.insert(id.clone()), "{id} created twice"),
            Err(ApiError::UserExists(e)) => assert_eq!(e, id),
            Err(other) => panic!("{id}: {other:?}"),
        }
    }
    for ((a, b), failures) in batches {
        let failures = failures.unwrap_or_default();
        for i in a..b {
            let id = format!("u{i}");
            match failures.get(&id) {
                None => assert!(created.insert(id.clone()), "{id} created twice"),
                Some(f) => assert_eq!(f.code, 10001, "{id}: {f:?}"),
            }
        }
    }
    let wanted: Vec<String> = (0..200).map(|i| format!("u{i}")).collect();
    assert_eq!(
        created,
        wanted.iter().cloned().collect::<HashSet<_>>(),
        "each id created exactly once"
    );
    let stored: Vec<UserProfile> = users.profiles(&wanted).await.unwrap();
    assert_eq!(stored.len(), 200);
    let im_ids: HashSet<i64> = stored.iter().map(|p| p.info.im_userid).collect();
    assert_eq!(im_ids.len(), 200, "200 distinct im_userids");
}
