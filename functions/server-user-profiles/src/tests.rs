use shared::testing::*;

use super::profiles;

const ROUTE: &str = "/server/user/profiles";

#[tokio::test]
async fn profiles_take_a_json_array_body_as_documented() {
    let t = TestApp::new().await;
    for id in ["p1", "p2"] {
        t.given_user(id, id, &[]).await;
    }
    let r = t
        .server(Method::GET, ROUTE)
        .json(&json!(["p2", "ghost", "p1", "p2"]))
        .send(profiles)
        .await;
    assert_eq!(r.user_ids(), ["p2", "p1"]);
    let data = r.assert_ok();
    for p in data.as_array().unwrap() {
        assert!(p["im_password"].as_str().unwrap().len() >= 16);
        assert!(p["im_username"].as_str().unwrap().starts_with("ql"));
    }
}

#[tokio::test]
async fn profiles_take_user_ids_query_parameters_as_the_qiniu_server_does() {
    let t = TestApp::new().await;
    for id in ["q1", "q2"] {
        t.given_user(id, id, &[]).await;
    }
    let r = t
        .server(Method::GET, ROUTE)
        .query("user_ids", "q2")
        .query("user_ids", "q1")
        .send(profiles)
        .await;
    assert_eq!(r.user_ids(), ["q2", "q1"]);
}

#[tokio::test]
async fn bad_id_lists_are_400_naming_the_problem() {
    let t = TestApp::new().await;
    let many: Vec<String> = (0..201).map(|i| format!("u{i}")).collect();
    t.server(Method::GET, ROUTE)
        .json(&many)
        .send(profiles)
        .await
        .assert_error(400, 400, "body: at most 200 ids per request");
    t.server(Method::GET, ROUTE)
        .json(&json!(["a", 7]))
        .send(profiles)
        .await
        .assert_error(400, 400, "body[1]: must be a string");
    t.server(Method::GET, ROUTE)
        .json(&json!({"user_ids": ["a"]}))
        .send(profiles)
        .await
        .assert_error(400, 400, "body: must be a JSON array");
    t.server(Method::GET, ROUTE)
        .raw_body("[\"a\",", "application/json")
        .send(profiles)
        .await
        .assert_error(400, 400, "body: malformed JSON");
    t.server(Method::GET, ROUTE)
        .send(profiles)
        .await
        .assert_error(400, 400, "user_ids: at least one id is required");
}

#[tokio::test]
async fn two_hundred_profiles_at_every_limit_fit_lambdas_response_limit() {
    // The largest answer any endpoint gives: 200 profiles, every field at its limit in the
    // characters JSON escapes most, read back from the real store and measured as the Lambda
    // runtime sends it (the envelope as a JSON string inside the API Gateway response).
    let t = TestApp::new().await;
    let ids = t.given_largest_users(200).await;
    let r = t.server(Method::GET, ROUTE).json(&ids).send(profiles).await;
    assert_eq!(r.user_ids().len(), 200);
    let first = &r.data()[0];
    assert_eq!(first["extends"], json!(largest_extends()));
    assert!(
        r.lambda_bytes < LAMBDA_RESPONSE_LIMIT,
        "{} bytes do not fit Lambda's {LAMBDA_RESPONSE_LIMIT}",
        r.lambda_bytes
    );
    println!(
        "200 largest profiles: {} bytes of {LAMBDA_RESPONSE_LIMIT}",
        r.lambda_bytes
    );
}
