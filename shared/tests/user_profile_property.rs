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
use serde_json::{Map, Value, json};
use shared::account::AccountUpdate;
use shared::error::ApiError;
use shared::query::query_pairs;
use shared::testing::{RoundTrips, TestApp};
use shared::user_profile::{ListQuery, Origin, UserProfiles};

const PATH: &str = "/userve/v2.2/miniapp/user_profile/";
/// Cases per table (four tables, so several hundred per run).
const CASES: u32 = 125;
/// Pages a `next` walk follows at most (small limits over many matches stop early and check
/// the prefix they walked).
const WALK_MAX_PAGES: usize = 12;

// ---------------------------------------------------------------------------------------------
// Value pools: what users hold and what queries ask for.

const TEXTS: [&str; 14] = [
    "", "a", "A", "ab", "Ab", "abc", "b", "bA", "中", "中文", "Tom Cat", "tom", "a b", "x&y=z+1%",
];
/// Substrings for `$contains` / `$icontains` (non-empty, as MinApp requires).
const WORDS: [&str; 12] = [
    "a", "A", "ab", "b", "bA", "中", "c", "om C", "TOM", "&y=", "+1%", "png",
];
const PLACES: [&str; 7] = ["", "China", "china", "Guangzhou", "中国", "US", "a"];
const AVATARS: [&str; 3] = ["", "x.png", "A.PNG"];
const INTEGERS: [i64; 7] = [-3, -1, 0, 1, 2, 3, 100];
const NUMBERS: [f64; 7] = [-1.5, -1.0, 0.0, 0.5, 1.0, 2.5, 100.0];
/// Dates as written or asked for, and their canonical form (UTC, microseconds).
const DATES: [(&str, &str); 8] = [
    ("2020-01-01", "2020-01-01T00:00:00.000000Z"),
    ("2020-01-01T00:00:00Z", "2020-01-01T00:00:00.000000Z"),
    ("2021-06-15T20:00:00+08:00", "2021-06-15T12:00:00.000000Z"),
    ("2021-06-15T12:00:00.5Z", "2021-06-15T12:00:00.500000Z"),
    (
        "2021-06-15T12:00:00.0000001Z",
        "2021-06-15T12:00:00.000000Z",
    ),
    ("2021-06-15T11:59:59Z", "2021-06-15T11:59:59.000000Z"),
    ("2022-01-01T00:00:00.000000Z", "2022-01-01T00:00:00.000000Z"),
    ("2019-12-31", "2019-12-31T00:00:00.000000Z"),
];
/// `$regex` patterns with `$options`; the oracle reads each by hand ([`regex_oracle`]).
const REGEXES: [(&str, &str); 10] = [
    ("^a", ""),
    ("b$", ""),
    ("a|中", ""),
    ("^$", ""),
    ("^a", "i"),
    ("B", "i"),
    ("^[a-z]+$", ""),
    ("m C", ""),
    ("\\.png$", ""),
    ("^T.m", ""),
];

fn canonical_date(text: &str) -> Option<&'static str> {
    DATES
        .iter()
        .find(|(form, canon)| *form == text || *canon == text)
        .map(|(_, canon)| *canon)
}

/// The test schema (`TEST_USER_FIELDS` plus the built-ins), as the oracle knows it.
fn type_of(field: &str) -> &'static str {
    match field {
        "id" | "user_id" | "created_by" | "created_at" | "updated_at" | "gender" | "level" => {
            "integer"
        }
        "score" => "number",
        "vip" | "_email_verified" | "_phone_verified" => "boolean",
        "birthday" => "date",
        "tags" => "array",
        "prefs" => "object",
        _ => "string",
    }
}

// ---------------------------------------------------------------------------------------------
// Users

/// One user to create: its string id, the MinApp profile update written after registration,
/// and maybe account values.
#[derive(Debug, Clone)]
struct UserSpec {
    user_id: String,
    profile: Map<String, Value>,
    account: Option<Value>,
}

fn text() -> impl Strategy<Value = Value> {
    select(TEXTS.to_vec()).prop_map(Value::from)
}

fn element() -> BoxedStrategy<Value> {
    prop_oneof![
        select(vec!["a", "b", "A"]).prop_map(Value::from),
        select(vec![1i64, 2]).prop_map(Value::from),
        Just(json!(1.0)),
        Just(json!(true)),
        Just(json!({"k": 1})),
        Just(json!({"k": 1.0})),
    ]
    .boxed()
}

fn object() -> BoxedStrategy<Value> {
    proptest::collection::btree_map(
        select(vec!["a", "b", "c"]).prop_map(String::from),
        prop_oneof![
            Just(json!(1)),
            Just(json!("x")),
            Just(Value::Null),
            Just(json!(true))
        ],
        0..3,
    )
    .prop_map(|m| Value::Object(m.into_iter().collect()))
    .boxed()
}

/// Not written (`None`), written as `null`, or a value.
fn maybe(s: impl Strategy<Value = Value> + 'static) -> BoxedStrategy<Option<Value>> {
    prop_oneof![2 => Just(None), 1 => Just(Some(Value::Null)), 5 => s.prop_map(Some)].boxed()
}

fn user_spec(i: usize) -> impl Strategy<Value = UserSpec> {
    let builtins = (
        maybe(text()),
        maybe(select(AVATARS.to_vec()).prop_map(Value::from)),
        maybe((0i64..3).prop_map(Value::from)),
        maybe(select(PLACES.to_vec()).prop_map(Value::from)),
        maybe(select(PLACES.to_vec()).prop_map(Value::from)),
        maybe(select(PLACES.to_vec()).prop_map(Value::from)),
    );
    let custom = (
        maybe(select(INTEGERS.to_vec()).prop_map(Value::from)),
        maybe(select(NUMBERS.to_vec()).prop_map(|n| json!(n))),
        maybe(any::<bool>().prop_map(Value::from)),
        maybe(proptest::collection::vec(element(), 0..4).prop_map(Value::from)),
        maybe(text()),
        maybe(object()),
        maybe(select(DATES.to_vec()).prop_map(|(form, _)| Value::from(form))),
    );
    // Account values: unique per user, in mixed case.
    let account = prop_oneof![
        3 => Just(None),
        1 => (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(move |(upper, email, phone)| {
            let name = if upper { format!("User{i}") } else { format!("user{i}") };
            let mut a = json!({"username": name});
            if email {
                a["email"] = json!(format!("p{i}@Example.com"));
            }
            if phone {
                a["phone"] = json!(format!("+86138{i:06}"));
            }
            Some(a)
        }),
    ];
    (builtins, custom, account, any::<bool>()).prop_map(
        move |(
            (nickname, avatar, gender, country, city, language),
            (level, score, vip, tags, bio, prefs, birthday),
            account,
            odd_id,
        )| {
            let mut profile = Map::new();
            for (k, v) in [
                ("nickname", nickname),
                ("avatar", avatar),
                ("gender", gender),
                ("country", country),
                ("city", city),
                ("language", language),
                ("level", level),
                ("score", score),
                ("vip", vip),
                ("tags", tags),
                ("bio", bio),
                ("prefs", prefs),
                ("birthday", birthday),
            ] {
                if let Some(v) = v {
                    profile.insert(k.to_string(), v);
                }
            }
            // Some string ids need encoding in a `where`.
            let user_id = if odd_id {
                format!("u{i}&=+%é")
            } else {
                format!("u{i}")
            };
            UserSpec {
                user_id,
                profile,
                account,
            }
        },
    )
}

/// What the population holds, for operands that hit it.
#[derive(Debug, Clone, Default)]
struct Pools {
    ids: Vec<i64>,
    created: Vec<i64>,
    updated: Vec<i64>,
    user_ids: Vec<String>,
    usernames: Vec<String>,
    emails: Vec<String>,
    phones: Vec<String>,
}

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
        let object = UserProfiles::new(&t.app.users)
            .get(*uid)
            .await
            .unwrap_or_else(|e| panic!("user {uid}: {e}"))
            .0;
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

/// An operand of `op` on `field`, mostly from what the population holds.
fn operand(field: &'static str, op: &'static str, pools: &Pools) -> BoxedStrategy<Value> {
    let from = |v: &[i64]| {
        let v = v.to_vec();
        select(v)
    };
    let scalar: BoxedStrategy<Value> = match field {
        "id" | "user_id" | "created_by" => prop_oneof![
            6 => from(&pools.ids).prop_map(Value::from),
            1 => from(&pools.ids).prop_map(|i| Value::from(i + 1000)),
            // Numbers compare by value: 3.0 is id 3.
            1 => from(&pools.ids).prop_map(|i| json!(i as f64)),
            1 => from(&pools.ids).prop_map(|i| json!(i as f64 + 0.5)),
        ]
        .boxed(),
        "created_at" | "updated_at" => {
            let pool = if field == "created_at" {
                &pools.created
            } else {
                &pools.updated
            };
            (from(pool), -1i64..=1)
                .prop_map(|(t, d)| Value::from(t + d))
                .boxed()
        }
        "gender" => (0i64..4).prop_map(Value::from).boxed(),
        "_user_id" => prop_oneof![
            4 => select(pools.user_ids.clone()).prop_map(Value::from),
            1 => Just(json!("nobody")),
        ]
        .boxed(),
        "_username" | "_email" | "_phone" => {
            let pool = match field {
                "_username" => &pools.usernames,
                "_email" => &pools.emails,
                _ => &pools.phones,
            };
            let pool = if pool.is_empty() {
                vec!["none".to_string()]
            } else {
                pool.clone()
            };
            prop_oneof![
                4 => select(pool.clone()).prop_map(Value::from),
                // Unique case-insensitively, compared exactly.
                1 => select(pool.clone()).prop_map(|s| Value::from(s.to_uppercase())),
                1 => select(pool).prop_map(|s| Value::from(s.to_lowercase())),
                1 => Just(json!("nobody")),
            ]
            .boxed()
        }
        "country" | "city" | "language" | "province" => {
            select(PLACES.to_vec()).prop_map(Value::from).boxed()
        }
        "avatar" => prop_oneof![
            select(AVATARS.to_vec()).prop_map(Value::from),
            select(pools.user_ids.clone())
                .prop_map(|id| Value::from(format!("https://img.example/{id}.png"))),
        ]
        .boxed(),
        _ => match type_of(field) {
            "integer" => prop_oneof![
                4 => select(INTEGERS.to_vec()).prop_map(Value::from),
                1 => select(vec![0.5, 1.0, 2.5]).prop_map(|n| json!(n)),
            ]
            .boxed(),
            "number" => prop_oneof![
                select(NUMBERS.to_vec()).prop_map(|n| json!(n)),
                select(INTEGERS.to_vec()).prop_map(Value::from),
            ]
            .boxed(),
            "boolean" => any::<bool>().prop_map(Value::from).boxed(),
            "date" => select(DATES.to_vec())
                .prop_map(|(form, _)| Value::from(form))
                .boxed(),
            "array" => element(),
            "object" => object(),
            _ => text().boxed(),
        },
    };
    match op {
        "$isnull" | "$exists" => any::<bool>().prop_map(Value::from).boxed(),
        "$in" | "$nin" | "$all" => proptest::collection::vec(scalar, 1..4)
            .prop_map(Value::from)
            .boxed(),
        "$range" => (scalar.clone(), scalar)
            .prop_map(|(a, b)| json!([a, b]))
            .boxed(),
        "$eq" | "=" if type_of(field) == "array" => proptest::collection::vec(element(), 0..3)
            .prop_map(Value::from)
            .boxed(),
        "$has_key" => select(vec!["a", "b", "z"]).prop_map(Value::from).boxed(),
        "$contains" | "$icontains" if type_of(field) != "array" => prop_oneof![
            4 => select(WORDS.to_vec()).prop_map(Value::from),
            1 => scalar.prop_filter_map("non-empty", |v| {
                v.as_str().filter(|s| !s.is_empty()).map(Value::from)
            }),
        ]
        .boxed(),
        // `{"f": null}` and `$ne: null` are the null tests.
        "$eq" | "$ne" => prop_oneof![9 => scalar, 1 => Just(Value::Null)].boxed(),
        _ => scalar,
    }
}

/// The operators each type takes (`=` is the bare `{"f": v}`).
fn ops_of(ty: &str) -> Vec<&'static str> {
    match ty {
        "integer" | "number" => vec![
            "=", "$eq", "$ne", "$lt", "$lte", "$gt", "$gte", "$in", "$nin", "$range", "$isnull",
            "$exists",
        ],
        "boolean" => vec!["=", "$eq", "$ne", "$in", "$nin", "$isnull", "$exists"],
        "date" => vec![
            "$eq", "$ne", "$lt", "$lte", "$gt", "$gte", "$in", "$nin", "$isnull", "$exists",
        ],
        "array" => vec![
            "=",
            "$eq",
            "$in",
            "$nin",
            "$all",
            "$contains",
            "$isnull",
            "$exists",
        ],
        "object" => vec!["$eq", "$has_key", "$isnull", "$exists"],
        _ => vec![
            "=",
            "$eq",
            "$ne",
            "$in",
            "$nin",
            "$contains",
            "$icontains",
            "$regex",
            "$isnull",
            "$exists",
        ],
    }
}

/// Fields queries name, each listed once per weight.
const QUERY_FIELDS: [&str; 31] = [
    "id",
    "user_id",
    "created_by",
    "created_at",
    "created_at",
    "updated_at",
    "gender",
    "level",
    "level",
    "score",
    "score",
    "vip",
    "vip",
    "_email_verified",
    "_phone_verified",
    "birthday",
    "birthday",
    "tags",
    "tags",
    "prefs",
    "prefs",
    "nickname",
    "nickname",
    "avatar",
    "bio",
    "country",
    "city",
    "_username",
    "_email",
    "_phone",
    "_user_id",
];

fn leaf(pools: &Pools) -> BoxedStrategy<Value> {
    let pools = pools.clone();
    select(QUERY_FIELDS.to_vec())
        .prop_flat_map(|field| (Just(field), select(ops_of(type_of(field)))))
        .prop_flat_map(move |(field, op)| {
            let value = match op {
                "$regex" => select(REGEXES.to_vec())
                    .prop_map(|(p, o)| {
                        if o.is_empty() {
                            json!({"$regex": p})
                        } else {
                            json!({"$regex": p, "$options": o})
                        }
                    })
                    .boxed(),
                "=" => operand(field, op, &pools),
                _ => operand(field, op, &pools)
                    .prop_map(move |v| json!({ op: v }))
                    .boxed(),
            };
            value.prop_map(move |v| json!({ field: v }))
        })
        .boxed()
}

/// An exact condition on an id or account value, which the API answers by reading that one
/// user instead of the directory.
fn direct(pools: &Pools) -> BoxedStrategy<Value> {
    let pools = pools.clone();
    select(vec![
        "id",
        "user_id",
        "created_by",
        "_user_id",
        "_username",
        "_email",
        "_phone",
    ])
    .prop_flat_map(move |field| {
        (Just(field), operand(field, "=", &pools), any::<bool>()).prop_map(|(field, v, bare)| {
            if bare {
                json!({ field: v })
            } else {
                json!({ field: {"$eq": v} })
            }
        })
    })
    .boxed()
}

/// Two conditions in one object: several operators of one field, or several fields; `$and`
/// when they cannot share one.
fn merge(a: Value, b: Value) -> Value {
    let (ma, mb) = (a.as_object().unwrap(), b.as_object().unwrap());
    let (ka, kb) = (ma.keys().next().unwrap(), mb.keys().next().unwrap());
    if ka != kb {
        let mut m = ma.clone();
        m.extend(mb.clone());
        return Value::Object(m);
    }
    let ops = |v: &Value| {
        v.as_object()
            .filter(|o| o.keys().all(|k| k.starts_with('$')))
            .cloned()
    };
    match (ops(&ma[ka]), ops(&mb[kb])) {
        (Some(x), Some(y)) if x.keys().all(|k| !y.contains_key(k)) => {
            let mut m = x;
            m.extend(y);
            json!({ ka: m })
        }
        _ => json!({"$and": [a, b]}),
    }
}

/// A random `where`: leaves, objects of several conditions, `$and` / `$or` to depth 3.
fn where_tree(pools: &Pools) -> BoxedStrategy<Value> {
    let node = prop_oneof![
        3 => leaf(pools),
        1 => (leaf(pools), leaf(pools)).prop_map(|(a, b)| merge(a, b)),
    ];
    node.prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 1..4).prop_map(|v| json!({"$and": v})),
            proptest::collection::vec(inner, 1..4).prop_map(|v| json!({"$or": v})),
        ]
    })
    .boxed()
}

/// A legacy shortcut, `field=value` or `field__op=value`, and the `where` condition it means.
#[derive(Debug, Clone)]
struct Shortcut {
    key: String,
    value: String,
    means: Value,
}

fn shortcut() -> BoxedStrategy<Shortcut> {
    let fields = vec![
        "nickname", "bio", "country", "level", "gender", "score", "vip", "birthday", "tags",
    ];
    select(fields)
        .prop_flat_map(|field| {
            let ops: Vec<&'static str> = match type_of(field) {
                "string" => vec!["eq", "ne", "contains", "icontains", "in", "isnull"],
                "integer" | "number" => {
                    vec![
                        "eq", "lt", "lte", "gt", "gte", "ne", "in", "range", "isnull",
                    ]
                }
                "boolean" => vec!["eq", "ne", "isnull"],
                "date" => vec!["eq", "lt", "lte", "gt", "gte", "ne", "in", "isnull"],
                _ => vec!["eq", "in", "contains", "isnull"],
            };
            (Just(field), select(ops))
        })
        .prop_flat_map(|(field, op)| {
            let ty = type_of(field);
            let word = || select(WORDS.to_vec()).prop_map(Value::from).boxed();
            let one: BoxedStrategy<Value> = match ty {
                "integer" => {
                    select(vec![json!(-1), json!(0), json!(1), json!(2), json!(2.5)]).boxed()
                }
                "number" => select(NUMBERS.to_vec()).prop_map(|n| json!(n)).boxed(),
                "boolean" => any::<bool>().prop_map(Value::from).boxed(),
                "date" => select(DATES.to_vec())
                    .prop_map(|(f, _)| Value::from(f))
                    .boxed(),
                "array" => word(),
                _ => prop_oneof![select(TEXTS.to_vec()).prop_map(Value::from), word()].boxed(),
            };
            let operand = match op {
                "isnull" => any::<bool>().prop_map(Value::from).boxed(),
                "in" => proptest::collection::vec(one, 1..4)
                    .prop_map(Value::from)
                    .boxed(),
                "range" => (one.clone(), one).prop_map(|(a, b)| json!([a, b])).boxed(),
                "contains" | "icontains" => word(),
                _ => one,
            };
            (Just(field), Just(op), operand, 0u8..3)
        })
        .prop_map(|(field, op, operand, spelling)| {
            let text = |v: &Value| match v {
                Value::String(s) => s.clone(),
                Value::Bool(b) => match (spelling, b) {
                    (0, _) => b.to_string(),
                    (1, true) => "1".into(),
                    (1, false) => "0".into(),
                    (_, true) => "True".into(),
                    (_, false) => "FALSE".into(),
                },
                other => other.to_string(),
            };
            let value = match &operand {
                Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(","),
                v => text(v),
            };
            let key = if op == "eq" {
                field.to_string()
            } else {
                format!("{field}__{op}")
            };
            // `tags=a` is MinApp's element test.
            let where_op = match (op, type_of(field)) {
                ("eq", "array") => "$contains".to_string(),
                _ => format!("${op}"),
            };
            Shortcut {
                key,
                value,
                means: json!({ field: { where_op: operand } }),
            }
        })
        .boxed()
}

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
// The oracle: a plain reading of SPEC and of the query module's documented semantics.

/// JSON equality, numbers by value (the pools are exact in f64).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, a)| y.get(k).is_some_and(|b| same(a, b)))
        }
        _ => a == b,
    }
}

/// Order of a stored value and an operand of a comparison; `None` when not comparable.
fn order(ty: &str, v: &Value, x: &Value) -> Option<Ordering> {
    match ty {
        "date" => Some(canonical_date(v.as_str()?)?.cmp(canonical_date(x.as_str()?)?)),
        "integer" | "number" => v.as_f64()?.partial_cmp(&x.as_f64()?),
        _ => None,
    }
}

fn equal(ty: &str, v: Option<&Value>, x: &Value) -> bool {
    match v {
        None => false,
        Some(v) if ty == "date" => order(ty, v, x) == Some(Ordering::Equal),
        Some(v) => same(v, x),
    }
}

fn regex_oracle(pattern: &str, options: &str, s: &str) -> bool {
    let lower = s.to_lowercase();
    let t = if options == "i" { lower.as_str() } else { s };
    let chars: Vec<char> = t.chars().collect();
    match pattern {
        "^a" => t.starts_with('a'),
        "b$" => t.ends_with('b'),
        "a|中" => t.contains('a') || t.contains('中'),
        "^$" => t.is_empty(),
        "B" => t.contains(if options == "i" { 'b' } else { 'B' }),
        "^[a-z]+$" => !t.is_empty() && t.chars().all(|c| c.is_ascii_lowercase()),
        "m C" => t.contains("m C"),
        "\\.png$" => t.ends_with(".png"),
        "^T.m" => chars.len() >= 3 && chars[0] == 'T' && chars[2] == 'm',
        other => panic!("no oracle for {other}"),
    }
}

fn condition(field: &str, op: &str, x: &Value, options: &str, user: &Value) -> bool {
    let ty = type_of(field);
    let v = user.get(field).filter(|v| !v.is_null());
    let elements = || v.and_then(Value::as_array).cloned().unwrap_or_default();
    let any_in = |list: &Value| {
        let list = list.as_array().unwrap();
        if ty == "array" {
            elements().iter().any(|e| list.iter().any(|x| same(e, x)))
        } else {
            list.iter().any(|x| equal(ty, v, x))
        }
    };
    let cmp = || v.and_then(|v| order(ty, v, x));
    match op {
        "$eq" if x.is_null() => v.is_none(),
        "$ne" if x.is_null() => v.is_some(),
        "$eq" => equal(ty, v, x),
        "$ne" => !equal(ty, v, x),
        "$lt" => cmp() == Some(Ordering::Less),
        "$lte" => matches!(cmp(), Some(Ordering::Less | Ordering::Equal)),
        "$gt" => cmp() == Some(Ordering::Greater),
        "$gte" => matches!(cmp(), Some(Ordering::Greater | Ordering::Equal)),
        "$range" => {
            let (a, b) = (x[0].as_f64().unwrap(), x[1].as_f64().unwrap());
            v.and_then(Value::as_f64).is_some_and(|v| a <= v && v < b)
        }
        "$contains" if ty == "array" => elements().iter().any(|e| same(e, x)),
        "$contains" => v
            .and_then(Value::as_str)
            .is_some_and(|s| s.contains(x.as_str().unwrap())),
        "$icontains" => v.and_then(Value::as_str).is_some_and(|s| {
            s.to_lowercase()
                .contains(&x.as_str().unwrap().to_lowercase())
        }),
        "$regex" => v
            .and_then(Value::as_str)
            .is_some_and(|s| regex_oracle(x.as_str().unwrap(), options, s)),
        "$in" => any_in(x),
        "$nin" => !any_in(x),
        "$all" => {
            let have = elements();
            v.is_some_and(Value::is_array)
                && x.as_array()
                    .unwrap()
                    .iter()
                    .all(|x| have.iter().any(|e| same(e, x)))
        }
        "$isnull" => v.is_none() == x.as_bool().unwrap(),
        "$exists" => {
            let has = match v {
                None => false,
                Some(Value::String(s)) if matches!(ty, "string" | "date") => !s.is_empty(),
                Some(_) => true,
            };
            has == x.as_bool().unwrap()
        }
        "$has_key" => v
            .and_then(Value::as_object)
            .is_some_and(|m| m.contains_key(x.as_str().unwrap())),
        other => panic!("no oracle for {other}"),
    }
}

/// Whether `user` satisfies `where_`.
fn matches(where_: &Value, user: &Value) -> bool {
    where_
        .as_object()
        .unwrap()
        .iter()
        .all(|(key, v)| match key.as_str() {
            "$and" => v.as_array().unwrap().iter().all(|w| matches(w, user)),
            "$or" => v.as_array().unwrap().iter().any(|w| matches(w, user)),
            field => match v.as_object() {
                Some(ops) if ops.keys().any(|k| k.starts_with('$')) => {
                    let options = ops.get("$options").and_then(Value::as_str).unwrap_or("");
                    ops.iter()
                        .filter(|(op, _)| *op != "$options")
                        .all(|(op, x)| condition(field, op, x, options, user))
                }
                _ => condition(field, "$eq", v, "", user),
            },
        })
}

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
