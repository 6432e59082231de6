use shared::testing::*;

use super::oauth_authorize;

const ROUTE: &str = "/api/oauth2/hydrogen/openapi/authorize/";

#[tokio::test]
async fn a_right_pair_gets_a_short_lived_code_and_a_wrong_one_401() {
    let t = TestApp::new().await;
    let ask = |secret: &str| {
        t.call(MinApp.public(), Method::POST, ROUTE)
            .json(&json!({"client_id": TEST_AK, "client_secret": secret}))
            .send(oauth_authorize)
    };
    let r = ask(TEST_SK).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["code"].as_str().is_some_and(|c| !c.is_empty()));
    assert_eq!(r.body["expires_in"], 60);
    let r = ask("wrong").await;
    r.assert_minapp_error(401, "client_id or client_secret is wrong");
    assert!(!r.body.to_string().contains(TEST_SK));
    let r = t
        .call(MinApp.public(), Method::POST, ROUTE)
        .json(&json!({"client_id": TEST_AK}))
        .send(oauth_authorize)
        .await;
    r.assert_minapp_error(400, "client_secret");
}
