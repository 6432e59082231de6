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

use regex_automata::meta::{self, Regex};
use regex_automata::util::syntax;
use serde_json::Value;

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
    /// The condition DynamoDB can evaluate, and what is left to check on each item
    /// ([`Pushdown::of`]).
    pub fn to_dynamo(&self, attr_name_of: impl Fn(&str) -> Option<String>) -> Pushdown {
        Pushdown::of(self, attr_name_of)
    }

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

mod eval;
mod order;
mod page;
mod parse;
mod pushdown;

pub use order::*;
pub use page::*;
use parse::*;
pub use pushdown::*;

#[cfg(test)]
mod tests;
