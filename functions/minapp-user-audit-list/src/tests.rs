use shared::account::{Account, AccountField, AccountUpdate};
use shared::endpoint::Call;
use shared::error::ApiResult;
use shared::session::{Credentials, SignedIn};
use shared::testing::*;

use super::user_audit_list;

const ROUTE: &str = "/userve/v2.2/miniapp/user/audit/{id}/";
const PASSWORD: &str = "correct horse battery";
const FORCED: &str = "forced staple 1234";

// The handlers of the endpoints whose records are read here, as their main.rs have them.
async fn register_username(call: Call<Registrant>) -> ApiResult<SignedIn> {
    let credentials = Credentials::sign_up(AccountField::Username, &call.json()?)?;
    call.sign_up(&credentials).await
}
async fn login_username(call: Call<Anonymous>) -> ApiResult<SignedIn> {
    let credentials = Credentials::log_in(AccountField::Username, &call.json()?)?;
    call.log_in(&credentials).await
}
async fn account_update(call: Call<Server>) -> ApiResult<Account> {
    let uid = call.path_number("id")?;
    let update = AccountUpdate::from_json(&call.json()?)?;
    call.users().change_account(uid, &update).await
}

fn list(t: &TestApp, id: i64) -> TestRequest<Server> {
    t.minapp(Method::GET, ROUTE).param("id", &id.to_string())
}

fn anonymous(t: &TestApp, route: &str, body: serde_json::Value) -> TestRequest<Anonymous> {
    t.call(MinApp.public().created(), Method::POST, route)
        .json(&body)
        .as_api_gateway()
        .of_function("minapp-login-username")
}

fn sign_up(t: &TestApp, body: serde_json::Value) -> TestRequest<Registrant> {
    t.call(
        MinApp.register().created(),
        Method::POST,
        "/hserve/v2.1/register/username/",
    )
    .json(&body)
    .as_api_gateway()
    .of_function("minapp-register-username")
}

#[tokio::test]
async fn sign_up_logins_and_a_forced_password_are_recorded_and_listed_newest_first() {
    let t = TestApp::new().await;
    let up = sign_up(&t, json!({"username": "Ann", "password": PASSWORD}))
        .header("x-reqid", "client-1")
        .send(register_username)
        .await;
    assert_eq!(up.status, 201, "{}", up.body);
    let uid = up.body["id"].as_i64().unwrap();
    let token = up.body["token"].as_str().unwrap().to_string();
    let login = |password: &str| {
        anonymous(
            &t,
            "/hserve/v2.1/login/username/",
            json!({"username": "ann", "password": password}),
        )
    };
    assert_eq!(login(PASSWORD).send(login_username).await.status, 201);
    assert_eq!(login("wrong guess").send(login_username).await.status, 400);
    let forced = t
        .minapp(Method::PUT, "/userve/v2.2/miniapp/user/account/{id}/")
        .param("id", &uid.to_string())
        .json(&json!({"new_password": FORCED, "email": "ann@example.org"}))
        .as_api_gateway()
        .of_function("minapp-user-account-update")
        .send(account_update)
        .await;
    assert_eq!(forced.status, 200, "{}", forced.body);

    let r = list(&t, uid).send(user_audit_list).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let objects = r.body["objects"].as_array().unwrap();
    let events: Vec<(&str, &str)> = objects
        .iter()
        .map(|o| (o["event"].as_str().unwrap(), o["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        events,
        [
            ("account_changed", "success"),
            ("login", "failure"),
            ("login", "success"),
            ("sign_up", "success"),
        ],
        "newest first"
    );
    let [changed, failed, _, signed_up] = objects.as_slice() else {
        unreachable!()
    };
    // Who forced the password: the server's access key, and which fields (never values).
    assert_eq!(changed["caller"], "signature");
    assert_eq!(changed["caller_id"], TEST_AK);
    assert_eq!(changed["detail"], "email,password");
    assert_eq!(
        changed["route"],
        "PUT /userve/v2.2/miniapp/user/account/{id}/"
    );
    // Both ids, apart: API Gateway's, and the client's own X-Reqid.
    assert_eq!(signed_up["request_id"], "gateway-request-id");
    assert_eq!(signed_up["client_reqid"], "client-1");
    assert_eq!(failed["caller"], "anonymous");
    assert!(failed.get("client_reqid").is_none());
    for o in objects {
        assert_eq!(o["source_ip"], "192.0.2.1", "{o}");
        let ttl = o["expires_at"].as_i64().unwrap() - o["at_ms"].as_i64().unwrap() / 1000;
        assert_eq!(ttl, 180 * 86_400, "AUDIT_TTL_DAYS' default");
    }
    assert_eq!(
        r.body["meta"],
        json!({"limit": 20, "next": null, "previous": null})
    );
    // Nothing secret in any record: no password, hash or token.
    let hash = t.stored_item(signed_up_user(&t, uid).await.as_str()).await["password_hash"]
        .as_s()
        .unwrap()
        .clone();
    let records: Vec<_> = t
        .all_items()
        .await
        .into_iter()
        .filter(|i| i["sk"].as_s().unwrap().starts_with("AUDIT#"))
        .collect();
    assert_eq!(records.len(), 4);
    let (stored, listed) = (format!("{records:?}"), r.body.to_string());
    for secret in [
        PASSWORD,
        FORCED,
        "wrong guess",
        hash.as_str(),
        token.as_str(),
    ] {
        assert!(!listed.contains(secret), "{secret} listed");
        assert!(!stored.contains(secret), "{secret} stored");
    }
}

/// The `user_id` of the user with numeric id `uid`.
async fn signed_up_user(t: &TestApp, uid: i64) -> String {
    t.app.users.imusers(&[uid]).await.unwrap()[0]
        .user_id
        .clone()
}

#[tokio::test]
async fn a_failed_login_for_a_name_nobody_holds_is_recorded_under_the_name_at_the_same_cost() {
    let (t, trips) = TestApp::counting_round_trips().await;
    t.given_sign_up(AccountField::Username, "known", PASSWORD)
        .await;
    trips.take();
    for name in ["known", "unknown"] {
        let r = anonymous(
            &t,
            "/hserve/v2.1/login/username/",
            json!({"username": name, "password": "wrong guess"}),
        )
        .send(login_username)
        .await;
        assert_eq!(r.status, 400);
        assert_eq!(
            trips.take().last().map(String::as_str),
            Some("PutItem"),
            "{name}: one record either way"
        );
    }
    let partitions: Vec<String> = t
        .all_items()
        .await
        .into_iter()
        .filter(|i| i["sk"].as_s().unwrap().starts_with("AUDIT#"))
        .filter(|i| i["outcome"].as_s().unwrap() == "failure")
        .map(|i| i["pk"].as_s().unwrap().clone())
        .collect();
    assert_eq!(partitions.len(), 2, "{partitions:?}");
    assert!(partitions.contains(&"LOGIN#USERNAME#unknown".to_string()));
    assert!(partitions.iter().any(|pk| pk.starts_with("USER#hs_")));
}

#[tokio::test]
async fn pages_follow_the_cursor_of_next() {
    let (t, trips) = TestApp::counting_round_trips().await;
    t.given_user("u1", "n", &[]).await;
    let uid = t.stored("u1").await.unwrap().info.im_userid;
    for nick in ["a", "b", "c", "d"] {
        let update = shared::user::UserUpdate::from_json(&json!({"nick": nick})).unwrap();
        t.app.users.update("u1", update).await.unwrap();
    }
    trips.take();
    let mut seen = Vec::new();
    let mut request = list(&t, uid).query("limit", "2");
    loop {
        let r = request.send(user_audit_list).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(trips.take(), ["Query", "Query"], "the index, the partition");
        for o in r.body["objects"].as_array().unwrap() {
            seen.push(o["event"].as_str().unwrap().to_string());
        }
        let Some(next) = r.body["meta"]["next"].as_str() else {
            break;
        };
        assert!(next.starts_with(&format!(
            "/userve/v2.2/miniapp/user/audit/{uid}/?limit=2&cursor="
        )));
        let cursor = next.rsplit("cursor=").next().unwrap().replace("%23", "#");
        request = list(&t, uid).query("limit", "2").query("cursor", &cursor);
    }
    assert_eq!(
        seen,
        ["updated", "updated", "updated", "updated", "registered"]
    );
}

#[tokio::test]
async fn bad_input_is_a_400_naming_it_and_an_unknown_id_a_404() {
    let t = TestApp::new().await;
    t.given_user("u1", "n", &[]).await;
    let uid = t.stored("u1").await.unwrap().info.im_userid;
    for (name, value) in [
        ("limit", "0"),
        ("limit", "101"),
        ("limit", "x"),
        ("cursor", "AUDIT#1"),
    ] {
        let r = list(&t, uid).query(name, value).send(user_audit_list).await;
        r.assert_minapp_error(400, &format!("{name}:"));
    }
    list(&t, 999_999)
        .send(user_audit_list)
        .await
        .assert_minapp_error(404, "user not found");
    // Server credentials only.
    let r = t
        .call(MinApp.server(), Method::GET, ROUTE)
        .param("id", &uid.to_string())
        .authorization(None)
        .send(user_audit_list)
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
}
