use std::collections::{BTreeMap, BTreeSet};

use shared::account::verify_password;
use shared::testing::*;

use super::register_username;

const ROUTE: &str = "/hserve/v2.1/register/username/";

fn register(t: &TestApp, body: serde_json::Value) -> TestRequest<Registrant> {
    t.call(MinApp.register().created(), Method::POST, ROUTE)
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

// --- Register with a client token (issue 19): an anonymous user's keeps its id ---

/// This app's sessions: tokens for `APP_ID`, as the deployed sign-ups issue them.
fn this_apps(t: &TestApp) -> shared::session::Sessions<'_> {
    shared::session::Sessions::new(&t.app.users, TEST_APP_ID.into(), t.app.tokens())
}

async fn anonymous_user(t: &TestApp) -> (String, shared::session::SignedIn) {
    let anonymous = this_apps(t).sign_up_anonymous().await.unwrap();
    let claims = t.app.tokens().verify_token(&anonymous.token).unwrap();
    (claims.user_id, anonymous)
}

fn user_items(items: &[StoredItem]) -> Vec<&StoredItem> {
    items
        .iter()
        .filter(|i| i["sk"].as_s().unwrap() == "USER")
        .collect()
}

#[tokio::test]
async fn an_anonymous_users_register_keeps_its_id_profile_and_custom_fields() {
    let (t, trips) = TestApp::counting_round_trips().await;
    let (user_id, anonymous) = anonymous_user(&t).await;
    assert_eq!(anonymous.user.as_value()["_anonymous"], true);
    let session = t.app.tokens().session(&anonymous.token).unwrap();
    let profile = json!({"nickname": "Ann", "level": 7, "tags": ["a"]});
    t.client_of(&session).update_info(&profile).await.unwrap();
    trips.take();
    let r = register(
        &t,
        json!({"username": "Ann_1", "password": "correct horse"}),
    )
    .hydrogen(&anonymous.token)
    .send(register_username)
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        trips.take(),
        ["UpdateItem", "GetItem", "TransactWriteItems"],
        "the source IP's limit, the caller's read, then user, guard and audit record together"
    );
    // The same user: id, string id, profile and custom fields; now registered.
    assert_eq!(r.body["id"], anonymous.user.id());
    assert_eq!(r.body["_user_id"], user_id.as_str());
    assert_eq!(r.body["_username"], "Ann_1");
    assert_eq!(r.body["_anonymous"], false);
    assert_eq!(
        (&r.body["nickname"], &r.body["level"]),
        (&json!("Ann"), &json!(7))
    );
    assert_eq!(r.body["tags"], json!(["a"]));
    let token = r.body["token"].as_str().unwrap();
    assert_eq!(t.app.tokens().verify_token(token).unwrap().user_id, user_id);
    let items = t.all_items().await;
    assert_eq!(user_items(&items).len(), 1, "no new user: {items:?}");
    let item = t.stored_item(&user_id).await;
    assert!(!item.contains_key("anonymous"), "the marker is gone");
    assert!(verify_password(
        item["password_hash"].as_s().unwrap(),
        "correct horse"
    ));
    let guard = items
        .iter()
        .find(|i| i["sk"].as_s().unwrap() == "GUARD")
        .unwrap();
    assert_eq!(guard["user_id"].as_s().unwrap(), &user_id);
    let record = items
        .iter()
        .find(|i| {
            i.get("detail")
                .and_then(|d| d.as_s().ok())
                .is_some_and(|d| d == "from_anonymous")
        })
        .expect("a sign_up record from_anonymous");
    assert_eq!(record["event"].as_s().unwrap(), "sign_up");
    assert_eq!(record["pk"].as_s().unwrap(), &format!("USER#{user_id}"));
    // It logs in now, as itself.
    let credentials = shared::session::Credentials::log_in(
        shared::account::AccountField::Username,
        &json!({"username": "ann_1", "password": "correct horse"}),
    )
    .unwrap();
    let logged_in = this_apps(&t).log_in(&credentials).await.unwrap();
    assert_eq!(logged_in.user.id(), anonymous.user.id());
    assert_eq!(logged_in.user.as_value()["_anonymous"], false);
    // The anonymous session's token again (a double submit): its user registered, so 400,
    // never a second user; the registered session's own token signs a new user up.
    let again = register(
        &t,
        json!({"username": "other", "password": "correct horse"}),
    )
    .hydrogen(&anonymous.token)
    .send(register_username)
    .await;
    again.assert_minapp_error(
        400,
        "Authorization: the anonymous user of this token has already",
    );
    assert_eq!(user_items(&t.all_items().await).len(), 1);
    let another = register(
        &t,
        json!({"username": "other", "password": "correct horse"}),
    )
    .hydrogen(token)
    .send(register_username)
    .await;
    assert_eq!(another.status, 201, "{}", another.body);
    assert_ne!(another.body["id"], anonymous.user.id());
    assert_eq!(
        t.stored_item(&user_id).await["username"].as_s().unwrap(),
        "Ann_1"
    );
}

#[tokio::test]
async fn of_concurrent_registers_with_one_anonymous_token_exactly_one_wins() {
    let t = TestApp::new().await;
    let (user_id, anonymous) = anonymous_user(&t).await;
    let names: Vec<String> = (0..4).map(|i| format!("racer_{i}")).collect();
    let responses = join_all(names.iter().map(|name| {
        register(&t, json!({"username": name, "password": "correct horse"}))
            .hydrogen(&anonymous.token)
            .send(register_username)
    }))
    .await;
    let winners: Vec<_> = responses.iter().filter(|r| r.status == 201).collect();
    assert_eq!(winners.len(), 1, "{responses:?}");
    for r in responses.iter().filter(|r| r.status != 201) {
        r.assert_minapp_error(
            400,
            "Authorization: the anonymous user of this token has already",
        );
    }
    let won = winners[0].body["_username"].as_str().unwrap();
    let items = t.all_items().await;
    assert_eq!(user_items(&items).len(), 1, "no second user: {items:?}");
    assert_eq!(
        t.stored_item(&user_id).await["username"].as_s().unwrap(),
        won
    );
    let guards: Vec<_> = items
        .iter()
        .filter(|i| i["sk"].as_s().unwrap() == "GUARD")
        .collect();
    assert_eq!(
        guards.len(),
        1,
        "the losers' guards were not written: {guards:?}"
    );
}

#[tokio::test]
async fn a_token_that_does_not_verify_or_was_revoked_is_401_and_creates_nothing() {
    let t = TestApp::new().await;
    let (user_id, anonymous) = anonymous_user(&t).await;
    let other_app = t.sessions().sign_up_anonymous().await.unwrap().token;
    let forged = client_token(
        &user_id,
        "another-secret-0123456789abcdef",
        shared::clock::now() + 3600,
    );
    let expired = t
        .app
        .tokens()
        .issue(&shared::auth::token::TokenRequest {
            app_id: TEST_APP_ID.into(),
            user_id: user_id.clone(),
            device_id: String::new(),
            expires_at: shared::clock::now() - 60,
        })
        .unwrap()
        .access_token;
    let before: Vec<StoredItem> = t.all_items().await;
    let users_before = user_items(&before).len();
    for (what, token) in [
        ("forged", &forged),
        ("expired", &expired),
        ("other APP_ID", &other_app),
    ] {
        let r = register(
            &t,
            json!({"username": "mallory", "password": "correct horse"}),
        )
        .hydrogen(token)
        .send(register_username)
        .await;
        assert_eq!(r.status, 401, "{what}: {}", r.body);
        assert_eq!(r.body["status"], "error", "{what}");
    }
    // Revoked: the anonymous user logged out.
    let session = t.app.tokens().session(&anonymous.token).unwrap();
    t.client_of(&session).log_out().await.unwrap();
    let r = register(
        &t,
        json!({"username": "mallory", "password": "correct horse"}),
    )
    .authorization(Some(&format!("Bearer {}", anonymous.token)))
    .send(register_username)
    .await;
    r.assert_minapp_error(401, "");
    let items = t.all_items().await;
    assert_eq!(user_items(&items).len(), users_before, "no user created");
    assert!(
        items.iter().all(|i| i["sk"].as_s().unwrap() != "GUARD"),
        "no guard"
    );
    let item = t.stored_item(&user_id).await;
    assert!(!item.contains_key("username") && !item.contains_key("password_hash"));
    assert_eq!(
        item["anonymous"].as_bool().unwrap(),
        &true,
        "still anonymous"
    );
}

#[tokio::test]
async fn a_registered_users_token_signs_a_new_user_up_and_so_does_a_server_made_user() {
    let (t, trips) = TestApp::counting_round_trips().await;
    let ann = register(&t, json!({"username": "ann", "password": "correct horse"}))
        .send(register_username)
        .await;
    assert_eq!(ann.status, 201, "{}", ann.body);
    trips.take();
    let r = register(
        &t,
        json!({"username": "ann_two", "password": "correct horse"}),
    )
    .hydrogen(ann.body["token"].as_str().unwrap())
    .send(register_username)
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        trips.take(),
        ["UpdateItem", "GetItem", "TransactWriteItems"],
        "the limit, the token's user (not anonymous), then a sign-up (its IM id block in hand)"
    );
    assert_ne!(r.body["id"], ann.body["id"]);
    assert_eq!(ann.body["_anonymous"], false);
    assert_eq!(r.body["_anonymous"], false);
    // A user the server API made holds no account value either, but is no anonymous user:
    // registering with its token makes a new user, and it stays as it was.
    t.given_user("server-made", "Sam", &[]).await;
    let token = t
        .app
        .tokens()
        .issue(&shared::auth::token::TokenRequest {
            app_id: TEST_APP_ID.into(),
            user_id: "server-made".into(),
            device_id: String::new(),
            expires_at: shared::clock::now() + 3600,
        })
        .unwrap()
        .access_token;
    let r = register(&t, json!({"username": "sam", "password": "correct horse"}))
        .hydrogen(&token)
        .send(register_username)
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_ne!(r.body["_user_id"], "server-made");
    assert!(!t.stored_item("server-made").await.contains_key("username"));
}
