//! MinApp's query language over the user object ([`crate::profile`]): one typed [`Filter`] from
//! `where` JSON or the legacy `field__op=value` shortcuts, its reference evaluator
//! ([`Filter::matches`]), the part of it DynamoDB can evaluate ([`Filter::to_dynamo`]),
//! `order_by` ([`OrderBy`]) and paging ([`Page`]). Nothing here knows about HTTP or DynamoDB's
//! client.
//!
//! Semantics (MinApp's, with SPEC deciding where its docs disagree):
//! - an absent field is `null`; `$isnull: true` matches both;
//! - `$exists: true`: the field has a value: not null and, for string and date fields, not
//!   `""` (MinApp's docs: "exists" is a non-empty string);
//! - `$ne` and `$nin` match users without a value;
//! - on an array field `$in` / `$nin` mean any / none of the values is an element, `$all`
//!   every one is, `$contains` one value is; `$eq` compares whole arrays;
//! - `$range: [a, b]` is a <= x < b;
//! - numbers compare by value (`1 == 1.0`), everywhere, as DynamoDB compares them.

use std::cmp::Ordering;

use regex_automata::meta::{self, Regex};
use regex_automata::util::syntax;
use serde_json::{Number, Value};

use crate::error::{ApiError, ApiResult};
use crate::profile::{
    Builtin, FieldKind, FieldType, RESERVED_NAMES, Schema, UserFields, json_eq, normalize_date,
    number_cmp, storable_number,
};

/// Longest `$regex` pattern, in characters.
pub const REGEX_MAX_CHARS: usize = 256;
/// Compiled size bound of a `$regex`, so one match costs at most ~0.5 ms on a 1 KiB string:
/// `\w{80}` passes, `\w{100}` (36 ms per 100 strings) does not; `^[\w.-]{1,64}$` does. The
/// crate's default, 10 MiB, admits `\w{500}`: ~10 ms per string, 100 s over 10,000 users.
/// (Measured in release with this workspace's regex features.)
const REGEX_SIZE_LIMIT: usize = 4 << 20;
/// `$regex` patterns in one query, and their compiled size together: evaluation costs the sum
/// of its patterns per user, and each takes its memory from a function that may have 128 MB.
/// Together they may cost what one pattern may.
pub const QUERY_REGEX_MAX: usize = 16;
const QUERY_REGEX_SIZE_LIMIT: usize = REGEX_SIZE_LIMIT;
/// Values of one `$in`, `$nin` or `$all`.
pub const LIST_MAX_VALUES: usize = 1000;
/// Conditions in one query, so evaluation per user stays cheap.
pub const CONDITIONS_MAX: usize = 200;

/// A parsed query. Build with [`Filter::from_where`], [`Filter::from_shortcuts`] and
/// [`Filter::and`]; they normalise (nested `$and`s flattened, single-child groups unwrapped) so
/// equal queries compare equal.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// No condition: every user.
    True,
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Cond(Cond),
}

/// One condition on one field.
#[derive(Debug, Clone, PartialEq)]
pub struct Cond {
    pub field: String,
    pub ty: FieldType,
    pub op: Op,
}

/// The operators, with their values checked against the field's type (dates canonical).
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Eq(Value),
    Ne(Value),
    Lt(Value),
    Lte(Value),
    Gt(Value),
    Gte(Value),
    /// A substring (string fields) or an element (array fields); case-sensitive.
    Contains(Value),
    /// A substring, ignoring case; kept lower-cased.
    IContains(String),
    Regex(Pattern),
    In(Vec<Value>),
    Nin(Vec<Value>),
    All(Vec<Value>),
    IsNull(bool),
    Exists(bool),
    HasKey(String),
    /// a <= x < b.
    Range(Value, Value),
}

/// A compiled `$regex` with its `$options`.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub source: String,
    pub options: String,
    regex: Regex,
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source && self.options == other.options
    }
}

/// What the `$regex` patterns of one query may still take: a count and a compiled size
/// ([`QUERY_REGEX_MAX`], [`QUERY_REGEX_SIZE_LIMIT`]), shared by all of them.
#[derive(Debug, Clone, Copy)]
pub struct RegexBudget {
    patterns: usize,
    bytes: usize,
}

impl Default for RegexBudget {
    fn default() -> Self {
        RegexBudget {
            patterns: QUERY_REGEX_MAX,
            bytes: QUERY_REGEX_SIZE_LIMIT,
        }
    }
}

fn regex_budget_spent(why: &str) -> ApiError {
    ApiError::invalid(
        "where",
        format!(
            "the $regex patterns of one query share a budget: at most {QUERY_REGEX_MAX} \
             patterns compiling to at most {} KiB together; {why}",
            QUERY_REGEX_SIZE_LIMIT >> 10
        ),
    )
}

impl Pattern {
    /// One pattern on its own (a query's budget all to itself); see [`Pattern::within`].
    pub fn new(field: &str, source: &str, options: &str) -> ApiResult<Pattern> {
        Pattern::within(field, source, options, &mut RegexBudget::default())
    }

    /// Linear-time matching (the `regex` crate's engine), pattern and compiled size bounded,
    /// its count and compiled size taken from the query's `budget` (spent: 400 naming
    /// `where`). Options: `i` ignore case, `m` multi-line, `s` dot matches newline, `x`
    /// verbose.
    pub fn within(
        field: &str,
        source: &str,
        options: &str,
        budget: &mut RegexBudget,
    ) -> ApiResult<Pattern> {
        if budget.patterns == 0 {
            return Err(regex_budget_spent("this query has more patterns"));
        }
        if source.chars().count() > REGEX_MAX_CHARS {
            return Err(ApiError::invalid(
                field,
                format!("$regex must be at most {REGEX_MAX_CHARS} characters"),
            ));
        }
        let mut syntax = syntax::Config::new();
        for flag in options.chars() {
            syntax = match flag {
                'i' => syntax.case_insensitive(true),
                'm' => syntax.multi_line(true),
                's' => syntax.dot_matches_new_line(true),
                'x' => syntax.ignore_whitespace(true),
                _ => {
                    return Err(ApiError::invalid(
                        field,
                        format!("$options: unknown flag {flag:?} (i, m, s, x)"),
                    ));
                }
            };
        }
        // Compilation stops at what is left of the query's budget, so an oversized query is
        // refused without building it. No lazy DFA: its cache (megabytes per pattern, grown
        // while matching) would escape the budget.
        let limit = REGEX_SIZE_LIMIT.min(budget.bytes);
        let regex = meta::Builder::new()
            .syntax(syntax)
            .configure(
                meta::Config::new()
                    .nfa_size_limit(Some(limit))
                    .hybrid(false)
                    .dfa_size_limit(Some(limit)),
            )
            .build(source)
            .map_err(|e| {
                if e.size_limit().is_some() && limit < REGEX_SIZE_LIMIT {
                    return regex_budget_spent(&format!(
                        "{field}: {source:?} does not fit in what the others leave"
                    ));
                }
                // The syntax error's message is multi-line; its last line says what is wrong.
                let why = match (e.syntax_error(), e.size_limit()) {
                    (Some(syntax), _) => syntax.to_string(),
                    (None, Some(limit)) => {
                        format!("compiled, it passes the size limit of {limit} bytes")
                    }
                    (None, None) => e.to_string(),
                };
                let why = why.lines().last().unwrap_or("invalid").trim().to_string();
                ApiError::invalid(field, format!("$regex is not a valid pattern: {why}"))
            })?;
        let size = regex.memory_usage();
        if size > budget.bytes {
            return Err(regex_budget_spent(&format!(
                "{field}: {source:?} does not fit in what the others leave"
            )));
        }
        budget.bytes -= size;
        budget.patterns -= 1;
        Ok(Pattern {
            source: source.to_string(),
            options: options.to_string(),
            regex,
        })
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }
}

/// Operators the list endpoint's shortcuts take (`field__op=value`).
const SHORTCUT_OPS: [&str; 10] = [
    "lt",
    "lte",
    "gt",
    "gte",
    "ne",
    "contains",
    "icontains",
    "in",
    "range",
    "isnull",
];

/// MinApp's geo operators: recognised only to say they are not supported.
const GEO_OPS: [&str; 6] = [
    "$intersects",
    "$within",
    "$center",
    "$nearsphere",
    "$near",
    "$geoWithin",
];

impl Filter {
    /// `where`: URL-decoded JSON. `{"f": v}` is `{"f": {"$eq": v}}`; several keys, or several
    /// operators on one field, are ANDed; `$and` / `$or` take non-empty lists of the same, to
    /// any depth.
    pub fn from_where(json: &str, schema: &Schema) -> ApiResult<Filter> {
        let value: Value = serde_json::from_str(json)
            .map_err(|e| ApiError::invalid("where", format!("is not valid JSON: {e}")))?;
        let mut budget = Budget {
            conditions: CONDITIONS_MAX,
            regex: RegexBudget::default(),
        };
        parse_node(&value, schema, &mut budget)
    }

    /// The shortcuts among a query's parameters (reserved names are skipped): `f=v` is
    /// `$eq`, `f__op=v` one of lt lte gt gte ne contains icontains in range isnull; `in` and
    /// `range` take comma-separated values. Values are read as the field's type. All ANDed.
    pub fn from_shortcuts<'a>(
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
        schema: &Schema,
    ) -> ApiResult<Filter> {
        let mut conds = Vec::new();
        for (key, raw) in params {
            if RESERVED_NAMES.contains(&key) {
                continue;
            }
            if conds.len() >= CONDITIONS_MAX {
                return Err(too_many());
            }
            conds.push(parse_shortcut(key, raw, schema)?);
        }
        Ok(Filter::and(conds))
    }

    /// All of `filters` (`True` when none).
    pub fn and(filters: impl IntoIterator<Item = Filter>) -> Filter {
        let mut parts = Vec::new();
        for f in filters {
            match f {
                Filter::True => {}
                Filter::And(inner) => parts.extend(inner),
                other => parts.push(other),
            }
        }
        match parts.len() {
            0 => Filter::True,
            1 => parts.pop().expect("one part"),
            _ => Filter::And(parts),
        }
    }

    /// Any of `filters` (`filters` must not be empty).
    fn or(filters: Vec<Filter>) -> Filter {
        let mut parts = Vec::new();
        for f in filters {
            match f {
                Filter::True => return Filter::True,
                Filter::Or(inner) => parts.extend(inner),
                other => parts.push(other),
            }
        }
        if parts.len() == 1 {
            parts.pop().expect("one part")
        } else {
            Filter::Or(parts)
        }
    }

    /// The reference evaluator over a MinApp object (absent fields are null).
    pub fn matches(&self, object: &Value) -> bool {
        match self {
            Filter::True => true,
            Filter::And(parts) => parts.iter().all(|f| f.matches(object)),
            Filter::Or(parts) => parts.iter().any(|f| f.matches(object)),
            Filter::Cond(c) => c.matches(object.get(&c.field).unwrap_or(&Value::Null)),
        }
    }

    /// The fields the filter reads, each once, in first-use order.
    pub fn fields(&self) -> Vec<String> {
        fn walk(f: &Filter, out: &mut Vec<String>) {
            match f {
                Filter::True => {}
                Filter::And(parts) | Filter::Or(parts) => parts.iter().for_each(|p| walk(p, out)),
                Filter::Cond(c) => {
                    if !out.contains(&c.field) {
                        out.push(c.field.clone());
                    }
                }
            }
        }
        let mut out = Vec::new();
        walk(self, &mut out);
        out
    }

    /// An exact-match condition on an id, `_user_id`, `_username`, `_email` or `_phone` that every match
    /// must satisfy (a top-level conjunct): such a query can read that one user directly and
    /// check it with [`Filter::matches`] instead of listing.
    pub fn direct_lookup(&self) -> Option<(Builtin, &Value)> {
        let conjuncts: &[Filter] = match self {
            Filter::And(parts) => parts,
            other => std::slice::from_ref(other),
        };
        conjuncts.iter().find_map(|f| match f {
            Filter::Cond(Cond {
                field,
                op: Op::Eq(v),
                ..
            }) => Builtin::from_name(field)
                .filter(|b| {
                    matches!(
                        b,
                        Builtin::Id
                            | Builtin::UserId
                            | Builtin::CreatedBy
                            | Builtin::Username
                            | Builtin::Email
                            | Builtin::Phone
                            | Builtin::StringId
                    )
                })
                .map(|b| (b, v)),
            _ => None,
        })
    }
}

fn too_many() -> ApiError {
    ApiError::invalid(
        "where",
        format!("at most {CONDITIONS_MAX} conditions per query"),
    )
}

/// What one `where` may still hold: conditions, and its `$regex` patterns' share.
struct Budget {
    conditions: usize,
    regex: RegexBudget,
}

fn parse_node(value: &Value, schema: &Schema, budget: &mut Budget) -> ApiResult<Filter> {
    let obj = value
        .as_object()
        .ok_or_else(|| ApiError::invalid("where", "must be a JSON object"))?;
    let mut parts = Vec::new();
    for (key, v) in obj {
        match key.as_str() {
            "$and" | "$or" => {
                let items = v
                    .as_array()
                    .filter(|items| !items.is_empty())
                    .ok_or_else(|| {
                        ApiError::invalid(key, "must be a non-empty list of conditions")
                    })?;
                let children = items
                    .iter()
                    .map(|item| parse_node(item, schema, budget))
                    .collect::<ApiResult<Vec<_>>>()?;
                parts.push(if key == "$and" {
                    Filter::and(children)
                } else {
                    Filter::or(children)
                });
            }
            k if k.starts_with('$') => {
                return Err(ApiError::invalid(
                    k,
                    "unknown operator at the top of a condition ($and, $or)",
                ));
            }
            field => parts.extend(parse_field(field, v, schema, budget)?),
        }
    }
    Ok(Filter::and(parts))
}

/// `{"f": v}` or `{"f": {"$op": v, ...}}`.
fn parse_field(
    name: &str,
    value: &Value,
    schema: &Schema,
    budget: &mut Budget,
) -> ApiResult<Vec<Filter>> {
    let field = schema
        .field(name)
        .ok_or_else(|| ApiError::invalid(name, "unknown field"))?;
    let ops = match value {
        Value::Object(map) if map.keys().any(|k| k.starts_with('$')) => {
            if let Some(k) = map.keys().find(|k| !k.starts_with('$')) {
                return Err(ApiError::invalid(
                    name,
                    format!(
                        "{k:?} mixed with operators (write {{\"$eq\": {{...}}}} to match an object)"
                    ),
                ));
            }
            map.iter()
                .filter(|(k, _)| *k != "$options")
                .map(|(k, v)| (k.as_str(), v))
                .collect()
        }
        other => vec![("$eq", other)],
    };
    if let Value::Object(map) = value
        && map.contains_key("$options")
        && !map.contains_key("$regex")
    {
        return Err(ApiError::invalid(name, "$options needs $regex"));
    }
    let options = value.get("$options");
    let mut out = Vec::new();
    for (op, operand) in ops {
        if budget.conditions == 0 {
            return Err(too_many());
        }
        budget.conditions -= 1;
        let op = where_op(name, field.ty, op, operand, options, &mut budget.regex)?;
        out.push(Filter::Cond(Cond {
            field: name.to_string(),
            ty: field.ty,
            op,
        }));
    }
    Ok(out)
}

/// Which operators each type takes (MinApp's table, plus `$ne`, `$in`, `$nin` on every scalar
/// as its SDK documents, and `$icontains` on strings).
fn allowed(ty: FieldType, op: &str) -> bool {
    use FieldType::*;
    match op {
        "$eq" | "$isnull" | "$exists" => true,
        "$ne" => ty != Array && ty != Object,
        "$in" | "$nin" => ty != Object,
        "$lt" | "$lte" | "$gt" | "$gte" => ty.is_numeric() || ty == Date,
        "$range" => ty.is_numeric(),
        "$contains" => ty == String || ty == Array,
        "$icontains" | "$regex" => ty == String,
        "$all" => ty == Array,
        "$has_key" => ty == Object,
        _ => false,
    }
}

const KNOWN_OPS: [&str; 16] = [
    "$eq",
    "$ne",
    "$lt",
    "$lte",
    "$gt",
    "$gte",
    "$contains",
    "$icontains",
    "$regex",
    "$in",
    "$nin",
    "$all",
    "$isnull",
    "$exists",
    "$has_key",
    "$range",
];

fn where_op(
    name: &str,
    ty: FieldType,
    op: &str,
    v: &Value,
    options: Option<&Value>,
    regex: &mut RegexBudget,
) -> ApiResult<Op> {
    if GEO_OPS.contains(&op) {
        return Err(ApiError::invalid(
            name,
            format!("{op}: geo queries are not supported"),
        ));
    }
    if !KNOWN_OPS.contains(&op) {
        return Err(ApiError::invalid(name, format!("unknown operator {op}")));
    }
    if !allowed(ty, op) {
        return Err(ApiError::invalid(
            name,
            format!("{op} does not apply to {} field", article(ty)),
        ));
    }
    let bad = |what: &str| ApiError::invalid(name, format!("{op} takes {what}"));
    Ok(match op {
        // `null` as in MongoDB: `{"f": null}` is "f has no value".
        "$eq" if v.is_null() => Op::IsNull(true),
        "$ne" if v.is_null() => Op::IsNull(false),
        "$eq" => Op::Eq(operand(name, op, ty, v)?),
        "$ne" => Op::Ne(operand(name, op, ty, v)?),
        "$lt" => Op::Lt(operand(name, op, ty, v)?),
        "$lte" => Op::Lte(operand(name, op, ty, v)?),
        "$gt" => Op::Gt(operand(name, op, ty, v)?),
        "$gte" => Op::Gte(operand(name, op, ty, v)?),
        "$contains" => Op::Contains(if ty == FieldType::Array {
            element(name, op, v)?
        } else {
            Value::String(
                non_empty(v)
                    .ok_or_else(|| bad("a non-empty string"))?
                    .to_string(),
            )
        }),
        "$icontains" => Op::IContains(
            non_empty(v)
                .ok_or_else(|| bad("a non-empty string"))?
                .to_lowercase(),
        ),
        "$regex" => {
            let source = v.as_str().ok_or_else(|| bad("a string pattern"))?;
            let options = match options {
                None => "",
                Some(Value::String(o)) => o,
                Some(_) => return Err(ApiError::invalid(name, "$options must be a string")),
            };
            Op::Regex(Pattern::within(name, source, options, regex)?)
        }
        "$in" | "$nin" | "$all" => {
            let items = v
                .as_array()
                .filter(|items| !items.is_empty() && items.len() <= LIST_MAX_VALUES)
                .ok_or_else(|| bad(&format!("a list of 1 to {LIST_MAX_VALUES} values")))?;
            let values = items
                .iter()
                .map(|item| {
                    if ty == FieldType::Array {
                        element(name, op, item)
                    } else {
                        scalar(name, op, ty, item)
                    }
                })
                .collect::<ApiResult<Vec<_>>>()?;
            match op {
                "$in" => Op::In(values),
                "$nin" => Op::Nin(values),
                _ => Op::All(values),
            }
        }
        "$isnull" => Op::IsNull(v.as_bool().ok_or_else(|| bad("true or false"))?),
        "$exists" => Op::Exists(v.as_bool().ok_or_else(|| bad("true or false"))?),
        "$has_key" => Op::HasKey(
            non_empty(v)
                .ok_or_else(|| bad("a non-empty key name"))?
                .to_string(),
        ),
        "$range" => match v.as_array().map(Vec::as_slice) {
            Some([a, b]) => Op::Range(scalar(name, op, ty, a)?, scalar(name, op, ty, b)?),
            _ => return Err(bad("[start, end], two numbers (start <= x < end)")),
        },
        _ => unreachable!("every known operator is handled"),
    })
}

fn non_empty(v: &Value) -> Option<&str> {
    v.as_str().filter(|s| !s.is_empty())
}

fn article(ty: FieldType) -> String {
    match ty {
        FieldType::Integer | FieldType::Array | FieldType::Object => format!("an {}", ty.name()),
        _ => format!("a {}", ty.name()),
    }
}

/// The operand of `$eq`/`$ne`/comparisons: a value of the field's type.
fn operand(name: &str, op: &str, ty: FieldType, v: &Value) -> ApiResult<Value> {
    match (ty, v) {
        (FieldType::Array, Value::Array(items)) => {
            for item in items {
                element(name, op, item)?;
            }
            Ok(v.clone())
        }
        (FieldType::Array, _) => Err(ApiError::invalid(
            name,
            format!(
                "{op} on an array field takes a whole array ($in, $all or $contains test elements)"
            ),
        )),
        (FieldType::Object, Value::Object(_)) => {
            element(name, op, v)?;
            Ok(v.clone())
        }
        (FieldType::Object, _) => Err(ApiError::invalid(
            name,
            format!("{op} on an object field takes an object"),
        )),
        _ => scalar(name, op, ty, v),
    }
}

/// A value of a scalar field's type (dates canonical).
fn scalar(name: &str, op: &str, ty: FieldType, v: &Value) -> ApiResult<Value> {
    let ok = match (ty, v) {
        (FieldType::String, Value::String(_)) | (FieldType::Boolean, Value::Bool(_)) => true,
        (FieldType::Integer | FieldType::Number, Value::Number(_)) => true,
        (FieldType::Date, Value::String(s)) => {
            return normalize_date(s)
                .map(Value::String)
                .ok_or_else(|| ApiError::invalid(name, format!("{op} takes an ISO 8601 date")));
        }
        _ => false,
    };
    if ok {
        Ok(v.clone())
    } else {
        Err(ApiError::invalid(
            name,
            format!("{op} takes {}", article_value(ty)),
        ))
    }
}

fn article_value(ty: FieldType) -> &'static str {
    match ty {
        FieldType::String => "a string",
        FieldType::Integer | FieldType::Number => "a number",
        FieldType::Boolean => "true or false",
        FieldType::Date => "an ISO 8601 date",
        FieldType::Array => "an array",
        FieldType::Object => "an object",
    }
}

/// An element of an array field: any JSON but null.
fn element(name: &str, op: &str, v: &Value) -> ApiResult<Value> {
    if v.is_null() {
        return Err(ApiError::invalid(
            name,
            format!("{op}: null is not a value ($isnull tests for no value)"),
        ));
    }
    Ok(v.clone())
}

fn parse_shortcut(key: &str, raw: &str, schema: &Schema) -> ApiResult<Filter> {
    let (name, op) = match key.rsplit_once("__") {
        Some((name, op)) if SHORTCUT_OPS.contains(&op) => (name, op),
        Some((name, op)) if schema.field(name).is_some() => {
            return Err(ApiError::invalid(
                key,
                format!(
                    "unknown operator {op:?} (one of {})",
                    SHORTCUT_OPS.join(", ")
                ),
            ));
        }
        _ => (key, "eq"),
    };
    let field = schema
        .field(name)
        .ok_or_else(|| ApiError::invalid(key, "unknown field"))?;
    let ty = field.ty;
    let where_name = format!("${op}");
    // Every value arrives as text: read it as the field's type (array elements as strings).
    let typed = |text: &str| -> ApiResult<Value> {
        let value = match ty {
            FieldType::String | FieldType::Date | FieldType::Array => {
                Value::String(text.to_string())
            }
            FieldType::Integer | FieldType::Number => text
                .trim()
                .parse::<Number>()
                .map(Value::Number)
                .map_err(|_| ApiError::invalid(key, "must be a number"))?,
            FieldType::Boolean => Value::Bool(
                bool_text(text).ok_or_else(|| ApiError::invalid(key, "must be true or false"))?,
            ),
            FieldType::Object => {
                return Err(ApiError::invalid(
                    key,
                    "object fields take only isnull as a shortcut (use where)",
                ));
            }
        };
        Ok(value)
    };
    let list = |text: &str| -> ApiResult<Value> {
        text.split(',')
            .map(typed)
            .collect::<ApiResult<Vec<_>>>()
            .map(Value::Array)
    };
    let operand = match op {
        "isnull" => Value::Bool(
            bool_text(raw).ok_or_else(|| ApiError::invalid(key, "must be true or false"))?,
        ),
        "in" | "range" => list(raw)?,
        // `tags=a` on an array field: MinApp's element test.
        "eq" if ty == FieldType::Array => {
            let no_regex = &mut RegexBudget::default();
            return where_op(name, ty, "$contains", &typed(raw)?, None, no_regex)
                .map(|op| cond(name, ty, op));
        }
        _ => typed(raw)?,
    };
    let op = where_op(
        name,
        ty,
        &where_name,
        &operand,
        None,
        &mut RegexBudget::default(),
    )
    .map_err(|e| rename(e, name, key))?;
    Ok(cond(name, ty, op))
}

fn cond(name: &str, ty: FieldType, op: Op) -> Filter {
    Filter::Cond(Cond {
        field: name.to_string(),
        ty,
        op,
    })
}

/// Errors of a shortcut name the parameter as sent (`level__gt`), not the field.
fn rename(e: ApiError, name: &str, key: &str) -> ApiError {
    match e {
        ApiError::Invalid(m) if name != key => match m.strip_prefix(&format!("{name}: ")) {
            Some(rest) => ApiError::invalid(key, rest),
            None => ApiError::Invalid(m),
        },
        other => other,
    }
}

fn bool_text(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

impl Cond {
    fn matches(&self, v: &Value) -> bool {
        let ty = self.ty;
        match &self.op {
            Op::Eq(x) => value_eq(ty, v, x),
            Op::Ne(x) => !value_eq(ty, v, x),
            Op::Lt(x) => compare(ty, v, x) == Some(Ordering::Less),
            Op::Lte(x) => matches!(compare(ty, v, x), Some(Ordering::Less | Ordering::Equal)),
            Op::Gt(x) => compare(ty, v, x) == Some(Ordering::Greater),
            Op::Gte(x) => matches!(compare(ty, v, x), Some(Ordering::Greater | Ordering::Equal)),
            Op::Range(a, b) => {
                matches!(compare(ty, v, a), Some(Ordering::Greater | Ordering::Equal))
                    && compare(ty, v, b) == Some(Ordering::Less)
            }
            Op::Contains(x) => match (v, x) {
                (Value::String(s), Value::String(sub)) if ty != FieldType::Array => {
                    s.contains(sub.as_str())
                }
                (Value::Array(items), _) => items.iter().any(|e| json_eq(e, x)),
                _ => false,
            },
            Op::IContains(sub) => v
                .as_str()
                .is_some_and(|s| s.to_lowercase().contains(sub.as_str())),
            Op::Regex(p) => v.as_str().is_some_and(|s| p.is_match(s)),
            Op::In(list) => is_in(ty, v, list),
            Op::Nin(list) => !is_in(ty, v, list),
            Op::All(list) => match v {
                Value::Array(items) => list.iter().all(|x| items.iter().any(|e| json_eq(e, x))),
                _ => false,
            },
            Op::IsNull(b) => v.is_null() == *b,
            Op::Exists(b) => has_value(ty, v) == *b,
            Op::HasKey(k) => v.as_object().is_some_and(|m| m.contains_key(k)),
        }
    }
}

fn is_in(ty: FieldType, v: &Value, list: &[Value]) -> bool {
    match (ty, v) {
        (FieldType::Array, Value::Array(items)) => {
            items.iter().any(|e| list.iter().any(|x| json_eq(e, x)))
        }
        (FieldType::Array, _) | (_, Value::Null) => false,
        _ => list.iter().any(|x| value_eq(ty, v, x)),
    }
}

fn has_value(ty: FieldType, v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) if ty.is_textual() => !s.is_empty(),
        _ => true,
    }
}

/// Equality of a stored value and an operand; dates compare as instants.
fn value_eq(ty: FieldType, v: &Value, x: &Value) -> bool {
    if ty == FieldType::Date {
        return compare(ty, v, x) == Some(Ordering::Equal);
    }
    json_eq(v, x)
}

/// Order of a stored value and an operand of a comparison; `None` when not comparable
/// (null, another type).
fn compare(ty: FieldType, v: &Value, x: &Value) -> Option<Ordering> {
    match (v, x) {
        (Value::Number(a), Value::Number(b)) if ty.is_numeric() => Some(number_cmp(a, b)),
        (Value::String(a), Value::String(b)) if ty == FieldType::Date => {
            // Stored dates are canonical; normalising again keeps a stray one comparable.
            let a = normalize_date(a)?;
            let b = normalize_date(b)?;
            Some(a.cmp(&b))
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// DynamoDB pushdown

/// Longest FilterExpression DynamoDB takes.
pub const EXPRESSION_MAX_BYTES: usize = 4096;
/// Operators and functions DynamoDB takes in one expression.
pub const EXPRESSION_MAX_OPERATORS: usize = 300;
/// Operands of one DynamoDB `IN`.
pub const IN_MAX_OPERANDS: usize = 100;
/// Bytes a placeholder is counted for when sizing an expression (`#n` or `:v` and up to four
/// digits: an expression within [`EXPRESSION_MAX_BYTES`] never needs more, whatever else the
/// same request names first).
const PLACEHOLDER_BYTES: usize = 6;

/// A condition DynamoDB can evaluate, as data: attribute paths (one name per map level) and
/// JSON values, never expression text. The store renders it through its expression builder,
/// every name and value a placeholder; nothing here knows the SDK. Values are JSON for the
/// store to convert (string S, number N, bool BOOL, array L, object M).
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// At least two parts.
    And(Vec<Condition>),
    /// At least two parts.
    Or(Vec<Condition>),
    Not(Box<Condition>),
    Compare(AttrPath, Comparator, Value),
    /// `path IN (...)`, at most [`IN_MAX_OPERANDS`] values.
    In(AttrPath, Vec<Value>),
    /// `contains(path, value)`: a substring of a string, an element of a list.
    Contains(AttrPath, Value),
    Exists(AttrPath),
    NotExists(AttrPath),
    /// `attribute_type(path, type)`: `"S"`, `"NULL"`, ...
    HasType(AttrPath, &'static str),
    /// `size(path) > n`.
    SizeAbove(AttrPath, u64),
}

/// A stored attribute path: the names from the item's top level down.
pub type AttrPath = Vec<String>;

/// DynamoDB's comparators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparator {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Comparator {
    pub fn symbol(self) -> &'static str {
        match self {
            Comparator::Eq => "=",
            Comparator::Ne => "<>",
            Comparator::Lt => "<",
            Comparator::Le => "<=",
            Comparator::Gt => ">",
            Comparator::Ge => ">=",
        }
    }
}

impl Condition {
    /// All of `parts`: `None` when there is none, the part itself when there is one.
    pub fn all(mut parts: Vec<Condition>) -> Option<Condition> {
        match parts.len() {
            0 => None,
            1 => parts.pop(),
            _ => Some(Condition::And(parts)),
        }
    }

    /// Any of `parts` (at least one).
    fn any(mut parts: Vec<Condition>) -> Condition {
        if parts.len() == 1 {
            parts.pop().expect("one part")
        } else {
            Condition::Or(parts)
        }
    }

    fn not(c: Condition) -> Condition {
        Condition::Not(Box::new(c))
    }

    /// Whether it renders as a function call (`f(...)`), which needs no parentheses after
    /// `NOT`.
    pub fn is_function(&self) -> bool {
        matches!(
            self,
            Condition::Contains(..)
                | Condition::Exists(_)
                | Condition::NotExists(_)
                | Condition::HasType(..)
        )
    }

    /// An upper bound of its rendered size in bytes (placeholders counted at
    /// [`PLACEHOLDER_BYTES`], parentheses allowed around every part) and its operators and
    /// functions as DynamoDB counts them.
    fn cost(&self) -> (usize, usize) {
        let path = |p: &AttrPath| p.len() * (PLACEHOLDER_BYTES + 1);
        const V: usize = PLACEHOLDER_BYTES;
        let (bytes, operators) = match self {
            Condition::And(parts) | Condition::Or(parts) => {
                let (b, o) = parts
                    .iter()
                    .map(Condition::cost)
                    .fold((0, 0), |(b, o), (pb, po)| (b + pb + 4, o + po));
                (b, o + parts.len().saturating_sub(1))
            }
            Condition::Not(c) => {
                let (b, o) = c.cost();
                (b + 4, o + 1)
            }
            Condition::Compare(p, _, _) => (path(p) + 4 + V, 1),
            Condition::In(p, vs) => (path(p) + 6 + vs.len() * (V + 2), 1),
            Condition::Contains(p, _) | Condition::HasType(p, _) => (path(p) + 12 + V, 1),
            Condition::Exists(p) | Condition::NotExists(p) => (path(p) + 22, 1),
            Condition::SizeAbove(p, _) => (path(p) + 10 + V, 2),
        };
        (bytes + 2, operators)
    }
}

/// The part of a filter DynamoDB evaluates.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pushdown {
    /// `None`: DynamoDB filters nothing.
    pub condition: Option<Condition>,
    /// The condition selects a superset of the matches: re-check each item with
    /// [`Filter::matches`]. `false`: it selects exactly the matches.
    pub residual: bool,
}

/// A condition's translation: its condition (`None`: true) and whether it is exact.
struct Part {
    cond: Option<Condition>,
    exact: bool,
}

impl Part {
    fn exact(cond: Condition) -> Part {
        Part {
            cond: Some(cond),
            exact: true,
        }
    }

    /// Nothing DynamoDB can check: every item passes, the function decides.
    fn superset() -> Part {
        Part {
            cond: None,
            exact: false,
        }
    }
}

impl Filter {
    /// The condition DynamoDB can evaluate. `attr_name_of(field)` gives the stored attribute
    /// path of a MinApp field (`.` separates map keys) or `None` when the field is not stored
    /// as itself. A path is only correct if the stored value *is* the view's value in
    /// DynamoDB's natural encoding (absent or NULL for null, dates canonical); a derived field
    /// (one shown as `false` when the attribute is absent, say) must answer `None`.
    ///
    /// Exact: `$eq $ne $lt $lte $gt $gte $range $in $nin $all $contains $isnull $exists
    /// $has_key`, and `$and`/`$or` of exact parts. Not pushed (residual): `$icontains`,
    /// `$regex`, fields without a path, empty strings and numbers DynamoDB cannot store. A
    /// condition that could render over [`EXPRESSION_MAX_BYTES`] or
    /// [`EXPRESSION_MAX_OPERATORS`] keeps only the top-level conjuncts that fit. At most 100
    /// operands per `IN`.
    pub fn to_dynamo(&self, attr_name_of: impl Fn(&str) -> Option<String>) -> Pushdown {
        let conjuncts: Vec<&Filter> = match self {
            Filter::And(parts) => parts.iter().collect(),
            other => vec![other],
        };
        let mut kept: Vec<Condition> = Vec::new();
        let (mut bytes, mut operators) = (0, 0);
        let mut exact = true;
        for f in conjuncts {
            let part = translate(f, &attr_name_of);
            exact &= part.exact;
            let Some(cond) = part.cond else { continue };
            // "(c) AND " per conjunct.
            let (b, o) = cond.cost();
            let (b, o) = (b + 5, o + 1);
            if bytes + b > EXPRESSION_MAX_BYTES || operators + o > EXPRESSION_MAX_OPERATORS {
                exact = false;
                continue;
            }
            bytes += b;
            operators += o;
            kept.push(cond);
        }
        Pushdown {
            condition: Condition::all(kept),
            residual: !exact,
        }
    }
}

fn translate(f: &Filter, attr_name_of: &impl Fn(&str) -> Option<String>) -> Part {
    match f {
        Filter::True => Part {
            cond: None,
            exact: true,
        },
        Filter::And(parts) => {
            let parts: Vec<Part> = parts.iter().map(|p| translate(p, attr_name_of)).collect();
            let exact = parts.iter().all(|p| p.exact);
            let conds: Vec<Condition> = parts.into_iter().filter_map(|p| p.cond).collect();
            Part {
                cond: Condition::all(conds),
                exact,
            }
        }
        Filter::Or(parts) => {
            let parts: Vec<Part> = parts.iter().map(|p| translate(p, attr_name_of)).collect();
            // One branch DynamoDB cannot check lets every item through the whole OR.
            if parts.iter().any(|p| p.cond.is_none()) {
                return Part {
                    cond: None,
                    exact: parts.iter().any(|p| p.cond.is_none() && p.exact),
                };
            }
            let exact = parts.iter().all(|p| p.exact);
            Part {
                cond: Some(Condition::any(
                    parts.into_iter().filter_map(|p| p.cond).collect(),
                )),
                exact,
            }
        }
        Filter::Cond(c) => match attr_name_of(&c.field) {
            Some(path) if !path.is_empty() => {
                translate_cond(c, path.split('.').map(str::to_string).collect())
            }
            _ => Part::superset(),
        },
    }
}

/// A value DynamoDB takes as an expression value and compares as the evaluator does: no
/// empty string anywhere (kept out of expressions to be safe), numbers within its range.
fn pushable(v: &Value) -> bool {
    match v {
        Value::String(s) => !s.is_empty(),
        Value::Number(n) => storable_number(n),
        Value::Array(items) => items.iter().all(pushable),
        Value::Object(map) => map.iter().all(|(k, v)| !k.is_empty() && pushable(v)),
        Value::Bool(_) => true,
        Value::Null => false,
    }
}

fn translate_cond(c: &Cond, p: AttrPath) -> Part {
    let values: &[Value] = match &c.op {
        Op::Eq(v)
        | Op::Ne(v)
        | Op::Lt(v)
        | Op::Lte(v)
        | Op::Gt(v)
        | Op::Gte(v)
        | Op::Contains(v) => std::slice::from_ref(v),
        Op::In(vs) | Op::Nin(vs) | Op::All(vs) => vs,
        _ => &[],
    };
    let range_pushable = match &c.op {
        Op::Range(a, b) => pushable(a) && pushable(b),
        _ => true,
    };
    if !values.iter().all(pushable) || !range_pushable {
        return Part::superset();
    }
    let array = c.ty == FieldType::Array;
    let cmp = |op: Comparator, v: &Value| Condition::Compare(p.clone(), op, v.clone());
    let contains = |v: &Value| Condition::Contains(p.clone(), v.clone());
    Part::exact(match &c.op {
        Op::Eq(v) => cmp(Comparator::Eq, v),
        // `<>` is true on an absent attribute too; said explicitly so it never depends on it.
        Op::Ne(v) => Condition::Or(vec![
            Condition::NotExists(p.clone()),
            cmp(Comparator::Ne, v),
        ]),
        Op::Lt(v) => cmp(Comparator::Lt, v),
        Op::Lte(v) => cmp(Comparator::Le, v),
        Op::Gt(v) => cmp(Comparator::Gt, v),
        Op::Gte(v) => cmp(Comparator::Ge, v),
        // Not BETWEEN: that includes its end.
        Op::Range(a, b) => Condition::And(vec![cmp(Comparator::Ge, a), cmp(Comparator::Lt, b)]),
        Op::Contains(v) => contains(v),
        Op::In(vs) => any_of(&p, vs, array),
        Op::Nin(vs) => Condition::not(any_of(&p, vs, array)),
        Op::All(vs) => {
            Condition::all(vs.iter().map(contains).collect()).expect("$all has at least one value")
        }
        Op::IsNull(b) => null_test(&p, *b),
        Op::Exists(b) if c.ty.is_textual() => {
            let has = Condition::And(vec![
                Condition::HasType(p.clone(), "S"),
                Condition::SizeAbove(p.clone(), 0),
            ]);
            if *b { has } else { Condition::not(has) }
        }
        Op::Exists(b) => null_test(&p, !*b),
        Op::HasKey(k) => {
            let mut key = p.clone();
            key.push(k.clone());
            Condition::Exists(key)
        }
        Op::IContains(_) | Op::Regex(_) => return Part::superset(),
    })
}

/// Scalars: `IN` lists of at most 100; arrays: one `contains` per value.
fn any_of(p: &AttrPath, vs: &[Value], array: bool) -> Condition {
    let parts: Vec<Condition> = if array {
        vs.iter()
            .map(|v| Condition::Contains(p.clone(), v.clone()))
            .collect()
    } else {
        vs.chunks(IN_MAX_OPERANDS)
            .map(|chunk| Condition::In(p.clone(), chunk.to_vec()))
            .collect()
    };
    Condition::any(parts)
}

fn null_test(p: &AttrPath, is_null: bool) -> Condition {
    let null = Condition::HasType(p.clone(), "NULL");
    if is_null {
        Condition::Or(vec![Condition::NotExists(p.clone()), null])
    } else {
        Condition::And(vec![Condition::Exists(p.clone()), Condition::not(null)])
    }
}

// ---------------------------------------------------------------------------------------------
// order_by

/// One key of an `order_by`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    pub field: String,
    pub ty: FieldType,
    pub descending: bool,
}

/// `order_by`: comma-separated keys, `-` for descending; default `-created_at`. Ties are
/// broken by `id` in the direction of the first key, so the order is total and `-created_at`
/// is exactly the directory's newest-first order (creation time, then id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderBy {
    pub keys: Vec<SortKey>,
}

impl Default for OrderBy {
    fn default() -> Self {
        OrderBy {
            keys: vec![SortKey {
                field: "created_at".to_string(),
                ty: FieldType::Integer,
                descending: true,
            }],
        }
    }
}

impl OrderBy {
    /// An empty value is the default. `gender country province city language`, arrays,
    /// objects and unknown fields cannot be sorted by (400 naming the key).
    pub fn parse(text: &str, schema: &Schema) -> ApiResult<OrderBy> {
        if text.trim().is_empty() {
            return Ok(OrderBy::default());
        }
        let mut keys: Vec<SortKey> = Vec::new();
        for raw in text.split(',').map(str::trim) {
            let (name, descending) = match raw.strip_prefix('-') {
                Some(name) => (name, true),
                None => (raw, false),
            };
            if name.is_empty() {
                return Err(ApiError::invalid("order_by", "has an empty key"));
            }
            let field = schema
                .field(name)
                .ok_or_else(|| ApiError::invalid("order_by", format!("{name}: unknown field")))?;
            let sortable = match field.kind {
                FieldKind::Builtin(b) => b.sortable(),
                FieldKind::Custom => !matches!(field.ty, FieldType::Array | FieldType::Object),
            };
            if !sortable {
                return Err(ApiError::invalid(
                    "order_by",
                    format!("{name}: cannot be sorted by"),
                ));
            }
            if keys.iter().any(|k| k.field == name) {
                return Err(ApiError::invalid(
                    "order_by",
                    format!("{name}: listed twice"),
                ));
            }
            keys.push(SortKey {
                field: name.to_string(),
                ty: field.ty,
                descending,
            });
        }
        Ok(OrderBy { keys })
    }

    /// `Some(descending)` when this is the directory's own order: `created_at` or
    /// `-created_at`, maybe followed by an id key in the same direction.
    pub fn index_order(&self) -> Option<bool> {
        let first = self.keys.first().filter(|k| k.field == "created_at")?;
        let rest_is_id = self.keys[1..].iter().all(|k| {
            matches!(k.field.as_str(), "id" | "user_id" | "created_by")
                && k.descending == first.descending
        });
        rest_is_id.then_some(first.descending)
    }

    /// Total order of two MinApp objects. Ascending puts null (and absent) first, descending
    /// last; values of another type than the field's (never stored) sort after its own.
    pub fn compare(&self, a: &Value, b: &Value) -> Ordering {
        let null = Value::Null;
        for k in &self.keys {
            let x = a.get(&k.field).unwrap_or(&null);
            let y = b.get(&k.field).unwrap_or(&null);
            let o = sort_cmp(k.ty, x, y);
            let o = if k.descending { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        let id = SortKey {
            field: "id".to_string(),
            ty: FieldType::Integer,
            descending: self.keys.first().is_some_and(|k| k.descending),
        };
        let o = sort_cmp(
            id.ty,
            a.get("id").unwrap_or(&null),
            b.get("id").unwrap_or(&null),
        );
        if id.descending { o.reverse() } else { o }
    }
}

/// Ascending order of two values of one field: null, then the field's own type, then any
/// other JSON by type and text (a stray value still has a place).
fn sort_cmp(ty: FieldType, x: &Value, y: &Value) -> Ordering {
    fn rank(ty: FieldType, v: &Value) -> u8 {
        match v {
            Value::Null => 0,
            Value::Number(_) if ty.is_numeric() => 1,
            Value::String(s) if ty == FieldType::Date && normalize_date(s).is_some() => 1,
            Value::String(_) if ty == FieldType::String => 1,
            Value::Bool(_) if ty == FieldType::Boolean => 1,
            Value::Number(_) => 2,
            Value::String(_) => 3,
            Value::Bool(_) => 4,
            Value::Array(_) => 5,
            Value::Object(_) => 6,
        }
    }
    let (rx, ry) = (rank(ty, x), rank(ty, y));
    if rx != ry {
        return rx.cmp(&ry);
    }
    match (x, y) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Number(a), Value::Number(b)) => number_cmp(a, b),
        (Value::String(a), Value::String(b)) if rx == 1 && ty == FieldType::Date => {
            normalize_date(a).cmp(&normalize_date(b))
        }
        (Value::String(a), Value::String(b)) => a.cmp(b),
        (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
        _ => x.to_string().cmp(&y.to_string()),
    }
}

// ---------------------------------------------------------------------------------------------
// Paging

/// `limit`, `offset` and `return_total_count` of a list or batch update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: usize,
    pub offset: usize,
    pub return_total_count: bool,
}

impl Default for Page {
    fn default() -> Self {
        Page {
            limit: Page::DEFAULT_LIMIT,
            offset: 0,
            return_total_count: false,
        }
    }
}

impl Page {
    pub const DEFAULT_LIMIT: usize = 20;
    pub const MAX_LIMIT: usize = 1000;

    /// Reads the three parameters among a query's (others are ignored); each at most once.
    pub fn parse<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> ApiResult<Page> {
        let mut page = Page::default();
        let mut seen: Vec<&str> = Vec::new();
        for (key, value) in params {
            if !matches!(key, "limit" | "offset" | "return_total_count") {
                continue;
            }
            if seen.contains(&key) {
                return Err(ApiError::invalid(key, "given more than once"));
            }
            seen.push(key);
            let value = value.trim();
            match key {
                "limit" => {
                    page.limit = value
                        .parse()
                        .ok()
                        .filter(|l| (1..=Page::MAX_LIMIT).contains(l))
                        .ok_or_else(|| {
                            ApiError::invalid(
                                "limit",
                                format!("must be an integer from 1 to {}", Page::MAX_LIMIT),
                            )
                        })?;
                }
                "offset" => {
                    page.offset = value.parse().map_err(|_| {
                        ApiError::invalid("offset", "must be a non-negative integer")
                    })?;
                }
                _ => {
                    page.return_total_count = match value {
                        "0" => false,
                        "1" => true,
                        _ => return Err(ApiError::invalid("return_total_count", "must be 0 or 1")),
                    };
                }
            }
        }
        Ok(page)
    }

    /// The offset of the next page: after the objects actually returned (a page cut short by
    /// the response size continues where it stopped), when more matches may follow.
    pub fn next_offset(&self, returned: usize, more: bool) -> Option<usize> {
        more.then(|| self.offset + returned)
    }

    /// The offset of the previous page, none on the first.
    pub fn previous_offset(&self) -> Option<usize> {
        (self.offset > 0).then(|| self.offset.saturating_sub(self.limit))
    }

    /// `meta.next` and `meta.previous`: `path` plus the request's own query (`raw_query`, as
    /// received, without `?`) with `offset` replaced.
    pub fn links(
        &self,
        path: &str,
        raw_query: &str,
        returned: usize,
        more: bool,
    ) -> (Option<String>, Option<String>) {
        let link = |offset| page_link(path, raw_query, offset);
        (
            self.next_offset(returned, more).map(link),
            self.previous_offset().map(link),
        )
    }
}

/// A parsed `user_profile` query: `where` and the legacy shortcuts ANDed, `order_by`, paging.
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub filter: Filter,
    pub order: OrderBy,
    pub page: Page,
    /// A batch update's `next` link: the position its walk continues after.
    pub after: Option<Cursor>,
}

impl ListQuery {
    /// From the request's query parameters, decoded, in the order sent.
    pub fn parse(params: &[(String, String)], fields: &UserFields) -> ApiResult<ListQuery> {
        let pairs = || params.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        let single = |name: &str| -> ApiResult<Option<&str>> {
            let mut values = pairs().filter(|(k, _)| *k == name).map(|(_, v)| v);
            let first = values.next();
            if values.next().is_some() {
                return Err(ApiError::invalid(name, "given more than once"));
            }
            Ok(first)
        };
        let mut filters = Vec::new();
        if let Some(json) = single("where")? {
            filters.push(Filter::from_where(json, fields)?);
        }
        filters.push(Filter::from_shortcuts(
            pairs().filter(|(k, _)| *k != CURSOR_PARAM),
            fields,
        )?);
        Ok(ListQuery {
            filter: Filter::and(filters),
            order: OrderBy::parse(single("order_by")?.unwrap_or(""), fields)?,
            page: Page::parse(pairs())?,
            after: single(CURSOR_PARAM)?.map(Cursor::parse).transpose()?,
        })
    }
}

/// Where the request came from, for the `next` / `previous` links.
#[derive(Debug, Clone)]
pub struct Origin {
    pub path: String,
    /// The query as received, without `?`.
    pub raw_query: String,
}

/// The parameter a batch update's `next` link continues its walk with: the position of the
/// last user of the page in the directory's order (`<created_at>_<id>`), which no update
/// moves. An offset would skip users: those the page's update took out of the query no longer
/// count before it. (A custom field is never named so: names start with a letter.)
pub const CURSOR_PARAM: &str = "_cursor";

/// A place in the users' creation order: after the user created at `created_at` with numeric
/// id `im_userid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: i64,
    pub im_userid: i64,
}

impl Cursor {
    /// The cursor as a link carries it.
    pub fn text(&self) -> String {
        format!("{}_{}", self.created_at, self.im_userid)
    }

    /// A cursor as [`Cursor::text`] writes it; anything else is a 400 naming it.
    pub fn parse(text: &str) -> ApiResult<Cursor> {
        let number = |part: &str, digits: usize| {
            (!part.is_empty() && part.len() <= digits && part.bytes().all(|b| b.is_ascii_digit()))
                .then(|| part.parse::<i64>().ok())
                .flatten()
        };
        text.split_once('_')
            .and_then(|(at, id)| {
                Some(Cursor {
                    created_at: number(at, 11)?,
                    im_userid: number(id, 19)?,
                })
            })
            .ok_or_else(|| {
                ApiError::invalid(
                    CURSOR_PARAM,
                    "is not a position this service gave: follow `next` as it is given",
                )
            })
    }
}

/// `next` of a batch update: the request's query with the cursor and the offset replaced.
pub fn cursor_link(origin: &Origin, cursor: &Cursor, offset: usize) -> String {
    let mut parts: Vec<&str> = origin
        .raw_query
        .split('&')
        .filter(|p| {
            let key = p.split_once('=').map_or(*p, |(k, _)| k);
            percent_encoding::percent_decode_str(key).decode_utf8_lossy() != CURSOR_PARAM
        })
        .collect();
    let cursor = format!("{CURSOR_PARAM}={}", cursor.text());
    parts.push(&cursor);
    page_link(&origin.path, &parts.join("&"), offset)
}

/// Decoded query parameters in the order sent (`+` is a space, as forms encode it).
pub fn query_pairs(raw_query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(raw_query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// `path?<the same query>&offset=N`: every parameter but `offset` kept as sent, in order.
pub fn page_link(path: &str, raw_query: &str, offset: usize) -> String {
    let mut parts: Vec<&str> = raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let key = p.split_once('=').map_or(*p, |(k, _)| k);
            percent_encoding::percent_decode_str(key).decode_utf8_lossy() != "offset"
        })
        .collect();
    let offset = format!("offset={offset}");
    parts.push(&offset);
    format!("{path}?{}", parts.join("&"))
}

#[cfg(test)]
mod tests;
