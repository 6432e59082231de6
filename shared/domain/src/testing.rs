//! Test support, shared by the unit tests here and the DynamoDB property tests: random
//! users, random `where` trees and shortcut conditions over the test schema, and an
//! oracle: a plain reading of each operator written apart from the evaluator under test.

use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Value, json};

use crate::profile::normalize_date;

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

const STRINGS: [&str; 10] = ["", "a", "A", "ab", "Ab", "abc", "b", "bA", "中", "中文"];
const WORDS: [&str; 7] = ["a", "A", "ab", "b", "bA", "中", "c"];
const INTEGERS: [i64; 7] = [-3, -1, 0, 1, 2, 3, 100];
const NUMBERS: [f64; 6] = [-1.5, -1.0, 0.0, 0.5, 1.0, 2.5];
const DATES: [&str; 3] = [
    "2020-01-01T00:00:00.000000Z",
    "2021-06-15T12:00:00.000000Z",
    "2022-01-01T00:00:00.000000Z",
];
/// Query forms of dates: canonical, with an offset, a calendar date.
const DATE_QUERIES: [&str; 6] = [
    "2020-01-01T00:00:00.000000Z",
    "2021-06-15T20:00:00+08:00",
    "2021-06-15T12:00:00.0000001Z",
    "2022-01-01",
    "2019-12-31",
    "2021-06-15T11:59:59Z",
];
const REGEXES: [(&str, &str); 7] = [
    ("^a", ""),
    ("b$", ""),
    ("a|中", ""),
    ("^$", ""),
    ("^a", "i"),
    ("B", "i"),
    ("^[a-z]+$", ""),
];

/// The test schema's fields and types, as the oracle knows them.
fn type_of(field: &str) -> &'static str {
    match field {
        "id" | "created_at" | "gender" | "level" => "integer",
        "score" => "number",
        "vip" | "_email_verified" => "boolean",
        "birthday" => "date",
        "tags" => "array",
        "prefs" => "object",
        _ => "string",
    }
}

fn number(v: f64) -> Value {
    json!(v)
}

fn element() -> impl Strategy<Value = Value> {
    prop_oneof![
        select(vec!["a", "b", "A"]).prop_map(Value::from),
        select(vec![1i64, 2]).prop_map(Value::from),
        Just(json!(1.0)),
        Just(json!(true)),
        Just(json!({"k": 1})),
        Just(json!({"k": 1.0})),
    ]
}

fn object() -> impl Strategy<Value = Value> {
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
}

/// Absent (`None`), null, or a value.
fn maybe<S: Strategy<Value = Value>>(s: S) -> impl Strategy<Value = Option<Value>> {
    prop_oneof![1 => Just(None), 1 => Just(Some(Value::Null)), 3 => s.prop_map(Some)]
}

fn string() -> impl Strategy<Value = Value> {
    select(STRINGS.to_vec()).prop_map(Value::from)
}

/// A MinApp object over the test schema.
pub fn user() -> impl Strategy<Value = Value> {
    let builtins = (
        1i64..6,
        100i64..103,
        string(),
        maybe((0i64..3).prop_map(Value::from)),
        maybe(string()),
        maybe(string()),
        any::<bool>(),
    );
    let custom = (
        maybe(select(INTEGERS.to_vec()).prop_map(Value::from)),
        maybe(select(NUMBERS.to_vec()).prop_map(number)),
        maybe(any::<bool>().prop_map(Value::from)),
        maybe(proptest::collection::vec(element(), 0..4).prop_map(Value::from)),
        maybe(string()),
        maybe(object()),
        maybe(select(DATES.to_vec()).prop_map(Value::from)),
    );
    (builtins, custom).prop_map(
        |(
            (id, created_at, nickname, gender, country, username, verified),
            (level, score, vip, tags, bio, prefs, birthday),
        )| {
            let mut o = Map::new();
            for (k, v) in [
                ("id", Some(json!(id))),
                ("user_id", Some(json!(id))),
                ("created_by", Some(json!(id))),
                ("created_at", Some(json!(created_at))),
                ("nickname", Some(nickname)),
                ("gender", gender),
                ("country", country),
                ("_username", username),
                ("_email_verified", Some(json!(verified))),
                ("openid", Some(Value::Null)),
                ("level", level),
                ("score", score),
                ("vip", vip),
                ("tags", tags),
                ("bio", bio),
                ("prefs", prefs),
                ("birthday", birthday),
            ] {
                if let Some(v) = v {
                    o.insert(k.to_string(), v);
                }
            }
            Value::Object(o)
        },
    )
}

/// The item the tests' store ([`attr`]) would hold for a user: null kept as NULL or left
/// out, as either store might.
pub fn stored(user: &Value, nulls_as_null: bool) -> Map<String, Value> {
    let mut item = Map::new();
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
                .or_insert_with(|| Value::Object(Map::new()))
                .as_object_mut()
                .unwrap();
        }
        at.insert(segments[segments.len() - 1].to_string(), v.clone());
    }
    item
}

fn operand(ty: &'static str, op: &'static str) -> BoxedStrategy<Value> {
    let scalar: BoxedStrategy<Value> = match ty {
        "integer" => prop_oneof![
            4 => select(INTEGERS.to_vec()).prop_map(Value::from),
            1 => select(vec![0.5, 1.0, 2.5]).prop_map(number),
        ]
        .boxed(),
        "number" => prop_oneof![
            select(NUMBERS.to_vec()).prop_map(number),
            select(INTEGERS.to_vec()).prop_map(Value::from),
        ]
        .boxed(),
        "boolean" => any::<bool>().prop_map(Value::from).boxed(),
        "date" => select(DATE_QUERIES.to_vec()).prop_map(Value::from).boxed(),
        "array" => element().boxed(),
        "object" => object().boxed(),
        _ => string().boxed(),
    };
    match (ty, op) {
        (_, "$isnull" | "$exists") => any::<bool>().prop_map(Value::from).boxed(),
        (_, "$in" | "$nin" | "$all") => proptest::collection::vec(scalar, 1..4)
            .prop_map(Value::from)
            .boxed(),
        (_, "$range") => (scalar.clone(), scalar)
            .prop_map(|(a, b)| json!([a, b]))
            .boxed(),
        ("array", "$eq") => proptest::collection::vec(element(), 0..3)
            .prop_map(Value::from)
            .boxed(),
        ("object", "$has_key") => select(vec!["a", "b", "z"]).prop_map(Value::from).boxed(),
        (_, "$contains" | "$icontains") if ty != "array" => {
            select(WORDS.to_vec()).prop_map(Value::from).boxed()
        }
        _ => scalar,
    }
}

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

const FIELDS: [&str; 15] = [
    "id",
    "created_at",
    "gender",
    "level",
    "score",
    "vip",
    "_email_verified",
    "birthday",
    "tags",
    "prefs",
    "nickname",
    "bio",
    "country",
    "_username",
    "openid",
];

/// One condition: `{"f": {"$op": v}}`, or `{"f": v}` for `=`.
fn leaf() -> impl Strategy<Value = Value> {
    select(FIELDS.to_vec())
        .prop_flat_map(|field| {
            let ty = type_of(field);
            (Just(field), select(ops_of(ty)))
        })
        .prop_flat_map(|(field, op)| {
            let ty = type_of(field);
            let value = if op == "$regex" {
                select(REGEXES.to_vec())
                    .prop_map(|(p, o)| {
                        if o.is_empty() {
                            json!({"$regex": p})
                        } else {
                            json!({"$regex": p, "$options": o})
                        }
                    })
                    .boxed()
            } else if op == "=" {
                operand(ty, "$eq")
            } else {
                operand(ty, op).prop_map(move |v| json!({ op: v })).boxed()
            };
            value.prop_map(move |v| json!({ field: v }))
        })
}

/// A random `where`: leaves, objects of several fields, `$and` / `$or` to depth 3.
pub fn where_tree() -> impl Strategy<Value = Value> {
    let node = prop_oneof![
        3 => leaf(),
        1 => (leaf(), leaf()).prop_map(|(a, b)| {
            let (ka, kb) = (a.as_object().unwrap().keys().next().unwrap().clone(), b.as_object().unwrap().keys().next().unwrap().clone());
            if ka == kb {
                json!({"$and": [a, b]})
            } else {
                let mut m = a.as_object().unwrap().clone();
                m.extend(b.as_object().unwrap().clone());
                Value::Object(m)
            }
        }),
    ];
    node.prop_recursive(3, 24, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 1..4).prop_map(|v| json!({"$and": v})),
            proptest::collection::vec(inner, 1..4).prop_map(|v| json!({"$or": v})),
        ]
    })
}

// ---------------------------------------------------------------------------------------------
// The oracle

/// Equality with numbers compared as floats (the pools are small and exact).
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

/// The order of a value and an operand; dates as canonical strings.
fn order(ty: &str, v: &Value, x: &Value) -> Option<std::cmp::Ordering> {
    if ty == "date" {
        return Some(normalize_date(v.as_str()?)?.cmp(&normalize_date(x.as_str()?)?));
    }
    v.as_f64()?.partial_cmp(&x.as_f64()?)
}

fn equal(ty: &str, v: Option<&Value>, x: &Value) -> bool {
    match v {
        None => false,
        Some(v) if ty == "date" => order(ty, v, x) == Some(std::cmp::Ordering::Equal),
        Some(v) => same(v, x),
    }
}

fn regex(pattern: &str, options: &str, s: &str) -> bool {
    let folded = s.to_lowercase();
    let t = if options == "i" { folded.as_str() } else { s };
    match pattern {
        "^a" => t.starts_with('a'),
        "b$" => t.ends_with('b'),
        "a|中" => t.contains('a') || t.contains('中'),
        "^$" => t.is_empty(),
        "B" => t.contains(if options == "i" { 'b' } else { 'B' }),
        "^[a-z]+$" => !t.is_empty() && t.chars().all(|c| c.is_ascii_lowercase()),
        other => panic!("no oracle for {other}"),
    }
}

fn condition(field: &str, op: &str, x: &Value, options: &str, user: &Value) -> bool {
    use std::cmp::Ordering::*;
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
    match op {
        "$eq" if x.is_null() => v.is_none(),
        "$ne" if x.is_null() => v.is_some(),
        "$eq" => equal(ty, v, x),
        "$ne" => !equal(ty, v, x),
        "$lt" => v.and_then(|v| order(ty, v, x)) == Some(Less),
        "$lte" => matches!(v.and_then(|v| order(ty, v, x)), Some(Less | Equal)),
        "$gt" => v.and_then(|v| order(ty, v, x)) == Some(Greater),
        "$gte" => matches!(v.and_then(|v| order(ty, v, x)), Some(Greater | Equal)),
        "$range" => {
            let v = v.and_then(Value::as_f64);
            let (a, b) = (x[0].as_f64().unwrap(), x[1].as_f64().unwrap());
            v.is_some_and(|v| a <= v && v < b)
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
            .is_some_and(|s| regex(x.as_str().unwrap(), options, s)),
        "$in" => any_in(x),
        "$nin" => !any_in(x),
        "$all" => {
            let have = elements();
            v.is_some()
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

/// Whether `user` satisfies `where_`, read plainly.
pub fn oracle(where_: &Value, user: &Value) -> bool {
    where_
        .as_object()
        .unwrap()
        .iter()
        .all(|(key, v)| match key.as_str() {
            "$and" => v.as_array().unwrap().iter().all(|w| oracle(w, user)),
            "$or" => v.as_array().unwrap().iter().any(|w| oracle(w, user)),
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

// ---------------------------------------------------------------------------------------------
// Shortcuts

/// A condition the shortcut syntax can say.
#[derive(Debug, Clone)]
pub struct ShortcutCond {
    field: &'static str,
    op: &'static str,
    operand: Value,
    /// How a boolean is spelled (`true`, `1`, `True`).
    spelling: u8,
}

impl ShortcutCond {
    fn text(&self, v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            Value::Bool(b) => match (self.spelling % 3, b) {
                (0, _) => b.to_string(),
                (1, true) => "1".into(),
                (1, false) => "0".into(),
                (_, true) => "True".into(),
                (_, false) => "False".into(),
            },
            other => other.to_string(),
        }
    }

    pub fn shortcut(&self) -> (String, String) {
        let key = if self.op == "eq" {
            self.field.to_string()
        } else {
            format!("{}__{}", self.field, self.op)
        };
        let value = match &self.operand {
            Value::Array(items) => items
                .iter()
                .map(|v| self.text(v))
                .collect::<Vec<_>>()
                .join(","),
            v => self.text(v),
        };
        (key, value)
    }

    pub fn where_(&self) -> Value {
        let op = if self.op == "eq" && type_of(self.field) == "array" {
            "$contains".to_string()
        } else {
            format!("${}", self.op)
        };
        json!({ self.field: { op: self.operand } })
    }
}

pub fn shortcut_cond() -> impl Strategy<Value = ShortcutCond> {
    let fields = vec![
        "nickname",
        "bio",
        "level",
        "created_at",
        "score",
        "vip",
        "birthday",
        "tags",
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
            let operand = match (ty, op) {
                (_, "isnull") => any::<bool>().prop_map(Value::from).boxed(),
                ("array", "in") => proptest::collection::vec(select(WORDS.to_vec()), 1..4)
                    .prop_map(|v| json!(v))
                    .boxed(),
                ("array", _) => select(WORDS.to_vec()).prop_map(Value::from).boxed(),
                (_, "contains" | "icontains") => {
                    select(WORDS.to_vec()).prop_map(Value::from).boxed()
                }
                (_, "in") => operand(ty, "$in"),
                (_, "range") => operand(ty, "$range"),
                _ => operand(ty, "$eq"),
            };
            (Just(field), Just(op), operand, any::<u8>())
        })
        .prop_map(|(field, op, operand, spelling)| ShortcutCond {
            field,
            op,
            operand,
            spelling,
        })
}
