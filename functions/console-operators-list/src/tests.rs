use shared::testing::*;

use super::operators_list;

const ROUTE: &str = "/console/operators";

#[tokio::test]
async fn admins_list_the_operators_without_their_hashes_and_others_may_not() {
    let t = TestApp::new().await;
    let admin = t.console_login("admin", Role::Admin).await;
    let editor = t.console_login("editor", Role::Editor).await;
    let list = || t.call(MinApp.console(), Method::GET, ROUTE);
    let r = list().console_cookie(&admin).send(operators_list).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let objects = r.body["objects"].as_array().unwrap();
    let names: Vec<_> = objects
        .iter()
        .map(|o| o["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "editor"]);
    assert_eq!(objects[1]["role"], "editor");
    assert!(objects[0]["created_at"].as_i64().unwrap() > 0);
    assert!(!r.body.to_string().contains("argon2"), "never a hash");
    list()
        .console_cookie(&editor)
        .send(operators_list)
        .await
        .assert_minapp_error(403, "this needs the admin role");
}
