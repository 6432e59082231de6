use shared::testing::*;

use super::operator_update;

const ROUTE: &str = "/console/operators/{name}";

fn set_role(t: &TestApp, name: &str, role: &str) -> TestRequest<Operator> {
    t.call(MinApp.console(), Method::PUT, ROUTE)
        .param("name", name)
        .json(&json!({ "role": role }))
}

#[tokio::test]
async fn an_admin_changes_roles_but_never_demotes_the_last_admin() {
    let t = TestApp::new().await;
    let admin = t.console_login("admin", Role::Admin).await;
    t.console_login("ann", Role::Viewer).await;
    let r = set_role(&t, "ann", "admin")
        .console(&admin)
        .send(operator_update)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Two admins: one may step down; then the other is the last.
    let r = set_role(&t, "admin", "editor")
        .console(&admin)
        .send(operator_update)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ann = t.console_session_of("ann");
    set_role(&t, "ann", "viewer")
        .console(&ann)
        .send(operator_update)
        .await
        .assert_minapp_error(400, "role: the last admin");
    // The demoted admin's session is an editor's at once.
    set_role(&t, "ann", "viewer")
        .console(&admin)
        .send(operator_update)
        .await
        .assert_minapp_error(403, "this needs the admin role");
    set_role(&t, "nobody", "viewer")
        .console(&ann)
        .send(operator_update)
        .await
        .assert_minapp_error(404, "no such operator");
}
