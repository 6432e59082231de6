//! The MinApp (知晓云) view of a user: its built-in fields, the typed custom fields declared by
//! `USER_FIELDS`, and the validated form of a profile update (plain values and MinApp's atomic
//! operators). Nothing here knows about HTTP or DynamoDB.
//!
//! The object view these types describe (built by the caller from the stored user) follows
//! two rules the query evaluator ([`crate::query`]) relies on:
//! - an absent field and a `null` field mean the same thing;
//! - a `date` value is the canonical string of [`normalize_date`] (UTC, microseconds), so
//!   string order is time order.

use serde_json::{Map, Number, Value};
use std::cmp::Ordering;

use crate::error::{ApiError, ApiResult};

/// Longest string value (custom fields and the strings inside arrays and objects).
pub const STRING_MAX_CHARS: usize = 1024;
pub const NICKNAME_MAX_CHARS: usize = 128;
pub const AVATAR_MAX_CHARS: usize = 1024;
/// `country`, `province`, `city`, `language`.
pub const PLACE_MAX_CHARS: usize = 128;
pub const ARRAY_MAX_ITEMS: usize = 64;
pub const OBJECT_MAX_KEYS: usize = 64;
pub const OBJECT_KEY_MAX_CHARS: usize = 64;
/// Arrays and objects inside a custom value nest at most this deep.
pub const VALUE_MAX_DEPTH: usize = 8;
/// All custom fields of one user, serialised as JSON. 1000 objects of a list page then carry at
/// most 4 MB of custom fields, leaving room for the built-ins under Lambda's 6 MB.
pub const CUSTOM_FIELDS_MAX_BYTES: usize = 4096;
pub const CUSTOM_FIELDS_MAX: usize = 64;
pub const FIELD_NAME_MAX_CHARS: usize = 64;
/// Integers stay exact in JavaScript clients (`Number.MAX_SAFE_INTEGER`).
pub const INTEGER_MAX: i64 = (1 << 53) - 1;
/// DynamoDB numbers: magnitudes below 1e126 and, other than zero, above 1e-130.
const NUMBER_MAX_ABS: f64 = 1e125;
const NUMBER_MIN_ABS: f64 = 1e-129;

/// Query parameter names of the list endpoints: never field names.
pub const RESERVED_NAMES: [&str; 7] = [
    "where",
    "order_by",
    "limit",
    "offset",
    "return_total_count",
    "keys",
    "expand",
];

/// The value types of MinApp fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    String,
    Integer,
    Number,
    Boolean,
    /// An ISO 8601 string, stored and shown as [`normalize_date`] makes it.
    Date,
    Array,
    Object,
}

impl FieldType {
    pub const ALL: [FieldType; 7] = [
        FieldType::String,
        FieldType::Integer,
        FieldType::Number,
        FieldType::Boolean,
        FieldType::Date,
        FieldType::Array,
        FieldType::Object,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Integer => "integer",
            FieldType::Number => "number",
            FieldType::Boolean => "boolean",
            FieldType::Date => "date",
            FieldType::Array => "array",
            FieldType::Object => "object",
        }
    }

    pub fn from_name(name: &str) -> Option<FieldType> {
        FieldType::ALL.into_iter().find(|t| t.name() == name)
    }

    pub fn is_numeric(self) -> bool {
        matches!(self, FieldType::Integer | FieldType::Number)
    }

    /// String-valued types, for which an empty string counts as no value (`$exists`).
    pub fn is_textual(self) -> bool {
        matches!(self, FieldType::String | FieldType::Date)
    }
}

/// The fields every MinApp user object has (SPEC, the mapping table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Builtin {
    /// `im_userid`, as are `user_id` and `created_by`.
    Id,
    UserId,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    /// Stored as `nick`.
    Nickname,
    Avatar,
    /// 0 unknown, 1 male, 2 female.
    Gender,
    Country,
    Province,
    City,
    Language,
    Username,
    Email,
    Phone,
    EmailVerified,
    PhoneVerified,
    /// WeChat identities: always null here.
    Openid,
    Unionid,
    /// The string id every dialect shares (Qiniu's `user_id`), read-only.
    StringId,
}

impl Builtin {
    pub const ALL: [Builtin; 20] = [
        Builtin::Id,
        Builtin::UserId,
        Builtin::CreatedBy,
        Builtin::CreatedAt,
        Builtin::UpdatedAt,
        Builtin::Nickname,
        Builtin::Avatar,
        Builtin::Gender,
        Builtin::Country,
        Builtin::Province,
        Builtin::City,
        Builtin::Language,
        Builtin::Username,
        Builtin::Email,
        Builtin::Phone,
        Builtin::EmailVerified,
        Builtin::PhoneVerified,
        Builtin::Openid,
        Builtin::Unionid,
        Builtin::StringId,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Builtin::Id => "id",
            Builtin::UserId => "user_id",
            Builtin::CreatedBy => "created_by",
            Builtin::CreatedAt => "created_at",
            Builtin::UpdatedAt => "updated_at",
            Builtin::Nickname => "nickname",
            Builtin::Avatar => "avatar",
            Builtin::Gender => "gender",
            Builtin::Country => "country",
            Builtin::Province => "province",
            Builtin::City => "city",
            Builtin::Language => "language",
            Builtin::Username => "_username",
            Builtin::Email => "_email",
            Builtin::Phone => "_phone",
            Builtin::EmailVerified => "_email_verified",
            Builtin::PhoneVerified => "_phone_verified",
            Builtin::Openid => "openid",
            Builtin::Unionid => "unionid",
            Builtin::StringId => "_user_id",
        }
    }

    pub fn from_name(name: &str) -> Option<Builtin> {
        Builtin::ALL.into_iter().find(|b| b.name() == name)
    }

    pub fn ty(self) -> FieldType {
        match self {
            Builtin::Id
            | Builtin::UserId
            | Builtin::CreatedBy
            | Builtin::CreatedAt
            | Builtin::UpdatedAt
            | Builtin::Gender => FieldType::Integer,
            Builtin::EmailVerified | Builtin::PhoneVerified => FieldType::Boolean,
            _ => FieldType::String,
        }
    }

    /// Writable through the MinApp profile update (accounts change through their own endpoint).
    pub fn writable(self) -> bool {
        matches!(
            self,
            Builtin::Nickname
                | Builtin::Avatar
                | Builtin::Gender
                | Builtin::Country
                | Builtin::Province
                | Builtin::City
                | Builtin::Language
        )
    }

    /// MinApp refuses to sort by these.
    pub fn sortable(self) -> bool {
        !matches!(
            self,
            Builtin::Gender
                | Builtin::Country
                | Builtin::Province
                | Builtin::City
                | Builtin::Language
        )
    }

    /// Every user has a value (a string, maybe empty): clearing it sets `""`, not null.
    pub fn always_present(self) -> bool {
        matches!(self, Builtin::Nickname | Builtin::Avatar)
    }

    fn max_chars(self) -> usize {
        match self {
            Builtin::Nickname => NICKNAME_MAX_CHARS,
            Builtin::Avatar => AVATAR_MAX_CHARS,
            _ => PLACE_MAX_CHARS,
        }
    }
}

/// Whether a field is built in or declared by `USER_FIELDS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldKind {
    Builtin(Builtin),
    Custom,
}

/// A field of the MinApp object, resolved against the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    pub name: &'a str,
    pub ty: FieldType,
    pub kind: FieldKind,
}

/// The custom fields declared by `USER_FIELDS` (`level:integer,tags:array,...`), in declared
/// order. Resolves built-in names too, so it is the whole schema of a MinApp object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFields {
    fields: Vec<(String, FieldType)>,
    /// Fields only their owner may read (`name:type:private`); every other custom field is
    /// shown to other users too, as MinApp shows them.
    private: Vec<String>,
}

/// The schema queries are checked against: the built-ins plus the declared custom fields.
pub type Schema = UserFields;

impl UserFields {
    /// Parses `name:type` pairs separated by commas, each optionally `:private` (only its
    /// owner reads it); an empty string declares none. Names are 1..64 ASCII letters, digits
    /// and `_`, start with a letter, have no `__` (the shortcut separator) and clash with no
    /// built-in or reserved query name.
    pub fn parse(spec: &str) -> Result<UserFields, String> {
        let mut fields: Vec<(String, FieldType)> = Vec::new();
        let mut private = Vec::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, ty) = entry
                .split_once(':')
                .map(|(n, t)| (n.trim(), t.trim()))
                .ok_or_else(|| format!("USER_FIELDS: {entry:?} is not name:type"))?;
            let ty = match ty.split_once(':') {
                None => ty,
                Some((ty, "private")) => {
                    private.push(name.to_string());
                    ty.trim()
                }
                Some((_, flag)) => {
                    return Err(format!(
                        "USER_FIELDS: {name:?} has unknown flag {flag:?} (only private)"
                    ));
                }
            };
            check_field_name(name).map_err(|rule| format!("USER_FIELDS: {name:?} {rule}"))?;
            let ty = FieldType::from_name(ty).ok_or_else(|| {
                let known: Vec<&str> = FieldType::ALL.iter().map(|t| t.name()).collect();
                format!(
                    "USER_FIELDS: {name:?} has unknown type {ty:?} (one of {})",
                    known.join(", ")
                )
            })?;
            if fields.iter().any(|(n, _)| n == name) {
                return Err(format!("USER_FIELDS: {name:?} is declared twice"));
            }
            fields.push((name.to_string(), ty));
        }
        if fields.len() > CUSTOM_FIELDS_MAX {
            return Err(format!(
                "USER_FIELDS: at most {CUSTOM_FIELDS_MAX} fields may be declared"
            ));
        }
        Ok(UserFields { fields, private })
    }

    /// Whether other users may read the custom field `name` (declared without `:private`).
    pub fn readable_by_others(&self, name: &str) -> bool {
        !self.private.iter().any(|p| p == name)
    }

    /// The declared custom fields, in declared order.
    pub fn custom(&self) -> impl Iterator<Item = (&str, FieldType)> {
        self.fields.iter().map(|(n, t)| (n.as_str(), *t))
    }

    pub fn custom_type(&self, name: &str) -> Option<FieldType> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, t)| *t)
    }

    /// A built-in or declared field by its MinApp name.
    pub fn field<'a>(&self, name: &'a str) -> Option<Field<'a>> {
        if let Some(b) = Builtin::from_name(name) {
            return Some(Field {
                name,
                ty: b.ty(),
                kind: FieldKind::Builtin(b),
            });
        }
        self.custom_type(name).map(|ty| Field {
            name,
            ty,
            kind: FieldKind::Custom,
        })
    }
}

fn check_field_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > FIELD_NAME_MAX_CHARS {
        return Err("must be 1 to 64 characters");
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic())
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err("must start with a letter and hold only letters, digits and _");
    }
    if name.contains("__") {
        // `field__op` is the shortcut syntax of the list endpoint.
        return Err("must not contain __");
    }
    if Builtin::from_name(name).is_some() || RESERVED_NAMES.contains(&name) {
        return Err("is a built-in field or reserved query name");
    }
    Ok(())
}

/// An ISO 8601 date-time with an offset (`2024-05-01T08:30:00+08:00`, `...Z`, any fraction) or
/// a calendar date (`2024-05-01`, midnight UTC), as the canonical
/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`: UTC, microseconds (finer digits are cut). Fixed width, so
/// string order is time order. Parsed with the `time` crate's RFC 3339 parser.
pub fn normalize_date(text: &str) -> Option<String> {
    use time::format_description::well_known::Rfc3339;
    let parsed = if text.len() == 10 {
        time::OffsetDateTime::parse(&format!("{text}T00:00:00Z"), &Rfc3339)
    } else {
        time::OffsetDateTime::parse(text, &Rfc3339)
    }
    .ok()?
    .to_offset(time::UtcOffset::UTC);
    if !(0..=9999).contains(&parsed.year()) {
        return None;
    }
    Some(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        parsed.year(),
        u8::from(parsed.month()),
        parsed.day(),
        parsed.hour(),
        parsed.minute(),
        parsed.second(),
        parsed.microsecond()
    ))
}

/// A number DynamoDB can hold exactly as JSON gave it (`None`: out of its range).
pub(crate) fn storable_number(n: &Number) -> bool {
    if n.is_i64() || n.is_u64() {
        return true;
    }
    n.as_f64()
        .is_some_and(|f| f == 0.0 || (NUMBER_MIN_ABS..NUMBER_MAX_ABS).contains(&f.abs()))
}

/// Checks a value against a field's type and bounds; returns it normalised (integers as
/// integers, dates canonical). `field` names it in the error.
pub fn typed_value(field: &str, ty: FieldType, value: &Value) -> ApiResult<Value> {
    let wrong = || ApiError::invalid(field, format!("must be {}", article(ty)));
    match (ty, value) {
        (FieldType::String, Value::String(s)) => {
            check_chars(field, s, STRING_MAX_CHARS)?;
            Ok(value.clone())
        }
        (FieldType::Integer, Value::Number(n)) => integer(n)
            .map(Value::from)
            .ok_or_else(|| ApiError::invalid(field, format!("must be an integer within ±{INTEGER_MAX}"))),
        (FieldType::Number, Value::Number(n)) if storable_number(n) => Ok(value.clone()),
        (FieldType::Number, Value::Number(_)) => Err(ApiError::invalid(
            field,
            "must be a number of magnitude between 1e-129 and 1e125 (or 0)",
        )),
        (FieldType::Boolean, Value::Bool(_)) => Ok(value.clone()),
        (FieldType::Date, Value::String(s)) => normalize_date(s).map(Value::String).ok_or_else(|| {
            ApiError::invalid(
                field,
                "must be an ISO 8601 date (2024-05-01) or date-time with offset (2024-05-01T08:00:00Z)",
            )
        }),
        (FieldType::Array, Value::Array(items)) => {
            if items.len() > ARRAY_MAX_ITEMS {
                return Err(ApiError::invalid(
                    field,
                    format!("must have at most {ARRAY_MAX_ITEMS} elements"),
                ));
            }
            check_nested(field, value, 0)?;
            Ok(value.clone())
        }
        (FieldType::Object, Value::Object(_)) => {
            check_nested(field, value, 0)?;
            Ok(value.clone())
        }
        _ => Err(wrong()),
    }
}

fn article(ty: FieldType) -> String {
    match ty {
        FieldType::Integer | FieldType::Array | FieldType::Object => format!("an {}", ty.name()),
        _ => format!("a {}", ty.name()),
    }
}

/// An integer in the JS-safe range; an integral float (`3.0`) counts.
fn integer(n: &Number) -> Option<i64> {
    let i = match n.as_i64() {
        Some(i) => i,
        None => {
            let f = n.as_f64()?;
            if f.fract() != 0.0 || f.abs() > INTEGER_MAX as f64 {
                return None;
            }
            f as i64
        }
    };
    (i.abs() <= INTEGER_MAX).then_some(i)
}

fn check_chars(field: &str, s: &str, max: usize) -> ApiResult<()> {
    if s.chars().count() > max {
        return Err(ApiError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(())
}

/// Bounds of any JSON inside a custom array or object: strings, element and key counts,
/// depth, numbers DynamoDB can store.
fn check_nested(field: &str, value: &Value, depth: usize) -> ApiResult<()> {
    match value {
        Value::String(s) => check_chars(field, s, STRING_MAX_CHARS),
        Value::Number(n) if !storable_number(n) => Err(ApiError::invalid(
            field,
            "numbers must have a magnitude between 1e-129 and 1e125 (or be 0)",
        )),
        Value::Array(items) => {
            if depth >= VALUE_MAX_DEPTH {
                return Err(too_deep(field));
            }
            if items.len() > ARRAY_MAX_ITEMS {
                return Err(ApiError::invalid(
                    field,
                    format!("arrays must have at most {ARRAY_MAX_ITEMS} elements"),
                ));
            }
            items
                .iter()
                .try_for_each(|v| check_nested(field, v, depth + 1))
        }
        Value::Object(map) => {
            if depth >= VALUE_MAX_DEPTH {
                return Err(too_deep(field));
            }
            if map.len() > OBJECT_MAX_KEYS {
                return Err(ApiError::invalid(
                    field,
                    format!("objects must have at most {OBJECT_MAX_KEYS} keys"),
                ));
            }
            for (key, v) in map {
                let n = key.chars().count();
                if n == 0 || n > OBJECT_KEY_MAX_CHARS {
                    return Err(ApiError::invalid(
                        field,
                        format!("object keys must be 1 to {OBJECT_KEY_MAX_CHARS} characters"),
                    ));
                }
                check_nested(field, v, depth + 1)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn too_deep(field: &str) -> ApiError {
    ApiError::invalid(
        field,
        format!("arrays and objects nest at most {VALUE_MAX_DEPTH} deep"),
    )
}

/// Which end `$pop` removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PopEnd {
    /// `{"$pop": -1}`
    First,
    /// `{"$pop": 1}`
    Last,
}

/// One field's change. Each is its own update expression in the store, so concurrent changes
/// of different fields, and concurrent atomic operators on one field, all take effect.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldOp {
    /// A validated, normalised value of the field's type.
    Set(Value),
    /// `null` or `$unset`: the field has no value (nickname and avatar become `""`).
    Unset,
    /// Adds to an integer or number field; an absent field counts as 0. (DynamoDB adds in
    /// decimal, [`ProfileUpdate::apply`] in f64: on `number` fields they may differ in the
    /// last digit, 0.1 + 0.2.)
    IncrBy(Number),
    /// Appends to an array field (an absent field counts as `[]`).
    Append(Vec<Value>),
    /// Appends each value not already an element (nor earlier in the list).
    AppendUnique(Vec<Value>),
    /// Removes every element equal to one of the values.
    Remove(Vec<Value>),
    /// Shallow merge into an object field (an absent field counts as `{}`).
    Update(Map<String, Value>),
    /// Removes the first or last element (nothing when empty or absent).
    Pop(PopEnd),
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldUpdate {
    /// The MinApp name (`nickname`, `level`).
    pub field: String,
    pub ty: FieldType,
    pub kind: FieldKind,
    pub op: FieldOp,
}

/// A validated MinApp profile update (`PUT .../user_profile/{id}/` and the batch update): one
/// operation per field, in field-name order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileUpdate {
    pub updates: Vec<FieldUpdate>,
}

impl ProfileUpdate {
    pub fn is_empty(&self) -> bool {
        self.updates.is_empty()
    }

    /// `{"nickname": "x", "level": {"$incr_by": 1}, "$unset": {"bio": ""}}`. A read-only or
    /// unknown field, a type mismatch, an operator on the wrong type or a bound exceeded is a
    /// 400 naming the field; so is a field both set and unset.
    pub fn from_json(body: &Value, fields: &UserFields) -> ApiResult<ProfileUpdate> {
        let obj = body
            .as_object()
            .ok_or_else(|| ApiError::invalid("body", "must be a JSON object"))?;
        let mut updates = Vec::new();
        for (name, value) in obj {
            if name == "$unset" {
                continue;
            }
            if name.starts_with('$') {
                return Err(ApiError::invalid(name, "unknown operator"));
            }
            let field = writable_field(name, fields)?;
            let op = field_op(&field, value)?;
            updates.push(update(&field, op));
        }
        if let Some(unset) = obj.get("$unset") {
            let unset = unset
                .as_object()
                .ok_or_else(|| ApiError::invalid("$unset", "must be an object of field names"))?;
            for name in unset.keys() {
                let field = writable_field(name, fields)?;
                if obj.contains_key(name) {
                    return Err(ApiError::invalid(name, "both set and unset"));
                }
                updates.push(update(&field, FieldOp::Unset));
            }
        }
        updates.sort_by(|a, b| a.field.cmp(&b.field));
        let update = ProfileUpdate { updates };
        update.check_operand_size()?;
        Ok(update)
    }

    /// What the update does to a MinApp object: the reference the store's expressions must
    /// agree with. Refuses (400, nothing changed) a result over the bounds: an array over
    /// [`ARRAY_MAX_ITEMS`], an object over [`OBJECT_MAX_KEYS`], an integer outside the safe
    /// range, custom fields over [`CUSTOM_FIELDS_MAX_BYTES`]. `fields` tells custom fields
    /// from built-ins for the size bound.
    pub fn apply(&self, object: &mut Map<String, Value>, fields: &UserFields) -> ApiResult<()> {
        let mut next = object.clone();
        for u in &self.updates {
            let current = next.get(&u.field).filter(|v| !v.is_null());
            let new = apply_op(u, current)?;
            match new {
                Some(v) => next.insert(u.field.clone(), v),
                None if matches!(u.kind, FieldKind::Builtin(_)) => {
                    next.insert(u.field.clone(), Value::Null)
                }
                None => next.remove(&u.field),
            };
        }
        check_custom_size(&next, fields)?;
        *object = next;
        Ok(())
    }

    /// The request alone must fit the per-user bound, whatever the stored fields hold.
    fn check_operand_size(&self) -> ApiResult<()> {
        let mut bytes = 0;
        for u in self.updates.iter().filter(|u| u.kind == FieldKind::Custom) {
            bytes += u.field.len()
                + match &u.op {
                    FieldOp::Set(v) => json_len(v),
                    FieldOp::Append(vs) | FieldOp::AppendUnique(vs) | FieldOp::Remove(vs) => {
                        vs.iter().map(json_len).sum()
                    }
                    FieldOp::Update(map) => map.iter().map(|(k, v)| k.len() + json_len(v)).sum(),
                    FieldOp::Unset | FieldOp::IncrBy(_) | FieldOp::Pop(_) => 0,
                };
        }
        if bytes > CUSTOM_FIELDS_MAX_BYTES {
            return Err(custom_too_large());
        }
        Ok(())
    }
}

/// The serialised size of a user's custom fields must stay within
/// [`CUSTOM_FIELDS_MAX_BYTES`].
pub fn check_custom_size(object: &Map<String, Value>, fields: &UserFields) -> ApiResult<()> {
    let custom: Map<String, Value> = object
        .iter()
        .filter(|(k, v)| !v.is_null() && fields.custom_type(k).is_some())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if json_len(&Value::Object(custom)) > CUSTOM_FIELDS_MAX_BYTES {
        return Err(custom_too_large());
    }
    Ok(())
}

fn custom_too_large() -> ApiError {
    ApiError::invalid(
        "body",
        format!(
            "custom fields of a user must total at most {CUSTOM_FIELDS_MAX_BYTES} bytes of JSON"
        ),
    )
}

fn json_len(value: &Value) -> usize {
    serde_json::to_vec(value).map_or(usize::MAX, |v| v.len())
}

fn update(field: &Field<'_>, op: FieldOp) -> FieldUpdate {
    FieldUpdate {
        field: field.name.to_string(),
        ty: field.ty,
        kind: field.kind,
        op,
    }
}

fn writable_field<'a>(name: &'a str, fields: &UserFields) -> ApiResult<Field<'a>> {
    let field = fields
        .field(name)
        .ok_or_else(|| ApiError::invalid(name, "unknown field"))?;
    match field.kind {
        FieldKind::Builtin(b) if !b.writable() => Err(ApiError::invalid(name, "is read-only")),
        _ => Ok(field),
    }
}

/// The operation one body entry asks for.
fn field_op(field: &Field<'_>, value: &Value) -> ApiResult<FieldOp> {
    let name = field.name;
    if value.is_null() {
        return Ok(FieldOp::Unset);
    }
    if let Some(map) = value.as_object()
        && map.keys().any(|k| k.starts_with('$'))
    {
        if map.len() != 1 {
            return Err(ApiError::invalid(
                name,
                "an atomic operator must be the only key of its object",
            ));
        }
        let (op, operand) = map.iter().next().expect("one entry");
        if field.kind != FieldKind::Custom {
            return Err(ApiError::invalid(
                name,
                "atomic operators apply to custom fields only",
            ));
        }
        return atomic_op(name, field.ty, op, operand);
    }
    match field.kind {
        FieldKind::Builtin(b) => builtin_value(b, value).map(FieldOp::Set),
        FieldKind::Custom => typed_value(name, field.ty, value).map(FieldOp::Set),
    }
}

fn builtin_value(b: Builtin, value: &Value) -> ApiResult<Value> {
    let name = b.name();
    match (b, value) {
        (Builtin::Gender, Value::Number(n)) if matches!(n.as_u64(), Some(0..=2)) => {
            Ok(value.clone())
        }
        (Builtin::Gender, _) => Err(ApiError::invalid(
            name,
            "must be 0 (unknown), 1 (male) or 2 (female)",
        )),
        (_, Value::String(s)) => {
            check_chars(name, s, b.max_chars())?;
            Ok(value.clone())
        }
        _ => Err(ApiError::invalid(name, "must be a string")),
    }
}

fn atomic_op(name: &str, ty: FieldType, op: &str, operand: &Value) -> ApiResult<FieldOp> {
    let applies_to = |types: &str| {
        ApiError::invalid(
            name,
            format!("{op} applies to {types} fields, not {}", article(ty)),
        )
    };
    match op {
        "$incr_by" => {
            if !ty.is_numeric() {
                return Err(applies_to("integer and number"));
            }
            let Value::Number(n) = operand else {
                return Err(ApiError::invalid(name, "$incr_by takes a number"));
            };
            let n = match ty {
                FieldType::Integer => Number::from(integer(n).ok_or_else(|| {
                    ApiError::invalid(name, "$incr_by on an integer field takes an integer")
                })?),
                _ if storable_number(n) => n.clone(),
                _ => return Err(ApiError::invalid(name, "$incr_by: number out of range")),
            };
            Ok(FieldOp::IncrBy(n))
        }
        "$append" | "$append_unique" | "$remove" => {
            if ty != FieldType::Array {
                return Err(applies_to("array"));
            }
            // A single value or a list of values, as MinApp's SDK sends either.
            let values = match operand {
                Value::Array(items) => items.clone(),
                other => vec![other.clone()],
            };
            if values.is_empty() || values.len() > ARRAY_MAX_ITEMS {
                return Err(ApiError::invalid(
                    name,
                    format!("{op} takes 1 to {ARRAY_MAX_ITEMS} values"),
                ));
            }
            for v in &values {
                check_nested(name, v, 1)?;
            }
            Ok(match op {
                "$append" => FieldOp::Append(values),
                "$append_unique" => FieldOp::AppendUnique(values),
                _ => FieldOp::Remove(values),
            })
        }
        "$update" => {
            if ty != FieldType::Object {
                return Err(applies_to("object"));
            }
            let Value::Object(map) = operand else {
                return Err(ApiError::invalid(name, "$update takes an object"));
            };
            if map.is_empty() {
                return Err(ApiError::invalid(name, "$update takes at least one key"));
            }
            check_nested(name, operand, 0)?;
            Ok(FieldOp::Update(map.clone()))
        }
        "$pop" => {
            if ty != FieldType::Array {
                return Err(applies_to("array"));
            }
            match operand.as_i64() {
                Some(1) => Ok(FieldOp::Pop(PopEnd::Last)),
                Some(-1) => Ok(FieldOp::Pop(PopEnd::First)),
                _ => Err(ApiError::invalid(
                    name,
                    "$pop takes 1 (last element) or -1 (first element)",
                )),
            }
        }
        _ => Err(ApiError::invalid(name, format!("unknown operator {op}"))),
    }
}

/// The field's new value (`None`: no value).
fn apply_op(u: &FieldUpdate, current: Option<&Value>) -> ApiResult<Option<Value>> {
    let name = u.field.as_str();
    let array = || match current {
        Some(Value::Array(items)) => items.clone(),
        _ => Vec::new(),
    };
    let new = match &u.op {
        FieldOp::Set(v) => Some(v.clone()),
        FieldOp::Unset => match u.kind {
            FieldKind::Builtin(b) if b.always_present() => Some(Value::from("")),
            _ => None,
        },
        FieldOp::IncrBy(n) => Some(increment(name, u.ty, current, n)?),
        FieldOp::Append(values) => {
            let mut items = array();
            items.extend(values.iter().cloned());
            Some(bounded_array(name, items)?)
        }
        FieldOp::AppendUnique(values) => {
            let mut items = array();
            for v in values {
                if !items.iter().any(|e| json_eq(e, v)) {
                    items.push(v.clone());
                }
            }
            Some(bounded_array(name, items)?)
        }
        FieldOp::Remove(values) => {
            let mut items = array();
            items.retain(|e| !values.iter().any(|v| json_eq(e, v)));
            Some(Value::Array(items))
        }
        FieldOp::Pop(end) => {
            let mut items = array();
            if !items.is_empty() {
                match end {
                    PopEnd::First => items.remove(0),
                    PopEnd::Last => items.pop().expect("not empty"),
                };
            }
            Some(Value::Array(items))
        }
        FieldOp::Update(patch) => {
            let mut map = match current {
                Some(Value::Object(m)) => m.clone(),
                _ => Map::new(),
            };
            map.extend(patch.iter().map(|(k, v)| (k.clone(), v.clone())));
            if map.len() > OBJECT_MAX_KEYS {
                return Err(ApiError::invalid(
                    name,
                    format!("must have at most {OBJECT_MAX_KEYS} keys"),
                ));
            }
            Some(Value::Object(map))
        }
    };
    Ok(new)
}

fn bounded_array(name: &str, items: Vec<Value>) -> ApiResult<Value> {
    if items.len() > ARRAY_MAX_ITEMS {
        return Err(ApiError::invalid(
            name,
            format!("must have at most {ARRAY_MAX_ITEMS} elements"),
        ));
    }
    Ok(Value::Array(items))
}

/// The stored values a `$incr_by` of `by` on a number field may start from (exclusive): the
/// sum stays within ±[`NUMBER_MAX_ABS`]. The store's condition and [`increment`] use the same
/// bounds, so a failed condition is always this 400.
pub fn number_increment_bounds(by: &Number) -> (Number, Number) {
    let by = by.as_f64().unwrap_or(0.0);
    let bound = |f: f64| Number::from_f64(f).unwrap_or_else(|| Number::from(0));
    (bound(-NUMBER_MAX_ABS - by), bound(NUMBER_MAX_ABS - by))
}

fn increment(name: &str, ty: FieldType, current: Option<&Value>, by: &Number) -> ApiResult<Value> {
    // A stored value of another type (never written by this service) has nothing to add to.
    let base = match current {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(n),
        Some(_) => {
            return Err(ApiError::invalid(
                name,
                "holds a value that is not a number: $incr_by cannot add to it",
            ));
        }
    };
    if ty == FieldType::Integer {
        // A stored integer past i64 (or a fraction) leaves the range whatever is added.
        let base = match base {
            None => Some(0),
            Some(n) => n.as_i64(),
        };
        let sum = base
            .and_then(|b| b.checked_add(by.as_i64().unwrap_or(0)))
            .filter(|s| s.abs() <= INTEGER_MAX)
            .ok_or_else(|| {
                ApiError::invalid(name, format!("would leave the range ±{INTEGER_MAX}"))
            })?;
        return Ok(Value::from(sum));
    }
    let base = base.and_then(Number::as_f64).unwrap_or(0.0);
    let (lo, hi) = number_increment_bounds(by);
    let (lo, hi) = (lo.as_f64().unwrap_or(0.0), hi.as_f64().unwrap_or(0.0));
    let sum = base + by.as_f64().unwrap_or(0.0);
    Number::from_f64(sum)
        .filter(|_| current.is_none_or(Value::is_null) || (lo < base && base < hi))
        .filter(storable_number)
        .map(Value::Number)
        .ok_or_else(|| ApiError::invalid(name, "would leave the storable number range"))
}

/// JSON equality with numbers compared by value (`1 == 1.0`), as DynamoDB compares them,
/// inside arrays and objects too.
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => number_cmp(x, y) == Ordering::Equal,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, a)| y.get(k).is_some_and(|b| json_eq(a, b)))
        }
        _ => a == b,
    }
}

/// Exact order of two JSON numbers, integers against floats included.
pub fn number_cmp(a: &Number, b: &Number) -> Ordering {
    fn int(n: &Number) -> Option<i128> {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    }
    // An integer against a float, without the rounding `as f64` would bring.
    fn int_float(i: i128, f: f64) -> Ordering {
        const LIMIT: f64 = 1.0e38; // within i128
        if f >= LIMIT {
            return Ordering::Less;
        }
        if f <= -LIMIT {
            return Ordering::Greater;
        }
        let floor = f.floor();
        match i.cmp(&(floor as i128)) {
            Ordering::Equal if f > floor => Ordering::Less,
            other => other,
        }
    }
    match (int(a), int(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(x), None) => int_float(x, b.as_f64().unwrap_or(0.0)),
        (None, Some(y)) => int_float(y, a.as_f64().unwrap_or(0.0)).reverse(),
        (None, None) => {
            let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
            x.partial_cmp(&y).unwrap_or(Ordering::Equal)
        }
    }
}

#[cfg(test)]
mod tests;
