use shared::testing::*;

use super::user_profile_get;

const ROUTE: &str = "/userve/v2.2/miniapp/user_profile/{id}/";

#[tokio::test]
async fn one_user_by_numeric_id_in_minapp_shape() {
    let t = TestApp::new().await;
    let uid = t
        .given_minapp_user(
            "u1",
            json!({"nickname": "PCG", "vip": true, "birthday": "2024-05-01"}),
        )
        .await;
    let r = t
        .minapp(Method::GET, ROUTE)
        .param("id", &uid.to_string())
        .send(user_profile_get)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["id"], uid);
    assert_eq!(r.body["nickname"], "PCG");
    assert_eq!(r.body["vip"], true);
    assert_eq!(r.body["birthday"], "2024-05-01T00:00:00.000000Z");
    assert_eq!(r.body["avatar"], "https://img.example/u1.png");
}

#[tokio::test]
async fn unknown_and_malformed_ids_are_404_and_400_in_minapp_form() {
    let t = TestApp::new().await;
    let r = t
        .minapp(Method::GET, ROUTE)
        .param("id", "987654")
        .send(user_profile_get)
        .await;
    r.assert_minapp_error(404, "user not found");
    for bad in ["abc", "0", "-1"] {
        let r = t
            .minapp(Method::GET, ROUTE)
            .param("id", bad)
            .send(user_profile_get)
            .await;
        r.assert_minapp_error(400, "id");
    }
}
