//! Every log line of a request names it as the audit trail does: API Gateway's request id
//! and, apart, the client's `X-Reqid`, the source IP from the request context, the route,
//! the caller and the target user; never a secret. Read through the deployed subscriber
//! ([`shared::logging::subscriber`]) into a buffer.

use serde_json::{Value, json};
use shared::account::{Account, AccountField, AccountUpdate};
use shared::endpoint::Call;
use shared::error::ApiResult;
use shared::session::Destroyed;
use shared::testing::*;
use shared::user::UserProfile;

fn capture() -> (CapturedLogs, tracing::subscriber::DefaultGuard) {
    let logs = CapturedLogs::default();
    let writer = logs.clone();
    let guard =
        tracing::subscriber::set_default(shared::logging::subscriber(move || writer.clone()));
    (logs, guard)
}

async fn account_update(call: Call<Server>) -> ApiResult<Account> {
    let uid = call.path_number("id")?;
    let update = AccountUpdate::from_json(&call.json()?)?;
    call.users().change_account(uid, &update).await
}
async fn own_profile(call: Call<Session>) -> ApiResult<UserProfile> {
    call.client().own().await
}
async fn log_out(call: Call<Session>) -> ApiResult<Destroyed> {
    call.client().log_out().await
}

#[tokio::test]
async fn every_line_names_both_ids_the_source_ip_the_caller_and_the_target() {
    let (logs, _guard) = capture();
    let t = TestApp::new().await;
    t.given_user("u1", "n", &[]).await;
    let uid = t.stored("u1").await.unwrap().info.im_userid;
    let r = t
        .minapp(Method::PUT, "/userve/v2.2/miniapp/user/account/{id}/")
        .param("id", &uid.to_string())
        .json(&json!({"new_password": "correct horse battery"}))
        // A forged id: echoed as the client's own, never the request's.
        .header("x-reqid", "forged-gateway-id")
        .as_api_gateway()
        .send(account_update)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.reqid.as_deref(), Some("forged-gateway-id"));

    let lines: Vec<Value> = logs
        .lines()
        .into_iter()
        .filter(|l| l.get("client_reqid") == Some(&json!("forged-gateway-id")))
        .collect();
    // The audit line from inside the operation and the pipeline's own line.
    assert!(
        lines.iter().any(|l| l["audit"] == "account_changed"),
        "{lines:?}"
    );
    let last = lines.last().expect("the pipeline's line");
    assert_eq!(last["status"], 200);
    assert!(last["latency_ms"].as_f64().is_some());
    for line in &lines {
        assert_eq!(line["request_id"], "gateway-request-id", "{line}");
        assert_eq!(line["source_ip"], "192.0.2.1");
        assert_eq!(line["route"], "PUT /userve/v2.2/miniapp/user/account/{id}/");
        assert_eq!(line["caller"], "signature");
        assert_eq!(line["caller_id"], TEST_AK);
        assert_eq!(line["target"], "u1");
    }
    let all = logs.lines();
    assert!(
        all.iter()
            .all(|l| l.get("request_id") != Some(&json!("forged-gateway-id"))),
        "X-Reqid never replaces the request id"
    );
    // Nothing secret: the password, its hash, the signature.
    let hash = t.stored_item("u1").await["password_hash"]
        .as_s()
        .unwrap()
        .clone();
    let text = format!("{all:?}");
    for secret in ["correct horse battery", hash.as_str(), TEST_SK, "Qiniu "] {
        assert!(!text.contains(secret), "{secret} logged");
    }
}

#[tokio::test]
async fn a_client_is_named_by_its_token_subject_and_issue_time_never_its_token() {
    let (logs, _guard) = capture();
    let t = TestApp::new().await;
    let up = t
        .given_sign_up(AccountField::Username, "ann", "correct horse battery")
        .await;
    let session = t.app.tokens().session(&up.token).unwrap();
    let r = t
        .call(Qiniu.client(), Method::GET, "/client/user/profile")
        .authorization(Some(&up.token))
        .as_api_gateway()
        .send(own_profile)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = t
        .call(
            MinApp.client().created(),
            Method::POST,
            "/hserve/v2.0/session/destroy/",
        )
        .hydrogen(&up.token)
        .send(log_out)
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let lines = logs.lines();
    let profile = lines
        .iter()
        .find(|l| l["route"] == "GET /client/user/profile" && l.get("status").is_some())
        .expect("the profile's line");
    assert_eq!(profile["caller"], "client_token");
    assert_eq!(profile["caller_id"], session.user_id());
    assert_eq!(profile["token_issued_at_ms"], session.issued_at_ms());
    assert_eq!(profile["target"], session.user_id());
    // Without API Gateway (cargo lambda watch gives no id here): Lambda's id or "-", and
    // still no X-Reqid in its place.
    let logout = lines
        .iter()
        .find(|l| l["audit"] == "logout")
        .expect("the logout's audit line");
    assert_eq!(logout["caller"], "client_token");
    assert_eq!(logout["target"], session.user_id());
    assert!(logout.get("client_reqid").is_none());
    assert!(!format!("{lines:?}").contains(&up.token), "a token logged");
}

#[tokio::test]
async fn an_unauthenticated_request_is_named_unverified_and_lines_outside_requests_carry_no_trail()
{
    let (logs, _guard) = capture();
    let t = TestApp::new().await;
    let r = t
        .call(
            MinApp.server(),
            Method::PUT,
            "/userve/v2.2/miniapp/user/account/{id}/",
        )
        .param("id", "1")
        .json(&json!({"username": "x"}))
        .authorization(Some("Bearer not-a-token"))
        .as_api_gateway()
        .send(account_update)
        .await;
    assert_eq!(r.status, 401);
    tracing::info!("outside any request");
    let lines = logs.lines();
    let refused = lines.iter().find(|l| l["status"] == 401).unwrap();
    assert_eq!(refused["caller"], "unverified");
    assert!(refused.get("target").is_none());
    let outside = lines
        .iter()
        .find(|l| l["message"] == "outside any request")
        .unwrap();
    assert!(outside.get("request_id").is_none() && outside.get("caller").is_none());
}

#[test]
fn the_runtime_s_own_warnings_are_left_out_and_its_errors_kept() {
    // RUST_LOG is not set for the tests: the default, info.
    let (logs, _guard) = capture();
    tracing::warn!(target: "lambda_runtime", "AWS_LAMBDA_MAX_CONCURRENCY is set to '1'");
    tracing::error!(target: "lambda_runtime::runtime", "the runtime API went away");
    tracing::warn!(target: "shared::endpoint", "ours");
    let messages: Vec<Value> = logs.lines().iter().map(|l| l["message"].clone()).collect();
    assert_eq!(
        messages,
        [json!("the runtime API went away"), json!("ours")]
    );
}
