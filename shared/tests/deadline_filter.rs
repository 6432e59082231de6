//! A MinApp filter that cannot finish before the request's deadline answers a 400 while it
//! works (the directory read checks the deadline as it evaluates), not a timeout.

use std::time::Duration;

use serde_json::json;
use shared::query::Pushdown;
use shared::store::directory::{Direction, DirectoryRead, LISTING_MARGIN};
use shared::store::within_budget;
use shared::testing::TestApp;
use shared::user::User;

#[tokio::test]
async fn a_filter_too_slow_for_the_deadline_is_a_400_while_it_works() {
    let t = TestApp::new().await;
    let users: Vec<_> = (0..40)
        .map(|i| json!({"user_id": format!("u{i}")}))
        .collect();
    t.app.users.register_batch(&json!(users)).await.unwrap();
    let pushdown = Pushdown {
        condition: None,
        residual: true,
    };
    // 50 ms a user: 2 s for all of them, long past what the deadline leaves.
    let keep = |_: &User| {
        std::thread::sleep(Duration::from_millis(50));
        true
    };
    let read = DirectoryRead {
        pushdown: &pushdown,
        keep: &keep,
        direction: Direction::NewestFirst,
        after: None,
        wanted: None,
        max_examined: 10_000,
    };
    let started = std::time::Instant::now();
    let r = within_budget(
        LISTING_MARGIN + Duration::from_millis(500),
        t.app.users.table().read_directory(&read),
    )
    .await;
    match r {
        Err(e) => assert!(
            e.to_string()
                .starts_with("where: the query could not be evaluated in time"),
            "{e}"
        ),
        Ok(page) => panic!("{} users evaluated past the deadline", page.users.len()),
    }
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
}
