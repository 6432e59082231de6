//! Token revocation on every client endpoint of every dialect, and what it costs: the same
//! DynamoDB round trips before and after a logout (the caller's `tokens_valid_after` rides in
//! the read or write each endpoint already does), and a 401 after it.

use serde_json::json;
use shared::account::AccountField;
use shared::auth::caller::{Lookup, Session};
use shared::clock::now_ms;
use shared::error::ApiError;
use shared::lookup::{Identify, UsersQuery};
use shared::lookups::Lookups;
use shared::session::{Client, Credentials, Sessions, TOKEN_REVOKED, USER_DISABLED};
use shared::testing::{RoundTrips, TestApp};
use shared::user::{User, UserProfile, UserUpdate};

fn ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("u{i}")).collect()
}

async fn given(t: &TestApp, trips: &RoundTrips, n: usize) {
    let body = json!(
        ids(n)
            .iter()
            .map(|id| json!({"user_id": id}))
            .collect::<Vec<_>>()
    );
    for chunk in body.as_array().unwrap().chunks(200) {
        t.app.users.register_batch(&json!(chunk)).await.unwrap();
    }
    let change = shared::account::AccountUpdate::from_json(
        &json!({"username": "Alice", "email": "alice@example.org"}),
    )
    .unwrap();
    t.app.users.change_account(1, &change).await.unwrap();
    trips.take();
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Runs every client operation as `session` and returns (operation, round trips, outcome).
async fn every_client_operation(
    t: &TestApp,
    trips: &RoundTrips,
    session: &Session,
) -> Vec<(&'static str, Vec<String>, Result<(), ApiError>)> {
    let client = Client::new(&t.app.users, session);
    let lookup = Lookup::Client(session.clone());
    let lookups = Lookups::new(&t.app.users, &lookup);
    let mut out = Vec::new();
    macro_rules! op {
        ($name:expr, $call:expr) => {{
            let result = $call.await.map(|_| ());
            out.push(($name, sorted(trips.take()), result));
        }};
    }
    op!("client profile", client.own::<UserProfile>());
    op!("deepin /v1/user, minapp current user", client.own::<User>());
    op!("client user (another)", client.info("u7"));
    op!("client user (itself)", client.info(session.user_id()));
    op!("client users of 99", client.infos(&ids(99)));
    op!("client users of 100", client.infos(&ids(100)));
    op!("client users of 200", client.infos(&ids(200)));
    op!("client imusers of 3", client.imusers(&[1, 2, 3]));
    op!(
        "client update of nick",
        client.update(UserUpdate::from_json(&json!({"nick": "n"})).unwrap())
    );
    op!(
        "client update of extends",
        client.update(UserUpdate::from_json(&json!({"extends": {"k": "v"}})).unwrap())
    );
    op!(
        "closed deepin lookup by login name",
        lookups.find(&Identify::parse("ALICE").unwrap())
    );
    op!(
        "closed deepin multi lookup",
        lookups.find_all(&UsersQuery::parse(["1", "2"], [], []).unwrap())
    );
    op!(
        "minapp own update of nickname",
        client.update_info(&json!({"nickname": "n"}))
    );
    op!(
        "minapp own update decided from a read",
        client.update_info(&json!({"tags": {"$append_unique": ["t"]}}))
    );
    op!(
        "minapp own account, nothing to change",
        client.update_account(&json!({}))
    );
    op!(
        "minapp own account of its login name",
        client.update_account(&json!({"username": "Alice"}))
    );
    out
}

fn trips(list: &[&str]) -> Vec<String> {
    sorted(list.iter().map(|s| s.to_string()).collect())
}

#[tokio::test]
async fn every_client_operation_refuses_a_revoked_token_at_the_same_round_trips() {
    let (t, counter) = TestApp::counting_round_trips().await;
    given(&t, &counter, 250).await;
    let session = t.session("u0", now_ms());
    let expected = [
        trips(&["GetItem"]),
        trips(&["GetItem"]),
        trips(&["BatchGetItem"]),
        trips(&["GetItem"]),
        // u0 is among the ids: no extra key.
        trips(&["BatchGetItem"]),
        trips(&["BatchGetItem"]),
        trips(&["BatchGetItem", "BatchGetItem"]),
        // The caller's GetItem runs concurrently with the index queries.
        trips(&["Query", "Query", "Query", "GetItem"]),
        trips(&["UpdateItem"]),
        trips(&["GetItem", "UpdateItem"]),
        // The lookup's own reads, and the caller's GetItem concurrently.
        trips(&["BatchGetItem", "GetItem", "GetItem"]),
        trips(&["Query", "Query", "BatchGetItem", "GetItem"]),
        trips(&["UpdateItem"]),
        trips(&["GetItem", "UpdateItem"]),
        trips(&["GetItem"]),
        trips(&["GetItem", "TransactWriteItems"]),
    ];
    let before = every_client_operation(&t, &counter, &session).await;
    for ((name, got, result), want) in before.iter().zip(&expected) {
        assert_eq!(result, &Ok(()), "{name}");
        assert_eq!(got, want, "{name} before revocation");
    }
    Client::new(&t.app.users, &session).log_out().await.unwrap();
    assert_eq!(
        counter.take(),
        ["UpdateItem", "PutItem"],
        "logout, its audit record"
    );
    let after = every_client_operation(&t, &counter, &session).await;
    for ((name, got, result), want) in after.iter().zip(&expected) {
        assert_eq!(
            result,
            &Err(ApiError::Unauthorized(TOKEN_REVOKED)),
            "{name}"
        );
        if [
            "client update of extends",
            "minapp own update decided from a read",
            "minapp own account of its login name",
        ]
        .contains(name)
        {
            // Refused at the read, before the write.
            assert_eq!(got, &trips(&["GetItem"]), "{name} after revocation");
        } else {
            assert_eq!(got, want, "{name} after revocation");
        }
    }
    // A token issued after the logout works everywhere again.
    let fresh = t.session("u0", now_ms() + 1);
    for (name, _, result) in every_client_operation(&t, &counter, &fresh).await {
        assert_eq!(result, Ok(()), "{name} with a fresh token");
    }
}

/// An admin disabling a user: every client operation refuses its token at the same round
/// trips as a revoked one (the mark rides in the same reads and write conditions); enabling
/// it, or the end time passing, lets the same token work again.
#[tokio::test]
async fn every_client_operation_refuses_a_disabled_user_s_token_at_no_extra_round_trip() {
    let (t, counter) = TestApp::counting_round_trips().await;
    given(&t, &counter, 250).await;
    let session = t.session("u0", now_ms());
    let before = every_client_operation(&t, &counter, &session).await;
    for (name, _, result) in &before {
        assert_eq!(result, &Ok(()), "{name}");
    }
    let table = t.app.users.table();
    table.set_disabled("u0", None).await.unwrap();
    assert_eq!(counter.take(), ["UpdateItem"], "disable");
    let disabled = Err(ApiError::Unauthorized(USER_DISABLED));
    let read_first = [
        "client update of extends",
        "minapp own update decided from a read",
        "minapp own account of its login name",
    ];
    for ((name, got, result), (_, want, _)) in every_client_operation(&t, &counter, &session)
        .await
        .iter()
        .zip(&before)
    {
        assert_eq!(result, &disabled, "{name}");
        if read_first.contains(name) {
            assert_eq!(got, &trips(&["GetItem"]), "{name}: refused at the read");
        } else {
            assert_eq!(got, want, "{name}: the same round trips");
        }
    }
    // The write conditions refuse it too, when nothing was read first.
    let client = Client::new(&t.app.users, &session);
    let nick = UserUpdate::from_json(&json!({"nick": "x"})).unwrap();
    assert_eq!(client.update(nick.clone()).await, disabled);
    table.set_enabled("u0").await.unwrap();
    for (name, _, result) in every_client_operation(&t, &counter, &session).await {
        assert_eq!(result, Ok(()), "{name} once enabled");
    }
    // Disabled until a time already past: nothing is refused.
    table
        .set_disabled("u0", Some(now_ms() / 1000 + 1))
        .await
        .unwrap();
    assert_eq!(client.update(nick.clone()).await, disabled);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(client.update(nick).await, Ok(()));
}

#[tokio::test]
async fn a_caller_outside_the_ids_adds_one_key_to_the_last_read() {
    let (t, counter) = TestApp::counting_round_trips().await;
    given(&t, &counter, 200).await;
    let outsider = t.session("u199", now_ms());
    for (n, calls) in [(1, 1), (99, 1), (100, 2), (199, 2)] {
        let found = Client::new(&t.app.users, &outsider)
            .infos(&ids(n))
            .await
            .unwrap();
        assert_eq!(found.len(), n, "the caller is not shown unless asked for");
        assert_eq!(counter.take(), vec!["BatchGetItem"; calls], "{n} ids");
    }
}

#[tokio::test]
async fn sign_up_login_and_logout_round_trips() {
    let (t, counter) = TestApp::counting_round_trips().await;
    let up = t
        .given_sign_up(AccountField::Username, "erin", "correct horse")
        .await;
    assert_eq!(
        counter.take(),
        ["UpdateItem", "UpdateItem", "TransactWriteItems"],
        "sign-up: the IP's limit, the IM id block, then user, guard and audit record together"
    );
    let login = |name: &str, password: &str| {
        Credentials::log_in(
            AccountField::Username,
            &json!({"username": name, "password": password}),
        )
        .unwrap()
    };
    let users = Sessions::new(&t.app.users, "app".into(), t.app.tokens());
    users.log_in(&login("Erin", "correct horse")).await.unwrap();
    assert_eq!(
        counter.take(),
        [
            "UpdateItem",
            "UpdateItem",
            "GetItem",
            "GetItem",
            "UpdateItem",
            "PutItem"
        ],
        "login: the IP's and the identifier's limits, guard, user, the attempt given back, the record"
    );
    for name in ["Erin", "nobody"] {
        assert!(users.log_in(&login(name, "wrong")).await.is_err());
        assert_eq!(
            counter.take(),
            ["UpdateItem", "UpdateItem", "GetItem", "GetItem", "PutItem"],
            "{name}: a failure costs the same, known or not: the record in the user's or the identifier's partition"
        );
    }
    let session = t.app.tokens().session(&up.token).unwrap();
    Client::new(&t.app.users, &session).log_out().await.unwrap();
    assert_eq!(
        counter.take(),
        ["UpdateItem", "PutItem"],
        "logout, its record"
    );
}

/// The stored `tokens_valid_after` of `user_id`.
async fn mark_of(t: &TestApp, user_id: &str) -> i64 {
    t.stored_item(user_id).await[shared::store::attr::TOKENS_VALID_AFTER]
        .as_n()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_password_change_never_moves_the_revocation_mark_back_and_failed_logins_never_move_it() {
    let t = TestApp::new().await;
    let up = t
        .given_sign_up(AccountField::Username, "fay", "correct horse")
        .await;
    let user_id = t
        .app
        .tokens()
        .session(&up.token)
        .unwrap()
        .user_id()
        .to_string();
    // A logout written by an instance whose clock runs an hour ahead.
    let ahead = now_ms() + 3_600_000;
    t.client
        .update_item()
        .table_name(&t.table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("USER#{user_id}")),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("USER".into()),
        )
        .update_expression("SET tokens_valid_after = :t")
        .expression_attribute_values(
            ":t",
            aws_sdk_dynamodb::types::AttributeValue::N(ahead.to_string()),
        )
        .send()
        .await
        .unwrap();
    let change =
        shared::account::AccountUpdate::from_json(&json!({"new_password": "another horse"}))
            .unwrap();
    t.app
        .users
        .change_account(up.user.id(), &change)
        .await
        .unwrap();
    let after_change = mark_of(&t, &user_id).await;
    assert!(after_change > ahead, "{after_change} <= {ahead}");
    // Failed logins, past the identifier's limit: no stranger's attempt moves the mark.
    let sessions = Sessions::new(&t.app.users, "app".into(), t.app.tokens());
    let wrong = Credentials::log_in(
        AccountField::Username,
        &json!({"username": "fay", "password": "wrong"}),
    )
    .unwrap();
    for _ in 0..t.app.users.limits().login.max * 2 {
        assert!(sessions.log_in(&wrong).await.is_err());
    }
    assert_eq!(mark_of(&t, &user_id).await, after_change);
}

#[tokio::test]
async fn a_password_change_keeps_its_own_session_and_voids_every_other_everywhere() {
    let (t, counter) = TestApp::counting_round_trips().await;
    given(&t, &counter, 250).await;
    // Two sessions of u0 issued before the change: this one changes the password.
    let kept = t.session("u0", now_ms() - 1000);
    let other = t.session("u0", now_ms() - 2000);
    let before = every_client_operation(&t, &counter, &kept).await;
    // u0 was registered by the app server: no password yet, its token alone sets one.
    let client = Client::new(&t.app.users, &kept);
    client
        .update_account(&json!({"new_password": "correct horse"}))
        .await
        .unwrap();
    assert_eq!(counter.take(), ["GetItem", "TransactWriteItems"]);
    works_as_before(&t, &counter, &kept, &before).await;
    refused_everywhere(&t, &counter, &other).await;
    // A second change by the kept session, now with the current password: still kept.
    client
        .update_account(&json!({"password": "correct horse", "new_password": "another horse"}))
        .await
        .unwrap();
    assert_eq!(
        counter.take(),
        [
            "GetItem",
            "UpdateItem",
            "UpdateItem",
            "UpdateItem",
            "UpdateItem",
            "UpdateItem",
            "TransactWriteItems"
        ],
        "the read, the IP's limit and those of both login values, both given back, the change"
    );
    works_as_before(&t, &counter, &kept, &before).await;
    refused_everywhere(&t, &counter, &other).await;
    // Logout voids the kept session too.
    client.log_out().await.unwrap();
    counter.take();
    refused_everywhere(&t, &counter, &kept).await;
}

type Outcomes = Vec<(&'static str, Vec<String>, Result<(), ApiError>)>;

/// Every client operation of `session` works, at the round trips of `before`.
async fn works_as_before(t: &TestApp, trips: &RoundTrips, session: &Session, before: &Outcomes) {
    let after = every_client_operation(t, trips, session).await;
    for ((name, got, result), (_, want, _)) in after.iter().zip(before) {
        assert_eq!(
            result,
            &Ok(()),
            "{name}: the session that changed the password"
        );
        assert_eq!(got, want, "{name}: at the same round trips");
    }
}

/// Every client operation of `session` is a 401.
async fn refused_everywhere(t: &TestApp, trips: &RoundTrips, session: &Session) {
    for (name, _, result) in every_client_operation(t, trips, session).await {
        assert_eq!(
            result,
            Err(ApiError::Unauthorized(TOKEN_REVOKED)),
            "{name}: a voided session"
        );
    }
}
