use shared::testing::*;

use super::users_list;

const ROUTE: &str = "/v1/users";

/// Four users: a and b share a domain, c has only a string id (registered by an app
/// server: no username), d has an account too.
async fn four(t: &TestApp) -> Vec<i64> {
    for (id, name, email) in [
        ("qa", Some("Alice"), Some("alice@corp.example")),
        ("qb", Some("Bob"), Some("bob@corp.example")),
        ("carol", None, None),
        ("qd", Some("Dave"), Some("dave@home.example")),
    ] {
        t.given_user(id, id, &[]).await;
        t.given_account(id, name, email).await;
    }
    let mut uids = Vec::new();
    for id in ["qa", "qb", "carol", "qd"] {
        uids.push(t.stored(id).await.unwrap().info.im_userid);
    }
    uids
}

fn query(t: &TestApp, pairs: &[(&str, String)]) -> TestRequest<Lookup> {
    pairs
        .iter()
        .fold(t.call(Deepin.lookup(), Method::GET, ROUTE), |r, (k, v)| {
            r.query(k, v)
        })
}

fn nicknames(r: &TestResponse) -> Vec<&str> {
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["nickname"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn values_of_one_parameter_are_alternatives_sorted_by_uid() {
    let t = TestApp::new().await;
    let uids = four(&t).await;
    // Asked in reverse order, answered by uid.
    let r = query(
        &t,
        &[("id", uids[3].to_string()), ("id", uids[0].to_string())],
    )
    .send(users_list)
    .await;
    assert_eq!(nicknames(&r), ["qa", "qd"]);
    let r = query(
        &t,
        &[
            ("username", "BOB".into()),
            ("username", "dave".into()),
            ("username", "nobody".into()),
        ],
    )
    .send(users_list)
    .await;
    assert_eq!(nicknames(&r), ["qb", "qd"]);
    let r = query(
        &t,
        &[
            ("email", "DAVE@home.example".into()),
            ("email", "alice@corp.example".into()),
        ],
    )
    .send(users_list)
    .await;
    assert_eq!(nicknames(&r), ["qa", "qd"]);
    assert!(!r.body.to_string().contains('@'), "never an email");
}

#[tokio::test]
async fn different_parameters_must_all_hold() {
    let t = TestApp::new().await;
    let uids = four(&t).await;
    let r = query(
        &t,
        &[
            ("id", uids[0].to_string()),
            ("id", uids[1].to_string()),
            ("username", "bob".into()),
            ("username", "dave".into()),
        ],
    )
    .send(users_list)
    .await;
    assert_eq!(nicknames(&r), ["qb"]);
    let r = query(
        &t,
        &[
            ("username", "alice".into()),
            ("email", "bob@corp.example".into()),
        ],
    )
    .send(users_list)
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body, json!({"message": "Invaild User Name"}));
}

#[tokio::test]
async fn at_least_one_and_at_most_100_values_each_valid() {
    let t = TestApp::new().await;
    let r = query(&t, &[]).send(users_list).await;
    assert_eq!(r.status, 400);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("at least one value")
    );
    let r = query(&t, &[("id", "x".into())]).send(users_list).await;
    assert_eq!(r.body, json!({"message": "id[0]: must be an integer uid"}));
    let many: Vec<(&str, String)> = (0..101).map(|i| ("id", i.to_string())).collect();
    let r = query(&t, &many).send(users_list).await;
    assert_eq!(r.status, 400);
    assert!(r.body["message"].as_str().unwrap().contains("at most 100"));
}

#[tokio::test]
async fn strangers_walking_the_uids_see_only_users_with_a_username() {
    let t = TestApp::new().await;
    let uids = four(&t).await;
    let walk: Vec<(&str, String)> = (uids[0]..uids[0] + 100)
        .map(|uid| ("id", uid.to_string()))
        .collect();
    let r = query(&t, &walk).send(users_list).await;
    assert_eq!(nicknames(&r), ["qa", "qb", "qd"]);
    // Only carol: the same 404 as nobody.
    let r = query(&t, &[("id", uids[2].to_string())])
        .send(users_list)
        .await;
    assert_eq!(
        (r.status, &r.body),
        (404, &json!({"message": "Invaild User Name"}))
    );
    // A string id is never a username, even signed.
    let r = query(&t, &[("username", "carol".into())])
        .signed()
        .send(users_list)
        .await;
    assert_eq!(r.status, 404);
    // A signed caller sees everyone; carol's username is "", never her string id.
    let r = query(&t, &walk).signed().send(users_list).await;
    assert_eq!(nicknames(&r), ["qa", "qb", "carol", "qd"]);
    assert_eq!(r.body[2]["username"], "");
}
