//! The MinApp filter's pushdown as DynamoDB receives it: the query language's condition tree
//! rendered through the one expression builder ([`crate::expr`]), checked against a model of
//! DynamoDB's condition expressions ([`ddb`]).

use std::collections::BTreeMap;

use domain::profile::UserFields;
use domain::query::{EXPRESSION_MAX_BYTES, Filter, Pushdown};
use domain::testing::{self as generate, attr, stored};
use proptest::prelude::*;
use serde_json::{Value, json};

mod ddb;

fn parse(where_: Value) -> Filter {
    let schema = UserFields::parse(
        "level:integer,score:number,vip:boolean,tags:array,bio:string,prefs:object,birthday:date",
    )
    .unwrap();
    Filter::from_where(&where_.to_string(), &schema).unwrap_or_else(|e| panic!("{where_}: {e}"))
}

/// A pushdown as the store sends it: rendered through the store's expression builder, values
/// back in JSON for the model.
#[derive(Debug)]
struct Pushed {
    expression: Option<String>,
    names: BTreeMap<String, String>,
    values: BTreeMap<String, Value>,
    residual: bool,
}

fn render(p: &Pushdown) -> Pushed {
    let mut e = crate::expr::Expr::new();
    if let Some(c) = &p.condition {
        e.filter_of(c).expect("renders");
    }
    Pushed {
        expression: e.filter_expression(),
        names: e.names().unwrap_or_default().into_iter().collect(),
        values: e
            .values()
            .unwrap_or_default()
            .iter()
            .map(|(k, v)| (k.clone(), json_of(v)))
            .collect(),
        residual: p.residual,
    }
}

fn json_of(v: &aws_sdk_dynamodb::types::AttributeValue) -> Value {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    match v {
        A::S(s) => json!(s),
        A::N(n) => Value::Number(n.parse().expect("a number")),
        A::Bool(b) => json!(b),
        A::Null(_) => Value::Null,
        A::L(items) => Value::Array(items.iter().map(json_of).collect()),
        A::M(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), json_of(v))).collect()),
        other => panic!("unexpected value {other:?}"),
    }
}

fn push(where_: Value) -> Pushed {
    render(&parse(where_).to_dynamo(attr))
}

#[test]
fn pushdown_translates_each_operator_through_placeholders() {
    let cases = [
        (json!({"level": {"$gt": 3}}), "#n0.#n1 > :v0"),
        (json!({"level": {"$lte": 3}}), "#n0.#n1 <= :v0"),
        (json!({"nickname": "Tom"}), "#n0 = :v0"),
        (
            json!({"gender": {"$ne": 1}}),
            "attribute_not_exists(#n0) OR #n0 <> :v0",
        ),
        (
            json!({"level": {"$range": [1, 5]}}),
            "#n0.#n1 >= :v0 AND #n0.#n1 < :v1",
        ),
        (json!({"level": {"$in": [1, 2]}}), "#n0.#n1 IN (:v0, :v1)"),
        (
            json!({"level": {"$nin": [1, 2]}}),
            "NOT (#n0.#n1 IN (:v0, :v1))",
        ),
        (
            json!({"tags": {"$in": ["a", "b"]}}),
            "contains(#n0.#n1, :v0) OR contains(#n0.#n1, :v1)",
        ),
        (
            json!({"tags": {"$nin": ["a"]}}),
            "NOT contains(#n0.#n1, :v0)",
        ),
        (
            json!({"tags": {"$all": ["a", "b"]}}),
            "contains(#n0.#n1, :v0) AND contains(#n0.#n1, :v1)",
        ),
        (json!({"bio": {"$contains": "x"}}), "contains(#n0.#n1, :v0)"),
        (
            json!({"level": {"$isnull": true}}),
            "attribute_not_exists(#n0.#n1) OR attribute_type(#n0.#n1, :v0)",
        ),
        (
            json!({"level": {"$isnull": false}}),
            "attribute_exists(#n0.#n1) AND NOT attribute_type(#n0.#n1, :v0)",
        ),
        (
            json!({"bio": {"$exists": true}}),
            "attribute_type(#n0.#n1, :v0) AND size(#n0.#n1) > :v1",
        ),
        (
            json!({"bio": {"$exists": false}}),
            "NOT (attribute_type(#n0.#n1, :v0) AND size(#n0.#n1) > :v1)",
        ),
        (
            json!({"prefs": {"$has_key": "theme"}}),
            "attribute_exists(#n0.#n1.#n2)",
        ),
        (json!({"tags": ["a", 1]}), "#n0.#n1 = :v0"),
        (
            json!({"$or": [{"level": 1}, {"nickname": "x"}]}),
            "#n0.#n1 = :v0 OR #n2 = :v1",
        ),
        (
            json!({"level": 1, "nickname": "x"}),
            "#n0.#n1 = :v0 AND #n2 = :v1",
        ),
    ];
    for (where_, expression) in cases {
        let p = push(where_.clone());
        assert_eq!(p.expression.as_deref(), Some(expression), "{where_}");
        assert!(!p.residual, "{where_}");
    }
    let p = push(json!({"prefs": {"$has_key": "theme"}}));
    assert_eq!(
        p.names,
        BTreeMap::from([
            ("#n0".to_string(), "fields".to_string()),
            ("#n1".to_string(), "prefs".to_string()),
            ("#n2".to_string(), "theme".to_string()),
        ])
    );
    let p = push(json!({"birthday": {"$lt": "2000-01-01T08:00:00+08:00"}}));
    assert_eq!(p.values[":v0"], json!("2000-01-01T00:00:00.000000Z"));
    let p = push(json!({"level": {"$isnull": true}}));
    assert_eq!(p.values[":v0"], json!("NULL"));
}

#[test]
fn what_dynamodb_cannot_evaluate_stays_residual() {
    for where_ in [
        json!({"nickname": {"$icontains": "tom"}}),
        json!({"nickname": {"$regex": "^T"}}),
        json!({"openid": {"$isnull": true}}),
        json!({"_email_verified": true}),
        json!({"bio": ""}),
        json!({"tags": {"$in": ["", "a"]}}),
        json!({"score": {"$lt": 1e200}}),
        json!({"$or": [{"level": 1}, {"nickname": {"$regex": "x"}}]}),
    ] {
        let p = push(where_.clone());
        assert_eq!(p.expression, None, "{where_}");
        assert!(p.residual, "{where_}");
        assert!(p.values.is_empty() && p.names.is_empty(), "{where_}");
    }
    // The pushable part of an AND still goes down.
    let p = push(json!({"level": 1, "nickname": {"$icontains": "tom"}}));
    assert_eq!(p.expression.as_deref(), Some("#n0.#n1 = :v0"));
    assert!(p.residual);
    // An OR with a residual branch: a superset, still filtered where possible.
    let p = push(
        json!({"$or": [{"level": 1}, {"$and": [{"level": 2}, {"nickname": {"$regex": "x"}}]}]}),
    );
    assert_eq!(
        p.expression.as_deref(),
        Some("#n0.#n1 = :v0 OR #n0.#n1 = :v1")
    );
    assert!(p.residual);
    assert_eq!(Filter::True.to_dynamo(attr), Pushdown::default());
    // Placeholders of what was not pushed are gone: DynamoDB refuses unused ones.
    let p = push(json!({"$and": [
        {"$or": [{"level": 1}, {"nickname": {"$regex": "x"}}]},
        {"bio": {"$icontains": "y"}},
        {"gender": 2},
    ]}));
    assert_eq!(p.expression.as_deref(), Some("#n0 = :v0"));
    assert_eq!(
        p.names,
        BTreeMap::from([("#n0".to_string(), "gender".to_string())])
    );
    assert_eq!(p.values, BTreeMap::from([(":v0".to_string(), json!(2))]));
    assert!(p.residual);
}

#[test]
fn long_queries_fit_dynamodb_limits() {
    let many: Vec<u32> = (0..250).collect();
    let p = push(json!({"level": {"$in": many}}));
    let e = p.expression.unwrap();
    assert_eq!(
        e.matches(" IN (").count(),
        3,
        "IN takes at most 100 operands"
    );
    assert!(!p.residual);
    assert_eq!(p.values.len(), 250);
    // Over 4 KB (145 contains, 290 operators): only the conjuncts that fit, the rest checked in
    // the function.
    let words: Vec<String> = (0..145).map(|i| format!("w{i}")).collect();
    let f = parse(json!({"$and": [{"level": 1}, {"tags": {"$all": words}}, {"gender": 1}]}));
    let p = render(&f.to_dynamo(attr));
    let e = p.expression.unwrap();
    assert!(e.len() <= EXPRESSION_MAX_BYTES);
    assert_eq!(e, "#n0.#n1 = :v0 AND #n2 = :v1");
    assert_eq!(
        p.values.len(),
        2,
        "no placeholder of the dropped conjunct is left"
    );
    assert!(p.residual);
    // Over 300 operators: 200 contains and 199 ORs.
    let words: Vec<String> = (0..200).map(|i| format!("w{i}")).collect();
    let p = push(json!({"tags": {"$in": words}, "gender": 1}));
    assert_eq!(p.expression.as_deref(), Some("#n0 = :v0"));
    assert!(p.residual);
    // Short conditions: under 4 KB, over 300 operators (151 comparisons, 150 ANDs).
    let many: Vec<Value> = (0..151).map(|i| json!({"gender": {"$gt": i}})).collect();
    let p = push(json!({ "$and": many }));
    let e = p.expression.unwrap();
    assert_eq!(e.matches(" AND ").count(), 149, "{e}");
    assert!(p.residual);
    let ok: Vec<String> = (0..100).map(|i| format!("w{i}")).collect();
    let p = push(json!({"tags": {"$in": ok}}));
    assert!(!p.residual, "199 operators fit");
}

#[test]
fn every_name_and_value_in_an_expression_is_a_placeholder() {
    // The model's tokenizer accepts only placeholders, keywords and functions: raw text fails.
    let p = push(json!({"$or": [
        {"nickname": {"$in": ["Robert'); DROP", "a = b"]}},
        {"prefs": {"$has_key": "x) OR (y"}},
        {"level": {"$gte": -5, "$lt": 1e10}},
    ]}));
    let e = p.expression.unwrap();
    ddb::tokens(&e);
    assert!(!e.contains("DROP") && !e.contains('\''));
}

// ---------------------------------------------------------------------------------------------
// order_by

proptest! {
    /// DynamoDB's selection (modelled) holds every match, and is exactly the matches when the
    /// pushdown says nothing is residual; whether the store keeps null as NULL or absent.
    #[test]
    fn pushdown_selects_a_superset(
        where_ in generate::where_tree(&generate::Pools::fixed()),
        users in proptest::collection::vec((generate::user_object(), any::<bool>()), 1..8),
    ) {
        let f = parse(where_.clone());
        let p = render(&f.to_dynamo(attr));
        if let Some(e) = &p.expression {
            prop_assert!(e.len() <= EXPRESSION_MAX_BYTES);
        }
        for (u, nulls_as_null) in &users {
            let item = stored(u, *nulls_as_null);
            let selected = p.expression.as_ref().is_none_or(|e| ddb::eval(e, &p.names, &p.values, &item));
            let m = f.matches(u);
            prop_assert!(!m || selected, "{} lost {} (expression {:?})", where_, u, p.expression);
            if !p.residual {
                prop_assert_eq!(m, selected, "{} on {}: exact pushdown {:?} disagrees", where_, u, p.expression);
            }
        }
    }

}
