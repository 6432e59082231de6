use shared::auth::server_token::AuthorizeRequest;
use shared::testing::*;
use shared::users::now;

use super::oauth_access_token;

const ROUTE: &str = "/api/oauth2/access_token/";

fn code(t: &TestApp, at: i64) -> String {
    let request = AuthorizeRequest::from_body(
        Some("application/json"),
        json!({"client_id": TEST_AK, "client_secret": TEST_SK})
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    t.app.server_tokens().authorize(&request, at).unwrap().code
}

fn form(t: &TestApp, body: &str) -> TestRequest<Anonymous> {
    t.call(MinApp.public(), Method::POST, ROUTE).raw_body(
        body.as_bytes().to_vec(),
        "application/x-www-form-urlencoded",
    )
}

#[tokio::test]
async fn both_grants_give_a_bearer_token_the_admin_endpoints_take() {
    let t = TestApp::new().await;
    let code = code(&t, now());
    for body in [
        format!(
            "client_id={TEST_AK}&client_secret={TEST_SK}&grant_type=authorization_code&code={code}"
        ),
        format!("client_id={TEST_AK}&client_secret={TEST_SK}&grant_type=client_credentials"),
    ] {
        let r = form(&t, &body).send(oauth_access_token).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["token_type"], "Bearer");
        assert!(r.body["expires_in"].as_i64().unwrap() > 0);
        let token = r.body["access_token"].as_str().unwrap();
        let bearer = format!("Bearer {token}");
        assert_eq!(
            t.app.server_tokens().verify_bearer(Some(&bearer), now()),
            Ok(TEST_AK.to_string())
        );
    }
}

#[tokio::test]
async fn a_wrong_secret_or_a_tampered_or_expired_code_is_401() {
    let t = TestApp::new().await;
    let fresh = code(&t, now());
    let old = code(&t, now() - 3600);
    let mut tampered = fresh.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    for body in [
        format!(
            "client_id={TEST_AK}&client_secret=wrong&grant_type=authorization_code&code={fresh}"
        ),
        format!(
            "client_id={TEST_AK}&client_secret={TEST_SK}&grant_type=authorization_code&code={tampered}"
        ),
        format!(
            "client_id={TEST_AK}&client_secret={TEST_SK}&grant_type=authorization_code&code={old}"
        ),
        format!("client_id={TEST_AK}&client_secret=wrong&grant_type=client_credentials"),
    ] {
        let r = form(&t, &body).send(oauth_access_token).await;
        assert_eq!(r.status, 401, "{body}: {}", r.body);
        assert_eq!(r.body["status"], "error");
        assert!(!r.body.to_string().contains(TEST_SK));
    }
    let r = form(
        &t,
        &format!("client_id={TEST_AK}&client_secret={TEST_SK}&grant_type=password"),
    )
    .send(oauth_access_token)
    .await;
    r.assert_minapp_error(400, "grant_type");
}

#[tokio::test]
async fn a_server_token_is_no_client_token() {
    let t = TestApp::new().await;
    t.given_user("u1", "n", &[]).await;
    let r = form(
        &t,
        &format!("client_id={TEST_AK}&client_secret={TEST_SK}&grant_type=client_credentials"),
    )
    .send(oauth_access_token)
    .await;
    let token = r.body["access_token"].as_str().unwrap().to_string();
    for endpoint in [Qiniu.client(), Deepin.client(), MinApp.client()] {
        let caller = t
            .call(endpoint, Method::GET, "/client/user/profile")
            .authorization(Some(&format!("Bearer {token}")))
            .send(|call: shared::endpoint::Call<Session>| async move {
                Ok(call.session().user_id().to_string())
            })
            .await;
        assert_eq!(caller.status, 401, "{endpoint:?}: {}", caller.body);
    }
}
