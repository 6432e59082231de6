use shared::account::{AccountField, password_verifications_on_this_thread};
use shared::testing::*;

use super::login_username;

const ROUTE: &str = "/hserve/v2.1/login/username/";
const INVALID: &str = "Invalid username/email or password.";

fn login(t: &TestApp, body: serde_json::Value) -> TestRequest<Anonymous> {
    t.call(MinApp.public().created(), Method::POST, ROUTE)
        .header("x-hydrogen-client-id", "test-client")
        .json(&body)
}

#[tokio::test]
async fn the_right_password_in_any_case_of_the_username_signs_in_with_a_token_every_dialect_takes()
{
    let t = TestApp::new().await;
    let signed_up = t
        .given_sign_up(AccountField::Username, "Pretty_Girl", "correct horse")
        .await;
    for name in ["Pretty_Girl", "pretty_girl", "PRETTY_GIRL"] {
        let r = login(&t, json!({"username": name, "password": "correct horse"}))
            .send(login_username)
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["id"], signed_up.user.id());
        assert_eq!(r.body["user_id"], signed_up.user.id());
        assert_eq!(r.body["_username"], "Pretty_Girl", "shown as given");
        assert_eq!(r.body["expires_in"], 7 * 24 * 3600);
        assert!(r.body.get("password").is_none() && r.body.get("password_hash").is_none());
        let token = r.body["token"].as_str().unwrap();
        let claims = t.app.tokens().verify_token(token).unwrap();
        assert_eq!(claims.app_id, TEST_APP_ID, "the configured app");
        assert!(claims.user_id.starts_with("hs_"));
        assert!(claims.iat_ms > 0);
    }
}

#[tokio::test]
async fn wrong_password_and_unknown_user_answer_alike_after_the_same_argon2_work() {
    let t = TestApp::new().await;
    t.given_sign_up(AccountField::Username, "alice", "correct horse")
        .await;
    let mut answers = Vec::new();
    for body in [
        json!({"username": "alice", "password": "wrong horse"}),
        json!({"username": "nobody", "password": "wrong horse"}),
    ] {
        let before = password_verifications_on_this_thread();
        let r = login(&t, body.clone()).send(login_username).await;
        assert_eq!(
            password_verifications_on_this_thread() - before,
            1,
            "{body}: one argon2 verification"
        );
        answers.push((r.status, r.body));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(
        answers[0],
        (400, json!({"status": "error", "error_msg": INVALID}))
    );
}

/// Waits for the start of the next wall-clock second, so that two quick requests that
/// follow see the same `now()` (and so the same `Retry-After`).
async fn at_the_start_of_a_second() {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let left = std::time::Duration::from_secs(1)
        - (since_epoch - std::time::Duration::from_secs(since_epoch.as_secs()));
    tokio::time::sleep(left + std::time::Duration::from_millis(5)).await;
}

#[tokio::test]
async fn known_and_unknown_names_answer_byte_for_byte_alike_at_every_step_and_cost_the_same() {
    let (t, trips) = TestApp::counting_round_trips().await;
    t.given_sign_up(AccountField::Username, "alice", "correct horse")
        .await;
    let limit = t.app.users.limits().login;
    trips.take();
    for step in 1..=10 {
        if step > limit.max {
            // Refused attempts are quick: both land in the same second, so the same
            // Retry-After is expected.
            at_the_start_of_a_second().await;
        }
        let mut seen = Vec::new();
        for name in ["alice", "nobody"] {
            let before = password_verifications_on_this_thread();
            let r = login(&t, json!({"username": name, "password": "wrong horse"}))
                .send(login_username)
                .await;
            let argon2 = password_verifications_on_this_thread() - before;
            seen.push((
                r.status,
                r.body.to_string(),
                r.retry_after,
                trips.take(),
                argon2,
            ));
        }
        assert_eq!(seen[0], seen[1], "step {step}: known and unknown differ");
        let (status, body, retry_after, calls, argon2) = &seen[0];
        if step <= limit.max {
            assert_eq!(
                (*status, body.as_str()),
                (
                    400,
                    &*json!({"status": "error", "error_msg": INVALID}).to_string()
                )
            );
            assert_eq!(retry_after, &None);
            assert_eq!(
                calls,
                &["UpdateItem", "UpdateItem", "GetItem", "GetItem", "PutItem"],
                "step {step}: the limits, the guard, a user, the audit record"
            );
            assert_eq!(*argon2, 1, "step {step}");
        } else {
            let seconds: i64 = retry_after
                .as_deref()
                .expect("Retry-After")
                .parse()
                .unwrap();
            assert!((1..=limit.window_seconds).contains(&seconds), "{seconds}");
            let message = format!("Too many attempts: try again in {seconds} seconds.");
            assert_eq!(
                (*status, body.as_str()),
                (
                    429,
                    &*json!({"status": "error", "error_msg": message}).to_string()
                ),
                "step {step}"
            );
            assert_eq!(
                calls,
                &["UpdateItem", "UpdateItem", "PutItem"],
                "step {step}: refused before any read (the record goes under the name)"
            );
            assert_eq!(*argon2, 0, "step {step}: no argon2 past the limit");
        }
    }
}

#[tokio::test]
async fn a_strangers_failed_logins_never_void_the_victims_tokens() {
    let t = TestApp::new().await;
    let victim = t
        .given_sign_up(AccountField::Username, "victim", "correct horse")
        .await;
    let session = t.app.tokens().session(&victim.token).unwrap();
    let user_id = session.user_id().to_string();
    for _ in 0..10 {
        let r = login(&t, json!({"username": "VICTIM", "password": "guess guess"}))
            .send(login_username)
            .await;
        assert!(matches!(r.status, 400 | 429), "{}", r.body);
    }
    let own = t.client_of(&session).own::<shared::user::User>().await;
    assert_eq!(
        own.map(|u| u.user_id),
        Ok(user_id.clone()),
        "the token still works"
    );
    let item = t.stored_item(&user_id).await;
    for written in ["tokens_valid_after", "login_failures", "locked_until"] {
        assert!(
            !item.contains_key(written),
            "a failed login wrote {written}"
        );
    }
}

#[tokio::test]
async fn a_burst_of_40_concurrent_attempts_gets_at_most_the_limit_through_to_argon2() {
    let t = TestApp::new().await;
    t.given_sign_up(AccountField::Username, "target", "correct horse")
        .await;
    let limit = t.app.users.limits().login;
    let before = password_verifications_on_this_thread();
    let burst = (0..40).map(|i| {
        login(
            &t,
            json!({"username": "target", "password": format!("guess {i:02}")}),
        )
        .send(login_username)
    });
    let answers = join_all(burst).await;
    let argon2 = password_verifications_on_this_thread() - before;
    let count = |status| answers.iter().filter(|r| r.status == status).count() as i64;
    assert_eq!(
        (count(400), count(429)),
        (limit.max, 40 - limit.max),
        "every attempt is answered, only the limit's worth checked"
    );
    assert_eq!(
        argon2 as i64, limit.max,
        "argon2 ran only for the reserved attempts"
    );
    let counter = shared::limits::Counter::login("USERNAME#target", limit);
    let counted = t
        .app
        .users
        .table()
        .attempts(&counter, shared::clock::now())
        .await;
    assert_eq!(counted, Ok(limit.max));
}

#[tokio::test]
async fn a_success_gives_its_attempt_back_so_only_failures_use_up_the_limit() {
    let t = TestApp::with_config(|c| c.limits.login = shared::limits::Limit::new(2, 900)).await;
    t.given_sign_up(AccountField::Username, "bob", "correct horse")
        .await;
    let right = json!({"username": "bob", "password": "correct horse"});
    let wrong = json!({"username": "bob", "password": "wrong horse"});
    for _ in 0..5 {
        let r = login(&t, right.clone()).send(login_username).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    for _ in 0..2 {
        login(&t, wrong.clone())
            .send(login_username)
            .await
            .assert_minapp_error(400, INVALID);
    }
    // Two failures use it up: now even the right password waits for the window.
    let r = login(&t, right).send(login_username).await;
    r.assert_minapp_error(429, "Too many attempts: try again in ");
    assert!(r.retry_after.is_some());
}

#[tokio::test]
async fn one_source_ip_is_limited_across_names_and_a_header_cannot_change_it() {
    let t = TestApp::with_config(|c| {
        c.limits.login_ip = shared::limits::Limit::new(3, 900);
    })
    .await;
    let from = |ip: &str, name: &str| {
        login(&t, json!({"username": name, "password": "wrong horse"})).source_ip(ip)
    };
    for i in 0..3 {
        let r = from("198.51.100.7", &format!("name{i}"))
            .send(login_username)
            .await;
        r.assert_minapp_error(400, INVALID);
    }
    // A fourth name from the same address: 429, whatever X-Forwarded-For claims.
    let r = from("198.51.100.7", "name3")
        .header("x-forwarded-for", "203.0.113.9")
        .send(login_username)
        .await;
    r.assert_minapp_error(429, "Too many attempts: try again in ");
    let seconds: i64 = r.retry_after.as_deref().unwrap().parse().unwrap();
    assert!((1..=900).contains(&seconds), "{seconds}");
    // Another address has its own count; an IPv6 /64 is one address.
    let r = from("203.0.113.9", "name3").send(login_username).await;
    r.assert_minapp_error(400, INVALID);
    for (i, ip) in ["2001:db8:7:7::1", "2001:db8:7:7::2", "2001:db8:7:7:ffff::3"]
        .iter()
        .enumerate()
    {
        from(ip, &format!("v6name{i}"))
            .send(login_username)
            .await
            .assert_minapp_error(400, INVALID);
    }
    from("2001:db8:7:7::99", "v6name4")
        .send(login_username)
        .await
        .assert_minapp_error(429, "Too many attempts");
}

#[tokio::test]
async fn bad_input_is_400_naming_the_field_never_5xx() {
    let t = TestApp::new().await;
    for (body, field) in [
        (json!({"password": "x"}), "username"),
        (json!({"username": "bob"}), "password"),
        (json!({"username": 7, "password": "x"}), "username"),
        (json!({"username": "bob", "password": 7}), "password"),
        (json!({"username": "a b", "password": "x"}), "username"),
        (
            json!({"username": "bob", "password": "x".repeat(257)}),
            "password",
        ),
        (
            json!({"username": "bob", "password": "x", "email": "a@b.c"}),
            "email",
        ),
        (json!([]), "body"),
    ] {
        let r = login(&t, body.clone()).send(login_username).await;
        r.assert_minapp_error(400, field);
    }
    let r = t
        .call(MinApp.public().created(), Method::POST, ROUTE)
        .raw_body("username=bob", "application/x-www-form-urlencoded")
        .send(login_username)
        .await;
    r.assert_minapp_error(400, "Content-Type");
}

#[tokio::test]
async fn the_token_app_is_the_deployments_and_another_apps_client_id_is_refused() {
    let t = TestApp::new().await;
    t.given_sign_up(AccountField::Username, "alice", "correct horse")
        .await;
    let body = json!({"username": "alice", "password": "correct horse"});
    // Without the header (curl, a server): the configured app.
    let r = t
        .call(MinApp.public().created(), Method::POST, ROUTE)
        .json(&body)
        .send(login_username)
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let claims = t
        .app
        .tokens()
        .verify_token(r.body["token"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims.app_id, TEST_APP_ID);
    // Another app's client ID is never copied into a token: 401 before any work.
    let before = password_verifications_on_this_thread();
    let r = t
        .call(MinApp.public().created(), Method::POST, ROUTE)
        .header("x-hydrogen-client-id", "someone-elses-app")
        .json(&body)
        .send(login_username)
        .await;
    assert_eq!(
        (r.status, &r.body),
        (
            401,
            &json!({"status": "error", "error_msg": "X-Hydrogen-Client-ID: not this app's client ID"})
        )
    );
    assert_eq!(password_verifications_on_this_thread(), before);
}
