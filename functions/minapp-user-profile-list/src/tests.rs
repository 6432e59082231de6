use shared::testing::*;

use super::user_profile_list;

const ROUTE: &str = "/userve/v2.2/miniapp/user_profile/";

fn list(t: &TestApp, query: &[(&str, &str)]) -> TestRequest<Server> {
    query
        .iter()
        .fold(t.minapp(Method::GET, ROUTE), |r, (k, v)| r.query(k, v))
}

fn ids(body: &serde_json::Value) -> Vec<i64> {
    body["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_where_selects_orders_and_pages_with_links_and_an_exact_total() {
    let t = TestApp::new().await;
    let mut uids = Vec::new();
    for (i, level) in [3, 1, 4, 1, 5, 9, 2, 6].into_iter().enumerate() {
        let body = json!({"nickname": format!("n{i}"), "level": level, "tags": ["a", format!("t{}", level % 2)]});
        uids.push(t.given_minapp_user(&format!("u{i}"), body).await);
    }
    let r = list(
        &t,
        &[
            (
                "where",
                r#"{"level": {"$gte": 2}, "tags": {"$in": ["t1"]}}"#,
            ),
            ("order_by", "-level"),
            ("limit", "2"),
            ("return_total_count", "1"),
        ],
    )
    .send(user_profile_list)
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Levels 3, 5, 9 are odd (t1) and >= 2: by -level, 9 then 5 on this page.
    assert_eq!(ids(&r.body), vec![uids[5], uids[4]]);
    let meta = &r.body["meta"];
    assert_eq!(
        (meta["limit"].as_i64(), meta["offset"].as_i64()),
        (Some(2), Some(0))
    );
    assert_eq!(meta["total_count"], 3);
    assert_eq!(meta["previous"], serde_json::Value::Null);
    let next = meta["next"].as_str().unwrap();
    assert!(
        next.starts_with("/userve/v2.2/miniapp/user_profile/?"),
        "{next}"
    );
    assert!(
        next.ends_with("&offset=2") && next.contains("limit=2"),
        "{next}"
    );
    let r = list(
        &t,
        &[
            (
                "where",
                r#"{"level": {"$gte": 2}, "tags": {"$in": ["t1"]}}"#,
            ),
            ("order_by", "-level"),
            ("limit", "2"),
            ("offset", "2"),
        ],
    )
    .send(user_profile_list)
    .await;
    assert_eq!(ids(&r.body), vec![uids[0]]);
    assert_eq!(r.body["meta"]["next"], serde_json::Value::Null);
    assert!(
        r.body["meta"].get("total_count").is_none(),
        "only when asked"
    );
    assert!(
        r.body["meta"]["previous"]
            .as_str()
            .unwrap()
            .ends_with("offset=0")
    );
}

#[tokio::test]
async fn the_default_order_is_newest_first_and_every_object_has_the_minapp_shape() {
    let t = TestApp::new().await;
    let first = t
        .given_minapp_user(
            "u1",
            json!({"nickname": "PCG", "gender": 1, "city": "Guangzhou"}),
        )
        .await;
    let second = t.given_minapp_user("u2", json!({"bio": "hi"})).await;
    let r = list(&t, &[]).send(user_profile_list).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Created in the same second: the newer id first.
    assert_eq!(ids(&r.body), vec![second, first]);
    let pcg = &r.body["objects"][1];
    for (key, value) in [
        ("id", json!(first)),
        ("user_id", json!(first)),
        ("created_by", json!(first)),
        ("_user_id", json!("u1")),
        ("nickname", json!("PCG")),
        ("gender", json!(1)),
        ("city", json!("Guangzhou")),
        ("country", json!(null)),
        ("openid", json!(null)),
        ("_email", json!(null)),
        ("_email_verified", json!(false)),
        ("level", json!(null)),
    ] {
        assert_eq!(pcg[key], value, "{key} in {pcg}");
    }
    assert!(pcg["created_at"].as_i64().unwrap() > 1_700_000_000);
    for secret in ["im_password", "password_hash", "extends", "im_username"] {
        assert!(pcg.get(secret).is_none(), "{secret}");
    }
}

#[tokio::test]
async fn the_legacy_shortcuts_are_the_same_query_as_where() {
    let t = TestApp::new().await;
    let tom = t
        .given_minapp_user("u1", json!({"nickname": "Tommy", "gender": 1}))
        .await;
    t.given_minapp_user("u2", json!({"nickname": "Tommy", "gender": 2}))
        .await;
    t.given_minapp_user("u3", json!({"nickname": "Ann", "gender": 1}))
        .await;
    let by_shortcut = list(&t, &[("nickname__contains", "Tom"), ("gender", "1")])
        .send(user_profile_list)
        .await;
    let by_where = list(
        &t,
        &[(
            "where",
            r#"{"nickname": {"$contains": "Tom"}, "gender": 1}"#,
        )],
    )
    .send(user_profile_list)
    .await;
    assert_eq!(ids(&by_shortcut.body), vec![tom]);
    assert_eq!(by_shortcut.body["objects"], by_where.body["objects"]);
    let r = list(&t, &[("nickname__icontains", "TOM"), ("gender__in", "1,2")])
        .send(user_profile_list)
        .await;
    assert_eq!(ids(&r.body).len(), 2);
}

#[tokio::test]
async fn unknown_fields_wrong_operators_and_bad_values_are_400_naming_them() {
    let t = TestApp::new().await;
    t.given_minapp_user("u1", json!({"level": 1})).await;
    for (query, prefix) in [
        (vec![("where", r#"{"nope": 1}"#)], "nope"),
        (vec![("where", r#"{"level": {"$contains": 1}}"#)], "level"),
        (vec![("where", r#"{"level": "high"}"#)], "level"),
        (vec![("where", "{not json")], "where"),
        (vec![("where", r#"{"geo": {"$near": [1, 2]}}"#)], "geo"),
        (vec![("order_by", "gender")], "order_by"),
        (vec![("order_by", "nope")], "order_by"),
        (vec![("limit", "0")], "limit"),
        (vec![("limit", "1001")], "limit"),
        (vec![("offset", "-1")], "offset"),
        (vec![("return_total_count", "yes")], "return_total_count"),
        (vec![("level__gt", "x")], "level"),
        (vec![("where", "{}"), ("where", "{}")], "where"),
    ] {
        let r = list(&t, &query).send(user_profile_list).await;
        r.assert_minapp_error(400, prefix);
    }
}

#[tokio::test]
async fn a_query_past_the_examined_bound_is_400_with_advice_while_the_default_order_pages() {
    let t = TestApp::with_config(|c| c.list_max_examined = 20).await;
    for i in 0..40 {
        t.given_minapp_user(&format!("u{i}"), json!({"level": i}))
            .await;
    }
    for query in [
        vec![("order_by", "nickname")],
        vec![("return_total_count", "1")],
        vec![("where", r#"{"level": {"$gt": 100}}"#)],
    ] {
        let r = list(&t, &query).send(user_profile_list).await;
        r.assert_minapp_error(400, "where");
        assert!(
            r.body["error_msg"].as_str().unwrap().contains("narrow"),
            "{}",
            r.body
        );
    }
    // The default order reads only up to its page.
    let r = list(&t, &[("limit", "2")]).send(user_profile_list).await;
    assert_eq!((r.status, ids(&r.body).len()), (200, 2), "{}", r.body);
}

#[tokio::test]
async fn exact_ids_and_account_values_go_straight_to_the_user() {
    let (t, trips) = TestApp::counting_round_trips().await;
    let uid = t.given_minapp_user("u1", json!({"level": 7})).await;
    t.given_minapp_user("u2", json!({"level": 7})).await;
    t.given_account("u1", Some("Alice"), Some("alice@example.org"))
        .await;
    for (where_, calls) in [
        (json!({"id": uid, "level": 7}), vec!["Query", "GetItem"]),
        (json!({"_user_id": "u1"}), vec!["GetItem"]),
        (
            json!({"_username": "Alice"}),
            vec!["BatchGetItem", "GetItem"],
        ),
        (
            json!({"_email": "alice@example.org"}),
            vec!["BatchGetItem", "GetItem"],
        ),
    ] {
        trips.take();
        let r = list(&t, &[("where", &where_.to_string())])
            .send(user_profile_list)
            .await;
        assert_eq!(ids(&r.body), vec![uid], "{where_}: {}", r.body);
        assert_eq!(trips.take(), calls, "{where_}");
    }
    // The exact match is checked like any: the wrong case of a name is nobody.
    let r = list(&t, &[("where", r#"{"_username": "alice"}"#)])
        .send(user_profile_list)
        .await;
    assert_eq!(ids(&r.body), Vec::<i64>::new());
    // Everything else is one Query per directory shard for a first page.
    trips.take();
    list(&t, &[("limit", "1")]).send(user_profile_list).await;
    assert_eq!(trips.take(), vec!["Query"; 4]);
}

#[tokio::test]
async fn the_list_takes_only_server_credentials() {
    let t = TestApp::new().await;
    let r = t
        .call(MinApp.server(), Method::GET, ROUTE)
        .token("u1")
        .send(user_profile_list)
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.body["status"], "error");
}

#[tokio::test]
async fn a_page_whose_objects_would_pass_the_response_limit_is_cut_short_and_next_continues_it() {
    // Five objects of about 1.1 KB once wrapped; a 3 KB limit takes two per page.
    let t = TestApp::with_users(|u| u.with_response_limit(3000)).await;
    let mut uids = Vec::new();
    for i in 0..5 {
        let bio = format!("\"{i}\"").repeat(100);
        uids.push(
            t.given_minapp_user(&format!("u{i}"), json!({"bio": bio}))
                .await,
        );
    }
    uids.reverse(); // newest first
    let mut seen = Vec::new();
    let mut query: Vec<(String, String)> = vec![("limit".into(), "4".into())];
    for _ in 0..5 {
        let pairs: Vec<(&str, &str)> = query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let r = list(&t, &pairs).send(user_profile_list).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.lambda_bytes < 3000 + 1000, "{}", r.lambda_bytes);
        let page = ids(&r.body);
        assert!(!page.is_empty() && page.len() <= 2, "{page:?}");
        seen.extend(page);
        let Some(next) = r.body["meta"]["next"].as_str() else {
            break;
        };
        let offset = next.rsplit("offset=").next().unwrap().to_string();
        query = vec![("limit".into(), "4".into()), ("offset".into(), offset)];
    }
    assert_eq!(seen, uids, "every user once, in order");
}

#[tokio::test]
async fn a_listing_that_cannot_finish_before_the_timeout_is_400_not_a_timeout() {
    // 1.5 s of store budget is the margin a listing keeps back: it must give up at once.
    let arranged = TestApp::new().await;
    arranged.given_minapp_user("u1", json!({})).await;
    let t = arranged.adjusted(|u| u.with_request_budget(std::time::Duration::from_millis(1500)));
    let r = list(&t, &[("order_by", "nickname")])
        .send(user_profile_list)
        .await;
    r.assert_minapp_error(400, "where");
    assert!(r.body["error_msg"].as_str().unwrap().contains("narrow"));
}

#[tokio::test]
async fn a_viewer_lists_with_the_console_cookie() {
    let t = TestApp::new().await;
    let uid = t.given_minapp_user("u1", json!({"nickname": "n"})).await;
    let viewer = t.console_login("viewer", Role::Viewer).await;
    let r = list(&t, &[("return_total_count", "1")])
        .authorization(None)
        .console_cookie(&viewer)
        .send(user_profile_list)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(ids(&r.body), [uid]);
    assert_eq!(r.body["meta"]["total_count"], 1);
    // A cookie that is not a session is no credential at all.
    list(&t, &[])
        .authorization(None)
        .header("cookie", "console_session=forged.token.value")
        .send(user_profile_list)
        .await
        .assert_minapp_error(401, "console session");
}
