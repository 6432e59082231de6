//! What of a filter DynamoDB can evaluate: a pure condition tree the store renders through
//! its one expression builder, and whether the rest must be checked on each item.

use serde_json::Value;

use super::*;

/// Longest FilterExpression DynamoDB takes.
pub const EXPRESSION_MAX_BYTES: usize = 4096;
/// Operators and functions DynamoDB takes in one expression.
pub const EXPRESSION_MAX_OPERATORS: usize = 300;
/// Operands of one DynamoDB `IN`.
pub const IN_MAX_OPERANDS: usize = 100;
/// Bytes a placeholder is counted for when sizing an expression (`#n` or `:v` and up to four
/// digits: an expression within [`EXPRESSION_MAX_BYTES`] never needs more, whatever else the
/// same request names first).
pub(super) const PLACEHOLDER_BYTES: usize = 6;

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
pub(super) struct Part {
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

impl Pushdown {
    /// The condition DynamoDB can evaluate of `filter` ([`Filter::to_dynamo`]). `attr_name_of(field)` gives the stored attribute
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
    pub fn of(filter: &Filter, attr_name_of: impl Fn(&str) -> Option<String>) -> Pushdown {
        let conjuncts: Vec<&Filter> = match filter {
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

pub(super) fn translate(f: &Filter, attr_name_of: &impl Fn(&str) -> Option<String>) -> Part {
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
pub(super) fn pushable(v: &Value) -> bool {
    match v {
        Value::String(s) => !s.is_empty(),
        Value::Number(n) => storable_number(n),
        Value::Array(items) => items.iter().all(pushable),
        Value::Object(map) => map.iter().all(|(k, v)| !k.is_empty() && pushable(v)),
        Value::Bool(_) => true,
        Value::Null => false,
    }
}

pub(super) fn translate_cond(c: &Cond, p: AttrPath) -> Part {
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
pub(super) fn any_of(p: &AttrPath, vs: &[Value], array: bool) -> Condition {
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

pub(super) fn null_test(p: &AttrPath, is_null: bool) -> Condition {
    let null = Condition::HasType(p.clone(), "NULL");
    if is_null {
        Condition::Or(vec![Condition::NotExists(p.clone()), null])
    } else {
        Condition::And(vec![Condition::Exists(p.clone()), Condition::not(null)])
    }
}
