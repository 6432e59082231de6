use shared::account::AccountField;
use shared::testing::*;
use shared::user::UserProfile;

use super::session_destroy;

const ROUTE: &str = "/hserve/v2.0/session/destroy/";

fn destroy(t: &TestApp, authorization: &str) -> TestRequest<Session> {
    t.call(MinApp.client().created(), Method::POST, ROUTE)
        .authorization(Some(authorization))
}

#[tokio::test]
async fn logout_answers_minapps_words_and_voids_every_earlier_token_of_the_user() {
    let t = TestApp::new().await;
    let first = t
        .given_sign_up(AccountField::Username, "dora", "correct horse")
        .await;
    let session = t.app.tokens().session(&first.token).unwrap();
    let r = destroy(&t, &format!("Hydrogen-r1 {}", first.token))
        .send(session_destroy)
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"message": "Destroy succeed.", "status": "ok"})
    );
    // The same token, in any of its forms, is now refused; the profile read says so.
    for authorization in [
        format!("Hydrogen-r1 {}", first.token),
        format!("Bearer {}", first.token),
        first.token.clone(),
    ] {
        let r = destroy(&t, &authorization).send(session_destroy).await;
        r.assert_minapp_error(401, "token revoked");
    }
    assert!(matches!(
        t.client_of(&session).own::<UserProfile>().await,
        Err(shared::error::ApiError::Unauthorized(_))
    ));
    // A token issued after the logout works (a Bearer one this time), and can log out too.
    let again = t
        .sessions()
        .log_in(
            &shared::session::Credentials::log_in(
                AccountField::Username,
                &json!({"username": "dora", "password": "correct horse"}),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    let r = destroy(&t, &format!("Bearer {}", again.token))
        .send(session_destroy)
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
}

#[tokio::test]
async fn no_or_a_bad_token_is_401_and_a_token_of_no_user_has_nothing_to_void() {
    let t = TestApp::new().await;
    let r = t
        .call(MinApp.client().created(), Method::POST, ROUTE)
        .send(session_destroy)
        .await;
    r.assert_minapp_error(401, "missing Authorization");
    let r = destroy(&t, "Hydrogen-r1 garbage")
        .send(session_destroy)
        .await;
    r.assert_minapp_error(401, "malformed token");
    let ghost = client_token("ghost", TOKEN_SECRET, shared::users::now() + 60);
    let r = destroy(&t, &format!("Hydrogen-r1 {ghost}"))
        .send(session_destroy)
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(t.all_items().await.is_empty(), "no user created");
}
