use std::time::Duration;

use shared::testing::*;

use super::imusers;

const ROUTE: &str = "/client/user/imusers";

/// The GSI is eventually consistent: poll briefly (bounded) until it shows what was written.
async fn until_indexed<F, Fut>(mut attempt: F) -> TestResponse
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = TestResponse>,
{
    for _ in 0..50 {
        let r = attempt().await;
        if r.code() != 0 || r.data().as_array().is_some_and(|a| !a.is_empty()) {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    attempt().await
}

#[tokio::test]
async fn imusers_finds_users_by_im_id_in_request_order() {
    let t = TestApp::new().await;
    for id in ["a", "b", "c"] {
        t.given_user(id, id, &[]).await;
    }
    let a = t.stored("a").await.unwrap().info.im_userid.to_string();
    let c = t.stored("c").await.unwrap().info.im_userid.to_string();
    let r = until_indexed(|| {
        t.client(Method::GET, ROUTE, "b")
            .query("im_user_ids", &c)
            .query("im_user_ids", "999999")
            .query("im_user_ids", &a)
            .query("im_user_ids", &c)
            .send(imusers)
    })
    .await;
    assert_eq!(r.user_ids(), ["c", "a"]);
    let data = r.assert_ok();
    assert!(!r.body.to_string().contains("im_password"));
    assert_eq!(data[0]["im_userid"].to_string(), c);
}

#[tokio::test]
async fn non_integer_im_ids_are_400() {
    let t = TestApp::new().await;
    let r = t
        .client(Method::GET, ROUTE, "me")
        .query("im_user_ids", "1")
        .query("im_user_ids", "abc")
        .send(imusers)
        .await;
    r.assert_error(400, 400, "im_user_ids[1]: must be an integer");
    t.client(Method::GET, ROUTE, "me")
        .send(imusers)
        .await
        .assert_error(400, 400, "im_user_ids: at least one id is required");
    let mut request = t.client(Method::GET, ROUTE, "me");
    for i in 0..201 {
        request = request.query("im_user_ids", &i.to_string());
    }
    request
        .send(imusers)
        .await
        .assert_error(400, 400, "im_user_ids: at most 200 ids per request");
}

#[tokio::test]
async fn a_server_signature_is_not_a_token() {
    let t = TestApp::new().await;
    let signed = t
        .server(Method::GET, ROUTE)
        .query("im_user_ids", "1")
        .build();
    let authorization = signed.headers()["authorization"]
        .to_str()
        .unwrap()
        .to_string();
    let r = t
        .client_raw(Method::GET, ROUTE, Some(&authorization))
        .query("im_user_ids", "1")
        .send(imusers)
        .await;
    r.assert_error(401, 401, "malformed token");
}
