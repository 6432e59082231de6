use shared::account::AccountField;
use shared::session::SignedIn;
use shared::testing::*;

use super::user_info_list;

const ROUTE: &str = "/hserve/v2.2/user/info/";
const FIELDS: &str = "level:integer,diary:string:private";

fn list(t: &TestApp, caller: &SignedIn, query: &[(&str, &str)]) -> TestRequest<Session> {
    query.iter().fold(
        t.call(MinApp.client(), Method::GET, ROUTE)
            .authorization(Some(&format!("Hydrogen-r1 {}", caller.token))),
        |r, (k, v)| r.query(k, v),
    )
}

fn ids(body: &serde_json::Value) -> Vec<i64> {
    body["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect()
}

/// The caller (signed up, level 0, a private diary) and eight others with levels and diaries.
async fn directory(t: &TestApp) -> (SignedIn, Vec<i64>) {
    let ann = t
        .given_sign_up(AccountField::Username, "ann", "correct horse")
        .await;
    shared::user_profile::UserProfiles::new(&t.app.users)
        .update(
            ann.user.id(),
            &json!({"level": 0, "diary": "secret of ann"}),
        )
        .await
        .unwrap();
    let mut uids = Vec::new();
    for (i, level) in [3, 1, 4, 1, 5, 9, 2, 6].into_iter().enumerate() {
        let body =
            json!({"nickname": format!("n{i}"), "level": level, "diary": format!("secret {i}")});
        uids.push(t.given_minapp_user(&format!("u{i}"), body).await);
    }
    (ann, uids)
}

#[tokio::test]
async fn a_where_selects_orders_and_pages_with_hserve_links_and_an_exact_total() {
    let (t, trips) = TestApp::counting_round_trips_with(|c| c.user_fields = FIELDS.into()).await;
    let (ann, uids) = directory(&t).await;
    // As the SDK sends a query: wrapped in `$and`.
    let where_ = r#"{"$and": [{"level": {"$gte": 2}}, {"nickname": {"$ne": "n6"}}]}"#;
    trips.take();
    let r = list(
        &t,
        &ann,
        &[
            ("where", where_),
            ("order_by", "-level"),
            ("limit", "2"),
            ("offset", "0"),
            ("return_total_count", "1"),
            ("keys", "nickname"),
            ("expand", "created_by"),
        ],
    )
    .send(user_info_list)
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Levels >= 2 but n6: 3, 4, 5, 9, 6; by -level 9 then 6 on this page.
    assert_eq!(ids(&r.body), vec![uids[5], uids[7]]);
    assert_eq!(
        r.body["objects"][0],
        json!({"id": uids[5], "nickname": "n5", "avatar": "https://img.example/u5.png", "level": 9})
    );
    let meta = &r.body["meta"];
    assert_eq!(
        (meta["limit"].clone(), meta["offset"].clone()),
        (json!(2), json!(0))
    );
    assert_eq!(meta["total_count"], 5);
    assert_eq!(meta["previous"], serde_json::Value::Null);
    let next = meta["next"].as_str().unwrap();
    assert!(next.starts_with("/hserve/v2.2/user/info/?"), "{next}");
    assert!(
        next.ends_with("&offset=2") && next.contains("limit=2"),
        "{next}"
    );
    let mut calls = trips.take();
    calls.sort();
    assert_eq!(
        calls,
        ["GetItem", "Query", "Query", "Query", "Query"],
        "every shard read (an exact total), the caller's check beside"
    );

    let r = list(
        &t,
        &ann,
        &[
            ("where", where_),
            ("order_by", "-level"),
            ("limit", "2"),
            ("offset", "4"),
        ],
    )
    .send(user_info_list)
    .await;
    assert_eq!(ids(&r.body), vec![uids[0]]);
    assert_eq!(r.body["meta"]["next"], serde_json::Value::Null);
    assert!(
        r.body["meta"].get("total_count").is_none(),
        "only when asked"
    );
    let previous = r.body["meta"]["previous"].as_str().unwrap();
    assert!(previous.starts_with("/hserve/v2.2/user/info/?") && previous.ends_with("offset=2"));

    // `.count()`: limit 1 and the total.
    let r = list(
        &t,
        &ann,
        &[("where", "{}"), ("limit", "1"), ("return_total_count", "1")],
    )
    .send(user_info_list)
    .await;
    assert_eq!(r.body["meta"]["total_count"], 9, "{}", r.body);
}

#[tokio::test]
async fn the_default_order_is_newest_first_and_everyone_the_caller_too_is_shown_as_others_see_them()
{
    let (t, trips) = TestApp::counting_round_trips_with(|c| c.user_fields = FIELDS.into()).await;
    let (ann, uids) = directory(&t).await;
    trips.take();
    let r = list(&t, &ann, &[("where", "{}"), ("limit", "20")])
        .send(user_info_list)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut newest_first: Vec<i64> = uids.iter().rev().copied().collect();
    newest_first.push(ann.user.id());
    assert_eq!(ids(&r.body), newest_first);
    let text = r.body.to_string();
    assert!(!text.contains("secret"), "never a private field: {text}");
    assert!(!text.contains("ann\""), "never an account value: {text}");
    for object in r.body["objects"].as_array().unwrap() {
        let mut keys: Vec<&String> = object.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["avatar", "id", "level", "nickname"], "{object}");
    }
    let mut calls = trips.take();
    calls.sort();
    assert_eq!(calls, ["GetItem", "Query", "Query", "Query", "Query"]);
    // An exact visible id goes straight to the user.
    trips.take();
    let where_ = json!({"id": uids[2]}).to_string();
    let r = list(&t, &ann, &[("where", &where_)])
        .send(user_info_list)
        .await;
    assert_eq!(ids(&r.body), vec![uids[2]], "{}", r.body);
    let mut calls = trips.take();
    calls.sort();
    assert_eq!(
        calls,
        ["GetItem", "GetItem", "Query"],
        "the index, the user, the check"
    );
}

#[tokio::test]
async fn a_hidden_field_as_filter_or_order_is_400_naming_it_before_any_read() {
    let (t, trips) = TestApp::counting_round_trips_with(|c| c.user_fields = FIELDS.into()).await;
    let (ann, _) = directory(&t).await;
    let hidden = [
        "diary",
        "_username",
        "_email",
        "_phone",
        "_email_verified",
        "_phone_verified",
        "_user_id",
        "user_id",
        "created_by",
        "created_at",
        "updated_at",
        "gender",
        "country",
        "province",
        "city",
        "language",
        "openid",
        "unionid",
    ];
    for field in hidden {
        for where_ in [
            json!({"$and": [{field: {"$exists": true}}]}),
            json!({"$or": [{"level": 1}, {field: {"$eq": "x"}}]}),
        ] {
            trips.take();
            let r = list(&t, &ann, &[("where", &where_.to_string())])
                .send(user_info_list)
                .await;
            // Some fields refuse `"x"` or `$exists` by type first: a 400 naming it either way.
            r.assert_minapp_error(400, field);
            assert_eq!(trips.take(), Vec::<&str>::new(), "{where_}: no read");
        }
        for order in [
            field.to_string(),
            format!("-{field}"),
            format!("level,{field}"),
        ] {
            if field == "created_at" {
                // The default order's own key: asking for it shows nothing the default does not.
                let r = list(&t, &ann, &[("where", "{}"), ("order_by", &order)])
                    .send(user_info_list)
                    .await;
                assert_eq!(r.status, 200, "{order}: {}", r.body);
                continue;
            }
            trips.take();
            let r = list(&t, &ann, &[("where", "{}"), ("order_by", &order)])
                .send(user_info_list)
                .await;
            r.assert_minapp_error(400, "order_by");
            let message = r.body["error_msg"].as_str().unwrap();
            assert!(message.contains(&format!("{field}:")), "{message}");
            assert_eq!(trips.take(), Vec::<&str>::new(), "{order}: no read");
        }
    }
    // The legacy shortcuts are the same query, refused alike.
    trips.take();
    list(&t, &ann, &[("diary__contains", "secret")])
        .send(user_info_list)
        .await
        .assert_minapp_error(400, "diary");
    assert_eq!(trips.take(), Vec::<&str>::new());
}

#[tokio::test]
async fn bad_paging_is_400_naming_the_parameter() {
    let t = TestApp::with_config(|c| c.user_fields = FIELDS.into()).await;
    let (ann, _) = directory(&t).await;
    for (k, v) in [
        ("limit", "0"),
        ("limit", "1001"),
        ("offset", "-1"),
        ("return_total_count", "2"),
    ] {
        list(&t, &ann, &[(k, v)])
            .send(user_info_list)
            .await
            .assert_minapp_error(400, k);
    }
    list(&t, &ann, &[("where", "{not json")])
        .send(user_info_list)
        .await
        .assert_minapp_error(400, "where");
}

#[tokio::test]
async fn a_revoked_or_missing_token_lists_nothing() {
    let t = TestApp::with_config(|c| c.user_fields = FIELDS.into()).await;
    let (ann, _) = directory(&t).await;
    let session = t.app.tokens().session(&ann.token).unwrap();
    t.client_of(&session).log_out().await.unwrap();
    list(&t, &ann, &[("where", "{}")])
        .send(user_info_list)
        .await
        .assert_minapp_error(401, "token revoked");
    let r = t
        .call(MinApp.client(), Method::GET, ROUTE)
        .query("where", "{}")
        .send(user_info_list)
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
}
