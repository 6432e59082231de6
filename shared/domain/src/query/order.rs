//! `order_by`: keys, the index's own order, and a total order of objects.

use std::cmp::Ordering;

use serde_json::Value;

use super::*;

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
pub(super) fn sort_cmp(ty: FieldType, x: &Value, y: &Value) -> Ordering {
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
