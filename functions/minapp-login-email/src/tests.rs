use shared::account::AccountField;
use shared::testing::*;

use super::login_email;

const ROUTE: &str = "/hserve/v2.1/login/email/";

#[tokio::test]
async fn the_email_signs_in_and_a_wrong_password_is_the_generic_400() {
    let t = TestApp::new().await;
    let up = t
        .given_sign_up(AccountField::Email, "Pg@Fake.com", "correct horse")
        .await;
    let login = |body: serde_json::Value| {
        t.call(MinApp.public().created(), Method::POST, ROUTE)
            .json(&body)
    };
    let r = login(json!({"email": "pg@FAKE.COM", "password": "correct horse"}))
        .send(login_email)
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
        json!({"email": "pg@FAKE.COM", "password": "wrong horse"}),
        json!({"email": "nobody@fake.com", "password": "wrong horse"}),
    ] {
        let r = login(body).send(login_email).await;
        assert_eq!(
            (r.status, r.body),
            (
                400,
                json!({"status": "error", "error_msg": "Invalid username/email or password."})
            )
        );
    }
}
