use shared::testing::*;

use super::register_batch;

const ROUTE: &str = "/server/user/register/batch";

#[tokio::test]
async fn all_new_users_are_created_and_data_is_absent() {
    let t = TestApp::new().await;
    let users: Vec<_> = (0..5)
        .map(|i| json!({"user_id": format!("b{i}"), "nick": format!("nick {i}")}))
        .collect();
    let r = t
        .server(Method::POST, ROUTE)
        .json(&users)
        .send(register_batch)
        .await;
    assert!(r.assert_ok().is_null(), "no failures, no data: {}", r.body);
    let mut im_ids = Vec::new();
    for i in 0..5 {
        let stored = t.stored(&format!("b{i}")).await.expect("created");
        assert_eq!(stored.info.nick, format!("nick {i}"));
        assert!(stored.im_password.len() >= 16);
        im_ids.push(stored.info.im_userid);
    }
    im_ids.dedup();
    assert_eq!(im_ids.len(), 5);
}

#[tokio::test]
async fn each_failure_is_reported_and_the_valid_new_users_are_created() {
    let t = TestApp::new().await;
    t.given_user("exists", "old", &[]).await;
    let body = json!([
        {"user_id": "fresh-1"},
        {"user_id": "exists", "nick": "new"},
        {"user_id": "dup", "nick": "a"},
        {"user_id": "dup", "nick": "b"},
        {"user_id": "bad nick", "nick": "n"},
        {"user_id": "long", "nick": "n".repeat(129)},
        {"nick": "no id"},
        {"user_id": "fresh-2", "extends": {"k": "v"}}
    ]);
    let r = t
        .server(Method::POST, ROUTE)
        .json(&body)
        .send(register_batch)
        .await;
    let data = r.assert_ok();
    let failures = data.as_object().expect("failures by user_id");
    assert_eq!(failures.len(), 5, "{data}");
    assert_eq!(
        data["exists"],
        json!({"code": 10001, "message": "user already exists: exists"})
    );
    assert_eq!(data["dup"]["code"], 400);
    assert!(
        data["dup"]["message"]
            .as_str()
            .unwrap()
            .contains("appears more than once")
    );
    assert_eq!(data["bad nick"]["code"], 400);
    assert!(
        data["bad nick"]["message"]
            .as_str()
            .unwrap()
            .contains("[4].user_id: must not contain whitespace")
    );
    assert!(
        data["long"]["message"]
            .as_str()
            .unwrap()
            .contains("[5].nick: must be at most 128")
    );
    assert!(
        data["[6]"]["message"]
            .as_str()
            .unwrap()
            .contains("[6].user_id: is required")
    );

    assert!(t.stored("fresh-1").await.is_some());
    assert_eq!(
        t.stored("fresh-2")
            .await
            .unwrap()
            .info
            .extends
            .get("k")
            .map(String::as_str),
        Some("v")
    );
    assert_eq!(
        t.stored("exists").await.unwrap().info.nick,
        "old",
        "never overwritten"
    );
    for absent in ["dup", "bad nick", "long"] {
        assert!(t.stored(absent).await.is_none(), "{absent}");
    }
}

#[tokio::test]
async fn a_batch_larger_than_one_transaction_is_created_whole() {
    let t = TestApp::new().await;
    t.given_user("u-150", "already", &[]).await;
    let users: Vec<_> = (0..200)
        .map(|i| json!({"user_id": format!("u-{i}")}))
        .collect();
    let r = t
        .server(Method::POST, ROUTE)
        .json(&users)
        .send(register_batch)
        .await;
    let data = r.assert_ok();
    assert_eq!(
        data,
        &json!({"u-150": {"code": 10001, "message": "user already exists: u-150"}})
    );
    let ids = t
        .app
        .users
        .profiles(&(0..200).map(|i| format!("u-{i}")).collect::<Vec<_>>())
        .await
        .unwrap();
    assert_eq!(ids.len(), 200);
    let mut im: Vec<i64> = ids.iter().map(|p| p.info.im_userid).collect();
    im.sort();
    im.dedup();
    assert_eq!(im.len(), 200, "IM ids unique");
}

#[tokio::test]
async fn batch_size_and_shape_are_limited() {
    let t = TestApp::new().await;
    let too_many: Vec<_> = (0..201)
        .map(|i| json!({"user_id": format!("x{i}")}))
        .collect();
    let r = t
        .server(Method::POST, ROUTE)
        .json(&too_many)
        .send(register_batch)
        .await;
    r.assert_error(400, 400, "body: must hold 1 to 200 users");
    assert!(t.stored("x0").await.is_none());
    let r = t
        .server(Method::POST, ROUTE)
        .json(&json!([]))
        .send(register_batch)
        .await;
    r.assert_error(400, 400, "body: must hold 1 to 200 users");
    let r = t
        .server(Method::POST, ROUTE)
        .json(&json!({"user_id": "one"}))
        .send(register_batch)
        .await;
    r.assert_error(400, 400, "body: must be a JSON array of users");
}

#[tokio::test]
async fn concurrent_batches_with_overlapping_ids_create_each_user_once() {
    let t = TestApp::new().await;
    let batch = |offset: usize| -> Vec<serde_json::Value> {
        (offset..offset + 30)
            .map(|i| json!({"user_id": format!("o{i}")}))
            .collect()
    };
    let (a, b, c) = (batch(0), batch(10), batch(20));
    let requests = [&a, &b, &c].map(|body| {
        t.server(Method::POST, ROUTE)
            .json(body)
            .send(register_batch)
    });
    let responses = join_all(requests).await;
    let mut failed = 0;
    for r in &responses {
        let data = r.assert_ok();
        if let Some(map) = data.as_object() {
            for failure in map.values() {
                assert_eq!(failure["code"], 10001, "{data}");
                failed += 1;
            }
        }
    }
    // 90 requested, 50 distinct: every id created exactly once, the rest reported as existing.
    assert_eq!(failed, 40);
    let all: Vec<String> = (0..50).map(|i| format!("o{i}")).collect();
    assert_eq!(t.app.users.infos(&all).await.unwrap().len(), 50);
}

#[tokio::test]
async fn unsigned_batch_is_401() {
    let t = TestApp::new().await;
    let r = t
        .server(Method::POST, ROUTE)
        .json(&json!([{"user_id": "z"}]))
        .authorization(Some("Qiniu ak"))
        .send(register_batch)
        .await;
    r.assert_error(401, 401, "malformed credential");
    assert!(t.stored("z").await.is_none());
}
