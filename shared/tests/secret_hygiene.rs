//! Secrets (SK, token secrets, IM passwords, issued tokens) never reach the logs, an error
//! message or a public view, whatever the request does.

use serde_json::json;
use shared::endpoint::Call;
use shared::error::ApiResult;
use shared::testing::*;
use shared::user::{NewUser, UserInfo, UserProfile, parse_user_ids};

async fn register(call: Call<Server>) -> ApiResult<()> {
    call.users()
        .register(NewUser::from_json(&call.json()?, "body")?)
        .await
}
async fn profile(call: Call<Server>) -> ApiResult<UserProfile> {
    call.users().profile(&call.path_user_id()?).await
}
async fn info(call: Call<Server>) -> ApiResult<UserInfo> {
    call.users().info(&call.path_user_id()?).await
}
async fn infos(call: Call<Server>) -> ApiResult<Vec<UserInfo>> {
    call.users()
        .infos(&parse_user_ids("user_ids", call.query_all("user_ids"))?)
        .await
}
async fn token(call: Call<Server>) -> ApiResult<shared::auth::token::IssuedToken> {
    let request = call.token_request()?;
    call.users().ensure(&request.user_id).await?;
    call.tokens().issue(&request)
}
async fn own_profile(call: Call<Session>) -> ApiResult<UserProfile> {
    call.client().own().await
}

#[tokio::test]
async fn no_secret_reaches_logs_errors_or_public_views() {
    let logs = CapturedLogs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let t = TestApp::new().await;
    let mut responses = Vec::new();
    let r = t
        .server(Method::POST, "/server/user/register")
        .json(&json!({"user_id": "alice"}))
        .send(register)
        .await;
    r.assert_ok();
    let full = t
        .server(Method::GET, "/server/user/profile/{user_id}")
        .param("user_id", "alice")
        .send(profile)
        .await;
    let password = full.assert_ok()["im_password"]
        .as_str()
        .unwrap()
        .to_string();
    let issued = t
        .server(Method::GET, "/server/auth/token")
        .query("app_id", "a")
        .query("user_id", "alice")
        .send(token)
        .await;
    let access_token = issued.assert_ok()["access_token"]
        .as_str()
        .unwrap()
        .to_string();

    // Public views and failures of every kind.
    responses.push(
        t.server(Method::GET, "/server/user/info/{user_id}")
            .param("user_id", "alice")
            .send(info)
            .await,
    );
    responses.push(
        t.server(Method::GET, "/server/user/infos")
            .query("user_ids", "alice")
            .send(infos)
            .await,
    );
    let wrong = Signing::Qiniu {
        ak: TEST_AK.into(),
        sk: format!("{TEST_SK}-guess"),
        date: None,
    };
    responses.push(
        t.server(Method::GET, "/server/user/info/{user_id}")
            .param("user_id", "alice")
            .signing(wrong)
            .send(info)
            .await,
    );
    responses.push(
        t.client_raw(
            Method::GET,
            "/client/user/profile",
            Some(&format!("{access_token}x")),
        )
        .send(own_profile)
        .await,
    );
    responses.push(
        t.client_raw(
            Method::GET,
            "/client/user/profile",
            Some(&client_token("alice", "not-the-secret-0123456789", 0)),
        )
        .send(own_profile)
        .await,
    );
    let bearer = format!("Bearer {access_token}");
    let own = t
        .client_raw(Method::GET, "/client/user/profile", Some(&bearer))
        .send(own_profile)
        .await;
    assert_eq!(
        own.assert_ok()["im_password"],
        password.as_str(),
        "the owner sees its own password"
    );

    let secrets = [
        TEST_SK,
        SECOND_SK,
        TOKEN_SECRET,
        SECOND_TOKEN_SECRET,
        password.as_str(),
        access_token.as_str(),
    ];
    for r in &responses {
        let text = r.body.to_string();
        for secret in secrets {
            assert!(!text.contains(secret), "{secret} leaked into {text}");
        }
        assert!(
            !text.contains("im_password") && !text.contains("im_username"),
            "{text}"
        );
    }
    let logged = logs.text();
    assert!(
        logged.contains("\"request_id\"") && logged.contains("\"status\""),
        "requests are logged: {logged}"
    );
    for secret in secrets
        .iter()
        .chain(&["authorization", "Authorization", "Qiniu test-ak"])
    {
        assert!(!logged.contains(secret), "{secret} leaked into the logs");
    }
}

#[tokio::test]
async fn x_reqid_is_sanitised_before_it_is_echoed() {
    let t = TestApp::new().await;
    t.given_user("u", "n", &[]).await;
    let cases = [
        ("ok-id_1.2", true),
        ("with space", false),
        ("a\tb", false),
        ("semi;colon=1", true),
        ("quote\"inside", true),
    ];
    for (value, kept) in cases {
        let r = t
            .server(Method::GET, "/server/user/info/{user_id}")
            .param("user_id", "u")
            .header("x-reqid", value)
            .send(info)
            .await;
        let id = r.body["request_id"].as_str().unwrap();
        assert_eq!(id == value, kept, "{value:?} -> {id:?}");
        assert!(
            id.len() <= 64 && id.bytes().all(|b| b.is_ascii_graphic()),
            "{id:?}"
        );
        assert_eq!(
            r.reqid.as_deref(),
            Some(id),
            "the header repeats the envelope's id"
        );
    }
    // Longer than 64 characters is replaced, not truncated into something misleading.
    let long = "x".repeat(65);
    let r = t
        .server(Method::GET, "/server/user/info/{user_id}")
        .param("user_id", "u")
        .header("x-reqid", &long)
        .send(info)
        .await;
    assert_ne!(r.body["request_id"], long.as_str());
}
