//! One generator of random MinApp users and `user_profile` queries, and the oracle that
//! reads them plainly (SPEC "MinApp", the query module's documented semantics), shared by the
//! query language's unit property tests (`query::tests`) and the listing property test
//! against DynamoDB Local (`tests/user_profile_property.rs`). Two copies had drifted (the
//! unit one never generated `=` on an array field, `null` operands, nor the richer pools);
//! this is the one copy. The oracle never calls the product's evaluator.
//!
//! Test-only: compiled for the crate's own tests and under the `testing` feature.
//!
//! Array `=`: `{"tags": [...]}` is `$eq` on the whole array, as MinApp's SDK builds it
//! (`Query.compare(key, '=', value)` sends `$eq`) and as SPEC's "`$eq` ... with MinApp's
//! meaning" reads; the element test is `$contains` (or the legacy `tags=a` shortcut).

use std::cmp::Ordering;

use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Value, json};

// Value pools: what users hold and what queries ask for.

pub const TEXTS: [&str; 14] = [
    "", "a", "A", "ab", "Ab", "abc", "b", "bA", "中", "中文", "Tom Cat", "tom", "a b", "x&y=z+1%",
];
/// Substrings for `$contains` / `$icontains` (non-empty, as MinApp requires).
pub const WORDS: [&str; 12] = [
    "a", "A", "ab", "b", "bA", "中", "c", "om C", "TOM", "&y=", "+1%", "png",
];
pub const PLACES: [&str; 7] = ["", "China", "china", "Guangzhou", "中国", "US", "a"];
pub const AVATARS: [&str; 3] = ["", "x.png", "A.PNG"];
pub const INTEGERS: [i64; 7] = [-3, -1, 0, 1, 2, 3, 100];
pub const NUMBERS: [f64; 7] = [-1.5, -1.0, 0.0, 0.5, 1.0, 2.5, 100.0];
/// Dates as written or asked for, and their canonical form (UTC, microseconds).
pub const DATES: [(&str, &str); 8] = [
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
pub const REGEXES: [(&str, &str); 10] = [
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

pub fn canonical_date(text: &str) -> Option<&'static str> {
    DATES
        .iter()
        .find(|(form, canon)| *form == text || *canon == text)
        .map(|(_, canon)| *canon)
}

/// The test schema (`TEST_USER_FIELDS` plus the built-ins), as the oracle knows it.
pub fn type_of(field: &str) -> &'static str {
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

/// One user to create: its string id, the MinApp profile update written after registration,
/// and maybe account values.
#[derive(Debug, Clone)]
pub struct UserSpec {
    pub user_id: String,
    pub profile: Map<String, Value>,
    pub account: Option<Value>,
}

pub fn text() -> impl Strategy<Value = Value> {
    select(TEXTS.to_vec()).prop_map(Value::from)
}

pub fn element() -> BoxedStrategy<Value> {
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

pub fn object() -> BoxedStrategy<Value> {
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
pub fn maybe(s: impl Strategy<Value = Value> + 'static) -> BoxedStrategy<Option<Value>> {
    prop_oneof![2 => Just(None), 1 => Just(Some(Value::Null)), 5 => s.prop_map(Some)].boxed()
}

pub fn user_spec(i: usize) -> impl Strategy<Value = UserSpec> {
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
pub struct Pools {
    pub ids: Vec<i64>,
    pub created: Vec<i64>,
    pub updated: Vec<i64>,
    pub user_ids: Vec<String>,
    pub usernames: Vec<String>,
    pub emails: Vec<String>,
    pub phones: Vec<String>,
}

impl Pools {
    /// Pools for tests without a store: users 1..=5 as [`user_spec`] names them, created and
    /// updated within a few seconds (ties and steps).
    pub fn fixed() -> Pools {
        let n = 1..=5usize;
        Pools {
            ids: n.clone().map(|i| i as i64).collect(),
            created: vec![100, 101, 102],
            updated: vec![100, 101, 102, 103],
            user_ids: n.clone().map(|i| format!("u{i}")).collect(),
            usernames: n.clone().map(|i| format!("user{i}")).collect(),
            emails: n.clone().map(|i| format!("p{i}@Example.com")).collect(),
            phones: n.map(|i| format!("+86138{i:06}")).collect(),
        }
    }
}

/// A MinApp object as a listing shows it, modelled without a store (for the evaluator's
/// tests): user `i` of [`Pools::fixed`] with a [`user_spec`] profile and account, dates
/// canonical; `null` and absent fields both occur (the evaluator treats them alike).
pub fn user_object() -> BoxedStrategy<Value> {
    let pools = Pools::fixed();
    (0..pools.ids.len())
        .prop_flat_map(move |i| {
            (
                Just(pools.ids[i]),
                user_spec(i + 1),
                select(pools.created.clone()),
                select(pools.updated.clone()),
                any::<bool>(),
            )
        })
        .prop_map(|(id, spec, created_at, updated_at, verified)| {
            let mut o = Map::new();
            for (k, v) in [
                ("id", json!(id)),
                ("user_id", json!(id)),
                ("created_by", json!(id)),
                ("_user_id", json!(spec.user_id)),
                ("created_at", json!(created_at)),
                ("updated_at", json!(updated_at)),
                ("_email_verified", json!(verified)),
                ("_phone_verified", json!(false)),
                ("openid", Value::Null),
            ] {
                o.insert(k.to_string(), v);
            }
            for (k, v) in spec.profile {
                let v = match (k.as_str(), &v) {
                    ("birthday", Value::String(s)) => {
                        json!(canonical_date(s).expect("a pool date"))
                    }
                    _ => v,
                };
                o.insert(k, v);
            }
            if let Some(Value::Object(account)) = spec.account {
                for (k, v) in account {
                    o.insert(format!("_{k}"), v);
                }
            }
            Value::Object(o)
        })
        .boxed()
}

/// An operand of `op` on `field`, mostly from what the population holds.
pub fn operand(field: &'static str, op: &'static str, pools: &Pools) -> BoxedStrategy<Value> {
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
pub fn ops_of(ty: &str) -> Vec<&'static str> {
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
pub const QUERY_FIELDS: [&str; 31] = [
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

pub fn leaf(pools: &Pools) -> BoxedStrategy<Value> {
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
pub fn direct(pools: &Pools) -> BoxedStrategy<Value> {
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
pub fn merge(a: Value, b: Value) -> Value {
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
pub fn where_tree(pools: &Pools) -> BoxedStrategy<Value> {
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
pub struct Shortcut {
    pub key: String,
    pub value: String,
    pub means: Value,
}

pub fn shortcut() -> BoxedStrategy<Shortcut> {
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

/// JSON equality, numbers by value (the pools are exact in f64).
pub fn same(a: &Value, b: &Value) -> bool {
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
pub fn order(ty: &str, v: &Value, x: &Value) -> Option<Ordering> {
    match ty {
        "date" => Some(canonical_date(v.as_str()?)?.cmp(canonical_date(x.as_str()?)?)),
        "integer" | "number" => v.as_f64()?.partial_cmp(&x.as_f64()?),
        _ => None,
    }
}

pub fn equal(ty: &str, v: Option<&Value>, x: &Value) -> bool {
    match v {
        None => false,
        Some(v) if ty == "date" => order(ty, v, x) == Some(Ordering::Equal),
        Some(v) => same(v, x),
    }
}

pub fn regex_oracle(pattern: &str, options: &str, s: &str) -> bool {
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

pub fn condition(field: &str, op: &str, x: &Value, options: &str, user: &Value) -> bool {
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
pub fn matches(where_: &Value, user: &Value) -> bool {
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

/// Where the tests' store keeps each MinApp field: custom fields in a `fields` map, derived
/// and WeChat fields nowhere.
pub fn attr(field: &str) -> Option<String> {
    Some(match field {
        "id" | "user_id" | "created_by" => "im_userid".to_string(),
        "nickname" => "nick".to_string(),
        "_username" => "username".to_string(),
        "_email" => "email".to_string(),
        "_phone" => "phone".to_string(),
        "_email_verified" | "_phone_verified" | "openid" | "unionid" => return None,
        "level" | "score" | "vip" | "tags" | "bio" | "prefs" | "birthday" => {
            format!("fields.{field}")
        }
        other => other.to_string(),
    })
}

/// The item the tests' store ([`attr`]) would hold for a user: null kept as NULL or left out,
/// as either store might.
pub fn stored(user: &Value, nulls_as_null: bool) -> serde_json::Map<String, Value> {
    let mut item = serde_json::Map::new();
    for (field, v) in user.as_object().unwrap() {
        let Some(path) = attr(field) else {
            continue;
        };
        if v.is_null() && !nulls_as_null {
            continue;
        }
        let mut at = &mut item;
        let segments: Vec<&str> = path.split('.').collect();
        for s in &segments[..segments.len() - 1] {
            at = at
                .entry(s.to_string())
                .or_insert_with(|| Value::Object(serde_json::Map::new()))
                .as_object_mut()
                .unwrap();
        }
        at.insert(segments[segments.len() - 1].to_string(), v.clone());
    }
    item
}
