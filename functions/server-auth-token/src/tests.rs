use shared::auth::token::TokenKeys;
use shared::config::Secret;
use shared::testing::*;
use shared::users::{IM_ID_BLOCK, now};

use super::token;

const ROUTE: &str = "/server/auth/token";

fn verify(access_token: &str, secrets: &[&str]) -> shared::auth::token::Claims {
    let keys = TokenKeys::new(
        &secrets
            .iter()
            .map(|s| Secret::new(s.as_bytes()))
            .collect::<Vec<_>>(),
    );
    keys.verify(Some(access_token)).expect("a valid token")
}

#[tokio::test]
async fn token_is_issued_for_7_days_with_the_qiniu_claims() {
    let t = TestApp::new().await;
    t.given_user("u1", "n", &[]).await;
    let before = t.stored("u1").await.unwrap();
    let r = t
        .server(Method::GET, ROUTE)
        .query("app_id", "app-1")
        .query("user_id", "u1")
        .query("device_id", "phone-9")
        .send(token)
        .await;
    let data = r.assert_ok();
    let expires_at = data["expires_at"].as_i64().unwrap();
    assert!((expires_at - (now() + 7 * 24 * 3600)).abs() <= 5);
    let claims = verify(data["access_token"].as_str().unwrap(), &[TOKEN_SECRET]);
    assert_eq!(
        (
            claims.app_id.as_str(),
            claims.user_id.as_str(),
            claims.device_id.as_str()
        ),
        ("app-1", "u1", "phone-9")
    );
    assert_eq!(claims.role, "user");
    assert_eq!(claims.exp, expires_at);
    assert_eq!(
        t.stored("u1").await.unwrap(),
        before,
        "an existing user is left as it was"
    );
}

#[tokio::test]
async fn new_tokens_are_signed_with_the_first_secret() {
    let t = TestApp::new().await;
    let r = t
        .server(Method::GET, ROUTE)
        .query("app_id", "a")
        .query("user_id", "u1")
        .send(token)
        .await;
    let access_token = r.assert_ok()["access_token"].as_str().unwrap().to_string();
    verify(&access_token, &[TOKEN_SECRET]);
    let only_second = TokenKeys::new(&[Secret::new(SECOND_TOKEN_SECRET.as_bytes())]);
    assert!(only_second.verify(Some(&access_token)).is_err());
}

#[tokio::test]
async fn an_unknown_user_is_registered_with_its_im_identity() {
    let t = TestApp::new().await;
    let r = t
        .server(Method::GET, ROUTE)
        .query("app_id", "a")
        .query("user_id", "newcomer")
        .send(token)
        .await;
    r.assert_ok();
    let stored = t.stored("newcomer").await.expect("created on the spot");
    assert_eq!(stored.im_username, "qlnewcomer");
    assert!(stored.im_password.len() >= 16 && stored.info.im_userid > 0);
}

#[tokio::test]
async fn concurrent_token_requests_for_one_new_user_create_one_user() {
    let t = TestApp::new().await;
    let table = t.app.users.table();
    let counter_before = table.im_id_counter().await.unwrap();
    // Each request reads the profile its token leads to as soon as it has the token. Had two
    // creates both written, requests answered between the writes would see different IM
    // passwords; one create shows one IM identity to every token.
    let requests = (0..20).map(|_| async {
        let r = t
            .server(Method::GET, ROUTE)
            .query("app_id", "a")
            .query("user_id", "crowd")
            .send(token)
            .await;
        let access_token = r.assert_ok()["access_token"].as_str().unwrap().to_string();
        let claims = verify(&access_token, &[TOKEN_SECRET]);
        t.app.users.profile(&claims.user_id).await.unwrap()
    });
    let profiles = join_all(requests).await;
    let stored = t.stored("crowd").await.unwrap();
    for profile in &profiles {
        assert_eq!(
            profile, &stored,
            "every token leads to the one user as stored"
        );
    }
    // The counter moved by the ids one create reserves (its own and the process's block),
    // not once per racing create.
    let moved = table.im_id_counter().await.unwrap() - counter_before;
    assert_eq!(moved, 1 + IM_ID_BLOCK as i64);
    assert!((counter_before + 1..=counter_before + moved).contains(&stored.info.im_userid));
}

#[tokio::test]
async fn expires_at_is_checked_against_now_and_the_cap() {
    let t = TestApp::with_config(|c| c.token_max_ttl_seconds = 3600).await;
    let ask = |expires_at: i64| {
        t.server(Method::GET, ROUTE)
            .query("app_id", "a")
            .query("user_id", "u1")
            .query("expires_at", &expires_at.to_string())
            .send(token)
    };
    let r = ask(now() + 600).await;
    let data = r.assert_ok();
    assert!((data["expires_at"].as_i64().unwrap() - (now() + 600)).abs() <= 5);
    ask(now() - 10)
        .await
        .assert_error(400, 400, "expires_at: must be in the future");
    ask(now() + 7200).await.assert_error(
        400,
        400,
        "expires_at: must be at most 3600 seconds from now",
    );
}

#[tokio::test]
async fn missing_parameters_are_named() {
    let t = TestApp::new().await;
    t.server(Method::GET, ROUTE)
        .query("user_id", "u1")
        .send(token)
        .await
        .assert_error(400, 400, "app_id: query parameter is required");
    t.server(Method::GET, ROUTE)
        .query("app_id", "a")
        .send(token)
        .await
        .assert_error(400, 400, "user_id: query parameter is required");
    assert!(t.stored("u1").await.is_none());
}

#[tokio::test]
async fn a_token_is_not_a_server_signature() {
    let t = TestApp::new().await;
    let client = client_token("u1", TOKEN_SECRET, now() + 600);
    for authorization in [client.clone(), format!("Bearer {client}")] {
        let r = t
            .server(Method::GET, ROUTE)
            .query("app_id", "a")
            .query("user_id", "u1")
            .authorization(Some(&authorization))
            .send(token)
            .await;
        r.assert_error(401, 401, "Qiniu <AK>:<sign>");
    }
    assert!(t.stored("u1").await.is_none());
}
