use shared::testing::*;

use super::server_time;

const ROUTE: &str = "/hserve/v2.2/server/time/";

#[tokio::test]
async fn the_time_is_now_in_iso_8601_and_costs_no_round_trip() {
    let (t, trips) = TestApp::counting_round_trips().await;
    let before = shared::clock::now();
    let r = t
        .call(MinApp.public(), Method::GET, ROUTE)
        .send(server_time)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let time = r.body["time"].as_str().unwrap();
    let parsed =
        time::OffsetDateTime::parse(time, &time::format_description::well_known::Rfc3339).unwrap();
    assert!((parsed.unix_timestamp() - before).abs() <= 2, "{time}");
    assert!(time.ends_with("+00:00") && time.len() == 32, "{time}");
    assert!(trips.take().is_empty(), "reads only the clock");
}
