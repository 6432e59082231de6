use shared::session::SignedIn;
use shared::testing::*;
use shared::user_profile::UserProfiles;

use super::user_info_get;

const ROUTE: &str = "/hserve/v2.5/user/info/{id}/";
const FIELDS: &str = "level:integer,diary:string:private";

fn get(t: &TestApp, caller: &SignedIn, id: &str) -> TestRequest<Session> {
    t.call(MinApp.client(), Method::GET, ROUTE)
        .param("id", id)
        .authorization(Some(&format!("Hydrogen-r1 {}", caller.token)))
}

/// Two signed-up users, each with a public `level` and a private `diary`.
async fn two(t: &TestApp) -> (SignedIn, SignedIn) {
    let (ann, bob) = t.given_ann_and_bob().await;
    for (user, level) in [(&ann, 3), (&bob, 7)] {
        let body = json!({"level": level, "diary": format!("secret of {level}")});
        UserProfiles::new(&t.app.users)
            .update(user.user.id(), &body)
            .await
            .unwrap();
    }
    (ann, bob)
}

#[tokio::test]
async fn the_caller_reads_itself_in_full_private_fields_and_account_included() {
    let (t, trips) = TestApp::counting_round_trips_with(|c| c.user_fields = FIELDS.into()).await;
    let (ann, _) = two(&t).await;
    trips.take();
    let r = get(&t, &ann, &ann.user.id().to_string())
        .send(user_info_get)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["id"], ann.user.id());
    assert_eq!(r.body["_username"], "ann");
    assert_eq!(r.body["_email_verified"], false);
    assert_eq!(
        (r.body["level"].clone(), r.body["diary"].clone()),
        (json!(3), json!("secret of 3"))
    );
    assert_eq!(
        trips.take(),
        ["Query", "GetItem"],
        "the index, then itself with the check"
    );
}

#[tokio::test]
async fn another_user_shows_only_id_nickname_avatar_and_public_fields() {
    let (t, trips) = TestApp::counting_round_trips_with(|c| c.user_fields = FIELDS.into()).await;
    let (ann, bob) = two(&t).await;
    trips.take();
    let r = get(&t, &ann, &bob.user.id().to_string())
        .send(user_info_get)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"id": bob.user.id(), "nickname": "", "avatar": "", "level": 7})
    );
    assert!(
        !r.body.to_string().contains("secret"),
        "never a private field"
    );
    assert!(
        !r.body.to_string().contains("bob@"),
        "never an account value"
    );
    assert_eq!(
        trips.take(),
        ["Query", "BatchGetItem"],
        "the index, then the user and the caller's check in one read"
    );
}

#[tokio::test]
async fn unknown_ids_are_404_and_bad_ids_400_in_minapp_form() {
    let t = TestApp::with_config(|c| c.user_fields = FIELDS.into()).await;
    let (ann, _) = two(&t).await;
    get(&t, &ann, "424242")
        .send(user_info_get)
        .await
        .assert_minapp_error(404, "user not found");
    for bad in ["x", "0", "-1"] {
        get(&t, &ann, bad)
            .send(user_info_get)
            .await
            .assert_minapp_error(400, "id");
    }
}

#[tokio::test]
async fn a_revoked_or_missing_token_reads_nothing() {
    let t = TestApp::with_config(|c| c.user_fields = FIELDS.into()).await;
    let (ann, bob) = two(&t).await;
    let session = t.app.tokens().session(&ann.token).unwrap();
    t.client_of(&session).log_out().await.unwrap();
    for id in [ann.user.id(), bob.user.id()] {
        get(&t, &ann, &id.to_string())
            .send(user_info_get)
            .await
            .assert_minapp_error(401, "token revoked");
    }
    let r = t
        .call(MinApp.client(), Method::GET, ROUTE)
        .param("id", &bob.user.id().to_string())
        .send(user_info_get)
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
}

#[tokio::test]
async fn only_the_caller_sees_its_anonymous_flag_true_for_an_anonymous_user_alone() {
    let t = TestApp::with_config(|c| c.user_fields = FIELDS.into()).await;
    let (ann, _) = two(&t).await;
    let anonymous = t.sessions().sign_up_anonymous().await.unwrap();
    let (ann_id, anonymous_id) = (ann.user.id().to_string(), anonymous.user.id().to_string());
    let own = get(&t, &anonymous, &anonymous_id).send(user_info_get).await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert_eq!(own.body["_anonymous"], true);
    let own = get(&t, &ann, &ann_id).send(user_info_get).await;
    assert_eq!(own.body["_anonymous"], false);
    // Others never see it, either way.
    for (caller, id) in [(&ann, &anonymous_id), (&anonymous, &ann_id)] {
        let other = get(&t, caller, id).send(user_info_get).await;
        assert_eq!(other.status, 200, "{}", other.body);
        assert!(other.body.get("_anonymous").is_none(), "{}", other.body);
    }
}
