use shared::testing::*;

use super::register;

const ROUTE: &str = "/server/user/register";

#[tokio::test]
async fn register_creates_the_user_with_its_im_identity() {
    let t = TestApp::new().await;
    let r = t
        .server(Method::POST, ROUTE)
        .json(&json!({"user_id": "user-1", "nick": "用户", "avatar": "http;//xxx.png", "extends": {"age": "18"}}))
        .send(register)
        .await;
    assert!(r.assert_ok().is_null(), "register returns no data");
    let stored = t.stored("user-1").await.expect("user stored");
    assert_eq!(stored.info.nick, "用户");
    assert_eq!(stored.info.avatar, "http;//xxx.png");
    assert_eq!(
        stored.info.extends.get("age").map(String::as_str),
        Some("18")
    );
    assert_eq!(stored.im_username, "qluser-1");
    assert!(stored.im_password.len() >= 16);
    assert!(stored.info.im_userid > 0);
}

#[tokio::test]
async fn register_twice_returns_10001() {
    let t = TestApp::new().await;
    let body = json!({"user_id": "twice", "nick": "first"});
    t.server(Method::POST, ROUTE)
        .json(&body)
        .send(register)
        .await
        .assert_ok();
    let again = t
        .server(Method::POST, ROUTE)
        .json(&json!({"user_id": "twice", "nick": "second"}))
        .send(register)
        .await;
    again.assert_error(400, 10001, "user already exists: twice");
    assert_eq!(
        t.stored("twice").await.unwrap().info.nick,
        "first",
        "never overwritten"
    );
}

#[tokio::test]
async fn twenty_concurrent_registrations_of_one_id_create_exactly_one() {
    let t = TestApp::new().await;
    let attempts = (0..20).map(|i| {
        t.server(Method::POST, ROUTE)
            .json(&json!({"user_id": "race", "nick": format!("n{i}")}))
            .send(register)
    });
    let responses = join_all(attempts).await;
    let codes: Vec<i64> = responses.iter().map(|r| r.code()).collect();
    assert_eq!(codes.iter().filter(|c| **c == 0).count(), 1, "{codes:?}");
    assert_eq!(
        codes.iter().filter(|c| **c == 10001).count(),
        19,
        "{codes:?}"
    );
    let winner = responses.iter().position(|r| r.code() == 0).unwrap();
    assert_eq!(
        t.stored("race").await.unwrap().info.nick,
        format!("n{winner}")
    );
}

#[tokio::test]
async fn im_userids_are_distinct_across_users() {
    let t = TestApp::new().await;
    let creates = (0..30).map(|i| {
        t.server(Method::POST, ROUTE)
            .json(&json!({"user_id": format!("u{i}")}))
            .send(register)
    });
    for r in join_all(creates).await {
        r.assert_ok();
    }
    let mut ids = Vec::new();
    for i in 0..30 {
        ids.push(t.stored(&format!("u{i}")).await.unwrap().info.im_userid);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 30);
}

#[tokio::test]
async fn invalid_bodies_name_the_field_and_store_nothing() {
    let t = TestApp::new().await;
    let cases = [
        (json!({"nick": "no id"}), "user_id: is required"),
        (
            json!({"user_id": "has space"}),
            "user_id: must not contain whitespace",
        ),
        (
            json!({"user_id": "long-nick", "nick": "n".repeat(129)}),
            "nick: must be at most 128 characters",
        ),
        (
            json!({"user_id": "bad-ext", "extends": {"age": 18}}),
            "extends.age: value must be a string",
        ),
        (
            json!(["not", "an", "object"]),
            "body: must be a JSON object",
        ),
    ];
    for (body, message) in cases {
        t.server(Method::POST, ROUTE)
            .json(&body)
            .send(register)
            .await
            .assert_error(400, 400, message);
    }
    let malformed = t
        .server(Method::POST, ROUTE)
        .raw_body("{\"user_id\": ", "application/json")
        .send(register)
        .await;
    malformed.assert_error(400, 400, "body: malformed JSON");
    let empty = t
        .server(Method::POST, ROUTE)
        .raw_body("", "application/json")
        .send(register)
        .await;
    empty.assert_error(400, 400, "body: a JSON body is required");
    for id in ["long-nick", "bad-ext"] {
        assert!(t.stored(id).await.is_none(), "{id} must not be stored");
    }
}

#[tokio::test]
async fn body_over_one_mebibyte_is_refused() {
    let t = TestApp::new().await;
    let huge = json!({"user_id": "big", "nick": "x".repeat(1024 * 1024)});
    let r = t
        .server(Method::POST, ROUTE)
        .json(&huge)
        .send(register)
        .await;
    r.assert_error(400, 400, "body: must be at most 1048576 bytes");
    assert!(t.stored("big").await.is_none());
}

#[tokio::test]
async fn bad_credentials_are_401_and_store_nothing() {
    let t = TestApp::new().await;
    let body = json!({"user_id": "intruder"});
    let unsigned = t
        .server(Method::POST, ROUTE)
        .json(&body)
        .authorization(None)
        .send(register)
        .await;
    unsigned.assert_error(401, 401, "missing Authorization header");

    let wrong_sk = Signing::Qiniu {
        ak: TEST_AK.into(),
        sk: "not-the-secret".into(),
        date: Some(shared::users::now()),
    };
    let r = t
        .server(Method::POST, ROUTE)
        .json(&body)
        .signing(wrong_sk)
        .send(register)
        .await;
    r.assert_error(401, 401, "signature does not match");

    let unknown_ak = Signing::Qiniu {
        ak: "nobody".into(),
        sk: TEST_SK.into(),
        date: None,
    };
    let r = t
        .server(Method::POST, ROUTE)
        .json(&body)
        .signing(unknown_ak)
        .send(register)
        .await;
    r.assert_error(401, 401, "unknown access key");
    assert!(!r.message().contains(TEST_SK));

    // Signed for one body, sent with another.
    let signed = t.server(Method::POST, ROUTE).json(&body).build();
    let authorization = signed.headers()["authorization"]
        .to_str()
        .unwrap()
        .to_string();
    let tampered = t
        .server(Method::POST, ROUTE)
        .json(&json!({"user_id": "intruder2"}))
        .header(
            "x-qiniu-date",
            signed.headers()["x-qiniu-date"].to_str().unwrap(),
        )
        .signing(Signing::Raw(Some(authorization)))
        .send(register)
        .await;
    tampered.assert_error(401, 401, "signature does not match");
    assert!(t.stored("intruder").await.is_none() && t.stored("intruder2").await.is_none());
}

#[tokio::test]
async fn signed_date_an_hour_old_is_403() {
    let t = TestApp::new().await;
    let stale = Signing::Qiniu {
        ak: TEST_AK.into(),
        sk: TEST_SK.into(),
        date: Some(shared::users::now() - 3600),
    };
    let r = t
        .server(Method::POST, ROUTE)
        .json(&json!({"user_id": "late"}))
        .signing(stale)
        .send(register)
        .await;
    r.assert_error(403, 403, "request time skew too large");
    assert!(t.stored("late").await.is_none());
}

#[tokio::test]
async fn a_rotated_key_is_accepted_and_qbox_cannot_sign_a_json_body() {
    let t = TestApp::new().await;
    // QBox signs path and query only: a QBox-signed register could carry any body, forever.
    let qbox = Signing::QBox {
        ak: TEST_AK.into(),
        sk: TEST_SK.into(),
    };
    t.server(Method::POST, ROUTE)
        .json(&json!({"user_id": "via-qbox"}))
        .signing(qbox)
        .send(register)
        .await
        .assert_error(401, 401, "QBox signature does not cover a JSON body");
    let rotated = Signing::Qiniu {
        ak: SECOND_AK.into(),
        sk: SECOND_SK.into(),
        date: Some(shared::users::now()),
    };
    t.server(Method::POST, ROUTE)
        .json(&json!({"user_id": "via-second"}))
        .signing(rotated)
        .send(register)
        .await
        .assert_ok();
    assert!(t.stored("via-qbox").await.is_none() && t.stored("via-second").await.is_some());
}

#[tokio::test]
async fn a_body_api_gateway_base64_encoded_is_decoded_before_it_is_verified_and_parsed() {
    let t = TestApp::new().await;
    t.server(Method::POST, ROUTE)
        .json(&json!({"user_id": "from-base64", "nick": "用户"}))
        .base64_body()
        .send(register)
        .await
        .assert_ok();
    assert_eq!(t.stored("from-base64").await.unwrap().info.nick, "用户");
}

#[tokio::test]
async fn a_signed_body_that_is_not_utf8_is_400_naming_the_body_and_stores_nothing() {
    let t = TestApp::new().await;
    // API Gateway hands such bodies base64-encoded; `cargo lambda watch` cannot carry them.
    let mut body = br#"{"user_id":"bin-"#.to_vec();
    body.extend_from_slice(&[0xff, 0xfe, 0x80]);
    body.extend_from_slice(br#""}"#);
    let r = t
        .server(Method::POST, ROUTE)
        .raw_body(body, "application/json")
        .base64_body()
        .send(register)
        .await;
    r.assert_error(400, 400, "body: malformed JSON");
    let scan = t.client.scan().table_name(&t.table).send().await.unwrap();
    assert!(
        scan.items()
            .iter()
            .all(|i| i["sk"].as_s().unwrap() != "USER"),
        "no user stored"
    );
}

#[tokio::test]
async fn x_reqid_is_echoed_when_sane_and_replaced_when_not() {
    let t = TestApp::new().await;
    let r = t
        .server(Method::POST, ROUTE)
        .header("x-reqid", "trace-42")
        .json(&json!({"user_id": "rq"}))
        .send(register)
        .await;
    assert_eq!(r.body["request_id"], "trace-42");
    assert_eq!(r.reqid.as_deref(), Some("trace-42"));
    for insane in [
        "x".repeat(65),
        "has space".to_string(),
        "tab\tinside".to_string(),
    ] {
        let r = t
            .server(Method::POST, ROUTE)
            .header("x-reqid", &insane)
            .json(&json!({"user_id": "rq2"}))
            .send(register)
            .await;
        let id = r.body["request_id"].as_str().unwrap();
        assert_ne!(id, insane);
        assert!(!id.is_empty() && id.len() <= 64);
        assert_eq!(r.reqid.as_deref(), Some(id));
    }
}

#[tokio::test]
async fn extends_past_the_byte_limit_is_400_showing_the_limit_and_stores_nothing() {
    let t = TestApp::new().await;
    // Nine values of 1000 quotes: 2 bytes each in JSON, about 18 KB in all.
    let extends: serde_json::Map<String, serde_json::Value> = (0..9)
        .map(|i| (format!("k{i}"), json!("\"".repeat(1000))))
        .collect();
    let r = t
        .server(Method::POST, ROUTE)
        .json(&json!({"user_id": "heavy", "extends": extends}))
        .send(register)
        .await;
    r.assert_error(400, 400, "extends: must take at most 8192 bytes as JSON");
    assert!(t.stored("heavy").await.is_none());
    // The largest map that fits is stored, with its exact size.
    let r = t
        .server(Method::POST, ROUTE)
        .json(&json!({"user_id": "heavy", "extends": largest_extends()}))
        .send(register)
        .await;
    r.assert_ok();
    assert_eq!(
        t.stored("heavy").await.unwrap().info.extends,
        largest_extends()
    );
    assert_eq!(
        t.stored_extends_bytes("heavy").await,
        Some(shared::user::EXTENDS_MAX_BYTES)
    );
}
