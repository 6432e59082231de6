use shared::testing::*;

use super::register_email;

const ROUTE: &str = "/hserve/v2.1/register/email/";

fn register(t: &TestApp, body: serde_json::Value) -> TestRequest<Registrant> {
    t.call(MinApp.register().created(), Method::POST, ROUTE)
        .json(&body)
}

#[tokio::test]
async fn sign_up_by_email_answers_201_with_a_token_and_refuses_a_taken_or_invalid_one() {
    let t = TestApp::new().await;
    let r = register(
        &t,
        json!({"email": "Pg@Fake.com", "password": "correct horse"}),
    )
    .send(register_email)
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["_email"], "Pg@Fake.com");
    assert_eq!(r.body["_email_verified"], false);
    assert!(r.body["id"].as_i64().unwrap() > 0);
    assert!(
        t.app
            .tokens()
            .verify_token(r.body["token"].as_str().unwrap())
            .is_ok()
    );
    let r = register(
        &t,
        json!({"email": "pg@FAKE.COM", "password": "correct horse"}),
    )
    .send(register_email)
    .await;
    r.assert_minapp_error(400, "email: is already taken");
    let r = register(&t, json!({"email": "nope", "password": "correct horse"}))
        .send(register_email)
        .await;
    r.assert_minapp_error(400, "email");
}
