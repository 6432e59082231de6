use shared::testing::*;

use super::user_lookup;

const ROUTE: &str = "/console/users/lookup";

#[tokio::test]
async fn an_account_value_finds_its_user_in_any_case_or_form_for_any_role() {
    let (t, trips) = TestApp::counting_round_trips().await;
    let uid = t.given_minapp_user("u1", json!({"level": 7})).await;
    t.given_minapp_user("u2", json!({})).await;
    t.given_account("u1", Some("Alice"), Some("Alice@Example.org"))
        .await;
    let viewer = t.console_login("viewer", Role::Viewer).await;
    for (field, value) in [
        ("username", "Alice"),
        ("username", "ALICE"),
        ("email", "alice@example.ORG"),
    ] {
        trips.take();
        let r = t
            .call(MinApp.console(), Method::GET, ROUTE)
            .query(field, value)
            .console(&viewer)
            .send(user_lookup)
            .await;
        assert_eq!(r.status, 200, "{field}={value}: {}", r.body);
        assert_eq!(r.body["id"], uid, "{}", r.body);
        assert_eq!(
            (&r.body["_username"], &r.body["level"]),
            (&json!("Alice"), &json!(7))
        );
        // The operator's session, then the guard and the user.
        let calls = trips.take();
        assert_eq!(
            calls[calls.len() - 2..],
            ["BatchGetItem", "GetItem"],
            "{calls:?}"
        );
    }
}

#[tokio::test]
async fn nobody_holding_the_value_is_404_and_a_malformed_question_400_naming_it() {
    let t = TestApp::new().await;
    t.given_minapp_user("u1", json!({})).await;
    let viewer = t.console_login("viewer", Role::Viewer).await;
    let ask = |pairs: &[(&str, &str)]| {
        let mut call = t
            .call(MinApp.console(), Method::GET, ROUTE)
            .console(&viewer);
        for (k, v) in pairs {
            call = call.query(k, v);
        }
        call
    };
    ask(&[("email", "nobody@example.org")])
        .send(user_lookup)
        .await
        .assert_minapp_error(404, "user not found");
    ask(&[])
        .send(user_lookup)
        .await
        .assert_minapp_error(400, "username, email, phone");
    ask(&[("email", "a@b.cn"), ("username", "a")])
        .send(user_lookup)
        .await
        .assert_minapp_error(400, "username, email, phone");
    ask(&[("email", "not an address")])
        .send(user_lookup)
        .await
        .assert_minapp_error(400, "email");
}

#[tokio::test]
async fn it_takes_an_operator_session() {
    let t = TestApp::new().await;
    t.call(MinApp.console(), Method::GET, ROUTE)
        .query("username", "alice")
        .send(user_lookup)
        .await
        .assert_minapp_error(401, "");
}
