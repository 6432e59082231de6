use shared::testing::*;

use super::login_anonymous;

const ROUTE: &str = "/hserve/v2.0/login/anonymous/";

fn anonymous(t: &TestApp) -> TestRequest<Anonymous> {
    t.call(MinApp.public().created(), Method::POST, ROUTE)
        .json(&json!({}))
}

#[tokio::test]
async fn each_anonymous_login_is_a_new_user_without_account_values_or_password() {
    let (t, trips) = TestApp::counting_round_trips().await;
    let first = anonymous(&t).send(login_anonymous).await;
    assert_eq!(first.status, 201, "{}", first.body);
    for field in ["_username", "_email", "_phone"] {
        assert_eq!(first.body[field], serde_json::Value::Null, "{field}");
    }
    // The SDK reads `_anonymous` to refuse an anonymous user's account calls.
    assert_eq!(first.body["_anonymous"], true);
    let id = first.body["id"].as_i64().unwrap();
    assert!(id > 0 && first.body["user_id"] == id);
    assert_eq!(first.body["expires_in"], 7 * 24 * 3600);
    assert_eq!(
        trips.take(),
        ["UpdateItem", "UpdateItem", "TransactWriteItems"],
        "the source IP's limit, the IM id block, then user and audit record together"
    );
    // The token is a client token like any other.
    let token = first.body["token"].as_str().unwrap();
    let session = t.app.tokens().session(token).unwrap();
    let own: shared::user::UserProfile = t.client_of(&session).own().await.unwrap();
    assert_eq!(own.info.im_userid, id);
    // Nothing to log in with: no guard, no hash.
    let items = t.all_items().await;
    assert!(items.iter().all(|i| i.get("password_hash").is_none()));
    assert!(items.iter().all(|i| i["sk"].as_s().unwrap() != "GUARD"));
    // The explicit marker, never inferred from "no account value".
    let item = t.stored_item(session.user_id()).await;
    assert_eq!(item["anonymous"].as_bool().unwrap(), &true);
    // A second anonymous login is another user.
    let second = anonymous(&t).send(login_anonymous).await;
    assert_eq!(second.status, 201, "{}", second.body);
    assert_ne!(second.body["id"], first.body["id"]);
}

#[tokio::test]
async fn anonymous_sign_ups_fall_under_the_per_ip_limit_and_the_public_sign_up_switch() {
    let t = TestApp::with_config(|c| {
        c.limits.signup_ip = shared::limits::Limit::new(1, 3600);
    })
    .await;
    let from = |ip: &str| anonymous(&t).source_ip(ip);
    assert_eq!(from("198.51.100.7").send(login_anonymous).await.status, 201);
    let r = from("198.51.100.7").send(login_anonymous).await;
    r.assert_minapp_error(429, "Too many attempts: try again in ");
    assert_eq!(from("203.0.113.9").send(login_anonymous).await.status, 201);

    let closed = TestApp::with_config(|c| c.public_signup = false).await;
    let r = anonymous(&closed).send(login_anonymous).await;
    r.assert_minapp_error(403, "sign-up is closed");
    assert!(closed.all_items().await.is_empty(), "nothing stored");
}
