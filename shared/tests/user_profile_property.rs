//! MinApp's `user_profile` listing against DynamoDB Local, checked by property (issue 12,
//! "Must show"): random users with random built-in and custom fields of every type, random
//! `where` trees over every operator of SPEC with `$and`/`$or` nesting, random `order_by`,
//! `offset`, `limit` and `return_total_count`. The API's answer (whole objects, their order,
//! `total_count`, `next`/`previous`, and the pages walked through `next` from offset 0) must
//! equal a plain evaluation written here, apart from the product's evaluator: it never calls
//! `Filter::matches` or `OrderBy::compare`.
//!
//! Users are the costly part, so each test populates one table once (users created in waves
//! a second apart, so `created_at` has both ties and steps) and runs its cases against it.
//! DynamoDB Local is immediately consistent; on DynamoDB the directory index is not, and a
//! user written a moment ago could be missing from (or stale in) a listing for a short while.
//!
//! A failure prints the seed and the smallest failing query found; `USER_PROFILE_SEED=<n>`
//! replays it (the same users and cases; only creation times differ, so a case naming a time
//! may not). `USER_PROFILE_CASES=<n>` changes the cases per table (default [`CASES`]).
//!
//! Besides the answers, one cost: an unfiltered page in the directory's own order reads at
//! most two Query pages per shard (a bound that catches a reader gone page-by-item or
//! table-wide, not an exact count).

use std::cmp::Ordering;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use serde_json::{Value, json};
use shared::account::AccountUpdate;
use shared::error::ApiError;
use shared::query::query_pairs;
use shared::testing::{RoundTrips, TestApp};
// Users, pools, `where` trees, shortcuts and the filter's oracle: the one generator shared
// with the query language's unit tests.
use shared::testing_gen::*;
use shared::user_profile::{ListQuery, Origin, UserProfiles};

const PATH: &str = "/userve/v2.2/miniapp/user_profile/";
/// Cases per table (four tables, so several hundred per run).
const CASES: u32 = 125;
/// Pages a `next` walk follows at most (small limits over many matches stop early and check
/// the prefix they walked).
const WALK_MAX_PAGES: usize = 12;

struct World {
    t: TestApp,
    /// DynamoDB calls of `t`'s app.
    trips: RoundTrips,
    /// Every user's object as the get endpoint shows it.
    users: Vec<Value>,
    pools: Pools,
}

/// Creates the users in three waves a second apart (so `created_at` has ties and steps) and
/// reads each back once.
async fn populate(specs: &[UserSpec]) -> World {
    let (t, trips) = TestApp::counting_round_trips().await;
    let waves = specs.chunks(specs.len().div_ceil(3));
    let mut uids = Vec::new();
    for (n, wave) in waves.enumerate() {
        if n > 0 {
            tokio::time::sleep(Duration::from_millis(1100)).await;
        }
        let created: Vec<i64> = futures_util::stream::iter(wave)
            .map(|spec| {
                let t = &t;
                async move {
                    let uid = t
                        .given_minapp_user(&spec.user_id, Value::Object(spec.profile.clone()))
                        .await;
                    if let Some(account) = &spec.account {
                        let update = AccountUpdate::from_json(account).expect("a valid account");
                        t.app
                            .users
                            .change_account(uid, &update)
                            .await
                            .unwrap_or_else(|e| panic!("account of {}: {e}", spec.user_id));
                    }
                    uid
                }
            })
            // One at a time, so ids follow the population's order and a seed replays it.
            .buffered(1)
            .collect()
            .await;
        uids.extend(created);
    }
    let mut users = Vec::new();
    let mut pools = Pools::default();
    for (spec, uid) in specs.iter().zip(&uids) {
        let mut object = UserProfiles::new(&t.app.users)
            .get(*uid)
            .await
            .unwrap_or_else(|e| panic!("user {uid}: {e}"))
            .0;
        // One user's own page says whether it is disabled; listings (the directory) do not.
        if let Some(o) = object.as_object_mut() {
            o.remove("_disabled");
            o.remove("_disabled_until");
        }
        check_written(spec, &object);
        pools.ids.push(*uid);
        pools.created.push(object["created_at"].as_i64().unwrap());
        pools.updated.push(object["updated_at"].as_i64().unwrap());
        pools.user_ids.push(spec.user_id.clone());
        for (field, pool) in [
            ("_username", &mut pools.usernames),
            ("_email", &mut pools.emails),
            ("_phone", &mut pools.phones),
        ] {
            if let Some(s) = object[field].as_str() {
                pool.push(s.to_string());
            }
        }
        users.push(object);
    }
    trips.take();
    World {
        t,
        trips,
        users,
        pools,
    }
}

/// The object read back holds what was written (dates canonical, numbers by value, a
/// cleared nickname or avatar `""`).
fn check_written(spec: &UserSpec, object: &Value) {
    assert_eq!(object["_user_id"], json!(spec.user_id), "{object}");
    for (field, written) in &spec.profile {
        let expected = match (field.as_str(), written) {
            ("nickname" | "avatar", Value::Null) => json!(""),
            ("birthday", Value::String(s)) => json!(canonical_date(s).expect("a pool date")),
            _ => written.clone(),
        };
        assert!(
            same(&object[field.as_str()], &expected),
            "{} wrote {field} = {written}, reads {}",
            spec.user_id,
            object[field.as_str()]
        );
    }
    if let Some(account) = &spec.account {
        for (k, v) in account.as_object().unwrap() {
            assert_eq!(&object[format!("_{k}").as_str()], v, "{object}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Queries

/// Fields `order_by` takes.
const SORTABLE: [&str; 16] = [
    "id",
    "created_at",
    "updated_at",
    "nickname",
    "avatar",
    "_username",
    "_email",
    "_phone",
    "_email_verified",
    "openid",
    "_user_id",
    "level",
    "score",
    "vip",
    "bio",
    "birthday",
];

/// `None` (the default), the directory's own orders, or one to three other keys.
fn order_by() -> BoxedStrategy<Option<String>> {
    let index = select(vec![
        "",
        "-created_at",
        "created_at",
        "-created_at,-id",
        "created_at,id",
        "created_at,user_id",
        "-created_at,-created_by",
    ])
    .prop_map(String::from);
    let keys = proptest::sample::subsequence(SORTABLE.to_vec(), 1..=3)
        .prop_shuffle()
        .prop_flat_map(|fields| {
            let n = fields.len();
            (
                Just(fields),
                proptest::collection::vec(any::<bool>(), n),
                any::<bool>(),
            )
        })
        .prop_map(|(fields, desc, spaced)| {
            let keys: Vec<String> = fields
                .iter()
                .zip(desc)
                .map(|(f, d)| format!("{}{f}", if d { "-" } else { "" }))
                .collect();
            keys.join(if spaced { ", " } else { "," })
        });
    prop_oneof![
        2 => Just(None),
        3 => index.prop_map(Some),
        4 => keys.prop_map(Some),
    ]
    .boxed()
}

/// A parameter MinApp refuses with a 400 (replacing any of the same name).
fn invalid_param() -> BoxedStrategy<(String, String)> {
    select(vec![
        ("where", r#"{"level": {"$contains": "a"}}"#),
        ("where", r#"{"tags": {"$regex": "a"}}"#),
        ("where", r#"{"nope": 1}"#),
        ("where", r#"{"level": {"$near": 1}}"#),
        ("where", r#"{"level": {"$in": []}}"#),
        ("where", r#"{"$or": []}"#),
        ("where", r#"{"bio": {"$regex": "("}}"#),
        ("where", r#"{"level": "1"}"#),
        ("where", "not json"),
        ("order_by", "gender"),
        ("order_by", "tags"),
        ("order_by", "nickname,-nickname"),
        ("order_by", "-"),
        ("limit", "0"),
        ("limit", "1001"),
        ("offset", "-1"),
        ("return_total_count", "2"),
        ("nope", "1"),
        ("level__gt", "x"),
    ])
    .prop_map(|(k, v)| (k.to_string(), v.to_string()))
    .boxed()
}

#[derive(Debug, Clone)]
struct Case {
    /// Decoded, in the order sent.
    params: Vec<(String, String)>,
    /// What the shortcuts among `params` mean, as `where` conditions (ANDed with `where`).
    shortcuts: Vec<Value>,
    /// `application/x-www-form-urlencoded` (spaces as `+`) rather than `%20`.
    form_encoding: bool,
    valid: bool,
}

fn case(pools: &Pools) -> BoxedStrategy<Case> {
    let where_ = prop_oneof![1 => Just(None), 4 => where_tree(pools).prop_map(Some)];
    let where_ = (
        where_,
        prop_oneof![6 => Just(None), 1 => direct(pools).prop_map(Some)],
    )
        .prop_map(|(w, d)| match (w, d) {
            (Some(w), Some(d)) => Some(json!({"$and": [d, w]})),
            (w, d) => w.or(d),
        });
    let limit = prop_oneof![
        2 => Just(None),
        8 => select(vec![1usize, 2, 3, 4, 5, 7, 10, 20, 50, 1000]).prop_map(Some),
    ];
    let offset = prop_oneof![
        4 => Just(None),
        6 => select(vec![0usize, 1, 2, 3, 5, 10, 25, 60, 200]).prop_map(Some),
    ];
    let total = prop_oneof![6 => Just(None), 1 => Just(Some("0")), 3 => Just(Some("1"))];
    let extra = prop_oneof![9 => Just(false), 1 => Just(true)];
    let invalid = prop_oneof![24 => Just(None), 1 => invalid_param().prop_map(Some)];
    let shortcuts = prop_oneof![
        3 => Just(Vec::new()),
        1 => proptest::collection::vec(shortcut(), 1..3),
    ];
    (
        (where_, shortcuts),
        order_by(),
        limit,
        offset,
        total,
        extra,
        invalid,
        any::<bool>(),
    )
        .prop_flat_map(
            |((where_, shortcuts), order, limit, offset, total, extra, invalid, form_encoding)| {
                let mut params: Vec<(String, String)> = Vec::new();
                let mut means = Vec::new();
                let mut push = |k: &str, v: String| params.push((k.to_string(), v));
                if let Some(w) = where_ {
                    push("where", w.to_string());
                }
                if let Some(o) = order {
                    push("order_by", o);
                }
                if let Some(l) = limit {
                    push("limit", l.to_string());
                }
                if let Some(o) = offset {
                    push("offset", o.to_string());
                }
                if let Some(t) = total {
                    push("return_total_count", t.to_string());
                }
                for s in shortcuts {
                    means.push(s.means);
                    push(&s.key, s.value);
                }
                if extra {
                    // Accepted and ignored.
                    push("keys", "nickname,level".to_string());
                }
                let valid = invalid.is_none();
                if let Some((k, v)) = invalid {
                    params.retain(|(name, _)| *name != k);
                    params.push((k, v));
                }
                (
                    Just(params).prop_shuffle(),
                    Just(means),
                    Just(form_encoding),
                    Just(valid),
                )
            },
        )
        .prop_map(|(params, shortcuts, form_encoding, valid)| Case {
            params,
            shortcuts,
            form_encoding,
            valid,
        })
        .boxed()
}

fn encode(params: &[(String, String)], form: bool) -> String {
    let enc = |s: &str| {
        if form {
            form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
        } else {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        }
    };
    params
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

// ---------------------------------------------------------------------------------------------
// The order: a plain reading of `order_by` (the filter's oracle is `shared::testing_gen`'s).
/// Ascending order of two values of one field: null first.
fn ascending(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        (Value::Number(x), Value::Number(y)) => x.as_f64().unwrap().total_cmp(&y.as_f64().unwrap()),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => panic!("unsortable {a} / {b}"),
    }
}

/// `order_by` as documented: keys in turn, `-` descending (nulls last), then `id` in the
/// direction of the first key.
fn sort(users: &mut [Value], order_by: &str) {
    let order_by = if order_by.trim().is_empty() {
        "-created_at"
    } else {
        order_by
    };
    let keys: Vec<(&str, bool)> = order_by
        .split(',')
        .map(str::trim)
        .map(|k| match k.strip_prefix('-') {
            Some(f) => (f, true),
            None => (k, false),
        })
        .collect();
    let first_descending = keys[0].1;
    users.sort_by(|a, b| {
        for (field, descending) in &keys {
            let o = ascending(&a[*field], &b[*field]);
            let o = if *descending { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        let o = a["id"].as_i64().cmp(&b["id"].as_i64());
        if first_descending { o.reverse() } else { o }
    });
}

// ---------------------------------------------------------------------------------------------
// The property

#[derive(Default)]
struct Stats {
    valid: AtomicUsize,
    invalid: AtomicUsize,
    /// Valid cases with at least one match, and with fewer matches than users.
    some: AtomicUsize,
    selective: AtomicUsize,
    index_order: AtomicUsize,
    counted: AtomicUsize,
    pages: AtomicUsize,
    /// Unfiltered index-order cases whose DynamoDB calls were bounded.
    bounded: AtomicUsize,
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn ids(objects: &[Value]) -> Vec<i64> {
    objects.iter().map(|o| o["id"].as_i64().unwrap()).collect()
}

async fn list(world: &World, raw: &str) -> Result<shared::user_profile::Listing, String> {
    let fields = world.t.app.users.user_fields();
    let query = ListQuery::parse(&query_pairs(raw), fields)
        .map_err(|e| format!("?{raw} does not parse: {e}"))?;
    let origin = Origin {
        path: PATH.to_string(),
        raw_query: raw.to_string(),
    };
    UserProfiles::new(&world.t.app.users)
        .list(&query, &origin)
        .await
        .map_err(|e| format!("?{raw} failed: {e}"))
}

/// The raw query of a link, which must be `PATH?` and `raw` with `offset` replaced by `offset`.
fn check_link(link: &str, raw: &str, offset: usize, what: &str) -> Result<String, String> {
    let rest = link
        .strip_prefix(PATH)
        .and_then(|r| r.strip_prefix('?'))
        .ok_or_else(|| format!("{what} {link:?} is not {PATH}?..."))?;
    let without = |q: &str| -> Vec<String> {
        q.split('&')
            .filter(|p| !p.is_empty())
            .filter(|p| {
                let key = p.split_once('=').map_or(*p, |(k, _)| k);
                percent_encoding::percent_decode_str(key).decode_utf8_lossy() != "offset"
            })
            .map(str::to_string)
            .collect()
    };
    if without(rest) != without(raw) {
        return Err(format!("{what} {link:?} changes the query ?{raw}"));
    }
    let offsets: Vec<(String, String)> = query_pairs(rest)
        .into_iter()
        .filter(|(k, _)| k == "offset")
        .collect();
    if offsets != [("offset".to_string(), offset.to_string())] {
        return Err(format!("{what} {link:?}: expected offset={offset}"));
    }
    Ok(rest.to_string())
}

async fn check(world: &World, case: &Case, stats: &Stats) -> Result<(), String> {
    let raw = encode(&case.params, case.form_encoding);
    if query_pairs(&raw) != case.params {
        return Err(format!("the test's encoding of {:?} is wrong", case.params));
    }
    let fields = world.t.app.users.user_fields();
    let query = match (ListQuery::parse(&query_pairs(&raw), fields), case.valid) {
        (Err(ApiError::Invalid(_)), false) => {
            stats.invalid.fetch_add(1, Relaxed);
            return Ok(());
        }
        (Ok(q), false) => return Err(format!("?{raw} should be a 400, parsed as {q:?}")),
        (Err(e), _) => return Err(format!("?{raw} does not parse: {e:?}")),
        (Ok(q), true) => q,
    };
    stats.valid.fetch_add(1, Relaxed);
    let p = &case.params;
    let mut conditions = case.shortcuts.clone();
    if let Some(w) = param(p, "where") {
        conditions.push(serde_json::from_str(w).unwrap());
    }
    let where_ = json!({ "$and": conditions });
    let order_by = param(p, "order_by").unwrap_or("");
    let limit: usize = param(p, "limit").map_or(20, |l| l.parse().unwrap());
    let offset: usize = param(p, "offset").map_or(0, |o| o.parse().unwrap());
    let counted = param(p, "return_total_count") == Some("1");
    let mut expected: Vec<Value> = world
        .users
        .iter()
        .filter(|u| matches(&where_, u))
        .cloned()
        .collect();
    sort(&mut expected, order_by);
    let n = expected.len();
    if n > 0 {
        stats.some.fetch_add(1, Relaxed);
    }
    if n > 0 && n < world.users.len() {
        stats.selective.fetch_add(1, Relaxed);
    }
    if query.order.index_order().is_some() {
        stats.index_order.fetch_add(1, Relaxed);
    }
    if counted {
        stats.counted.fetch_add(1, Relaxed);
    }
    let context = || {
        format!(
            "?{raw}\n  where {where_}\n  order_by {order_by:?} offset {offset} limit {limit}\n  expected {n} matches: {:?}",
            ids(&expected)
        )
    };

    // The page asked for.
    world.trips.take();
    let listing = list(world, &raw).await?;
    let calls = world.trips.take();
    // The directory's own order reads in proportion to the page: a page of at most 16 users
    // with nothing to filter takes at most two Query pages of each of the 4 shards.
    let unfiltered = param(p, "where").is_none() && case.shortcuts.is_empty();
    if unfiltered && query.order.index_order().is_some() && !counted && offset + limit < 16 {
        stats.bounded.fetch_add(1, Relaxed);
        if calls.len() > 8 || calls.iter().any(|c| c != "Query") {
            return Err(format!(
                "{}\n  read the directory with {calls:?}",
                context()
            ));
        }
    }
    let got: Vec<Value> = listing.objects.iter().map(|o| o.0.clone()).collect();
    let want: Vec<Value> = expected.iter().skip(offset).take(limit).cloned().collect();
    if got != want {
        let diff = got
            .iter()
            .zip(&want)
            .find(|(g, w)| g != w)
            .map(|(g, w)| format!("\n  first difference:\n    got  {g}\n    want {w}"))
            .unwrap_or_default();
        return Err(format!(
            "{}\n  page: got {:?}, want {:?}{diff}",
            context(),
            ids(&got),
            ids(&want)
        ));
    }
    let meta = &listing.meta;
    if (meta.limit, meta.offset) != (limit, offset) {
        return Err(format!(
            "{}\n  meta limit/offset {}/{}",
            context(),
            meta.limit,
            meta.offset
        ));
    }
    let total = counted.then_some(n);
    if meta.total_count != total {
        return Err(format!(
            "{}\n  total_count {:?}, want {total:?}",
            context(),
            meta.total_count
        ));
    }
    match (&meta.next, offset + limit < n) {
        (None, false) => {}
        (Some(next), true) => {
            check_link(next, &raw, offset + got.len(), "next")
                .map_err(|e| format!("{}\n  {e}", context()))?;
        }
        (next, more) => {
            return Err(format!(
                "{}\n  next {next:?}, but more matches follow: {more}",
                context()
            ));
        }
    }
    match (&meta.previous, offset) {
        (None, 0) => {}
        (Some(previous), o) if o > 0 => {
            check_link(previous, &raw, o.saturating_sub(limit), "previous")
                .map_err(|e| format!("{}\n  {e}", context()))?;
        }
        (previous, _) => {
            return Err(format!("{}\n  previous {previous:?}", context()));
        }
    }

    // Every page from offset 0 through `next`: the matches in order, each once.
    let mut walk_params: Vec<(String, String)> =
        p.iter().filter(|(k, _)| k != "offset").cloned().collect();
    walk_params.push(("offset".to_string(), "0".to_string()));
    let mut raw_page = encode(&walk_params, case.form_encoding);
    let mut walked: Vec<Value> = Vec::new();
    let mut pages = 0;
    loop {
        let listing = list(world, &raw_page).await?;
        pages += 1;
        walked.extend(listing.objects.iter().map(|o| o.0.clone()));
        if listing.meta.total_count != total {
            return Err(format!(
                "{}\n  page {pages} of the walk: total_count {:?}",
                context(),
                listing.meta.total_count
            ));
        }
        match &listing.meta.next {
            None => break,
            Some(next) => {
                raw_page = check_link(next, &raw_page, walked.len(), "next")
                    .map_err(|e| format!("{}\n  walk: {e}", context()))?;
            }
        }
        if pages == WALK_MAX_PAGES {
            break;
        }
    }
    stats.pages.fetch_add(pages, Relaxed);
    let finished = walked.len() == n;
    let prefix: Vec<Value> = expected.iter().take(walked.len()).cloned().collect();
    if walked != prefix || (!finished && pages < WALK_MAX_PAGES) || walked.len() > n {
        return Err(format!(
            "{}\n  walking next from offset 0 ({pages} pages) gave {:?}",
            context(),
            ids(&walked)
        ));
    }
    if pages < WALK_MAX_PAGES && pages != n.div_ceil(limit).max(1) {
        return Err(format!("{}\n  {pages} pages walked", context()));
    }
    Ok(())
}

fn seed() -> u64 {
    std::env::var("USER_PROFILE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        })
}

fn rng(seed: u64, stream: u8) -> TestRng {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8] = stream;
    TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
}

/// One table: its population, then its cases, shrunk to a smallest failing query.
fn run_table(table: u8) {
    let seed = seed();
    let cases = std::env::var("USER_PROFILE_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(CASES);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let started = Instant::now();
    let mut population = TestRunner::new_with_rng(Config::default(), rng(seed, table * 2));
    let size = (30usize..=80)
        .new_tree(&mut population)
        .expect("a size")
        .current();
    let specs: Vec<UserSpec> = (0..size)
        .map(|i| {
            user_spec(i)
                .new_tree(&mut population)
                .expect("a user")
                .current()
        })
        .collect();
    let world = rt.block_on(populate(&specs));
    let populated = started.elapsed();
    let stats = Stats::default();
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 300,
        ..Config::default()
    };
    // A few fixed unfiltered pages in the directory's order first, so the read bound is
    // checked on every run whatever the random cases hold.
    for params in [
        vec![("limit", "5")],
        vec![("order_by", "created_at"), ("limit", "3"), ("offset", "4")],
        vec![("order_by", "-created_at,-id"), ("limit", "15")],
    ] {
        let case = Case {
            params: params
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            shortcuts: Vec::new(),
            form_encoding: false,
            valid: true,
        };
        if let Err(why) = rt.block_on(check(&world, &case, &stats)) {
            panic!("USER_PROFILE_SEED={seed}, table {table} ({size} users): {why}");
        }
    }
    let mut runner = TestRunner::new_with_rng(config, rng(seed, table * 2 + 1));
    let result = runner.run(&case(&world.pools), |c| {
        rt.block_on(check(&world, &c, &stats))
            .map_err(TestCaseError::fail)
    });
    let (valid, invalid) = (stats.valid.load(Relaxed), stats.invalid.load(Relaxed));
    eprintln!(
        "table {table} (seed {seed}): {size} users in {populated:?}; {valid} valid cases \
         ({} with matches, {} selective, {} in index order, {} counted), {invalid} refused, \
         {} pages walked, {} page-bounded reads, {:?} in all",
        stats.some.load(Relaxed),
        stats.selective.load(Relaxed),
        stats.index_order.load(Relaxed),
        stats.counted.load(Relaxed),
        stats.pages.load(Relaxed),
        stats.bounded.load(Relaxed),
        started.elapsed(),
    );
    match result {
        Ok(()) => {}
        Err(TestError::Fail(why, case)) => panic!(
            "USER_PROFILE_SEED={seed}, table {table} ({size} users): {why}\n  minimal case: {case:?}"
        ),
        Err(TestError::Abort(why)) => panic!("USER_PROFILE_SEED={seed}: aborted: {why}"),
    }
    // Not vacuous: most cases are valid, and most of those select some but not all users.
    assert!(invalid * 5 < valid, "{invalid} refused of {valid} valid");
    assert!(
        stats.selective.load(Relaxed) * 4 > valid,
        "only {} of {valid} cases select some but not all users",
        stats.selective.load(Relaxed)
    );
    assert!(stats.index_order.load(Relaxed) * 5 > valid);
    assert!(stats.counted.load(Relaxed) * 10 > valid);
}

#[test]
fn listing_equals_a_plain_evaluation_table_0() {
    run_table(0);
}

#[test]
fn listing_equals_a_plain_evaluation_table_1() {
    run_table(1);
}

#[test]
fn listing_equals_a_plain_evaluation_table_2() {
    run_table(2);
}

#[test]
fn listing_equals_a_plain_evaluation_table_3() {
    run_table(3);
}

/// The direct lookups (an exact id among the top-level conditions) compare by value as the
/// rest of the query language does: `{"id": 3.0}` is user 3.
#[tokio::test]
async fn an_exact_id_matches_by_value_on_the_direct_path_too() {
    let t = TestApp::new().await;
    let uid = t.given_minapp_user("u1", json!({"level": 1})).await;
    let fields = t.app.users.user_fields();
    for where_ in [
        json!({"id": uid}),
        json!({"id": uid as f64}),
        json!({"user_id": {"$eq": uid as f64}}),
        json!({"id": {"$in": [uid as f64]}}),
        json!({"level": 1.0}),
    ] {
        let raw = encode(&[("where".to_string(), where_.to_string())], false);
        let query = ListQuery::parse(&query_pairs(&raw), fields).unwrap();
        let origin = Origin {
            path: PATH.to_string(),
            raw_query: raw,
        };
        let listing = UserProfiles::new(&t.app.users)
            .list(&query, &origin)
            .await
            .unwrap();
        let got: Vec<i64> = listing.objects.iter().map(|o| o.id()).collect();
        assert_eq!(got, [uid], "{where_}");
    }
}
