use shared::testing::*;

use super::info;

const ROUTE: &str = "/server/user/info/{user_id}";

#[tokio::test]
async fn info_returns_the_public_view_only() {
    let t = TestApp::new().await;
    t.given_user("user-1", "用户", &[("age", "18")]).await;
    let stored = t.stored("user-1").await.unwrap();
    let r = t
        .server(Method::GET, ROUTE)
        .param("user_id", "user-1")
        .send(info)
        .await;
    let data = r.assert_ok();
    assert_eq!(
        data,
        &json!({
            "user_id": "user-1",
            "nick": "用户",
            "avatar": "https://img.example/user-1.png",
            "extends": {"age": "18"},
            "im_userid": stored.info.im_userid,
        })
    );
    let text = r.body.to_string();
    assert!(!text.contains("im_password") && !text.contains(&stored.im_password));
    assert!(!text.contains("im_username"));
}

#[tokio::test]
async fn unknown_user_is_404() {
    let t = TestApp::new().await;
    let r = t
        .server(Method::GET, ROUTE)
        .param("user_id", "nobody")
        .send(info)
        .await;
    r.assert_error(404, 404, "user not found: nobody");
}

#[tokio::test]
async fn user_ids_are_case_sensitive() {
    let t = TestApp::new().await;
    t.given_user("Alice", "A", &[]).await;
    t.server(Method::GET, ROUTE)
        .param("user_id", "Alice")
        .send(info)
        .await
        .assert_ok();
    t.server(Method::GET, ROUTE)
        .param("user_id", "alice")
        .send(info)
        .await
        .assert_error(404, 404, "alice");
}

#[tokio::test]
async fn invalid_path_id_is_400_naming_user_id() {
    let t = TestApp::new().await;
    let r = t
        .server(Method::GET, ROUTE)
        .param("user_id", "with space")
        .send(info)
        .await;
    r.assert_error(400, 400, "user_id: must not contain whitespace");
}

#[tokio::test]
async fn python_sdk_style_get_with_default_content_type_is_accepted() {
    // QiniuMacRequestsAuth adds Content-Type: application/x-www-form-urlencoded to bodiless GETs.
    let t = TestApp::new().await;
    t.given_user("py", "p", &[]).await;
    let r = t
        .server(Method::GET, ROUTE)
        .param("user_id", "py")
        .raw_body("", "application/x-www-form-urlencoded")
        .send(info)
        .await;
    assert_eq!(r.assert_ok()["user_id"], "py");
}

#[tokio::test]
async fn wrong_secret_is_401() {
    let t = TestApp::new().await;
    let forged = Signing::Qiniu {
        ak: TEST_AK.into(),
        sk: "guess".into(),
        date: None,
    };
    let r = t
        .server(Method::GET, ROUTE)
        .param("user_id", "x")
        .signing(forged)
        .send(info)
        .await;
    r.assert_error(401, 401, "signature does not match");
}

#[tokio::test]
async fn qbox_reads_pass_only_where_unsigned_dates_are_allowed() {
    let qbox = Signing::QBox {
        ak: TEST_AK.into(),
        sk: TEST_SK.into(),
    };
    // The default requires a signed X-Qiniu-Date, which QBox cannot carry.
    let strict = TestApp::new().await;
    strict.given_user("alice", "Alice", &[]).await;
    strict
        .server(Method::GET, ROUTE)
        .param("user_id", "alice")
        .signing(qbox.clone())
        .send(info)
        .await
        .assert_error(401, 401, "requires a signed X-Qiniu-Date");
    let lenient = TestApp::with_config(|c| c.require_qiniu_date = false).await;
    lenient.given_user("alice", "Alice", &[]).await;
    let r = lenient
        .server(Method::GET, ROUTE)
        .param("user_id", "alice")
        .signing(qbox)
        .send(info)
        .await;
    assert_eq!(r.assert_ok()["user_id"], "alice");
}
