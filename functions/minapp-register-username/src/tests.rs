use std::collections::{BTreeMap, BTreeSet};

use shared::account::verify_password;
use shared::testing::*;

use super::register_username;

const ROUTE: &str = "/hserve/v2.1/register/username/";

fn register(t: &TestApp, body: serde_json::Value) -> TestRequest<Anonymous> {
    t.call(MinApp.public().created(), Method::POST, ROUTE)
        .json(&body)
}

#[tokio::test]
async fn sign_up_creates_the_user_with_its_im_identity_guard_and_hash_and_signs_it_in() {
    let t = TestApp::new().await;
    let r = register(
        &t,
        json!({"username": "Pretty_Girl", "password": "correct horse"}),
    )
    .send(register_username)
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_i64().unwrap();
    assert!(id > 0);
    assert_eq!(r.body["user_id"], id);
    assert_eq!(r.body["created_by"], id);
    assert_eq!(r.body["_username"], "Pretty_Girl");
    assert_eq!(r.body["_email"], serde_json::Value::Null);
    assert_eq!(r.body["_phone_verified"], false);
    assert_eq!(r.body["nickname"], "");
    assert_eq!(r.body["expires_in"], 7 * 24 * 3600);
    let keys: BTreeSet<&str> = r
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert!(!keys.iter().any(|k| k.contains("password")), "{keys:?}");
    let claims = t
        .app
        .tokens()
        .verify_token(r.body["token"].as_str().unwrap())
        .unwrap();
    let user_id = claims.user_id;
    assert!(
        user_id.starts_with("hs_") && user_id.len() == 23,
        "{user_id}"
    );
    // The IM identity as any register gives it, and the argon2id hash only.
    let profile = t.stored(&user_id).await.unwrap();
    assert_eq!(profile.info.im_userid, id);
    assert_eq!(profile.im_username, format!("ql{user_id}"));
    let item = t.stored_item(&user_id).await;
    let hash = item["password_hash"].as_s().unwrap();
    assert!(hash.starts_with("$argon2id$") && verify_password(hash, "correct horse"));
    assert_eq!(item["username"].as_s().unwrap(), "Pretty_Girl");
    // The same user every dialect shows: Deepin finds it by its login name.
    let found = t
        .app
        .users
        .find(&shared::lookup::Identify::parse("pretty_girl").unwrap())
        .await
        .unwrap();
    assert_eq!(found.user_id, user_id);
}

#[tokio::test]
async fn a_taken_or_invalid_value_is_400_naming_the_field_and_creates_nothing() {
    let t = TestApp::new().await;
    register(
        &t,
        json!({"username": "taken", "password": "correct horse"}),
    )
    .send(register_username)
    .await;
    let before = t.all_items().await.len();
    for (body, field) in [
        (
            json!({"username": "TAKEN", "password": "correct horse"}),
            "username",
        ),
        (
            json!({"username": "12345", "password": "correct horse"}),
            "username",
        ),
        (
            json!({"username": "a@b", "password": "correct horse"}),
            "username",
        ),
        (
            json!({"username": "fresh", "password": "short"}),
            "password",
        ),
        (json!({"username": "fresh"}), "password"),
        (json!({"password": "correct horse"}), "username"),
        (
            json!({"username": "fresh", "password": "correct horse", "nickname": "x"}),
            "nickname",
        ),
        (json!("fresh"), "body"),
    ] {
        let r = register(&t, body.clone()).send(register_username).await;
        r.assert_minapp_error(400, field);
    }
    assert_eq!(t.all_items().await.len(), before, "nothing created");
}

#[tokio::test]
async fn twenty_concurrent_sign_ups_of_one_name_in_different_cases_create_exactly_one_user() {
    let t = TestApp::new().await;
    let names: Vec<String> = (0..20)
        .map(|i| {
            "racer"
                .chars()
                .enumerate()
                .map(|(j, c)| {
                    if (i >> j) & 1 == 1 {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect::<String>()
        })
        .collect();
    let responses = join_all(names.iter().map(|name| {
        register(&t, json!({"username": name, "password": "correct horse"})).send(register_username)
    }))
    .await;
    let statuses: BTreeMap<u16, usize> = responses.iter().fold(BTreeMap::new(), |mut m, r| {
        *m.entry(r.status).or_default() += 1;
        m
    });
    assert_eq!(
        statuses,
        BTreeMap::from([(201, 1), (400, 19)]),
        "{responses:?}"
    );
    for r in responses.iter().filter(|r| r.status == 400) {
        r.assert_minapp_error(400, "username: is already taken");
    }
    // Audit the whole table: one user, one guard pointing at it, the user has its IM identity,
    // one sign-up record (the losers' transactions wrote none).
    let items = t.all_items().await;
    let pk = |i: &StoredItem| i["pk"].as_s().unwrap().clone();
    let sk = |i: &StoredItem| i["sk"].as_s().unwrap().clone();
    let users: Vec<_> = items
        .iter()
        .filter(|i| pk(i).starts_with("USER#") && sk(i) == "USER")
        .collect();
    let records: Vec<_> = items
        .iter()
        .filter(|i| sk(i).starts_with("AUDIT#"))
        .collect();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["event"].as_s().unwrap(), "sign_up");
    let guards: Vec<_> = items
        .iter()
        .filter(|i| i["sk"].as_s().unwrap() == "GUARD")
        .collect();
    assert_eq!(users.len(), 1, "{items:?}");
    assert_eq!(guards.len(), 1, "{items:?}");
    let user_id = users[0]["user_id"].as_s().unwrap();
    assert_eq!(guards[0]["user_id"].as_s().unwrap(), user_id);
    assert_eq!(pk(guards[0]), "USERNAME#racer");
    for attribute in ["im_userid", "im_username", "im_password", "password_hash"] {
        assert!(users[0].contains_key(attribute), "{attribute}");
    }
}

#[tokio::test]
async fn with_public_sign_up_off_no_one_signs_up_and_nothing_is_stored() {
    let t = TestApp::with_config(|c| c.public_signup = false).await;
    let r = register(
        &t,
        json!({"username": "Pretty_Girl", "password": "correct horse"}),
    )
    .send(register_username)
    .await;
    assert_eq!(
        (r.status, &r.body),
        (
            403,
            &json!({"status": "error", "error_msg": "sign-up is closed: this app creates its users itself"})
        )
    );
    assert!(t.all_items().await.is_empty(), "nothing stored");
}

#[tokio::test]
async fn sign_ups_are_limited_per_source_ip_taken_names_included() {
    let t = TestApp::with_config(|c| {
        c.limits.signup_ip = shared::limits::Limit::new(2, 3600);
    })
    .await;
    let from = |ip: &str, name: &str| {
        register(&t, json!({"username": name, "password": "correct horse"})).source_ip(ip)
    };
    assert_eq!(
        from("198.51.100.7", "first")
            .send(register_username)
            .await
            .status,
        201
    );
    // Asking whether a name is taken counts too.
    from("198.51.100.7", "FIRST")
        .send(register_username)
        .await
        .assert_minapp_error(400, "username");
    let r = from("198.51.100.7", "second").send(register_username).await;
    r.assert_minapp_error(429, "Too many attempts: try again in ");
    let seconds: i64 = r.retry_after.as_deref().unwrap().parse().unwrap();
    assert!((1..=3600).contains(&seconds), "{seconds}");
    assert!(
        t.all_items()
            .await
            .iter()
            .all(|i| i["pk"].as_s().unwrap() != "USERNAME#second")
    );
    assert_eq!(
        from("203.0.113.9", "second")
            .send(register_username)
            .await
            .status,
        201
    );
}
