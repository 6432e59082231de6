use shared::testing::*;

use super::infos;

const ROUTE: &str = "/server/user/infos";

#[tokio::test]
async fn infos_keep_request_order_collapse_duplicates_and_omit_unknown_ids() {
    let t = TestApp::new().await;
    for id in ["a", "b", "c"] {
        t.given_user(id, id, &[]).await;
    }
    let r = t
        .server(Method::GET, ROUTE)
        .query("user_ids", "c")
        .query("user_ids", "nobody")
        .query("user_ids", "a")
        .query("user_ids", "c")
        .query("user_ids", "b")
        .send(infos)
        .await;
    assert_eq!(r.user_ids(), ["c", "a", "b"]);
    let data = r.assert_ok();
    for user in data.as_array().unwrap() {
        assert!(user.get("im_password").is_none() && user.get("im_username").is_none());
        assert!(user["im_userid"].as_i64().unwrap() > 0);
    }
}

#[tokio::test]
async fn more_than_100_ids_span_batch_calls_and_stay_in_order() {
    let t = TestApp::new().await;
    let all: Vec<String> = (0..150).map(|i| format!("m{i:03}")).collect();
    let users: Vec<_> = all.iter().map(|id| json!({"user_id": id})).collect();
    t.app.users.register_batch(&json!(users)).await.unwrap();
    let mut request = t.server(Method::GET, ROUTE);
    for id in all.iter().rev() {
        request = request.query("user_ids", id);
    }
    let r = request.send(infos).await;
    let expected: Vec<&str> = all.iter().rev().map(String::as_str).collect();
    assert_eq!(r.user_ids(), expected);
}

#[tokio::test]
async fn id_count_is_limited_to_200_and_at_least_one() {
    let t = TestApp::new().await;
    let mut request = t.server(Method::GET, ROUTE);
    for i in 0..201 {
        request = request.query("user_ids", &format!("u{i}"));
    }
    request
        .send(infos)
        .await
        .assert_error(400, 400, "user_ids: at most 200 ids per request");
    t.server(Method::GET, ROUTE).send(infos).await.assert_error(
        400,
        400,
        "user_ids: at least one id is required",
    );
    t.server(Method::GET, ROUTE)
        .query("user_ids", "ok")
        .query("user_ids", "")
        .send(infos)
        .await
        .assert_error(400, 400, "user_ids[1]: must not be empty");
}

#[tokio::test]
async fn unknown_ids_only_give_an_empty_list() {
    let t = TestApp::new().await;
    let r = t
        .server(Method::GET, ROUTE)
        .query("user_ids", "ghost")
        .send(infos)
        .await;
    assert_eq!(r.assert_ok(), &json!([]));
}

#[tokio::test]
async fn signature_covers_the_query() {
    let t = TestApp::new().await;
    let signed = t.server(Method::GET, ROUTE).query("user_ids", "a").build();
    let authorization = signed.headers()["authorization"]
        .to_str()
        .unwrap()
        .to_string();
    let date = signed.headers()["x-qiniu-date"]
        .to_str()
        .unwrap()
        .to_string();
    let r = t
        .server(Method::GET, ROUTE)
        .query("user_ids", "b")
        .header("x-qiniu-date", &date)
        .signing(Signing::Raw(Some(authorization)))
        .send(infos)
        .await;
    r.assert_error(401, 401, "signature does not match");
}

#[tokio::test]
async fn two_hundred_infos_at_every_limit_fit_lambdas_response_limit() {
    let t = TestApp::new().await;
    let ids = t.given_largest_users(200).await;
    let mut request = t.server(Method::GET, ROUTE);
    for id in &ids {
        request = request.query("user_ids", id);
    }
    let r = request.send(infos).await;
    assert_eq!(r.user_ids().len(), 200);
    assert!(
        r.lambda_bytes < LAMBDA_RESPONSE_LIMIT,
        "{} bytes do not fit Lambda's {LAMBDA_RESPONSE_LIMIT}",
        r.lambda_bytes
    );
}
