use shared::testing::*;

use super::users;

const ROUTE: &str = "/client/user/users";

#[tokio::test]
async fn users_come_back_in_request_order_without_unknown_ids_or_secrets() {
    let t = TestApp::new().await;
    for id in ["a", "b", "c"] {
        t.given_user(id, id, &[]).await;
    }
    let r = t
        .client(Method::GET, ROUTE, "a")
        .query("user_ids", "c")
        .query("user_ids", "ghost")
        .query("user_ids", "a")
        .query("user_ids", "b")
        .query("user_ids", "c")
        .send(users)
        .await;
    assert_eq!(r.user_ids(), ["c", "a", "b"]);
    assert!(!r.body.to_string().contains("im_password"));
}

#[tokio::test]
async fn id_limits_match_the_server_infos() {
    let t = TestApp::new().await;
    let mut request = t.client(Method::GET, ROUTE, "a");
    for i in 0..201 {
        request = request.query("user_ids", &format!("u{i}"));
    }
    request
        .send(users)
        .await
        .assert_error(400, 400, "user_ids: at most 200 ids per request");
    t.client(Method::GET, ROUTE, "a")
        .send(users)
        .await
        .assert_error(400, 400, "user_ids: at least one id is required");
}
