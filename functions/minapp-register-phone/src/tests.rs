use shared::testing::*;

use super::register_phone;

const ROUTE: &str = "/hserve/v2.1/register/phone/";

fn register(t: &TestApp, body: serde_json::Value) -> TestRequest<Registrant> {
    t.call(MinApp.register().created(), Method::POST, ROUTE)
        .json(&body)
}

#[tokio::test]
async fn sign_up_by_phone_answers_201_with_a_token_and_refuses_a_taken_or_invalid_one() {
    let t = TestApp::new().await;
    let r = register(
        &t,
        json!({"phone": "+8613800138000", "password": "correct horse"}),
    )
    .send(register_phone)
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["_phone"], "+8613800138000");
    assert_eq!(r.body["_phone_verified"], false);
    assert!(r.body["id"].as_i64().unwrap() > 0);
    assert!(
        t.app
            .tokens()
            .verify_token(r.body["token"].as_str().unwrap())
            .is_ok()
    );
    let r = register(
        &t,
        json!({"phone": "+8613800138000", "password": "correct horse"}),
    )
    .send(register_phone)
    .await;
    r.assert_minapp_error(400, "phone: is already taken");
    let r = register(
        &t,
        json!({"phone": "138-0013", "password": "correct horse"}),
    )
    .send(register_phone)
    .await;
    r.assert_minapp_error(400, "phone");
}
