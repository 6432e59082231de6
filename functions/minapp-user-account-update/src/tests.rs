use shared::auth::server_token::TokenGrant;
use shared::testing::*;
use shared::users::now;

use super::account_update;

const ROUTE: &str = "/userve/v2.2/miniapp/user/account/{id}/";

/// A server access token from the open-API flow, as MinApp clients send it.
fn server_token(t: &TestApp) -> String {
    let grant = TokenGrant::from_body(
        Some("application/json"),
        json!({"client_id": TEST_AK, "client_secret": TEST_SK, "grant_type": "client_credentials"})
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    let token = t.app.server_tokens().access_token(&grant, now()).unwrap();
    format!("Bearer {}", token.access_token)
}

async fn given(t: &TestApp, user_id: &str) -> String {
    t.given_user(user_id, "n", &[]).await;
    t.stored(user_id).await.unwrap().info.im_userid.to_string()
}

fn put(t: &TestApp, id: &str, body: serde_json::Value) -> TestRequest<Server> {
    t.call(MinApp.server(), Method::PUT, ROUTE)
        .param("id", id)
        .json(&body)
        .authorization(Some(&server_token(t)))
}

#[tokio::test]
async fn set_and_clear_answer_the_account_and_never_the_password() {
    let t = TestApp::new().await;
    let id = given(&t, "u1").await;
    let r = put(
        &t,
        &id,
        json!({"username": "Pretty_Girl", "email": "pg@fake.com", "phone": "13800138000", "new_password": "correct horse"}),
    )
    .send(account_update)
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"email": "pg@fake.com", "email_verified": false, "username": "Pretty_Girl",
               "phone": "13800138000", "phone_verified": false})
    );
    // Stored as an argon2id PHC string only.
    let item = t.stored_item("u1").await;
    let hash = item["password_hash"].as_s().unwrap().clone();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("correct horse"));
    assert!(shared::account::verify_password(&hash, "correct horse"));
    let r = put(&t, &id, json!({"email": null, "phone": null}))
        .send(account_update)
        .await;
    assert_eq!(
        r.body,
        json!({"email": null, "email_verified": false, "username": "Pretty_Girl",
               "phone": null, "phone_verified": false})
    );
}

#[tokio::test]
async fn invalid_or_taken_values_are_400_naming_the_field_in_minapp_form() {
    let t = TestApp::new().await;
    let first = given(&t, "u1").await;
    let second = given(&t, "u2").await;
    put(&t, &first, json!({"username": "taken", "email": "t@x.org"}))
        .send(account_update)
        .await;
    for (body, field) in [
        (json!({"username": "TAKEN"}), "username"),
        (json!({"email": "T@X.ORG"}), "email"),
        (json!({"username": "12345"}), "username"),
        (json!({"email": "nope"}), "email"),
        (json!({"phone": "+1"}), "phone"),
        (json!({"new_password": "short"}), "new_password"),
        (json!({"nickname": "x"}), "nickname"),
    ] {
        let r = put(&t, &second, body.clone()).send(account_update).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_eq!(r.body["status"], "error");
        assert!(
            r.body["error_msg"].as_str().unwrap().starts_with(field),
            "{body}: {}",
            r.body
        );
    }
    let u2 = t.app.users.user("u2").await.unwrap();
    assert_eq!(u2.account, Default::default(), "nothing changed");
}

#[tokio::test]
async fn unknown_or_malformed_ids_create_nothing() {
    let t = TestApp::new().await;
    given(&t, "u1").await;
    let r = put(&t, "424242", json!({"username": "ghost"}))
        .send(account_update)
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["status"], "error");
    let r = put(&t, "abc", json!({"username": "ghost"}))
        .send(account_update)
        .await;
    assert_eq!(r.status, 400);
    assert!(r.body["error_msg"].as_str().unwrap().starts_with("id: "));
    assert!(
        t.app
            .users
            .find(&shared::lookup::Identify::parse("ghost").unwrap())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn admin_credentials_are_a_signature_or_a_server_token_never_a_client_token() {
    let t = TestApp::new().await;
    let id = given(&t, "u1").await;
    // A Qiniu signature.
    let r = t
        .call(MinApp.server(), Method::PUT, ROUTE)
        .param("id", &id)
        .json(&json!({"username": "signed"}))
        .signed()
        .send(account_update)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // A client token, bare or Bearer, is refused.
    let client = client_token("u1", TOKEN_SECRET, now() + 600);
    for authorization in [format!("Bearer {client}"), client.clone()] {
        let r = t
            .call(MinApp.server(), Method::PUT, ROUTE)
            .param("id", &id)
            .json(&json!({"username": "by-client"}))
            .authorization(Some(&authorization))
            .send(account_update)
            .await;
        assert_eq!(r.status, 401, "{}", r.body);
        assert_eq!(r.body["status"], "error");
    }
    assert_eq!(
        t.app
            .users
            .user("u1")
            .await
            .unwrap()
            .account
            .username
            .as_deref(),
        Some("signed")
    );
}

#[tokio::test]
async fn a_new_password_voids_the_tokens_issued_before_it_and_logs_in() {
    use shared::account::AccountField;
    use shared::session::Credentials;
    let t = TestApp::new().await;
    let up = t
        .given_sign_up(AccountField::Username, "frank", "old password")
        .await;
    let old = t.app.tokens().session(&up.token).unwrap();
    assert!(t.client_of(&old).own::<shared::user::User>().await.is_ok());
    let r = put(
        &t,
        &up.user.id().to_string(),
        json!({"new_password": "new password"}),
    )
    .send(account_update)
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(matches!(
        t.client_of(&old).own::<shared::user::User>().await,
        Err(shared::error::ApiError::Unauthorized(_))
    ));
    let login = |password: &str| {
        Credentials::log_in(
            AccountField::Username,
            &json!({"username": "frank", "password": password}),
        )
        .unwrap()
    };
    let users = t.sessions();
    assert!(users.log_in(&login("old password")).await.is_err());
    let fresh = users.log_in(&login("new password")).await.unwrap();
    let fresh = t.app.tokens().session(&fresh.token).unwrap();
    assert!(
        t.client_of(&fresh)
            .own::<shared::user::User>()
            .await
            .is_ok()
    );
}

/// Account changes need the admin role; the operator is the caller of the change's record.
#[tokio::test]
async fn with_the_console_cookie_only_admins_change_accounts_and_are_recorded() {
    let t = TestApp::new().await;
    let id = given(&t, "u1").await;
    let editor = t.console_login("editor", Role::Editor).await;
    let admin = t.console_login("admin", Role::Admin).await;
    let body = json!({"username": "renamed"});
    put(&t, &id, body.clone())
        .console(&editor)
        .send(account_update)
        .await
        .assert_minapp_error(403, "this needs the admin role");
    let r = put(&t, &id, body)
        .console(&admin)
        .send(account_update)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["username"], "renamed");
    let records = t
        .app
        .users
        .table()
        .audit_records("u1", 10, None)
        .await
        .unwrap();
    let changed = records
        .entries
        .iter()
        .map(|e| &e.record)
        .find(|r| r.event == "account_changed")
        .expect("recorded");
    assert_eq!(changed.caller, "operator");
    assert_eq!(changed.caller_id.as_deref(), Some("admin"));
}
