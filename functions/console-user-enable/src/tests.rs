use shared::testing::*;
use shared::user::User;

use super::user_enable;

const ROUTE: &str = "/console/users/{id}/disabled";

#[tokio::test]
async fn enabling_lets_the_same_token_work_again() {
    let t = TestApp::new().await;
    t.given_user("u1", "n", &[]).await;
    let uid = t.stored("u1").await.unwrap().info.im_userid;
    let session = t.session("u1", shared::clock::now_ms());
    t.app.users.table().set_disabled("u1", None).await.unwrap();
    assert!(t.client_of(&session).own::<User>().await.is_err());
    let admin = t.console_login("admin", Role::Admin).await;
    let viewer = t.console_login("viewer", Role::Viewer).await;
    let enable = || {
        t.call(MinApp.console(), Method::DELETE, ROUTE)
            .param("id", &uid.to_string())
    };
    enable()
        .console(&viewer)
        .send(user_enable)
        .await
        .assert_minapp_error(403, "this needs the admin role");
    assert!(t.client_of(&session).own::<User>().await.is_err());
    let r = enable().console(&admin).send(user_enable).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, json!({"disabled": false}));
    assert!(t.client_of(&session).own::<User>().await.is_ok());
}
