use shared::account::AccountField;
use shared::clock::now_ms;
use shared::limits::Limit;
use shared::session::{Credentials, SignedIn};
use shared::testing::*;

use super::own_account_update;

const ROUTE: &str = "/hserve/v2.2/user/account/";

fn put(t: &TestApp, token: &str, body: serde_json::Value) -> TestRequest<Session> {
    t.call(MinApp.client(), Method::PUT, ROUTE)
        .authorization(Some(&format!("Hydrogen-r1 {token}")))
        .json(&body)
}

/// Asserts that `body` with `token` is a 200; its answer.
async fn accepted(t: &TestApp, token: &str, body: serde_json::Value) -> TestResponse {
    let r = put(t, token, body).send(own_account_update).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r
}

/// Asserts that `body` with `token` is refused with `status` and a message starting `prefix`.
async fn refused(t: &TestApp, token: &str, body: serde_json::Value, status: u16, prefix: &str) {
    put(t, token, body)
        .send(own_account_update)
        .await
        .assert_minapp_error(status, prefix)
}

/// The caller's string id (the store's key).
fn user_id(t: &TestApp, caller: &SignedIn) -> String {
    t.app
        .tokens()
        .session(&caller.token)
        .unwrap()
        .user_id()
        .to_string()
}

/// A token of `user_id` issued `ms_ago` milliseconds ago (another device's session).
fn token_issued_ago(t: &TestApp, user_id: &str, ms_ago: i64) -> String {
    let claims = shared::auth::token::Claims {
        app_id: "test-app".into(),
        user_id: user_id.into(),
        device_id: "other-device".into(),
        role: "user".into(),
        exp: shared::clock::now() + 3600,
        iat: 0,
        iat_ms: now_ms() - ms_ago,
    };
    t.app.tokens().sign(&claims).unwrap()
}

/// Whether `value`/`password` logs in.
async fn logs_in(t: &TestApp, field: AccountField, value: &str, password: &str) -> bool {
    let body = json!({ field.name(): value, "password": password });
    let credentials = Credentials::log_in(field, &body).unwrap();
    t.sessions().log_in(&credentials).await.is_ok()
}

/// The events of the user's audit trail, oldest first.
async fn events(t: &TestApp, user_id: &str) -> Vec<(String, String)> {
    let page = t
        .app
        .users
        .table()
        .audit_records(user_id, 100, None)
        .await
        .unwrap();
    let mut events: Vec<_> = page
        .entries
        .into_iter()
        .map(|e| (e.record.event, e.record.outcome))
        .collect();
    events.reverse();
    events
}

fn event(name: &str, outcome: &str) -> (String, String) {
    (name.to_string(), outcome.to_string())
}

#[tokio::test]
async fn the_sdk_account_setters_answer_the_whole_own_object() {
    let (t, trips) = TestApp::counting_round_trips().await;
    let (ann, _) = t.given_ann_and_bob().await;
    for (body, field, shown) in [
        (json!({"username": "Ann_2"}), "_username", json!("Ann_2")),
        (
            json!({"email": "Ann@Example.org"}),
            "_email",
            json!("Ann@Example.org"),
        ),
        (
            json!({"phone": "+8613800138000"}),
            "_phone",
            json!("+8613800138000"),
        ),
        // `null` clears, as the `userve` account update does (username, email, phone).
        (json!({"phone": null}), "_phone", json!(null)),
    ] {
        trips.take();
        let r = accepted(&t, &ann.token, body.clone()).await;
        assert_eq!(r.body[field], shown, "{body}");
        assert_eq!(r.body["id"], ann.user.id(), "the caller's own object");
        assert_eq!(r.body["_email_verified"], false);
        assert!(r.body.get("password").is_none() && r.body.get("password_hash").is_none());
        assert_eq!(
            trips.take(),
            ["GetItem", "TransactWriteItems"],
            "{body}: the read with the token check, then user, guards and record together"
        );
    }
    // What was answered is what the caller reads back.
    let r = put(&t, &ann.token, json!({}))
        .send(own_account_update)
        .await;
    assert_eq!(trips.take(), ["GetItem"], "an empty body reads only");
    assert_eq!(
        (&r.body["_username"], &r.body["_email"], &r.body["_phone"]),
        (&json!("Ann_2"), &json!("Ann@Example.org"), &json!(null))
    );
    assert!(logs_in(&t, AccountField::Username, "ann_2", "correct horse").await);
    assert!(!logs_in(&t, AccountField::Username, "ann", "correct horse").await);
    let id = user_id(&t, &ann);
    let changes = events(&t, &id).await;
    let changed = event("account_changed", "success");
    assert_eq!(changes.iter().filter(|e| **e == changed).count(), 4);
}

#[tokio::test]
async fn taken_unknown_and_invalid_values_are_400_naming_the_field_and_change_nothing() {
    let t = TestApp::new().await;
    let (ann, bob) = t.given_ann_and_bob().await;
    let id = user_id(&t, &ann);
    let before = t.stored_item(&id).await;
    for (body, field) in [
        (json!({"email": "BOB@example.org"}), "email"),
        (
            json!({"username": "ann3", "email": "bob@example.org"}),
            "email",
        ),
        (
            json!({"nickname": "x", "user_id": "y"}),
            "nickname, user_id",
        ),
        (json!({"username": "a b"}), "username"),
        (json!({"phone": "12"}), "phone"),
        (json!({"email": 7}), "email"),
        (json!({"new_password": "short"}), "new_password"),
        (json!({"new_password": null}), "new_password"),
        (
            json!({"username": "ann3", "password": "correct horse"}),
            "password",
        ),
        (json!(["username"]), "body"),
    ] {
        refused(&t, &ann.token, body.clone(), 400, field).await;
        assert_eq!(t.stored_item(&id).await, before, "{body}");
    }
    // A value bob holds stays bob's.
    assert!(logs_in(&t, AccountField::Email, "bob@example.org", "correct horse").await);
    assert_eq!(bob.user.id(), bob.user.id());
}

#[tokio::test]
async fn a_new_password_needs_the_current_one_and_keeps_only_this_session() {
    let (t, trips) = TestApp::counting_round_trips().await;
    let (ann, _) = t.given_ann_and_bob().await;
    let id = user_id(&t, &ann);
    // Another device's token, issued before the change.
    let other = token_issued_ago(&t, &id, 1000);
    let before = t.stored_item(&id).await;
    trips.take();
    for (body, message) in [
        (
            json!({"password": "wrong horse", "new_password": "battery staple"}),
            "password: does not match",
        ),
        (
            json!({"new_password": "battery staple"}),
            "password: the current password is required",
        ),
    ] {
        refused(&t, &ann.token, body.clone(), 400, message).await;
        assert_eq!(
            trips.take(),
            ["GetItem", "UpdateItem", "UpdateItem", "PutItem"],
            "{body}: read, the IP's and the login name's limits, the failure's record"
        );
        assert_eq!(t.stored_item(&id).await, before, "{body}: nothing changes");
        trips.take();
    }
    let r = accepted(
        &t,
        &ann.token,
        json!({"password": "correct horse", "new_password": "battery staple"}),
    )
    .await;
    assert_eq!(r.body["_username"], "ann");
    assert_eq!(
        trips.take(),
        [
            "GetItem",
            "UpdateItem",
            "UpdateItem",
            "UpdateItem",
            "TransactWriteItems"
        ],
        "read, the two limits, the login name's attempt given back, the change"
    );
    let stored = t.stored_item(&id).await;
    let hash = stored["password_hash"].as_s().unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!logs_in(&t, AccountField::Username, "ann", "correct horse").await);
    assert!(logs_in(&t, AccountField::Username, "ann", "battery staple").await);
    // The session that changed it keeps working; the other device's is void.
    accepted(&t, &ann.token, json!({"username": "ann4"})).await;
    refused(&t, &other, json!({}), 401, "token revoked").await;
    refused(
        &t,
        &other,
        json!({"username": "mallory"}),
        401,
        "token revoked",
    )
    .await;
    assert_eq!(
        events(&t, &id).await[1..],
        [
            event("password_check_failed", "failure"),
            event("password_check_failed", "failure"),
            event("account_changed", "success"),
            event("login", "failure"),
            event("login", "success"),
            event("account_changed", "success"),
        ]
    );
    // A second change from the kept session, with the password it set.
    accepted(
        &t,
        &ann.token,
        json!({"password": "battery staple", "new_password": "third horse"}),
    )
    .await;
    // Logout voids the kept session too.
    let session = t.app.tokens().session(&ann.token).unwrap();
    t.client_of(&session).log_out().await.unwrap();
    assert!(!t.stored_item(&id).await.contains_key("tokens_kept"));
    refused(&t, &ann.token, json!({}), 401, "token revoked").await;
}

#[tokio::test]
async fn the_app_servers_password_change_keeps_no_session() {
    let t = TestApp::new().await;
    let (ann, _) = t.given_ann_and_bob().await;
    let id = user_id(&t, &ann);
    put(
        &t,
        &ann.token,
        json!({"password": "correct horse", "new_password": "battery staple"}),
    )
    .send(own_account_update)
    .await;
    assert!(t.stored_item(&id).await.contains_key("tokens_kept"));
    let reset =
        shared::account::AccountUpdate::from_json(&json!({"new_password": "reset horse"})).unwrap();
    t.app
        .users
        .change_account(ann.user.id(), &reset)
        .await
        .unwrap();
    assert!(!t.stored_item(&id).await.contains_key("tokens_kept"));
    refused(&t, &ann.token, json!({}), 401, "token revoked").await;
}

#[tokio::test]
async fn wrong_current_passwords_count_toward_the_login_limits() {
    let t = TestApp::with_config(|c| c.limits.login = Limit::new(2, 900)).await;
    let (ann, _) = t.given_ann_and_bob().await;
    let id = user_id(&t, &ann);
    // One of the two attempts of ann's login name goes to a wrong login.
    assert!(!logs_in(&t, AccountField::Username, "ann", "wrong horse").await);
    let wrong = json!({"password": "wrong horse", "new_password": "battery staple"});
    refused(&t, &ann.token, wrong.clone(), 400, "password").await;
    // The window is used up: even the right password waits, and so does a login.
    let r = put(
        &t,
        &ann.token,
        json!({"password": "correct horse", "new_password": "battery staple"}),
    )
    .send(own_account_update)
    .await;
    r.assert_minapp_error(429, "Too many attempts");
    assert!(r.retry_after.is_some());
    assert!(!logs_in(&t, AccountField::Username, "ann", "correct horse").await);
    assert_eq!(
        events(&t, &id).await.last(),
        Some(&event("limit_reached", "refused"))
    );
    // Nothing changed: the old password is still the one (once the window passes).
    assert!(!t.stored_item(&id).await.contains_key("tokens_kept"));
}

#[tokio::test]
async fn the_source_ips_login_limit_counts_password_checks() {
    let t = TestApp::with_config(|c| c.limits.login_ip = Limit::new(1, 900)).await;
    let (ann, _) = t.given_ann_and_bob().await;
    let body = json!({"password": "wrong horse", "new_password": "battery staple"});
    let from = |ip: &str| {
        put(&t, &ann.token, body.clone())
            .source_ip(ip)
            .send(own_account_update)
    };
    from("198.51.100.7")
        .await
        .assert_minapp_error(400, "password");
    from("198.51.100.7")
        .await
        .assert_minapp_error(429, "Too many attempts");
    from("203.0.113.9")
        .await
        .assert_minapp_error(400, "password");
}

#[tokio::test]
async fn a_user_without_a_password_sets_one_with_its_token_alone() {
    let (t, trips) = TestApp::counting_round_trips().await;
    // Made by the app server: no account values, no password.
    t.given_user("carl", "Carl", &[]).await;
    let token = token_issued_ago(&t, "carl", 0);
    trips.take();
    let r = accepted(
        &t,
        &token,
        json!({"username": "carl", "email": "carl@example.org", "new_password": "carl's horse"}),
    )
    .await;
    assert_eq!(
        trips.take(),
        ["GetItem", "TransactWriteItems"],
        "no check, no limit"
    );
    assert_eq!(
        (&r.body["_username"], &r.body["_email"], &r.body["nickname"]),
        (&json!("carl"), &json!("carl@example.org"), &json!("Carl"))
    );
    assert!(logs_in(&t, AccountField::Email, "carl@example.org", "carl's horse").await);
    // From now on the password it set is needed.
    refused(
        &t,
        &token,
        json!({"new_password": "other horse"}),
        400,
        "password",
    )
    .await;
}

#[tokio::test]
async fn a_revoked_or_missing_token_changes_nothing() {
    let t = TestApp::new().await;
    let (ann, _) = t.given_ann_and_bob().await;
    let session = t.app.tokens().session(&ann.token).unwrap();
    t.client_of(&session).log_out().await.unwrap();
    let before = t.stored_item(session.user_id()).await;
    for body in [
        json!({"username": "ann5"}),
        json!({"password": "correct horse", "new_password": "battery staple"}),
        json!({}),
    ] {
        refused(&t, &ann.token, body.clone(), 401, "token revoked").await;
        assert_eq!(t.stored_item(session.user_id()).await, before, "{body}");
    }
    let r = t
        .call(MinApp.client(), Method::PUT, ROUTE)
        .json(&json!({"username": "ann5"}))
        .send(own_account_update)
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(t.stored_item(session.user_id()).await, before);
}
