//! MinApp's `user_profile` operations at 1,000 and 10,000 users, in process against DynamoDB
//! Local: list latency and the capacity DynamoDB reports per request, for the directory's own
//! order with a selective filter, an `$icontains` filter (evaluated in the function), an exact
//! `total_count`, a non-index order; then one update and a batch update of 1,000 users.
//!
//! Capacity comes from DynamoDB itself: an SDK interceptor asks every call for
//! `ReturnConsumedCapacity: TOTAL` (the directory reader already does) and sums what the
//! answers report, so a row counts every call the operation makes, whatever the code path.
//! Users are created through the batch register operation (200 a call); only the users a
//! filter should find get custom fields, through the profile update.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextMut,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::operation::{
    batch_get_item::{BatchGetItemInput, BatchGetItemOutput},
    get_item::{GetItemInput, GetItemOutput},
    put_item::{PutItemInput, PutItemOutput},
    query::{QueryInput, QueryOutput},
    transact_get_items::{TransactGetItemsInput, TransactGetItemsOutput},
    transact_write_items::{TransactWriteItemsInput, TransactWriteItemsOutput},
    update_item::{UpdateItemInput, UpdateItemOutput},
};
use aws_sdk_dynamodb::types::{ConsumedCapacity, ReturnConsumedCapacity};
use futures_util::StreamExt;
use serde_json::{Value, json};
use shared::endpoint::App;
use shared::query::query_pairs;
use shared::testing::{LOCAL_REQUEST_BUDGET, TestApp, test_config};
use shared::user_profile::{ListQuery, Origin, UserProfiles};
use shared::users::Users;

const PATH: &str = "/userve/v2.2/miniapp/user_profile/";
/// One user in `VIP_EVERY` gets `vip: true` (the selective filter's matches).
const VIP_EVERY: usize = 20;
/// Users of one batch update.
pub const BATCH_UPDATE: usize = 1000;

/// Capacity units and calls DynamoDB reported since the last [`Capacity::take`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Units {
    pub read: f64,
    pub write: f64,
    pub calls: usize,
}

/// The interceptor: asks every call for its consumed capacity and adds up the answers.
#[derive(Debug, Clone, Default)]
struct Capacity(Arc<Mutex<Units>>);

impl Capacity {
    fn take(&self) -> Units {
        std::mem::take(&mut *self.0.lock().expect("capacity record"))
    }

    fn add(&self, read: bool, consumed: &[ConsumedCapacity]) {
        let units: f64 = consumed.iter().filter_map(|c| c.capacity_units()).sum();
        let mut total = self.0.lock().expect("capacity record");
        total.calls += 1;
        if read {
            total.read += units;
        } else {
            total.write += units;
        }
    }
}

impl Intercept for Capacity {
    fn name(&self) -> &'static str {
        "Capacity"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.input_mut();
        let total = Some(ReturnConsumedCapacity::Total);
        if let Some(i) = input.downcast_mut::<QueryInput>() {
            i.return_consumed_capacity = total;
        } else if let Some(i) = input.downcast_mut::<GetItemInput>() {
            i.return_consumed_capacity = total;
        } else if let Some(i) = input.downcast_mut::<BatchGetItemInput>() {
            i.return_consumed_capacity = total;
        } else if let Some(i) = input.downcast_mut::<TransactGetItemsInput>() {
            i.return_consumed_capacity = total;
        } else if let Some(i) = input.downcast_mut::<UpdateItemInput>() {
            i.return_consumed_capacity = total;
        } else if let Some(i) = input.downcast_mut::<PutItemInput>() {
            i.return_consumed_capacity = total;
        } else if let Some(i) = input.downcast_mut::<TransactWriteItemsInput>() {
            i.return_consumed_capacity = total;
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // A failed call (a condition, a throttle) counts as a call; DynamoDB's error does not
        // say what it consumed.
        let Ok(output) = context.output_or_error() else {
            self.add(true, &[]);
            return Ok(());
        };
        let one = |c: Option<&ConsumedCapacity>| c.cloned().into_iter().collect::<Vec<_>>();
        if let Some(o) = output.downcast_ref::<QueryOutput>() {
            self.add(true, &one(o.consumed_capacity()));
        } else if let Some(o) = output.downcast_ref::<GetItemOutput>() {
            self.add(true, &one(o.consumed_capacity()));
        } else if let Some(o) = output.downcast_ref::<BatchGetItemOutput>() {
            self.add(true, o.consumed_capacity());
        } else if let Some(o) = output.downcast_ref::<TransactGetItemsOutput>() {
            self.add(true, o.consumed_capacity());
        } else if let Some(o) = output.downcast_ref::<UpdateItemOutput>() {
            self.add(false, &one(o.consumed_capacity()));
        } else if let Some(o) = output.downcast_ref::<PutItemOutput>() {
            self.add(false, &one(o.consumed_capacity()));
        } else if let Some(o) = output.downcast_ref::<TransactWriteItemsOutput>() {
            self.add(false, o.consumed_capacity());
        } else {
            self.add(true, &[]);
        }
        Ok(())
    }
}

/// One operation at one table size: latencies of every run and capacity per request (the
/// runs all cost the same; the mean is reported).
#[derive(Debug, Clone)]
pub struct Measured {
    pub latencies: Vec<Duration>,
    pub units: Units,
    /// Objects (or users updated) per request, to show the answer was what it should be.
    pub results: usize,
}

/// One row of the report: an operation at each table size.
#[derive(Debug, Clone)]
pub struct Row {
    pub name: &'static str,
    pub query: String,
    pub by_size: Vec<Measured>,
}

pub struct MinApp {
    pub sizes: Vec<usize>,
    pub runs: usize,
    pub rows: Vec<Row>,
}

/// A table of `n` users, nicknames `User <i> Team<i mod 10>`, one in [`VIP_EVERY`] with
/// `vip: true` and one in [`VIP_EVERY`] with `level: 2`, and a [`Users`] whose client
/// reports capacity.
async fn populate(n: usize) -> (Users, Capacity) {
    let t = TestApp::new().await;
    let capacity = Capacity::default();
    let config = t
        .client
        .config()
        .to_builder()
        .interceptor(capacity.clone())
        .build();
    let mut app = App::new(&test_config(&t.table), Client::from_conf(config)).expect("a test app");
    app.users = app.users.with_request_budget(LOCAL_REQUEST_BUDGET);
    let users = app.users;
    let ids: Vec<usize> = (0..n).collect();
    for chunk in ids.chunks(200) {
        let body: Vec<Value> = chunk
            .iter()
            .map(
                |i| json!({"user_id": format!("m{i}"), "nick": format!("User {i} Team{}", i % 10)}),
            )
            .collect();
        let failures = users
            .register_batch(&json!(body))
            .await
            .expect("register a batch");
        assert_eq!(failures, None, "every user is created");
    }
    // By IM id: `vip` on one user in 20, spread over the four directory shards (uid mod 4),
    // `level: 2` on one in 20, all in shard 1. (IM ids come in reserved blocks: read them.)
    let names: Vec<String> = ids.iter().map(|i| format!("m{i}")).collect();
    let mut uids = Vec::with_capacity(n);
    for chunk in names.chunks(200) {
        let infos = users.infos(chunk).await.expect("ids of the users");
        uids.extend(infos.iter().map(|u| u.im_userid));
    }
    uids.sort_unstable();
    let vip = json!({"vip": true});
    let level = json!({"level": 2});
    let marked: Vec<(i64, &Value)> = uids
        .chunks(VIP_EVERY)
        .enumerate()
        .filter(|(_, block)| block.len() == VIP_EVERY)
        .flat_map(|(k, block)| {
            let in_shard = |shard: i64| {
                *block
                    .iter()
                    .find(|uid| uid.rem_euclid(4) == shard)
                    .unwrap_or(&block[0])
            };
            [(in_shard(k as i64 % 4), &vip), (in_shard(1), &level)]
        })
        .collect();
    let users_ref = &users;
    futures_util::stream::iter(marked)
        .map(|(uid, body)| async move {
            UserProfiles::new(users_ref)
                .update(uid, body)
                .await
                .unwrap_or_else(|e| panic!("mark user {uid}: {e}"));
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    capacity.take();
    (users, capacity)
}

fn query(raw: &str, users: &Users) -> ListQuery {
    UserProfiles::new(users)
        .list_query(&query_pairs(raw))
        .unwrap_or_else(|e| panic!("?{raw}: {e}"))
}

fn origin(raw: &str) -> Origin {
    Origin {
        path: PATH.to_string(),
        raw_query: raw.to_string(),
    }
}

fn encode(params: &[(&str, &str)]) -> String {
    params
        .iter()
        .map(|(k, v)| {
            let v: String = v
                .bytes()
                .map(|b| match b {
                    b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => char::from(b).to_string(),
                    _ => format!("%{b:02X}"),
                })
                .collect();
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

async fn measure<F, Fut>(runs: usize, capacity: &Capacity, mut op: F) -> Measured
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    // One unmeasured run: connections, the first parse of each code path.
    op(0).await;
    capacity.take();
    let mut latencies = Vec::with_capacity(runs);
    let mut results = 0;
    for run in 1..=runs {
        let started = Instant::now();
        results = op(run).await;
        latencies.push(started.elapsed());
    }
    let total = capacity.take();
    let per = |x: f64| x / runs as f64;
    Measured {
        latencies,
        units: Units {
            read: per(total.read),
            write: per(total.write),
            calls: total.calls.div_ceil(runs),
        },
        results,
    }
}

/// The list queries of the report, as raw query strings.
fn list_queries() -> Vec<(&'static str, String)> {
    vec![
        (
            "list, default order (-created_at), no filter",
            encode(&[("limit", "20")]),
        ),
        (
            "list, default order, selective filter (vip: 1 user in 20 over every shard; DynamoDB filters)",
            encode(&[("where", r#"{"vip": true}"#), ("limit", "20")]),
        ),
        (
            "list, default order, 1 user in 20 but all in one of the 4 directory shards (level: 2)",
            encode(&[("where", r#"{"level": 2}"#), ("limit", "20")]),
        ),
        (
            "list, default order, $icontains (1 user in 10, the function filters)",
            encode(&[
                ("where", r#"{"nickname": {"$icontains": "team3"}}"#),
                ("limit", "20"),
            ]),
        ),
        (
            "list, selective filter + return_total_count=1",
            encode(&[
                ("where", r#"{"vip": true}"#),
                ("limit", "20"),
                ("return_total_count", "1"),
            ]),
        ),
        (
            "list, non-index order (order_by=nickname), no filter",
            encode(&[("order_by", "nickname"), ("limit", "20")]),
        ),
    ]
}

/// Every row at every size; `runs` measured requests per list row and single update, a few
/// for the batch update.
pub async fn minapp(sizes: &[usize], runs: usize) -> MinApp {
    let lists = list_queries();
    let update_body = json!({"level": {"$incr_by": 1}});
    let batch_raw = encode(&[("limit", &BATCH_UPDATE.to_string())]);
    let batch_runs = runs.clamp(1, 5);
    let mut rows: Vec<Row> = lists
        .iter()
        .map(|(name, raw)| Row {
            name,
            query: format!("GET ?{}", percent_decoded(raw)),
            by_size: Vec::new(),
        })
        .collect();
    rows.push(Row {
        name: "update one user ($incr_by)",
        query: format!("PUT .../{{id}}/ {update_body}"),
        by_size: Vec::new(),
    });
    rows.push(Row {
        name: "batch update of 1,000 users ($incr_by, default order)",
        query: format!("PUT ?{} {update_body}", percent_decoded(&batch_raw)),
        by_size: Vec::new(),
    });
    for &n in sizes {
        eprintln!("minapp: {n} users");
        let (users, capacity) = populate(n).await;
        let users = &users;
        for (row, (_, raw)) in rows.iter_mut().zip(&lists) {
            let q = query(raw, users);
            let o = origin(raw);
            let (q, o) = (&q, &o);
            let m = measure(runs, &capacity, |_| async move {
                UserProfiles::new(users)
                    .list(q, o)
                    .await
                    .unwrap_or_else(|e| panic!("list ?{}: {e}", o.raw_query))
                    .objects
                    .len()
            })
            .await;
            row.by_size.push(m);
        }
        // Users spread over the table, each updated once.
        let uids: Vec<i64> = {
            let listing = UserProfiles::new(users)
                .list(&query("limit=1000", users), &origin("limit=1000"))
                .await
                .expect("ids to update");
            listing.objects.iter().map(|o| o.id()).collect()
        };
        let (uids, body) = (&uids, &update_body);
        let m = measure(runs, &capacity, |run| async move {
            let uid = uids[(run * 37) % uids.len()];
            UserProfiles::new(users)
                .update(uid, body)
                .await
                .expect("update one");
            1
        })
        .await;
        rows[lists.len()].by_size.push(m);
        let q = query(&batch_raw, users);
        let o = origin(&batch_raw);
        let (q, o) = (&q, &o);
        let m = measure(batch_runs, &capacity, |_| async move {
            let result = UserProfiles::new(users)
                .update_batch(q, body, o)
                .await
                .expect("batch update");
            assert_eq!(result.succeed, result.operation_result.len());
            result.succeed
        })
        .await;
        rows[lists.len() + 1].by_size.push(m);
    }
    MinApp {
        sizes: sizes.to_vec(),
        runs,
        rows,
    }
}

fn percent_decoded(raw: &str) -> String {
    query_pairs(raw)
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}
