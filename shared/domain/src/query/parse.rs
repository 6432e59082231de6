//! `where` JSON and the legacy shortcut parameters into one typed [`Filter`].

use serde_json::{Number, Value};

use super::*;

pub(super) fn too_many() -> ApiError {
    ApiError::invalid(
        "where",
        format!("at most {CONDITIONS_MAX} conditions per query"),
    )
}

/// What one `where` may still hold: conditions, and its `$regex` patterns' share.
pub(super) struct Budget {
    pub(super) conditions: usize,
    pub(super) regex: RegexBudget,
}

pub(super) fn parse_node(value: &Value, schema: &Schema, budget: &mut Budget) -> ApiResult<Filter> {
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
pub(super) fn parse_field(
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
pub(super) fn allowed(ty: FieldType, op: &str) -> bool {
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

pub(super) const KNOWN_OPS: [&str; 16] = [
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

pub(super) fn where_op(
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

pub(super) fn non_empty(v: &Value) -> Option<&str> {
    v.as_str().filter(|s| !s.is_empty())
}

pub(super) fn article(ty: FieldType) -> String {
    match ty {
        FieldType::Integer | FieldType::Array | FieldType::Object => format!("an {}", ty.name()),
        _ => format!("a {}", ty.name()),
    }
}

/// The operand of `$eq`/`$ne`/comparisons: a value of the field's type.
pub(super) fn operand(name: &str, op: &str, ty: FieldType, v: &Value) -> ApiResult<Value> {
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
pub(super) fn scalar(name: &str, op: &str, ty: FieldType, v: &Value) -> ApiResult<Value> {
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

pub(super) fn article_value(ty: FieldType) -> &'static str {
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
pub(super) fn element(name: &str, op: &str, v: &Value) -> ApiResult<Value> {
    if v.is_null() {
        return Err(ApiError::invalid(
            name,
            format!("{op}: null is not a value ($isnull tests for no value)"),
        ));
    }
    Ok(v.clone())
}

pub(super) fn parse_shortcut(key: &str, raw: &str, schema: &Schema) -> ApiResult<Filter> {
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

pub(super) fn cond(name: &str, ty: FieldType, op: Op) -> Filter {
    Filter::Cond(Cond {
        field: name.to_string(),
        ty,
        op,
    })
}

/// Errors of a shortcut name the parameter as sent (`level__gt`), not the field.
pub(super) fn rename(e: ApiError, name: &str, key: &str) -> ApiError {
    match e {
        ApiError::Invalid(m) if name != key => match m.strip_prefix(&format!("{name}: ")) {
            Some(rest) => ApiError::invalid(key, rest),
            None => ApiError::Invalid(m),
        },
        other => other,
    }
}

pub(super) fn bool_text(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}
