//! Moving in (issue 22), against DynamoDB Local: the round trips of an import and of its
//! rerun, and the login that replaces an imported hash with argon2id.

use serde_json::json;
use shared::account::AccountField;
use shared::moving::{Outcome, Row, Source, import, read};
use shared::session::Credentials;
use shared::testing::TestApp;

/// MinApp rows with a username each, ids from `first`.
fn minapp_rows(t: &TestApp, first: i64, n: usize, hash: Option<&str>) -> Vec<Row> {
    let mut csv = String::from("id,nickname,created_at,updated_at,_username,level,password_hash\n");
    for i in 0..n {
        let id = first + i as i64;
        let hash = hash.map_or(String::new(), |h| format!("\"{h}\""));
        csv.push_str(&format!(
            "{id},Moved {i},1600000000,1600000000,moved_{id},{i},{hash}\n"
        ));
    }
    read(Source::MinApp, csv.as_bytes(), t.app.users.user_fields()).expect("the file reads")
}

fn outcomes(report: &shared::moving::ImportReport) -> Vec<Outcome> {
    report.rows.iter().map(|r| r.outcome).collect()
}

#[tokio::test]
async fn an_import_writes_each_user_once_in_transactions_of_100_writes_and_a_rerun_writes_nothing()
{
    let (t, trips) = TestApp::counting_round_trips().await;
    let rows = minapp_rows(&t, 50_000_000, 50, None);
    let report = import(&t.app.users, rows, false, &|_| {}).await;
    assert_eq!(
        outcomes(&report),
        vec![Outcome::Imported; 50],
        "{:?}",
        report.rows
    );
    // Who holds the ids (one BatchGetItem per 100), the counter, its raise with the skipped
    // range (one transaction), the recorded ranges, then the users: 4 writes each (item, id
    // guard, username guard, audit record), 100 writes a transaction.
    assert_eq!(
        trips.take(),
        [
            "BatchGetItem",
            "GetItem",
            "TransactWriteItems",
            "Query",
            "TransactWriteItems",
            "TransactWriteItems"
        ]
    );
    assert_eq!(report.transactions, 2);
    assert_eq!(
        report.write_units,
        2.0 * 4.0 * 50.0,
        "two units a write, each item < 1 KB"
    );

    let again = import(
        &t.app.users,
        minapp_rows(&t, 50_000_000, 50, None),
        false,
        &|_| {},
    )
    .await;
    assert_eq!(
        outcomes(&again),
        vec![Outcome::Unchanged; 50],
        "{:?}",
        again.rows
    );
    let calls = trips.take();
    assert!(
        calls.iter().all(|c| c == "BatchGetItem" || c == "GetItem"),
        "a rerun only reads: {calls:?}"
    );
    assert_eq!(again.transactions, 0);
}

#[tokio::test]
async fn an_imported_bcrypt_hash_logs_in_once_then_the_user_holds_argon2id() {
    let (t, trips) = TestApp::counting_round_trips().await;
    // bcrypt of "old password", cost 4.
    let bcrypt = "$2b$04$85eShKRtYTiTZ0w47RG/Hut8RhgCKxKon.UHsNnr4MHGjUhlDYcb.";
    let report = import(
        &t.app.users,
        minapp_rows(&t, 60_000_000, 1, Some(bcrypt)),
        false,
        &|_| {},
    )
    .await;
    assert_eq!(outcomes(&report), [Outcome::Imported], "{:?}", report.rows);
    let user_id = report.rows[0].user_id.clone().unwrap();
    let stored_hash = |t: &TestApp| {
        let user_id = user_id.clone();
        let table = t.app.users.table().clone();
        async move {
            table.stored_users(&[user_id]).await.unwrap()[0]
                .password_hash
                .clone()
                .unwrap()
        }
    };
    assert_eq!(stored_hash(&t).await, bcrypt);
    let login = |password: &str| {
        Credentials::log_in(
            AccountField::Username,
            &json!({"username": "MOVED_60000000", "password": password}),
        )
        .unwrap()
    };
    assert!(t.sessions().log_in(&login("not it")).await.is_err());
    trips.take();
    t.sessions()
        .log_in(&login("old password"))
        .await
        .expect("the old password");
    // The login's six calls, then the rehash (an UpdateItem on the old hash) and its record.
    let calls = trips.take();
    assert_eq!(
        calls.iter().filter(|c| *c == "UpdateItem").count(),
        4,
        "{calls:?}"
    );
    let rehashed = stored_hash(&t).await;
    assert!(rehashed.starts_with("$argon2id$v=19$"), "{rehashed}");
    assert!(!shared::account::needs_rehash(&rehashed));
    // The next login verifies argon2id and writes no hash.
    t.sessions()
        .log_in(&login("old password"))
        .await
        .expect("the same password");
    assert_eq!(stored_hash(&t).await, rehashed);
}
