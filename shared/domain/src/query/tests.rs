use std::cmp::Ordering;

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::profile::UserFields;
use crate::testing as generate;

fn schema() -> Schema {
    UserFields::parse(
        "level:integer,score:number,vip:boolean,tags:array,bio:string,prefs:object,birthday:date",
    )
    .unwrap()
}

fn parse(where_: Value) -> Filter {
    Filter::from_where(&where_.to_string(), &schema()).unwrap_or_else(|e| panic!("{where_}: {e}"))
}

fn error(where_: Value) -> String {
    match Filter::from_where(&where_.to_string(), &schema()) {
        Err(ApiError::Invalid(m)) => m,
        other => panic!("{where_}: expected a 400, got {other:?}"),
    }
}

/// A user with every custom field set.
fn full() -> Value {
    json!({
        "id": 7, "user_id": 7, "created_by": 7, "created_at": 1000, "updated_at": 2000,
        "nickname": "Tom Cat", "avatar": "", "gender": 1, "country": "China", "province": null,
        "city": "Guangzhou", "language": "zh_CN",
        "_username": "tom", "_email": null, "_phone": null,
        "_email_verified": false, "_phone_verified": false, "openid": null, "unionid": null,
        "level": 5, "score": 2.5, "vip": true, "tags": ["a", "b", 3], "bio": "",
        "prefs": {"theme": "dark", "n": null}, "birthday": "1990-01-02T00:00:00.000000Z",
    })
}

/// A user without custom fields (absent, not null).
fn bare() -> Value {
    let mut o = full();
    let m = o.as_object_mut().unwrap();
    for k in ["level", "score", "vip", "tags", "bio", "prefs", "birthday"] {
        m.remove(k);
    }
    o
}

#[test]
fn every_operator_on_every_type_matches_as_minapp_means() {
    // (where, matches the full user, matches the bare user)
    let table = [
        // equality, numbers by value
        (json!({"level": 5}), true, false),
        (json!({"level": 5.0}), true, false),
        (json!({"level": {"$eq": 4}}), false, false),
        (json!({"score": {"$eq": 2.5}}), true, false),
        (json!({"nickname": "Tom Cat"}), true, true),
        (json!({"nickname": "tom cat"}), false, false),
        (json!({"vip": true}), true, false),
        (json!({"vip": false}), false, false),
        (json!({"_email_verified": false}), true, true),
        (json!({"birthday": "1990-01-02"}), true, false),
        (
            json!({"birthday": "1990-01-02T08:00:00+08:00"}),
            true,
            false,
        ),
        (json!({"tags": ["a", "b", 3.0]}), true, false),
        (json!({"tags": ["b", "a", 3]}), false, false),
        (
            json!({"prefs": {"$eq": {"n": null, "theme": "dark"}}}),
            true,
            false,
        ),
        (json!({"prefs": {"$eq": {"theme": "dark"}}}), false, false),
        // $ne matches users without a value
        (json!({"level": {"$ne": 4}}), true, true),
        (json!({"level": {"$ne": 5}}), false, true),
        (json!({"vip": {"$ne": true}}), false, true),
        (json!({"birthday": {"$ne": "1990-01-02"}}), false, true),
        (json!({"bio": {"$ne": ""}}), false, true),
        // comparisons: never on null
        (json!({"level": {"$gt": 4}}), true, false),
        (json!({"level": {"$gt": 5}}), false, false),
        (json!({"level": {"$gte": 5}}), true, false),
        (json!({"level": {"$lt": 5.5}}), true, false),
        (json!({"level": {"$lte": 4.99}}), false, false),
        (json!({"score": {"$lt": 3}}), true, false),
        (json!({"created_at": {"$gt": 999}}), true, true),
        (
            json!({"birthday": {"$lt": "1990-01-02T00:00:01Z"}}),
            true,
            false,
        ),
        (
            json!({"birthday": {"$gte": "1990-01-02T08:00:00+08:00"}}),
            true,
            false,
        ),
        (json!({"birthday": {"$gt": "1990-01-02"}}), false, false),
        // $range: half-open
        (json!({"level": {"$range": [5, 6]}}), true, false),
        (json!({"level": {"$range": [1, 5]}}), false, false),
        (json!({"score": {"$range": [2.5, 2.6]}}), true, false),
        // strings
        (json!({"nickname": {"$contains": "om C"}}), true, true),
        (json!({"nickname": {"$contains": "om c"}}), false, false),
        (json!({"nickname": {"$icontains": "OM c"}}), true, true),
        (json!({"city": {"$icontains": "ZHOU"}}), true, true),
        (json!({"nickname": {"$regex": "^T.m"}}), true, true),
        (json!({"nickname": {"$regex": "^t.m"}}), false, false),
        (
            json!({"nickname": {"$regex": "^t.m", "$options": "i"}}),
            true,
            true,
        ),
        (json!({"nickname": {"$regex": "cat$"}}), false, false),
        (json!({"bio": {"$regex": "^$"}}), true, false),
        (json!({"nickname": {"$in": ["Tom", "Tom Cat"]}}), true, true),
        (
            json!({"nickname": {"$nin": ["Tom", "Tom Cat"]}}),
            false,
            false,
        ),
        (json!({"level": {"$in": [1, 5]}}), true, false),
        (json!({"level": {"$nin": [1, 2]}}), true, true),
        (
            json!({"birthday": {"$in": ["1990-01-02", "2000-01-01"]}}),
            true,
            false,
        ),
        // arrays: $in any, $nin none, $all every, $contains one
        (json!({"tags": {"$in": ["z", "b"]}}), true, false),
        (json!({"tags": {"$in": ["z"]}}), false, false),
        (json!({"tags": {"$in": [3.0]}}), true, false),
        (json!({"tags": {"$nin": ["z", "y"]}}), true, true),
        (json!({"tags": {"$nin": ["z", "a"]}}), false, true),
        (json!({"tags": {"$all": ["a", 3]}}), true, false),
        (json!({"tags": {"$all": ["a", "z"]}}), false, false),
        (json!({"tags": {"$contains": "b"}}), true, false),
        (json!({"tags": {"$contains": "c"}}), false, false),
        // null, existence, keys
        (json!({"level": {"$isnull": true}}), false, true),
        (json!({"level": {"$isnull": false}}), true, false),
        (json!({"level": null}), false, true),
        (json!({"level": {"$ne": null}}), true, false),
        (json!({"province": {"$isnull": true}}), true, true),
        (json!({"openid": {"$isnull": true}}), true, true),
        (json!({"level": {"$exists": true}}), true, false),
        (json!({"level": {"$exists": false}}), false, true),
        (json!({"bio": {"$exists": true}}), false, false),
        (json!({"bio": {"$exists": false}}), true, true),
        (json!({"avatar": {"$exists": false}}), true, true),
        (json!({"nickname": {"$exists": true}}), true, true),
        (json!({"tags": {"$exists": true}}), true, false),
        (json!({"prefs": {"$has_key": "theme"}}), true, false),
        (json!({"prefs": {"$has_key": "n"}}), true, false),
        (json!({"prefs": {"$has_key": "x"}}), false, false),
        // several operators on one field, several fields: AND
        (json!({"level": {"$gt": 1, "$lt": 9}}), true, false),
        (json!({"level": {"$gt": 1, "$lt": 5}}), false, false),
        (json!({"level": 5, "nickname": "Tom Cat"}), true, false),
        // $and / $or, nested
        (
            json!({"$or": [{"level": 1}, {"nickname": {"$contains": "Cat"}}]}),
            true,
            true,
        ),
        (
            json!({"$and": [{"level": 5}, {"$or": [{"vip": false}, {"tags": {"$all": ["a"]}}]}]}),
            true,
            false,
        ),
        (
            json!({"$or": [{"$and": [{"level": {"$isnull": true}}, {"gender": 1}]}, {"score": 9}]}),
            false,
            true,
        ),
        (json!({}), true, true),
    ];
    for (where_, on_full, on_bare) in table {
        let f = parse(where_.clone());
        assert_eq!(f.matches(&full()), on_full, "{where_} on the full user");
        assert_eq!(f.matches(&bare()), on_bare, "{where_} on the bare user");
        // An absent field and a null one are the same.
        let mut nulls = bare();
        for k in ["level", "score", "vip", "tags", "bio", "prefs", "birthday"] {
            nulls[k] = Value::Null;
        }
        assert_eq!(f.matches(&nulls), on_bare, "{where_} on nulls");
    }
}

#[test]
fn each_type_takes_only_its_operators() {
    // MinApp's table, plus $ne/$in/$nin on scalars and $icontains on strings.
    let allowed: [(&str, &[&str]); 7] = [
        (
            "bio",
            &[
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
        ),
        (
            "level",
            &[
                "$eq", "$ne", "$lt", "$lte", "$gt", "$gte", "$in", "$nin", "$range", "$isnull",
                "$exists",
            ],
        ),
        (
            "score",
            &[
                "$eq", "$ne", "$lt", "$lte", "$gt", "$gte", "$in", "$nin", "$range", "$isnull",
                "$exists",
            ],
        ),
        ("vip", &["$eq", "$ne", "$in", "$nin", "$isnull", "$exists"]),
        (
            "birthday",
            &[
                "$eq", "$ne", "$lt", "$lte", "$gt", "$gte", "$in", "$nin", "$isnull", "$exists",
            ],
        ),
        (
            "tags",
            &[
                "$eq",
                "$in",
                "$nin",
                "$all",
                "$contains",
                "$isnull",
                "$exists",
            ],
        ),
        ("prefs", &["$eq", "$has_key", "$isnull", "$exists"]),
    ];
    let sample = |field: &str, op: &str| -> Value {
        let one = match field {
            "bio" => json!("x"),
            "level" | "score" => json!(1),
            "vip" => json!(true),
            "birthday" => json!("2020-01-01"),
            "tags" => json!("x"),
            _ => json!({"a": 1}),
        };
        match op {
            "$in" | "$nin" | "$all" => json!([one]),
            "$range" => json!([1, 2]),
            "$isnull" | "$exists" => json!(true),
            "$has_key" | "$regex" | "$contains" | "$icontains" if field != "tags" => json!("x"),
            "$eq" | "$ne" if field == "tags" => json!(["x"]),
            _ => one,
        }
    };
    let types = [
        "string", "integer", "number", "boolean", "date", "array", "object",
    ];
    for ((field, ops), ty) in allowed.iter().zip(types) {
        for op in KNOWN_OPS {
            let where_ = json!({ *field: { op: sample(field, op) } });
            let got = Filter::from_where(&where_.to_string(), &schema());
            if ops.contains(&op) {
                assert!(got.is_ok(), "{where_}: {got:?}");
            } else {
                let a = if matches!(ty, "integer" | "array" | "object") {
                    "an"
                } else {
                    "a"
                };
                assert_eq!(
                    got.unwrap_err().to_string(),
                    format!("{field}: {op} does not apply to {a} {ty} field"),
                );
            }
        }
    }
}

#[test]
fn malformed_queries_name_what_is_wrong() {
    for (where_, says) in [
        (json!([1]), "where: must be a JSON object"),
        (json!({"nope": 1}), "nope: unknown field"),
        (
            json!({"level": {"$foo": 1}}),
            "level: unknown operator $foo",
        ),
        (json!({"$not": {"level": 1}}), "$not: unknown operator"),
        (json!({"$and": []}), "$and: must be a non-empty list"),
        (
            json!({"$or": {"level": 1}}),
            "$or: must be a non-empty list",
        ),
        (json!({"$and": [1]}), "where: must be a JSON object"),
        (json!({"level": "5"}), "level: $eq takes a number"),
        (json!({"level": {"$gt": "5"}}), "level: $gt takes a number"),
        (
            json!({"vip": {"$eq": "true"}}),
            "vip: $eq takes true or false",
        ),
        (
            json!({"birthday": {"$lt": "last year"}}),
            "birthday: $lt takes an ISO 8601 date",
        ),
        (
            json!({"bio": {"$contains": ""}}),
            "bio: $contains takes a non-empty string",
        ),
        (
            json!({"bio": {"$icontains": 5}}),
            "bio: $icontains takes a non-empty string",
        ),
        (
            json!({"bio": {"$in": []}}),
            "bio: $in takes a list of 1 to 1000 values",
        ),
        (json!({"bio": {"$in": "a"}}), "bio: $in takes a list"),
        (json!({"bio": {"$in": ["a", 1]}}), "bio: $in takes a string"),
        (
            json!({"tags": {"$in": ["a", null]}}),
            "tags: $in: null is not a value",
        ),
        (
            json!({"tags": "a"}),
            "tags: $eq on an array field takes a whole array",
        ),
        (
            json!({"prefs": {"$has_key": ""}}),
            "prefs: $has_key takes a non-empty key name",
        ),
        (
            json!({"prefs": [1]}),
            "prefs: $eq on an object field takes an object",
        ),
        (
            json!({"level": {"$range": [1]}}),
            "level: $range takes [start, end]",
        ),
        (
            json!({"level": {"$range": [1, "2"]}}),
            "level: $range takes a number",
        ),
        (
            json!({"level": {"$isnull": 1}}),
            "level: $isnull takes true or false",
        ),
        (
            json!({"level": {"$exists": "yes"}}),
            "level: $exists takes true or false",
        ),
        (
            json!({"level": {"$gt": 1, "x": 2}}),
            "level: \"x\" mixed with operators",
        ),
        (
            json!({"bio": {"$options": "i"}}),
            "bio: $options needs $regex",
        ),
        (
            json!({"bio": {"$regex": "a", "$options": "q"}}),
            "bio: $options: unknown flag 'q'",
        ),
        (
            json!({"bio": {"$regex": "a", "$options": 1}}),
            "bio: $options must be a string",
        ),
        (
            json!({"bio": {"$regex": 5}}),
            "bio: $regex takes a string pattern",
        ),
        (
            json!({"bio": {"$regex": "(a"}}),
            "bio: $regex is not a valid pattern",
        ),
        (
            json!({"bio": {"$regex": "(a)\\1"}}),
            "bio: $regex is not a valid pattern",
        ),
        (
            json!({"bio": {"$regex": "a(?=b)"}}),
            "bio: $regex is not a valid pattern",
        ),
        (
            json!({"bio": {"$within": {}}}),
            "bio: $within: geo queries are not supported",
        ),
        (
            json!({"prefs": {"$nearsphere": {}}}),
            "prefs: $nearsphere: geo queries are not supported",
        ),
        (
            json!({"tags": {"$intersects": {}}}),
            "tags: $intersects: geo queries are not supported",
        ),
    ] {
        let m = error(where_.clone());
        assert!(m.starts_with(says), "{where_}: {m}");
    }
    let long = "a".repeat(REGEX_MAX_CHARS + 1);
    assert_eq!(
        error(json!({"bio": {"$regex": long}})),
        format!("bio: $regex must be at most {REGEX_MAX_CHARS} characters")
    );
    // Compiled size is bounded too: `\w{100}` compiles within the crate's default 10 MiB, not
    // within ours (matching it costs too much per user).
    let m = error(json!({"bio": {"$regex": "\\w{100}"}}));
    assert!(
        m.starts_with("bio: $regex is not a valid pattern") && m.contains("size limit"),
        "{m}"
    );
    parse(json!({"bio": {"$regex": "^[\\w.-]{1,64}$"}}));
    assert!(
        Filter::from_where("{\"level\": ", &schema())
            .unwrap_err()
            .to_string()
            .starts_with("where: is not valid JSON")
    );
    let many: Vec<Value> = (0..=CONDITIONS_MAX).map(|i| json!({"level": i})).collect();
    assert_eq!(
        error(json!({"$or": many})),
        format!("where: at most {CONDITIONS_MAX} conditions per query")
    );
}

#[test]
fn nesting_goes_to_any_depth() {
    let mut w = json!({"level": 5});
    for i in 0..60 {
        w = if i % 2 == 0 {
            json!({"$and": [w]})
        } else {
            json!({"$or": [w, {"level": -1}]})
        };
    }
    let f = parse(w);
    assert!(f.matches(&full()));
    assert!(!f.matches(&bare()));
}

#[test]
fn groups_normalise_so_equal_queries_compare_equal() {
    assert_eq!(
        parse(json!({"$and": [{"level": 1}]})),
        parse(json!({"level": 1}))
    );
    assert_eq!(
        parse(json!({"$and": [{"level": 1}, {"$and": [{"bio": "x"}, {"vip": true}]}]})),
        parse(json!({"$and": [{"level": 1}, {"bio": "x"}, {"vip": true}]}))
    );
    assert_eq!(parse(json!({"$or": [{}, {"level": 1}]})), Filter::True);
    assert_eq!(Filter::and([Filter::True, Filter::True]), Filter::True);
    let a = parse(json!({"level": 1}));
    let b = parse(json!({"bio": "x"}));
    assert_eq!(
        Filter::and([a.clone(), b.clone()]),
        parse(json!({"$and": [{"level": 1}, {"bio": "x"}]}))
    );
}

fn shortcuts(pairs: &[(&str, &str)]) -> ApiResult<Filter> {
    Filter::from_shortcuts(pairs.iter().copied(), &schema())
}

#[test]
fn shortcuts_read_values_as_the_field_type() {
    for (pairs, where_) in [
        (vec![("nickname", "Tom")], json!({"nickname": "Tom"})),
        (vec![("level", "5")], json!({"level": 5})),
        (vec![("score__lt", "2.5")], json!({"score": {"$lt": 2.5}})),
        (
            vec![("level__lte", "5"), ("level__gte", "1")],
            json!({"$and": [{"level": {"$lte": 5}}, {"level": {"$gte": 1}}]}),
        ),
        (
            vec![("created_at__gt", "1483228800")],
            json!({"created_at": {"$gt": 1483228800}}),
        ),
        (vec![("gender", "1")], json!({"gender": 1})),
        (vec![("vip", "true")], json!({"vip": true})),
        (vec![("vip__ne", "False")], json!({"vip": {"$ne": false}})),
        (vec![("bio__ne", "x")], json!({"bio": {"$ne": "x"}})),
        (
            vec![("nickname__contains", "Tom")],
            json!({"nickname": {"$contains": "Tom"}}),
        ),
        (
            vec![("nickname__icontains", "tom")],
            json!({"nickname": {"$icontains": "tom"}}),
        ),
        (
            vec![("level__in", "1,2,3")],
            json!({"level": {"$in": [1, 2, 3]}}),
        ),
        (
            vec![("nickname__in", "a,b")],
            json!({"nickname": {"$in": ["a", "b"]}}),
        ),
        (
            vec![("level__range", "1,5")],
            json!({"level": {"$range": [1, 5]}}),
        ),
        (
            vec![("birthday__lt", "2000-01-01")],
            json!({"birthday": {"$lt": "2000-01-01T00:00:00Z"}}),
        ),
        (
            vec![("level__isnull", "true")],
            json!({"level": {"$isnull": true}}),
        ),
        (
            vec![("prefs__isnull", "0")],
            json!({"prefs": {"$isnull": false}}),
        ),
        (
            vec![("tags__in", "a,b")],
            json!({"tags": {"$in": ["a", "b"]}}),
        ),
        (
            vec![("tags__contains", "a")],
            json!({"tags": {"$contains": "a"}}),
        ),
        // MinApp's element test: `tags=a` is "a is an element".
        (vec![("tags", "a")], json!({"tags": {"$contains": "a"}})),
        (
            vec![
                ("where", "{}"),
                ("order_by", "-id"),
                ("limit", "5"),
                ("offset", "1"),
                ("return_total_count", "1"),
                ("keys", "a"),
                ("expand", "b"),
            ],
            json!({}),
        ),
    ] {
        assert_eq!(
            shortcuts(&pairs).unwrap(),
            parse(where_.clone()),
            "{pairs:?}"
        );
    }
    // The documented example.
    let f = shortcuts(&[
        ("nickname__contains", "Tom"),
        ("gender", "1"),
        ("created_at__gt", "999"),
        ("order_by", "-created_at"),
        ("return_total_count", "1"),
    ])
    .unwrap();
    assert!(f.matches(&full()));
}

#[test]
fn shortcut_errors_name_the_parameter() {
    for (pairs, says) in [
        (vec![("level", "five")], "level: must be a number"),
        (vec![("level__gt", "five")], "level__gt: must be a number"),
        (vec![("level__in", "1,x")], "level__in: must be a number"),
        (
            vec![("level__range", "1")],
            "level__range: $range takes [start, end]",
        ),
        (vec![("vip", "yes")], "vip: must be true or false"),
        (
            vec![("level__isnull", "maybe")],
            "level__isnull: must be true or false",
        ),
        (
            vec![("level__contains", "1")],
            "level__contains: $contains does not apply to an integer field",
        ),
        (
            vec![("level__regex", "1")],
            "level__regex: unknown operator \"regex\"",
        ),
        (vec![("nope", "1")], "nope: unknown field"),
        (vec![("nope__gt", "1")], "nope__gt: unknown field"),
        (
            vec![("prefs", "x")],
            "prefs: object fields take only isnull",
        ),
        (
            vec![("birthday__gt", "soon")],
            "birthday__gt: $gt takes an ISO 8601 date",
        ),
        (
            vec![("bio__contains", "")],
            "bio__contains: $contains takes a non-empty string",
        ),
    ] {
        let m = shortcuts(&pairs).unwrap_err().to_string();
        assert!(m.starts_with(says), "{pairs:?}: {m}");
    }
}

#[test]
fn direct_lookup_finds_exact_ids_and_account_names() {
    let f = parse(json!({"id": 7, "level": {"$gt": 1}}));
    assert_eq!(f.direct_lookup(), Some((Builtin::Id, &json!(7))));
    let f = parse(json!({"_email": {"$eq": "a@b.c"}}));
    assert_eq!(f.direct_lookup(), Some((Builtin::Email, &json!("a@b.c"))));
    assert_eq!(
        parse(json!({"$or": [{"id": 7}, {"id": 8}]})).direct_lookup(),
        None
    );
    assert_eq!(parse(json!({"id": {"$gt": 7}})).direct_lookup(), None);
    assert_eq!(parse(json!({"nickname": "x"})).direct_lookup(), None);
}

// ---------------------------------------------------------------------------------------------
// Pushdown

fn order(text: &str) -> OrderBy {
    OrderBy::parse(text, &schema()).unwrap()
}

#[test]
fn order_by_parses_keys_and_refuses_what_cannot_be_sorted() {
    assert_eq!(order(""), OrderBy::default());
    assert_eq!(order("-created_at"), OrderBy::default());
    let o = order("level, -nickname,birthday");
    let keys: Vec<(&str, bool)> = o
        .keys
        .iter()
        .map(|k| (k.field.as_str(), k.descending))
        .collect();
    assert_eq!(
        keys,
        [("level", false), ("nickname", true), ("birthday", false)]
    );
    for (text, says) in [
        ("gender", "order_by: gender: cannot be sorted by"),
        ("-country", "order_by: country: cannot be sorted by"),
        ("province", "order_by: province: cannot be sorted by"),
        ("city", "order_by: city: cannot be sorted by"),
        ("language", "order_by: language: cannot be sorted by"),
        ("tags", "order_by: tags: cannot be sorted by"),
        ("prefs", "order_by: prefs: cannot be sorted by"),
        ("nope", "order_by: nope: unknown field"),
        ("level,,id", "order_by: has an empty key"),
        ("-", "order_by: has an empty key"),
        ("level,-level", "order_by: level: listed twice"),
    ] {
        assert_eq!(
            OrderBy::parse(text, &schema()).unwrap_err().to_string(),
            says
        );
    }
}

#[test]
fn the_index_order_is_recognised() {
    assert_eq!(order("").index_order(), Some(true));
    assert_eq!(order("created_at").index_order(), Some(false));
    assert_eq!(order("-created_at,-id").index_order(), Some(true));
    assert_eq!(order("-created_at,id").index_order(), None);
    assert_eq!(order("id").index_order(), None);
    assert_eq!(order("created_at,level").index_order(), None);
}

#[test]
fn ordering_puts_nulls_first_ascending_and_breaks_ties_by_id() {
    let users = [
        json!({"id": 1, "created_at": 10, "level": 3, "nickname": "b"}),
        json!({"id": 2, "created_at": 10, "level": null, "nickname": "a"}),
        json!({"id": 3, "created_at": 11, "nickname": "B"}),
        json!({"id": 4, "created_at": 9, "level": 3.5, "nickname": "a"}),
        json!({"id": 5, "created_at": 11, "level": -1, "nickname": "中"}),
    ];
    let sorted = |text: &str| {
        let o = order(text);
        let mut v = users.to_vec();
        v.sort_by(|a, b| o.compare(a, b));
        v.iter()
            .map(|u| u["id"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        sorted(""),
        [5, 3, 2, 1, 4],
        "newest first, ties by id descending"
    );
    assert_eq!(sorted("created_at"), [4, 1, 2, 3, 5]);
    assert_eq!(sorted("level"), [2, 3, 5, 1, 4], "null and absent first");
    assert_eq!(sorted("-level"), [4, 1, 5, 3, 2], "null and absent last");
    assert_eq!(
        sorted("nickname,-created_at"),
        [3, 2, 4, 1, 5],
        "code point order"
    );
    assert_eq!(
        sorted("-nickname"),
        [5, 1, 4, 2, 3],
        "ties by id descending"
    );
    let dates = [
        json!({"id": 1, "birthday": "2000-01-01T00:00:00.000000Z"}),
        json!({"id": 2, "birthday": "1999-12-31T23:00:00.000000Z"}),
        json!({"id": 3}),
    ];
    let o = order("birthday");
    let mut v = dates.to_vec();
    v.sort_by(|a, b| o.compare(a, b));
    let ids: Vec<i64> = v.iter().map(|u| u["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [3, 2, 1]);
}

// ---------------------------------------------------------------------------------------------
// Paging

#[test]
fn page_parameters_are_checked() {
    assert_eq!(Page::parse([]).unwrap(), Page::default());
    assert_eq!(
        Page::parse([
            ("limit", "1000"),
            ("offset", "40"),
            ("return_total_count", "1"),
            ("where", "{}")
        ])
        .unwrap(),
        Page {
            limit: 1000,
            offset: 40,
            return_total_count: true
        }
    );
    for (pairs, says) in [
        (
            vec![("limit", "0")],
            "limit: must be an integer from 1 to 1000",
        ),
        (
            vec![("limit", "1001")],
            "limit: must be an integer from 1 to 1000",
        ),
        (
            vec![("limit", "ten")],
            "limit: must be an integer from 1 to 1000",
        ),
        (
            vec![("offset", "-1")],
            "offset: must be a non-negative integer",
        ),
        (
            vec![("offset", "1.5")],
            "offset: must be a non-negative integer",
        ),
        (
            vec![("return_total_count", "true")],
            "return_total_count: must be 0 or 1",
        ),
        (
            vec![("limit", "5"), ("limit", "6")],
            "limit: given more than once",
        ),
    ] {
        assert_eq!(
            Page::parse(pairs.iter().copied()).unwrap_err().to_string(),
            says
        );
    }
}

#[test]
fn links_keep_the_query_and_move_the_offset() {
    let path = "/userve/v2.2/miniapp/user_profile/";
    let query = "where=%7B%22level%22%3A1%7D&limit=2&offset=4&order_by=-created_at";
    let page = Page {
        limit: 2,
        offset: 4,
        return_total_count: false,
    };
    assert_eq!(
        page.links(path, query, 2, true),
        (
            Some(format!(
                "{path}?where=%7B%22level%22%3A1%7D&limit=2&order_by=-created_at&offset=6"
            )),
            Some(format!(
                "{path}?where=%7B%22level%22%3A1%7D&limit=2&order_by=-created_at&offset=2"
            )),
        )
    );
    // Last page; a page cut short continues where it stopped.
    assert_eq!(page.links(path, query, 2, false).0, None);
    assert_eq!(page.next_offset(1, true), Some(5));
    let first = Page {
        limit: 20,
        offset: 0,
        return_total_count: false,
    };
    assert_eq!(
        first.links(path, "", 20, true),
        (Some(format!("{path}?offset=20")), None)
    );
    let near = Page {
        limit: 20,
        offset: 5,
        return_total_count: false,
    };
    assert_eq!(near.previous_offset(), Some(0));
    assert_eq!(
        page_link(path, "%6Fffset=3&a=1", 9),
        format!("{path}?a=1&offset=9")
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Conditions both syntaxes can say parse to the same filter.
    #[test]
    fn shortcuts_and_where_agree(conds in proptest::collection::vec(generate::shortcut(), 1..5)) {
        let from_shortcuts = Filter::from_shortcuts(
            conds.iter().map(|c| (c.key.as_str(), c.value.as_str())),
            &schema(),
        ).unwrap();
        let where_ = json!({"$and": conds.iter().map(|c| c.means.clone()).collect::<Vec<_>>()});
        prop_assert_eq!(from_shortcuts, parse(where_));
    }

    /// The evaluator agrees with a plain, separately written reading of each condition.
    #[test]
    fn matches_agrees_with_the_oracle(
        where_ in generate::where_tree(&generate::Pools::fixed()),
        users in proptest::collection::vec(generate::user_object(), 1..8),
    ) {
        let f = parse(where_.clone());
        for u in &users {
            prop_assert_eq!(f.matches(u), generate::matches(&where_, u), "{} on {}", where_, u);
        }
    }

    /// `order_by` is a total order: antisymmetric, transitive, equal only for the same id.
    #[test]
    fn order_is_total(
        keys in proptest::sample::subsequence(vec!["level", "-score", "nickname", "-birthday", "vip", "-created_at"], 0..4),
        users in proptest::collection::vec(generate::user_object(), 3..12),
    ) {
        let o = order(&keys.join(","));
        let mut users = users;
        for (i, u) in users.iter_mut().enumerate() {
            u["id"] = json!(i);
        }
        for a in &users {
            for b in &users {
                let ab = o.compare(a, b);
                prop_assert_eq!(ab, o.compare(b, a).reverse());
                prop_assert_eq!(ab == Ordering::Equal, a["id"] == b["id"]);
                for c in &users {
                    if ab != Ordering::Greater && o.compare(b, c) != Ordering::Greater {
                        prop_assert!(o.compare(a, c) != Ordering::Greater);
                    }
                }
            }
        }
    }
}

#[test]
fn the_regex_patterns_of_one_query_share_one_budget() {
    // Each compiles within the per-pattern limit on its own ...
    let big = "\\w{50}";
    parse(json!({"bio": {"$regex": big}}));
    parse(json!({"nickname": {"$regex": big}}));
    // ... but not two of them in one query, wherever they sit.
    for where_ in [
        json!({"$or": [{"bio": {"$regex": big}}, {"nickname": {"$regex": big}}]}),
        json!({"bio": {"$regex": big}, "$and": [{"city": {"$regex": big}}]}),
    ] {
        let m = error(where_.clone());
        assert!(
            m.starts_with("where: the $regex patterns of one query share a budget"),
            "{where_}: {m}"
        );
    }
    // Small patterns: a count.
    let small: Vec<Value> = (0..QUERY_REGEX_MAX)
        .map(|i| json!({"bio": {"$regex": format!("^a{i}")}}))
        .collect();
    parse(json!({"$or": small.clone()}));
    let mut more = small;
    more.push(json!({"bio": {"$regex": "^b"}}));
    let m = error(json!({"$or": more}));
    assert!(
        m.contains(&format!("at most {QUERY_REGEX_MAX} patterns")),
        "{m}"
    );
}

#[test]
fn two_hundred_large_patterns_are_refused_before_they_are_built() {
    let patterns: Vec<Value> = (0..200)
        .map(|i| json!({"bio": {"$regex": format!("\\w{{79}}{i}")}}))
        .collect();
    let m = error(json!({"$or": patterns}));
    assert!(
        m.starts_with("where: the $regex patterns of one query share a budget"),
        "{m}"
    );
}
