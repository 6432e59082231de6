use shared::testing::*;

use super::operator_add;

const ROUTE: &str = "/console/operators";

fn add(t: &TestApp, body: serde_json::Value) -> TestRequest<Operator> {
    t.call(MinApp.console().created(), Method::POST, ROUTE)
        .json(&body)
}

#[tokio::test]
async fn an_admin_adds_an_operator_who_can_then_log_in() {
    let t = TestApp::new().await;
    let admin = t.console_login("admin", Role::Admin).await;
    let r = add(
        &t,
        json!({"username": "ann", "password": "ann-password", "role": "viewer"}),
    )
    .console(&admin)
    .send(operator_add)
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["username"], "ann");
    assert_eq!(r.body["role"], "viewer");
    let console = shared::console::Console::new(&t.app.users, t.app.console_keys(), None);
    let (view, _) = console
        .log_in(&json!({"username": "ann", "password": "ann-password"}))
        .await
        .unwrap();
    assert_eq!(view.role, Role::Viewer);
    // The same name again: 400.
    add(
        &t,
        json!({"username": "ann", "password": "ann-password", "role": "viewer"}),
    )
    .console(&admin)
    .send(operator_add)
    .await
    .assert_minapp_error(400, "username");
}

#[tokio::test]
async fn bad_input_names_the_field_and_non_admins_are_refused() {
    let t = TestApp::new().await;
    let admin = t.console_login("admin", Role::Admin).await;
    let editor = t.console_login("editor", Role::Editor).await;
    for (body, field) in [
        (
            json!({"username": "a b", "password": "long-enough", "role": "viewer"}),
            "username",
        ),
        (
            json!({"username": "bob", "password": "short", "role": "viewer"}),
            "password",
        ),
        (
            json!({"username": "bob", "password": "long-enough", "role": "root"}),
            "role",
        ),
    ] {
        add(&t, body)
            .console(&admin)
            .send(operator_add)
            .await
            .assert_minapp_error(400, field);
    }
    add(
        &t,
        json!({"username": "bob", "password": "long-enough", "role": "admin"}),
    )
    .console(&editor)
    .send(operator_add)
    .await
    .assert_minapp_error(403, "this needs the admin role");
}
