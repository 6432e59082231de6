//! The one builder of DynamoDB expressions: the key condition, condition, update and filter of
//! one request, and the `ExpressionAttributeNames` / `ExpressionAttributeValues` they share.
//!
//! Every attribute name and every value goes through a placeholder handed out here: names
//! `#n0, #n1, ...` (one per distinct name, so a name used twice has one placeholder), values
//! `:v0, :v1, ...`, each from one counter per request. A condition, an update and a filter
//! built into the same [`Expr`] can therefore never collide, and no name (reserved words like
//! `name` or `status`, names holding `.`, `#`, `:` or spaces) ever appears in an expression's
//! text. Placeholders are handed out only as a fragment uses them, since DynamoDB refuses
//! unused ones.
//!
//! Fragments are strings made of placeholders; the helpers below build the ones the store
//! needs, and [`Expr::render`] turns the query language's pure [`Condition`] tree into one.

use std::collections::HashMap;
use std::fmt::Display;

use aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::builders::{DeleteBuilder, PutBuilder, UpdateBuilder};
use serde_json::Value;

use super::attr;
use crate::error::{ApiError, ApiResult};
use crate::query::Condition;

/// The expressions of one request and their placeholders.
#[derive(Debug, Default, Clone)]
pub struct Expr {
    names: HashMap<String, String>,
    by_name: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
    key: Vec<Fragment>,
    conditions: Vec<Fragment>,
    filters: Vec<Fragment>,
    set: Vec<String>,
    add: Vec<String>,
    remove: Vec<String>,
}

impl Expr {
    pub fn new() -> Expr {
        Expr::default()
    }

    /// A put or transaction put that creates its item and never overwrites one:
    /// `attribute_not_exists(pk)`.
    pub fn new_item_only() -> Expr {
        let mut e = Expr::new();
        let pk = e.name(attr::PK);
        e.condition(not_exists(&pk));
        e
    }

    // -- placeholders

    /// The placeholder of one attribute name (one map level; `.` is part of the name).
    pub fn name(&mut self, name: &str) -> String {
        if let Some(p) = self.by_name.get(name) {
            return p.clone();
        }
        let p = format!("#n{}", self.names.len());
        self.names.insert(p.clone(), name.to_string());
        self.by_name.insert(name.to_string(), p.clone());
        p
    }

    /// The placeholders of a path given by its names from the top level: `#n0.#n1`.
    pub fn path<S: AsRef<str>>(&mut self, names: &[S]) -> String {
        names
            .iter()
            .map(|n| self.name(n.as_ref()))
            .collect::<Vec<_>>()
            .join(".")
    }

    /// The placeholders of a path written with `.` between map levels (`custom.level`).
    pub fn dotted(&mut self, path: &str) -> String {
        self.path(&path.split('.').collect::<Vec<_>>())
    }

    /// A fresh value placeholder.
    pub fn value(&mut self, v: AttributeValue) -> String {
        let p = format!(":v{}", self.values.len());
        self.values.insert(p.clone(), v);
        p
    }

    pub fn number(&mut self, n: impl Display) -> String {
        self.value(AttributeValue::N(n.to_string()))
    }

    pub fn string(&mut self, s: impl Into<String>) -> String {
        self.value(AttributeValue::S(s.into()))
    }

    /// A JSON value in its natural DynamoDB type.
    pub fn json(&mut self, v: &Value) -> ApiResult<String> {
        Ok(self.value(attribute_value(v)?))
    }

    // -- clauses

    /// `SET path = rhs` (`rhs` a value placeholder or a fragment of them).
    pub fn set(&mut self, path: &str, rhs: &str) {
        self.set.push(format!("{path} = {rhs}"));
    }

    /// `ADD path value`.
    pub fn add(&mut self, path: &str, value: &str) {
        self.add.push(format!("{path} {value}"));
    }

    /// `REMOVE path`.
    pub fn remove(&mut self, path: &str) {
        self.remove.push(path.to_string());
    }

    /// One more condition, ANDed with the others: a comparison, a function or an `AND` of
    /// them (never a bare `OR`: [`Expr::condition_any`]).
    pub fn condition(&mut self, fragment: String) {
        self.conditions.push(Fragment::tight(fragment));
    }

    /// One more condition: any of `parts` (parenthesised when ANDed with others).
    pub fn condition_any(&mut self, parts: &[String]) {
        self.conditions.push(Fragment::any(parts));
    }

    /// One more part of a Query's key condition.
    pub fn key_condition(&mut self, fragment: String) {
        self.key.push(Fragment::tight(fragment));
    }

    /// A condition of the query language as one more condition, ANDed with the others.
    pub fn condition_of(&mut self, c: &Condition) -> ApiResult<()> {
        let text = self.render(c)?;
        self.conditions.push(Fragment::new(text, c));
        Ok(())
    }

    /// A condition of the query language as one more filter, ANDed with the others.
    pub fn filter_of(&mut self, c: &Condition) -> ApiResult<()> {
        let text = self.render(c)?;
        self.filters.push(Fragment::new(text, c));
        Ok(())
    }

    /// The text of a condition, with parentheses only where precedence needs them (`NOT`
    /// before `AND` before `OR`; DynamoDB refuses redundant ones): around an `OR` inside an
    /// `AND`, and around anything but a function after `NOT`.
    fn render(&mut self, c: &Condition) -> ApiResult<String> {
        Ok(match c {
            Condition::And(parts) => {
                let mut rendered = Vec::with_capacity(parts.len());
                for part in parts {
                    let text = self.render(part)?;
                    rendered.push(match part {
                        Condition::Or(_) => format!("({text})"),
                        _ => text,
                    });
                }
                rendered.join(" AND ")
            }
            Condition::Or(parts) => {
                let mut rendered = Vec::with_capacity(parts.len());
                for part in parts {
                    rendered.push(self.render(part)?);
                }
                rendered.join(" OR ")
            }
            Condition::Not(inner) => {
                let text = self.render(inner)?;
                if inner.is_function() {
                    format!("NOT {text}")
                } else {
                    format!("NOT ({text})")
                }
            }
            Condition::Compare(path, op, v) => {
                let p = self.path(path);
                let v = self.json(v)?;
                format!("{p} {} {v}", op.symbol())
            }
            Condition::In(path, vs) => {
                let p = self.path(path);
                let list = vs
                    .iter()
                    .map(|v| self.json(v))
                    .collect::<ApiResult<Vec<_>>>()?;
                format!("{p} IN ({})", list.join(", "))
            }
            Condition::Contains(path, v) => {
                let p = self.path(path);
                let v = self.json(v)?;
                format!("contains({p}, {v})")
            }
            Condition::Exists(path) => exists(&self.path(path)),
            Condition::NotExists(path) => not_exists(&self.path(path)),
            Condition::HasType(path, ty) => {
                let p = self.path(path);
                let t = self.string(*ty);
                format!("attribute_type({p}, {t})")
            }
            Condition::SizeAbove(path, n) => {
                let p = self.path(path);
                let n = self.number(n);
                format!("size({p}) > {n}")
            }
        })
    }

    // -- the expressions

    /// `SET ... REMOVE ... ADD ...`, `None` when there is no clause.
    pub fn update_expression(&self) -> Option<String> {
        let mut clauses = Vec::new();
        for (keyword, parts) in [
            ("SET", &self.set),
            ("REMOVE", &self.remove),
            ("ADD", &self.add),
        ] {
            if !parts.is_empty() {
                clauses.push(format!("{keyword} {}", parts.join(", ")));
            }
        }
        (!clauses.is_empty()).then(|| clauses.join(" "))
    }

    pub fn condition_expression(&self) -> Option<String> {
        joined(&self.conditions)
    }

    pub fn filter_expression(&self) -> Option<String> {
        joined(&self.filters)
    }

    pub fn key_condition_expression(&self) -> Option<String> {
        joined(&self.key)
    }

    /// The names map; `None` when empty (DynamoDB refuses an empty map).
    pub fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    /// The values map; `None` when empty (DynamoDB refuses an empty map).
    pub fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }

    // -- onto the SDK's requests

    pub fn update_item(&self, b: UpdateItemFluentBuilder) -> UpdateItemFluentBuilder {
        b.set_update_expression(self.update_expression())
            .set_condition_expression(self.condition_expression())
            .set_expression_attribute_names(self.names())
            .set_expression_attribute_values(self.values())
    }

    pub fn put_item(&self, b: PutItemFluentBuilder) -> PutItemFluentBuilder {
        b.set_condition_expression(self.condition_expression())
            .set_expression_attribute_names(self.names())
            .set_expression_attribute_values(self.values())
    }

    pub fn query(&self, b: QueryFluentBuilder) -> QueryFluentBuilder {
        b.set_key_condition_expression(self.key_condition_expression())
            .set_filter_expression(self.filter_expression())
            .set_expression_attribute_names(self.names())
            .set_expression_attribute_values(self.values())
    }

    /// The attributes a read projects, each through its name placeholder, each once (a view's
    /// attributes and the revocation marks overlap: `disabled_until`).
    pub fn projection(&mut self, attributes: &[&str]) -> String {
        let mut named: Vec<String> = Vec::with_capacity(attributes.len());
        for a in attributes {
            let p = self.name(a);
            if !named.contains(&p) {
                named.push(p);
            }
        }
        named.join(", ")
    }

    /// A TransactWriteItems update.
    pub fn transact_update(&self, b: UpdateBuilder) -> UpdateBuilder {
        b.set_update_expression(self.update_expression())
            .set_condition_expression(self.condition_expression())
            .set_expression_attribute_names(self.names())
            .set_expression_attribute_values(self.values())
    }

    /// A TransactWriteItems put.
    pub fn transact_put(&self, b: PutBuilder) -> PutBuilder {
        b.set_condition_expression(self.condition_expression())
            .set_expression_attribute_names(self.names())
            .set_expression_attribute_values(self.values())
    }

    /// A TransactWriteItems delete.
    pub fn transact_delete(&self, b: DeleteBuilder) -> DeleteBuilder {
        b.set_condition_expression(self.condition_expression())
            .set_expression_attribute_names(self.names())
            .set_expression_attribute_values(self.values())
    }
}

/// `attribute_exists(p)`.
pub fn exists(p: &str) -> String {
    format!("attribute_exists({p})")
}

/// `attribute_not_exists(p)`.
pub fn not_exists(p: &str) -> String {
    format!("attribute_not_exists({p})")
}

/// `if_not_exists(p, default)`.
pub fn if_not_exists(p: &str, default: &str) -> String {
    format!("if_not_exists({p}, {default})")
}

/// One part of an expression that is ANDed with others.
#[derive(Debug, Clone)]
struct Fragment {
    text: String,
    /// A top-level `OR`: parenthesised when ANDed with another part.
    disjunction: bool,
}

impl Fragment {
    fn tight(text: String) -> Fragment {
        Fragment {
            text,
            disjunction: false,
        }
    }

    fn any(parts: &[String]) -> Fragment {
        Fragment {
            text: parts.join(" OR "),
            disjunction: parts.len() > 1,
        }
    }

    fn new(text: String, c: &Condition) -> Fragment {
        Fragment {
            text,
            disjunction: matches!(c, Condition::Or(_)),
        }
    }
}

/// The parts ANDed, an `OR` parenthesised only when there is more than one part.
fn joined(parts: &[Fragment]) -> Option<String> {
    match parts {
        [] => None,
        [one] => Some(one.text.clone()),
        _ => Some(
            parts
                .iter()
                .map(|f| {
                    if f.disjunction {
                        format!("({})", f.text)
                    } else {
                        f.text.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(" AND "),
        ),
    }
}

/// A JSON value as DynamoDB stores it (string S, number N, bool BOOL, array L, object M).
pub fn attribute_value(value: &serde_json::Value) -> ApiResult<AttributeValue> {
    serde_dynamo::to_attribute_value(value)
        .map_err(|e| ApiError::Internal(format!("attribute value: {e}")))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::query::Comparator;

    /// Names DynamoDB would misread in an expression's text: reserved words, its own syntax,
    /// and names that look like this builder's placeholders.
    const NASTY: [&str; 12] = [
        "name",
        "status",
        "size",
        "a.b",
        "#x",
        ":y",
        "with space",
        "#n0",
        ":v0",
        "custom",
        "AND",
        "(",
    ];

    /// The placeholders in an expression's text.
    fn placeholders(text: &str) -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            if chars[i] == '#' || chars[i] == ':' {
                let start = i;
                i += 1;
                while i < chars.len() && chars[i].is_ascii_alphanumeric() {
                    i += 1;
                }
                out.push(chars[start..i].iter().collect());
            } else {
                i += 1;
            }
        }
        out
    }

    /// What the text holds besides placeholders: keywords, functions, operators only.
    fn assert_only_syntax(text: &str) {
        const WORDS: [&str; 15] = [
            "SET",
            "REMOVE",
            "ADD",
            "AND",
            "OR",
            "NOT",
            "IN",
            "BETWEEN",
            "attribute_exists",
            "attribute_not_exists",
            "attribute_type",
            "contains",
            "size",
            "if_not_exists",
            "list_append",
        ];
        let mut rest = text.to_string();
        let mut found = placeholders(text);
        // Longest first, so `#n1` never eats the start of `#n10`.
        found.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for p in found {
            rest = rest.replace(&p, " ");
        }
        for word in rest
            .split(|c: char| " (),.<>=+".contains(c))
            .filter(|w| !w.is_empty())
        {
            assert!(WORDS.contains(&word), "{word:?} in {text:?}");
        }
    }

    /// Every placeholder of every expression is in the maps, and every one in the maps is
    /// used (DynamoDB refuses both kinds of mistake); names and placeholders pair one to one.
    fn assert_consistent(e: &Expr) {
        let texts: Vec<String> = [
            e.update_expression(),
            e.condition_expression(),
            e.filter_expression(),
            e.key_condition_expression(),
        ]
        .into_iter()
        .flatten()
        .collect();
        let names = e.names().unwrap_or_default();
        let values = e.values().unwrap_or_default();
        let mut used = HashSet::new();
        for text in &texts {
            assert_only_syntax(text);
            for p in placeholders(text) {
                assert!(
                    names.contains_key(&p) || values.contains_key(&p),
                    "{p} of {text:?} is not in the maps"
                );
                used.insert(p);
            }
        }
        for p in names.keys().chain(values.keys()) {
            assert!(used.contains(p), "{p} is unused in {texts:?}");
        }
        let distinct: HashSet<&String> = names.values().collect();
        assert_eq!(distinct.len(), names.len(), "one placeholder per name");
    }

    #[test]
    fn names_dynamodb_would_misread_always_go_through_placeholders() {
        let mut e = Expr::new();
        let pk = e.name(attr::PK);
        e.condition(exists(&pk));
        for name in NASTY {
            let p = e.path(&["custom", name]);
            let v = e.string(name);
            e.set(&p, &v);
        }
        let status = e.name("status");
        let one = e.number(1);
        e.condition_any(&[not_exists(&status), format!("{status} <> {one}")]);
        assert_eq!(e.name("status"), status, "a name has one placeholder");
        assert_eq!(e.name("custom"), e.name("custom"));
        let text = e.update_expression().unwrap();
        for name in NASTY {
            assert!(!text.contains(&format!(" {name} ")), "{name} in {text}");
        }
        assert_eq!(e.names().unwrap().len(), NASTY.len() + 1);
        assert_consistent(&e);
    }

    #[test]
    fn a_query_language_condition_renders_with_only_the_parentheses_it_needs() {
        let path = |p: &str| -> Vec<String> { p.split('.').map(str::to_string).collect() };
        let c = Condition::And(vec![
            Condition::Or(vec![
                Condition::Compare(path("custom.level"), Comparator::Gt, json!(3)),
                Condition::And(vec![
                    Condition::Exists(path("status")),
                    Condition::Not(Box::new(Condition::HasType(path("status"), "NULL"))),
                ]),
            ]),
            Condition::Not(Box::new(Condition::In(
                path("name"),
                vec![json!("a"), json!("b")],
            ))),
            Condition::SizeAbove(path("a.b"), 0),
        ]);
        let mut e = Expr::new();
        e.filter_of(&c).unwrap();
        assert_eq!(
            e.filter_expression().unwrap(),
            "(#n0.#n1 > :v0 OR attribute_exists(#n2) AND NOT attribute_type(#n2, :v1)) \
             AND NOT (#n3 IN (:v2, :v3)) AND size(#n4.#n5) > :v4"
        );
        assert_consistent(&e);
        // Alone, an OR needs no parentheses; beside another condition it does.
        let or = Condition::Or(vec![
            Condition::Exists(path("a")),
            Condition::Exists(path("b")),
        ]);
        let mut e = Expr::new();
        e.filter_of(&or).unwrap();
        assert_eq!(
            e.filter_expression().unwrap(),
            "attribute_exists(#n0) OR attribute_exists(#n1)"
        );
        e.condition_of(&or).unwrap();
        let pk = e.name(attr::PK);
        e.condition(exists(&pk));
        assert_eq!(
            e.condition_expression().unwrap(),
            "(attribute_exists(#n0) OR attribute_exists(#n1)) AND attribute_exists(#n2)"
        );
    }

    fn nasty_name() -> BoxedStrategy<String> {
        prop_oneof![
            proptest::sample::select(NASTY.to_vec()).prop_map(str::to_string),
            "[a-z#:. _]{1,6}",
        ]
        .boxed()
    }

    fn leaf() -> impl Strategy<Value = Condition> {
        let path = proptest::collection::vec(nasty_name(), 1..3).boxed();
        prop_oneof![
            (path.clone(), any::<i32>()).prop_map(|(p, n)| Condition::Compare(
                p,
                Comparator::Le,
                json!(n)
            )),
            (path.clone(), proptest::collection::vec(any::<i16>(), 1..4))
                .prop_map(|(p, vs)| Condition::In(p, vs.into_iter().map(|v| json!(v)).collect())),
            path.clone().prop_map(Condition::Exists),
            path.clone().prop_map(Condition::NotExists),
            (path.clone(), "[a-z]{1,4}").prop_map(|(p, v)| Condition::Contains(p, json!(v))),
            path.prop_map(|p| Condition::SizeAbove(p, 0)),
        ]
    }

    fn tree() -> impl Strategy<Value = Condition> {
        leaf().prop_recursive(3, 16, 3, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 2..4).prop_map(Condition::And),
                proptest::collection::vec(inner.clone(), 2..4).prop_map(Condition::Or),
                inner.prop_map(|c| Condition::Not(Box::new(c))),
            ]
        })
    }

    proptest! {
        /// A condition, an update and a filter (and a key condition) built into one request
        /// never share a placeholder between different names or values, whatever the names.
        #[test]
        fn placeholders_of_one_request_never_collide(
            conditions in proptest::collection::vec(nasty_name(), 0..5),
            sets in proptest::collection::vec((nasty_name(), nasty_name()), 0..5),
            removes in proptest::collection::vec(nasty_name(), 0..3),
            filter in proptest::option::of(tree()),
            condition_tree in proptest::option::of(tree()),
            key in proptest::option::of(nasty_name()),
        ) {
            let mut e = Expr::new();
            let mut values_asked = 0;
            for name in &conditions {
                let p = e.name(name);
                let v = e.string(name);
                values_asked += 1;
                e.condition_any(&[not_exists(&p), format!("{p} = {v}")]);
            }
            for (map, key) in &sets {
                let p = e.path(&[map, key]);
                let zero = e.number(0);
                let one = e.number(1);
                values_asked += 2;
                e.set(&p, &format!("{} + {one}", if_not_exists(&p, &zero)));
            }
            for name in &removes {
                let p = e.name(name);
                e.remove(&p);
            }
            if let Some(c) = &condition_tree {
                e.condition_of(c).unwrap();
            }
            if let Some(f) = &filter {
                e.filter_of(f).unwrap();
            }
            if let Some(k) = &key {
                let p = e.name(k);
                let v = e.string(k);
                values_asked += 1;
                e.key_condition(format!("{p} = {v}"));
            }
            assert_consistent(&e);
            let values = e.values().unwrap_or_default();
            if condition_tree.is_none() && filter.is_none() {
                prop_assert_eq!(values.len(), values_asked, "one placeholder per value");
            } else {
                prop_assert!(values.len() >= values_asked);
            }
            // Each name placeholder stands for exactly the name it was handed out for.
            let mut all_names: Vec<&String> = conditions.iter().chain(removes.iter()).collect();
            all_names.extend(sets.iter().flat_map(|(a, b)| [a, b]));
            for name in all_names {
                let p = e.name(name);
                let names = e.names().unwrap();
                prop_assert_eq!(names.get(&p), Some(name));
            }
        }
    }
}
