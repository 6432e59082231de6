use shared::testing::*;

use super::user_profile_update_batch;

const ROUTE: &str = "/userve/v2.6/miniapp/user_profile/";

fn put(t: &TestApp, query: &[(&str, &str)], body: serde_json::Value) -> TestRequest<Server> {
    query
        .iter()
        .fold(t.minapp(Method::PUT, ROUTE), |r, (k, v)| r.query(k, v))
        .json(&body)
}

async fn levels(t: &TestApp, uids: &[i64]) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for uid in uids {
        out.push(
            shared::user_profile::UserProfiles::new(&t.app.users)
                .get(*uid)
                .await
                .unwrap()
                .0["level"]
                .clone(),
        );
    }
    out
}

#[tokio::test]
async fn each_matching_user_is_updated_and_reported() {
    let t = TestApp::new().await;
    let mut uids = Vec::new();
    for (i, level) in [1, 5, 2, 8].into_iter().enumerate() {
        uids.push(
            t.given_minapp_user(&format!("u{i}"), json!({"level": level}))
                .await,
        );
    }
    let r = put(
        &t,
        &[
            ("where", r#"{"level": {"$lt": 5}}"#),
            ("return_total_count", "1"),
        ],
        json!({"level": {"$incr_by": 10}, "bio": "bulk"}),
    )
    .send(user_profile_update_batch)
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["succeed"], 2);
    assert_eq!(r.body["total_count"], 2);
    assert_eq!(
        (r.body["offset"].clone(), r.body["limit"].clone()),
        (json!(0), json!(20))
    );
    assert_eq!(r.body["next"], serde_json::Value::Null);
    let mut reported: Vec<i64> = r.body["operation_result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["success"]["id"].as_i64().unwrap())
        .collect();
    reported.sort();
    assert_eq!(reported, vec![uids[0], uids[2]]);
    assert!(r.body["operation_result"][0]["success"]["updated_at"].is_i64());
    assert_eq!(
        levels(&t, &uids).await,
        vec![json!(11), json!(5), json!(12), json!(8)]
    );
}

#[tokio::test]
async fn a_user_that_no_longer_matches_when_it_is_written_is_not_changed() {
    let t = TestApp::new().await;
    let mut uids = Vec::new();
    for i in 0..6 {
        uids.push(
            t.given_minapp_user(&format!("u{i}"), json!({"level": 1, "bio": "Tagged"}))
                .await,
        );
    }
    // Two batches race: each selects every user whose level is below 5 (or whose bio says
    // "tagged", which DynamoDB cannot check), and raises it past 5. A user may be selected
    // by both, but only one write may land on it.
    for (query, body) in [
        (
            r#"{"level": {"$lt": 5}}"#,
            json!({"level": {"$incr_by": 10}}),
        ),
        (
            r#"{"bio": {"$icontains": "tagged"}}"#,
            json!({"bio": "done", "level": {"$incr_by": 10}}),
        ),
    ] {
        let batches =
            join_all((0..3).map(|_| {
                put(&t, &[("where", query)], body.clone()).send(user_profile_update_batch)
            }))
            .await;
        let mut succeeded = 0;
        for r in &batches {
            assert_eq!(r.status, 200, "{}", r.body);
            succeeded += r.body["succeed"].as_i64().unwrap();
            for result in r.body["operation_result"].as_array().unwrap() {
                if let Some(e) = result.get("error") {
                    assert_eq!(e["code"], 409, "{e}");
                    assert!(e["err_msg"].as_str().unwrap().contains("no longer matches"));
                }
            }
        }
        assert_eq!(succeeded, 6, "{query}: each user changed exactly once");
    }
    assert_eq!(levels(&t, &uids).await, vec![json!(21); 6]);
}

#[tokio::test]
async fn limit_and_offset_page_the_batch_with_a_next_link() {
    let t = TestApp::new().await;
    for i in 0..5 {
        t.given_minapp_user(&format!("u{i}"), json!({"level": i}))
            .await;
    }
    let r = put(&t, &[("limit", "2"), ("offset", "1")], json!({"vip": true}))
        .send(user_profile_update_batch)
        .await;
    assert_eq!(r.body["succeed"], 2, "{}", r.body);
    let next = r.body["next"].as_str().unwrap();
    assert!(next.ends_with("offset=3"), "{next}");
}

#[tokio::test]
async fn a_bad_update_or_query_is_400_and_changes_nobody() {
    let t = TestApp::new().await;
    let uid = t.given_minapp_user("u1", json!({"level": 1})).await;
    let before = t.stored_item("u1").await;
    for (query, body, prefix) in [
        (vec![], json!({"id": 3}), "id"),
        (vec![], json!({"level": "x"}), "level"),
        (vec![], json!({}), "body"),
        (
            vec![("where", r#"{"nope": 1}"#)],
            json!({"level": 2}),
            "nope",
        ),
        (vec![("limit", "1001")], json!({"level": 2}), "limit"),
    ] {
        let r = put(&t, &query, body).send(user_profile_update_batch).await;
        r.assert_minapp_error(400, prefix);
    }
    assert_eq!(t.stored_item("u1").await, before);
    assert_eq!(levels(&t, &[uid]).await, vec![json!(1)]);
}

#[tokio::test]
async fn following_next_updates_every_user_that_matched_exactly_once() {
    // The update takes each user it writes out of the query: a `next` by offset would skip
    // as many users as the page before it updated.
    let t = TestApp::new().await;
    let mut uids = Vec::new();
    for level in 0..5 {
        uids.push(
            t.given_minapp_user(&format!("u{level}"), json!({"level": level}))
                .await,
        );
    }
    let mut query: Vec<(String, String)> = vec![
        ("where".into(), r#"{"level":{"$lt":5}}"#.into()),
        ("limit".into(), "2".into()),
    ];
    let mut updated: Vec<i64> = Vec::new();
    for _ in 0..10 {
        let pairs: Vec<(&str, &str)> = query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let r = put(&t, &pairs, json!({"level": {"$incr_by": 10}}))
            .send(user_profile_update_batch)
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        for result in r.body["operation_result"].as_array().unwrap() {
            updated.push(result["success"]["id"].as_i64().expect("{result}"));
        }
        let Some(next) = r.body["next"].as_str() else {
            break;
        };
        let (path, raw) = next.split_once('?').unwrap();
        assert_eq!(path, ROUTE);
        query = shared::query::query_pairs(raw);
    }
    updated.sort();
    let mut expected = uids.clone();
    expected.sort();
    assert_eq!(updated, expected, "every user reported updated once");
    assert_eq!(
        levels(&t, &uids).await,
        (10..15).map(|l| json!(l)).collect::<Vec<_>>(),
        "every user at its level + 10, exactly once"
    );
}

#[tokio::test]
async fn a_tampered_cursor_is_a_400_naming_it() {
    let t = TestApp::new().await;
    let uid = t.given_minapp_user("u1", json!({"level": 1})).await;
    for cursor in [
        "",
        "x",
        "1_",
        "_1",
        "-1_2",
        "1_-2",
        "99999999999999_1",
        "1_2_3",
        "1.5_2",
    ] {
        let r = put(
            &t,
            &[("limit", "1"), ("_cursor", cursor)],
            json!({"level": {"$incr_by": 1}}),
        )
        .send(user_profile_update_batch)
        .await;
        r.assert_minapp_error(400, "_cursor");
    }
    assert_eq!(levels(&t, &[uid]).await, vec![json!(1)]);
}
