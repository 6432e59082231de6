use shared::testing::*;

use super::users_get;

const ROUTE: &str = "/v1/users/{identify}";

async fn lookup(t: &TestApp, identify: &str) -> TestResponse {
    t.call(Deepin.lookup(), Method::GET, ROUTE)
        .param("identify", identify)
        .send(users_get)
        .await
}

async fn signed_lookup(t: &TestApp, identify: &str) -> TestResponse {
    t.call(Deepin.lookup(), Method::GET, ROUTE)
        .param("identify", identify)
        .signed()
        .send(users_get)
        .await
}

fn unknown(r: &TestResponse) {
    assert_eq!(
        (r.status, &r.body),
        (404, &json!({"message": "Invaild User Name"}))
    );
}

#[tokio::test]
async fn a_user_is_found_by_email_uid_and_login_name_in_any_case() {
    let t = TestApp::new().await;
    t.given_user(
        "qiniu-1",
        "Iceyer",
        &[("website", "https://iceyer.example")],
    )
    .await;
    t.given_account("qiniu-1", Some("Iceyer"), Some("Iceyers@Gmail.com"))
        .await;
    let uid = t.stored("qiniu-1").await.unwrap().info.im_userid;
    let expected = json!({
        "uid": uid,
        "username": "Iceyer",
        "nickname": "Iceyer",
        "avatar": "https://img.example/qiniu-1.png",
        "profile_image": "https://img.example/qiniu-1.png",
        "website": "https://iceyer.example",
        "signature": ""
    });
    for identify in [
        "iceyers@gmail.com".to_string(),
        uid.to_string(),
        "ICEYER".to_string(),
    ] {
        let r = lookup(&t, &identify).await;
        assert_eq!((r.status, &r.body), (200, &expected), "{identify}");
        assert!(!r.body.to_string().contains("Gmail"), "never an email");
    }
}

#[tokio::test]
async fn the_string_id_finds_no_one_even_for_a_signed_caller() {
    let t = TestApp::new().await;
    t.given_user("qiniu-1", "Iceyer", &[]).await;
    t.given_account("qiniu-1", Some("Iceyer"), None).await;
    unknown(&lookup(&t, "qiniu-1").await);
    unknown(&signed_lookup(&t, "qiniu-1").await);
}

#[tokio::test]
async fn a_username_chosen_to_equal_a_string_id_finds_its_holder_never_the_id() {
    let t = TestApp::new().await;
    t.given_user("13800138000", "victim", &[]).await;
    t.given_user("hs_attacker", "attacker", &[]).await;
    t.given_account("hs_attacker", Some("victim-name"), None)
        .await;
    t.given_user("victim-name", "the real one", &[]).await;
    let r = signed_lookup(&t, "victim-name").await;
    assert_eq!(
        (r.status, r.body["nickname"].as_str()),
        (200, Some("attacker"))
    );
    // Digits that are no uid are not a string id either.
    unknown(&signed_lookup(&t, "13800138000").await);
}

#[tokio::test]
async fn a_user_without_a_username_is_unknown_to_strangers_and_has_an_empty_username() {
    let t = TestApp::new().await;
    t.given_user("13800138000", "registered by the app server", &[])
        .await;
    let uid = t.stored("13800138000").await.unwrap().info.im_userid;
    // A stranger walking the uids: the same 404 as for a uid nobody has.
    unknown(&lookup(&t, &uid.to_string()).await);
    unknown(&lookup(&t, &(uid + 1000).to_string()).await);
    // A signed caller sees it, and its string id is never shown as a username.
    let r = signed_lookup(&t, &uid.to_string()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["username"], "");
    // So does a client with a token while lookups are public.
    let with_token = t
        .call(Deepin.lookup(), Method::GET, ROUTE)
        .param("identify", &uid.to_string())
        .header(
            "access-token",
            &client_token("13800138000", TOKEN_SECRET, shared::clock::now() + 60),
        )
        .send(users_get)
        .await;
    assert_eq!(with_token.status, 200, "{}", with_token.body);
}

#[tokio::test]
async fn credentials_offered_to_public_lookups_must_be_valid() {
    let t = TestApp::new().await;
    t.given_user("u1", "n", &[]).await;
    t.given_account("u1", Some("ann"), None).await;
    let r = t
        .call(Deepin.lookup(), Method::GET, ROUTE)
        .param("identify", "ann")
        .header("access-token", "not-a-token")
        .send(users_get)
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
}

#[tokio::test]
async fn unknown_is_404_with_the_documented_body() {
    let t = TestApp::new().await;
    for identify in ["nobody", "nobody@example.org", "424242"] {
        let r = lookup(&t, identify).await;
        unknown(&r);
        assert_eq!(
            r.content_type.as_deref(),
            Some("application/json; charset=utf-8")
        );
    }
}

#[tokio::test]
async fn closed_lookups_take_a_client_token_or_a_server_signature() {
    let t = TestApp::with_config(|c| c.deepin_public_lookup = false).await;
    t.given_user("u1", "n", &[]).await;
    t.given_account("u1", Some("ann"), None).await;
    let r = lookup(&t, "ann").await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body, json!({"message": "missing Access-Token header"}));
    let with_token = t
        .call(Deepin.lookup(), Method::GET, ROUTE)
        .param("identify", "ann")
        .token("u1")
        .send(users_get)
        .await;
    assert_eq!(with_token.status, 200);
    let signed = signed_lookup(&t, "ann").await;
    assert_eq!(signed.status, 200, "{}", signed.body);
    assert_eq!(
        signed.body["username"], "ann",
        "Deepin's shape, not an envelope"
    );
}

#[tokio::test]
async fn anonymous_lookups_are_limited_per_source_ip_with_a_429_in_deepin_form() {
    let (t, trips) = TestApp::counting_round_trips_with(|c| {
        c.limits.lookup_ip = shared::limits::Limit::new(2, 60);
    })
    .await;
    t.given_user("qiniu-1", "Iceyer", &[]).await;
    t.given_account("qiniu-1", Some("Iceyer"), None).await;
    trips.take();
    let from = |ip: &str, identify: &str| {
        t.call(Deepin.lookup(), Method::GET, ROUTE)
            .param("identify", identify)
            .source_ip(ip)
    };
    for identify in ["iceyer", "nobody"] {
        let r = from("198.51.100.7", identify).send(users_get).await;
        assert!(matches!(r.status, 200 | 404), "{}", r.body);
        let mut calls = trips.take();
        calls.sort();
        // A name: the guard and the user id in one BatchGetItem, the holder's GetItem.
        let mut expected = vec!["BatchGetItem", "UpdateItem"];
        if identify == "iceyer" {
            expected.insert(1, "GetItem");
        }
        assert_eq!(
            calls, expected,
            "{identify}: the limit's UpdateItem beside the lookup's reads"
        );
    }
    // Past the limit: 429 whatever the lookup would find, with Retry-After.
    for identify in ["iceyer", "nobody"] {
        let r = from("198.51.100.7", identify).send(users_get).await;
        let seconds: i64 = r
            .retry_after
            .as_deref()
            .expect("Retry-After")
            .parse()
            .unwrap();
        assert!((1..=60).contains(&seconds), "{seconds}");
        assert_eq!(r.status, 429);
        assert_eq!(
            r.body,
            json!({"message": format!("Too many attempts: try again in {seconds} seconds.")})
        );
    }
    // Another address has its own count.
    assert_eq!(
        from("203.0.113.9", "iceyer").send(users_get).await.status,
        200
    );
}
