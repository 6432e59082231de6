//! The IAM policy `template.yaml` gives each function, evaluated offline for the DynamoDB
//! requests its handler makes in process: [`TestRequest::send`](super::TestRequest::send)
//! records every request a handler sends (action, index, attributes, `Select`,
//! `ReturnValues`) and fails the test when the function's template policy would deny one.
//!
//! A small evaluator of `Allow` statements, after AWS's "Using IAM policy conditions for
//! fine-grained access control" (DynamoDB developer guide):
//! - `dynamodb:Attributes` is every attribute a request names: key, projection, key
//!   condition, filter, update and condition expressions, a put's item. A
//!   `ConditionExpression` counts like a read.
//! - `dynamodb:Select` is a read's `Select`: `SPECIFIC_ATTRIBUTES` with a projection, else
//!   `ALL_ATTRIBUTES` (`ALL_PROJECTED_ATTRIBUTES` on an index) unless the request says.
//! - `dynamodb:ReturnValues` is a single write's `ReturnValues` (`NONE` unless said); writes
//!   inside a transaction carry none (so statements test it with `StringEqualsIfExists`).
//! - `dynamodb:LeadingKeys`: the partition key values of a single-item or batch request.
//! - TransactWriteItems is authorised per action (`PutItem`, `UpdateItem`, `DeleteItem`,
//!   `ConditionCheckItem`).
//! - `ReturnValuesOnConditionCheckFailure: ALL_OLD` hands back the whole item and has no
//!   documented condition key: a statement limiting `dynamodb:Attributes` is taken never to
//!   allow it (the conservative reading).
//!
//! Only `StringEquals`, `StringEqualsIfExists` and `ForAllValues:StringEquals` on those four
//! keys are understood; anything else in a policy evaluated here fails the test rather than
//! being guessed at. `Deny` statements, wildcards and other resources likewise.

use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

use serde_json::Value;

use crate::store::attr;

/// One authorisation DynamoDB makes for a request (a transaction makes one per action).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamoRequest {
    /// `dynamodb:GetItem`, ...
    pub action: String,
    /// The index a query reads, if any.
    pub index: Option<String>,
    pub attributes: BTreeSet<String>,
    pub select: Option<String>,
    pub return_values: Option<String>,
    /// `ReturnValuesOnConditionCheckFailure: ALL_OLD`.
    pub all_old_on_condition_failure: bool,
    /// Partition key values; `None` where not modelled (queries).
    pub leading_keys: Option<Vec<String>>,
}

impl DynamoRequest {
    /// A read of `attributes` of one item with partition key `pk` (`None`: no projection).
    pub fn get_item(pk: &str, attributes: Option<&[&str]>) -> DynamoRequest {
        let mut names: BTreeSet<String> = [attr::PK, attr::SK].map(String::from).into();
        names.extend(attributes.unwrap_or_default().iter().map(|a| a.to_string()));
        DynamoRequest {
            action: "dynamodb:GetItem".into(),
            index: None,
            attributes: names,
            select: Some(
                if attributes.is_some() {
                    "SPECIFIC_ATTRIBUTES"
                } else {
                    "ALL_ATTRIBUTES"
                }
                .into(),
            ),
            return_values: None,
            all_old_on_condition_failure: false,
            leading_keys: Some(vec![pk.to_string()]),
        }
    }
}

/// The authorisations a DynamoDB call (`operation` and its JSON body as sent) needs.
pub fn requests_of(operation: &str, body: &Value) -> Vec<DynamoRequest> {
    let names = |b: &Value| -> HashMap<String, String> {
        b.get("ExpressionAttributeNames")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let keys_of = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    let pk_of = |v: Option<&Value>| -> Vec<String> {
        v.and_then(|k| k.get(attr::PK))
            .and_then(|a| a.get("S").or_else(|| a.get("N")))
            .and_then(Value::as_str)
            .map(|s| vec![s.to_string()])
            .unwrap_or_default()
    };
    let expressions = |b: &Value, fields: &[&str]| -> BTreeSet<String> {
        let map = names(b);
        let mut out = BTreeSet::new();
        for field in fields {
            if let Some(e) = b.get(*field).and_then(Value::as_str) {
                out.extend(expression_attributes(e, &map));
            }
        }
        if let Some(list) = b.get("AttributesToGet").and_then(Value::as_array) {
            out.extend(list.iter().filter_map(Value::as_str).map(str::to_string));
        }
        out
    };
    let projected =
        |b: &Value| b.get("ProjectionExpression").is_some() || b.get("AttributesToGet").is_some();
    let write = |action: &str, b: &Value, single: bool| -> DynamoRequest {
        let mut attributes = expressions(b, &["UpdateExpression", "ConditionExpression"]);
        attributes.extend(keys_of(b.get("Key")));
        attributes.extend(keys_of(b.get("Item")));
        let key = b.get("Key").or_else(|| b.get("Item"));
        DynamoRequest {
            action: format!("dynamodb:{action}"),
            index: None,
            attributes,
            select: None,
            return_values: single.then(|| {
                b.get("ReturnValues")
                    .and_then(Value::as_str)
                    .unwrap_or("NONE")
                    .to_string()
            }),
            all_old_on_condition_failure: b
                .get("ReturnValuesOnConditionCheckFailure")
                .and_then(Value::as_str)
                == Some("ALL_OLD"),
            leading_keys: Some(pk_of(key)),
        }
    };
    match operation {
        "GetItem" => {
            let mut attributes = expressions(body, &["ProjectionExpression"]);
            attributes.extend(keys_of(body.get("Key")));
            vec![DynamoRequest {
                action: "dynamodb:GetItem".into(),
                index: None,
                attributes,
                select: Some(select_of(body, projected(body), false)),
                return_values: None,
                all_old_on_condition_failure: false,
                leading_keys: Some(pk_of(body.get("Key"))),
            }]
        }
        "BatchGetItem" => body
            .get("RequestItems")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|m| m.values())
            .map(|table| {
                let mut attributes = expressions(table, &["ProjectionExpression"]);
                let keys = table.get("Keys").and_then(Value::as_array);
                let mut leading = Vec::new();
                for key in keys.into_iter().flatten() {
                    attributes.extend(keys_of(Some(key)));
                    leading.extend(pk_of(Some(key)));
                }
                DynamoRequest {
                    action: "dynamodb:BatchGetItem".into(),
                    index: None,
                    attributes,
                    select: Some(select_of(table, projected(table), false)),
                    return_values: None,
                    all_old_on_condition_failure: false,
                    leading_keys: Some(leading),
                }
            })
            .collect(),
        "Query" | "Scan" => {
            let index = body
                .get("IndexName")
                .and_then(Value::as_str)
                .map(str::to_string);
            vec![DynamoRequest {
                action: format!("dynamodb:{operation}"),
                attributes: expressions(
                    body,
                    &[
                        "KeyConditionExpression",
                        "FilterExpression",
                        "ProjectionExpression",
                    ],
                ),
                select: Some(select_of(body, projected(body), index.is_some())),
                index,
                return_values: None,
                all_old_on_condition_failure: false,
                leading_keys: None,
            }]
        }
        "PutItem" | "UpdateItem" | "DeleteItem" => vec![write(operation, body, true)],
        "TransactWriteItems" => body
            .get("TransactItems")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object)
            .flat_map(|item| item.iter())
            .map(|(kind, b)| {
                let action = match kind.as_str() {
                    "Put" => "PutItem",
                    "Update" => "UpdateItem",
                    "Delete" => "DeleteItem",
                    "ConditionCheck" => "ConditionCheckItem",
                    other => panic!("a transaction action this evaluator does not know: {other}"),
                };
                write(action, b, false)
            })
            .collect(),
        other => vec![DynamoRequest {
            action: format!("dynamodb:{other}"),
            index: None,
            attributes: BTreeSet::new(),
            select: None,
            return_values: None,
            all_old_on_condition_failure: false,
            leading_keys: None,
        }],
    }
}

fn select_of(body: &Value, projected: bool, on_index: bool) -> String {
    match body.get("Select").and_then(Value::as_str) {
        Some(s) => s.to_string(),
        None if projected => "SPECIFIC_ATTRIBUTES".into(),
        None if on_index => "ALL_PROJECTED_ATTRIBUTES".into(),
        None => "ALL_ATTRIBUTES".into(),
    }
}

/// The top-level attributes an expression names (`#a.#b[0]` names `#a`'s attribute), its
/// placeholders resolved through `names`. Values (`:v`), keywords and functions aside.
pub fn expression_attributes(expression: &str, names: &HashMap<String, String>) -> Vec<String> {
    const KEYWORDS: [&str; 9] = [
        "SET", "ADD", "REMOVE", "DELETE", "AND", "OR", "NOT", "BETWEEN", "IN",
    ];
    let chars: Vec<char> = expression.chars().collect();
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == ':' {
            // A value placeholder.
            i += 1;
            while i < chars.len() && word(chars[i]) {
                i += 1;
            }
            continue;
        }
        if !(c == '#' || c.is_alphabetic() || c == '_') {
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        while i < chars.len() && word(chars[i]) {
            i += 1;
        }
        let first: String = chars[start..i].iter().collect();
        // The rest of a document path belongs to this attribute.
        while i < chars.len() && (chars[i] == '.' || chars[i] == '[') {
            i += 1;
            while i < chars.len() && (word(chars[i]) || chars[i] == '#' || chars[i] == ']') {
                i += 1;
            }
        }
        let next = chars[i..].iter().find(|c| !c.is_whitespace());
        if first.starts_with('#') {
            let name = names
                .get(&first)
                .unwrap_or_else(|| panic!("{first} in {expression:?} has no name"));
            found.push(name.clone());
        } else if next == Some(&'(') || KEYWORDS.contains(&first.to_uppercase().as_str()) {
            // A function or a keyword.
        } else if first.chars().all(|c| c.is_ascii_digit()) {
        } else {
            found.push(first);
        }
    }
    found
}

/// What a statement applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    Table,
    Index(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operator {
    StringEquals,
    StringEqualsIfExists,
    ForAllValuesStringEquals,
    /// Every value matches one of the patterns (`*` any run of characters, `?` one).
    ForAllValuesStringLike,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub operator: Operator,
    pub key: String,
    pub values: Vec<String>,
}

/// One `Allow` statement of a function's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub actions: Vec<String>,
    pub resources: Vec<Resource>,
    pub conditions: Vec<Condition>,
}

impl Statement {
    /// The values a condition on `key` allows (`None`: no such condition).
    pub fn condition(&self, key: &str) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.key == key)
    }

    /// Whether this statement allows `request`; `Err` when it holds something this
    /// evaluator does not understand.
    pub fn allows(&self, request: &DynamoRequest) -> bool {
        let resource = match &request.index {
            Some(index) => Resource::Index(index.clone()),
            None => Resource::Table,
        };
        if !self.actions.contains(&request.action) || !self.resources.contains(&resource) {
            return false;
        }
        if request.all_old_on_condition_failure && self.condition("dynamodb:Attributes").is_some() {
            return false;
        }
        self.conditions.iter().all(|c| c.holds(request))
    }
}

impl Condition {
    fn holds(&self, request: &DynamoRequest) -> bool {
        let allowed = |v: &String| self.values.contains(v);
        match (self.key.as_str(), &self.operator) {
            ("dynamodb:Attributes", Operator::ForAllValuesStringEquals) => {
                request.attributes.iter().all(allowed)
            }
            (
                "dynamodb:LeadingKeys",
                op @ (Operator::ForAllValuesStringEquals | Operator::ForAllValuesStringLike),
            ) => {
                let matches = |key: &String| match op {
                    Operator::ForAllValuesStringLike => {
                        self.values.iter().any(|pattern| like(pattern, key))
                    }
                    _ => allowed(key),
                };
                match &request.leading_keys {
                    Some(keys) => keys.iter().all(matches),
                    None => panic!(
                        "dynamodb:LeadingKeys on {} is not modelled here",
                        request.action
                    ),
                }
            }
            ("dynamodb:Select" | "dynamodb:ReturnValues", op) => {
                let value = if self.key == "dynamodb:Select" {
                    &request.select
                } else {
                    &request.return_values
                };
                match (op, value) {
                    (Operator::StringEquals, Some(v)) => allowed(v),
                    (Operator::StringEquals, None) => false,
                    (Operator::StringEqualsIfExists, Some(v)) => allowed(v),
                    (Operator::StringEqualsIfExists, None) => true,
                    (Operator::ForAllValuesStringEquals | Operator::ForAllValuesStringLike, _) => {
                        panic!("{} is single-valued: ForAllValues does not apply", self.key)
                    }
                }
            }
            (key, op) => panic!("the condition {op:?} on {key} is not evaluated here"),
        }
    }
}

/// IAM's `StringLike`: `*` matches any run of characters (none included), `?` exactly one.
fn like(pattern: &str, value: &str) -> bool {
    let (p, v): (Vec<char>, Vec<char>) = (pattern.chars().collect(), value.chars().collect());
    // matched[j]: the pattern so far matches value[..j].
    let mut matched = vec![false; v.len() + 1];
    matched[0] = true;
    for c in &p {
        let mut next = vec![false; v.len() + 1];
        for j in 0..=v.len() {
            next[j] = match c {
                '*' => matched[j] || (j > 0 && next[j - 1]),
                '?' => j > 0 && matched[j - 1],
                c => j > 0 && matched[j - 1] && v[j - 1] == *c,
            };
        }
        matched = next;
    }
    matched[v.len()]
}

/// Whether `statements` allow `request` (some statement does).
pub fn allowed(statements: &[Statement], request: &DynamoRequest) -> bool {
    statements.iter().any(|s| s.allows(request))
}

fn template() -> &'static Value {
    static TEMPLATE: OnceLock<Value> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let path = super::workspace_root().join("template.yaml");
        let text = std::fs::read_to_string(&path).expect("template.yaml is readable");
        let docs = yaml_rust2::YamlLoader::load_from_str(&text).expect("template.yaml is YAML");
        to_json(&docs[0])
    })
}

/// YAML to JSON; CloudFormation's short tags (`!GetAtt`, `!Sub`, `!Ref`) keep their value.
fn to_json(yaml: &yaml_rust2::Yaml) -> Value {
    use yaml_rust2::Yaml;
    match yaml {
        Yaml::String(s) | Yaml::Real(s) => Value::String(s.clone()),
        Yaml::Integer(i) => Value::String(i.to_string()),
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Array(items) => Value::Array(items.iter().map(to_json).collect()),
        Yaml::Hash(map) => Value::Object(
            map.iter()
                .map(|(k, v)| match k {
                    Yaml::String(k) => (k.clone(), to_json(v)),
                    other => panic!("a YAML key that is not a string: {other:?}"),
                })
                .collect(),
        ),
        Yaml::Null => Value::Null,
        other => panic!("YAML this reader does not take: {other:?}"),
    }
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        other => panic!("expected a string or a list of strings: {other}"),
    }
}

/// The `Allow` statements `template.yaml` gives the function built from `functions/<name>`
/// (`None`: no such function; no `Policies`: no statements).
pub fn template_policy(function: &str) -> Option<Vec<Statement>> {
    let resources = template()["Resources"].as_object()?;
    let properties = resources.values().find(|r| {
        r["Type"] == "AWS::Serverless::Function"
            && r["Properties"]["CodeUri"] == format!("functions/{function}").as_str()
    })?["Properties"]
        .clone();
    let mut statements = Vec::new();
    for policy in properties["Policies"].as_array().into_iter().flatten() {
        let list = policy["Statement"]
            .as_array()
            .unwrap_or_else(|| panic!("{function}: a policy that is not a statement list"));
        for statement in list {
            statements.push(parse_statement(function, statement));
        }
    }
    Some(statements)
}

/// One statement as the template writes it (YAML read as JSON), for `function`'s messages.
pub fn parse_statement(function: &str, statement: &Value) -> Statement {
    assert_eq!(
        statement["Effect"], "Allow",
        "{function}: only Allow statements are evaluated here"
    );
    let actions = strings(&statement["Action"]);
    assert!(
        actions.iter().all(|a| !a.contains('*')),
        "{function}: wildcard actions are not evaluated here"
    );
    let resources = strings(&statement["Resource"])
        .into_iter()
        .map(|r| {
            if r == "UsersTable.Arn" {
                Resource::Table
            } else if let Some(index) = r.strip_prefix("${UsersTable.Arn}/index/") {
                Resource::Index(index.to_string())
            } else {
                panic!("{function}: a resource this evaluator does not know: {r}")
            }
        })
        .collect();
    let mut conditions = Vec::new();
    if let Some(block) = statement.get("Condition") {
        let block = block
            .as_object()
            .unwrap_or_else(|| panic!("{function}: a Condition that is not a map"));
        for (operator, keys) in block {
            let operator = match operator.as_str() {
                "StringEquals" => Operator::StringEquals,
                "StringEqualsIfExists" => Operator::StringEqualsIfExists,
                "ForAllValues:StringEquals" => Operator::ForAllValuesStringEquals,
                "ForAllValues:StringLike" => Operator::ForAllValuesStringLike,
                other => panic!("{function}: the condition operator {other} is not evaluated here"),
            };
            let keys = keys
                .as_object()
                .unwrap_or_else(|| panic!("{function}: condition keys that are not a map"));
            for (key, values) in keys {
                assert!(
                    [
                        "dynamodb:Attributes",
                        "dynamodb:Select",
                        "dynamodb:ReturnValues",
                        "dynamodb:LeadingKeys"
                    ]
                    .contains(&key.as_str()),
                    "{function}: the condition key {key} is not evaluated here"
                );
                conditions.push(Condition {
                    operator: operator.clone(),
                    key: key.clone(),
                    values: strings(values),
                });
            }
        }
    }
    Statement {
        actions,
        resources,
        conditions,
    }
}

/// Fails (panics) unless `function`'s template policy allows every request in `sent`
/// (`(operation, body)` as the interceptor recorded them). Not a function of the template
/// (the shared crate's own tests): nothing to check.
pub fn check(function: &str, sent: &[(String, Value)]) {
    let Some(statements) = template_policy(function) else {
        return;
    };
    let denied: Vec<String> = sent
        .iter()
        .flat_map(|(operation, body)| requests_of(operation, body))
        .filter(|r| !allowed(&statements, r))
        .map(|r| format!("{r:?}"))
        .collect();
    assert!(
        denied.is_empty(),
        "{function}: template.yaml's policy denies requests its handler made:\n{}",
        denied.join("\n")
    );
}

#[cfg(test)]
mod tests {
    use super::like;

    #[test]
    fn string_like_matches_as_iam_does() {
        assert!(like("LIMIT#*", "LIMIT#ip#127.0.0.1#login"));
        assert!(like("LIMIT#ip#*", "LIMIT#ip#"));
        assert!(!like("LIMIT#ip#*", "LIMIT#login#USERNAME#bob"));
        assert!(!like("LIMIT#*", "USER#LIMIT#x"));
        assert!(like("a?c", "abc") && !like("a?c", "ac"));
        assert!(like("*", "") && !like("", "x"));
    }
}
