use shared::account::AccountField;
use shared::testing::*;

use super::login_phone;

const ROUTE: &str = "/hserve/v2.1/login/phone/";

#[tokio::test]
async fn the_phone_signs_in_and_a_wrong_password_is_the_generic_400() {
    let t = TestApp::new().await;
    let up = t
        .given_sign_up(AccountField::Phone, "+8613800138000", "correct horse")
        .await;
    let login = |body: serde_json::Value| {
        t.call(MinApp.public().created(), Method::POST, ROUTE)
            .json(&body)
    };
    let r = login(json!({"phone": "+8613800138000", "password": "correct horse"}))
        .send(login_phone)
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["id"], up.user.id());
    assert!(
        t.app
            .tokens()
            .verify_token(r.body["token"].as_str().unwrap())
            .is_ok()
    );
    for body in [
        json!({"phone": "+8613800138000", "password": "wrong horse"}),
        json!({"phone": "+15550000000", "password": "wrong horse"}),
    ] {
        let r = login(body).send(login_phone).await;
        assert_eq!(
            (r.status, r.body),
            (
                400,
                json!({"status": "error", "error_msg": "Invalid username/email or password."})
            )
        );
    }
}
