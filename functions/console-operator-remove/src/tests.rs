use shared::testing::*;

use super::operator_remove;

const ROUTE: &str = "/console/operators/{name}";

fn remove(t: &TestApp, name: &str) -> TestRequest<Operator> {
    t.call(MinApp.console(), Method::DELETE, ROUTE)
        .param("name", name)
}

#[tokio::test]
async fn a_removed_operator_s_session_stops_and_the_last_admin_stays() {
    let t = TestApp::new().await;
    let admin = t.console_login("admin", Role::Admin).await;
    let ann = t.console_login("ann", Role::Editor).await;
    remove(&t, "admin")
        .console(&admin)
        .send(operator_remove)
        .await
        .assert_minapp_error(400, "role: the last admin");
    let r = remove(&t, "ann")
        .console(&admin)
        .send(operator_remove)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, json!({}));
    remove(&t, "admin")
        .console(&ann)
        .send(operator_remove)
        .await
        .assert_minapp_error(401, "console session");
    remove(&t, "ann")
        .console(&admin)
        .send(operator_remove)
        .await
        .assert_minapp_error(404, "no such operator");
}
