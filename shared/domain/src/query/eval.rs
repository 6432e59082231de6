//! The reference evaluator: a condition on the MinApp object, as MinApp means it.

use std::cmp::Ordering;

use serde_json::Value;

use super::*;

impl Cond {
    pub(super) fn matches(&self, v: &Value) -> bool {
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

pub(super) fn is_in(ty: FieldType, v: &Value, list: &[Value]) -> bool {
    match (ty, v) {
        (FieldType::Array, Value::Array(items)) => {
            items.iter().any(|e| list.iter().any(|x| json_eq(e, x)))
        }
        (FieldType::Array, _) | (_, Value::Null) => false,
        _ => list.iter().any(|x| value_eq(ty, v, x)),
    }
}

pub(super) fn has_value(ty: FieldType, v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) if ty.is_textual() => !s.is_empty(),
        _ => true,
    }
}

/// Equality of a stored value and an operand; dates compare as instants.
pub(super) fn value_eq(ty: FieldType, v: &Value, x: &Value) -> bool {
    if ty == FieldType::Date {
        return compare(ty, v, x) == Some(Ordering::Equal);
    }
    json_eq(v, x)
}

/// Order of a stored value and an operand of a comparison; `None` when not comparable
/// (null, another type).
pub(super) fn compare(ty: FieldType, v: &Value, x: &Value) -> Option<Ordering> {
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
