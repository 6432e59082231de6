use shared::testing::*;
use shared::users::now;

use super::profile;

const ROUTE: &str = "/client/user/profile";

#[tokio::test]
async fn the_caller_gets_its_own_profile_with_im_credentials() {
    let t = TestApp::new().await;
    t.given_user("me", "Me", &[("k", "v")]).await;
    t.given_user("other", "Other", &[]).await;
    let stored = t.stored("me").await.unwrap();
    let r = t.client(Method::GET, ROUTE, "me").send(profile).await;
    let data = r.assert_ok();
    assert_eq!(data["user_id"], "me");
    assert_eq!(data["im_username"], "qlme");
    assert_eq!(data["im_password"], stored.im_password.as_str());
    assert_eq!(data["im_userid"], stored.info.im_userid);
}

#[tokio::test]
async fn bearer_form_is_accepted_too() {
    let t = TestApp::new().await;
    t.given_user("me", "Me", &[]).await;
    let token = client_token("me", TOKEN_SECRET, now() + 60);
    let r = t
        .client_raw(Method::GET, ROUTE, Some(&format!("Bearer {token}")))
        .send(profile)
        .await;
    assert_eq!(r.assert_ok()["user_id"], "me");
}

#[tokio::test]
async fn a_token_signed_with_the_second_secret_is_accepted() {
    let t = TestApp::new().await;
    t.given_user("me", "Me", &[]).await;
    let token = client_token("me", SECOND_TOKEN_SECRET, now() + 60);
    t.client_raw(Method::GET, ROUTE, Some(&token))
        .send(profile)
        .await
        .assert_ok();
}

#[tokio::test]
async fn attacks_get_the_right_envelope() {
    let t = TestApp::new().await;
    t.given_user("me", "Me", &[]).await;
    let expired = client_token("me", TOKEN_SECRET, now() - 5);
    let foreign = client_token("me", "some-other-secret-0123456789", now() + 60);
    let none = {
        use base64::Engine;
        let b = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.",
            b.encode(r#"{"alg":"none"}"#),
            b.encode(format!(r#"{{"UserId":"me","exp":{}}}"#, now() + 60))
        )
    };
    let cases: [(Option<&str>, u16, i64, &str); 6] = [
        (None, 401, 401, "missing Authorization"),
        (Some("garbage"), 401, 401, "malformed token"),
        (Some(&none), 401, 401, "algorithm must be HS256"),
        (Some(&foreign), 401, 401, "signature does not match"),
        (Some(&expired), 401, 499, "token expired"),
        (
            Some("Qiniu test-ak:c2lnbmF0dXJlLWhlcmU="),
            401,
            401,
            "malformed token",
        ),
    ];
    for (authorization, status, code, needle) in cases {
        t.client_raw(Method::GET, ROUTE, authorization)
            .send(profile)
            .await
            .assert_error(status, code, needle);
    }
    // A real server signature is not a token either.
    let signed = t.server(Method::GET, ROUTE).build();
    let authorization = signed.headers()["authorization"]
        .to_str()
        .unwrap()
        .to_string();
    t.client_raw(Method::GET, ROUTE, Some(&authorization))
        .send(profile)
        .await
        .assert_error(401, 401, "malformed token");
}

#[tokio::test]
async fn a_token_for_a_user_that_does_not_exist_is_404() {
    let t = TestApp::new().await;
    t.client(Method::GET, ROUTE, "vanished")
        .send(profile)
        .await
        .assert_error(404, 404, "user not found: vanished");
}
