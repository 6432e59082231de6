//! The per-caller limit counters against the real engine (DynamoDB Local): a reservation is
//! one conditional ADD, so a burst never gets more than the limit through.

use shared::clock::now;
use shared::error::{ApiError, Limited};
use shared::limits::{Counter, Limit};
use shared::store::attr;
use shared::testing::{TestApp, join_all};

#[tokio::test]
async fn forty_concurrent_reservations_get_exactly_the_limit_through() {
    let t = TestApp::new().await;
    let table = t.app.users.table();
    let counter = Counter::login("USERNAME#burst", Limit::new(5, 900));
    let at = now();
    let results = join_all((0..40).map(|_| table.reserve(&counter, at))).await;
    let through = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(through, 5, "{results:?}");
    let (_, end) = counter.limit.window(at);
    for refused in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(
            refused,
            &ApiError::TooManyAttempts(Limited {
                limit: "login",
                retry_after: end - at,
            })
        );
    }
    assert_eq!(table.attempts(&counter, at).await, Ok(5));
}

#[tokio::test]
async fn a_given_back_attempt_can_be_taken_again_and_the_count_never_goes_below_zero() {
    let t = TestApp::new().await;
    let table = t.app.users.table();
    let counter = Counter::per_ip("signup", None, Limit::new(1, 3600));
    let at = now();
    let first = table.reserve(&counter, at).await.unwrap();
    assert!(table.reserve(&counter, at).await.is_err());
    table.give_back(&first).await.unwrap();
    assert_eq!(table.attempts(&counter, at).await, Ok(0));
    table.give_back(&first).await.unwrap();
    assert_eq!(table.attempts(&counter, at).await, Ok(0), "never negative");
    assert!(table.reserve(&counter, at).await.is_ok());
}

#[tokio::test]
async fn each_window_counts_afresh_and_its_item_expires_when_it_ends() {
    let t = TestApp::new().await;
    let table = t.app.users.table();
    let counter = Counter::per_ip("lookup", "192.0.2.1".parse().ok(), Limit::new(1, 60));
    let at = now();
    let (start, end) = counter.limit.window(at);
    table.reserve(&counter, at).await.unwrap();
    assert!(table.reserve(&counter, end - 1).await.is_err());
    assert!(
        table.reserve(&counter, end).await.is_ok(),
        "the next window"
    );
    let item = t
        .all_items()
        .await
        .into_iter()
        .find(|i| {
            i[attr::SK]
                .as_s()
                .is_ok_and(|sk| *sk == format!("WINDOW#{start}"))
        })
        .expect("the first window's item");
    assert_eq!(item[attr::PK].as_s().unwrap(), "LIMIT#ip#192.0.2.1#lookup");
    assert_eq!(item[attr::EXPIRES_AT].as_n().unwrap(), &end.to_string());
    assert_eq!(item[attr::ATTEMPTS].as_n().unwrap(), "1");
    let ttl = t
        .client
        .describe_time_to_live()
        .table_name(&t.table)
        .send()
        .await
        .unwrap();
    let spec = ttl.time_to_live_description().unwrap();
    assert_eq!(spec.attribute_name(), Some(attr::EXPIRES_AT));
}
