//! The user: field rules, the values a request may carry, and the views a response shows.
//! Nothing here knows about HTTP or DynamoDB.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::account::Account;
use crate::error::{ApiError, ApiResult};

pub const USER_ID_MAX_CHARS: usize = 64;
pub const NICK_MAX_CHARS: usize = 128;
pub const AVATAR_MAX_CHARS: usize = 1024;
pub const EXTENDS_MAX_KEYS: usize = 64;
pub const EXTENDS_KEY_MAX_CHARS: usize = 64;
pub const EXTENDS_VALUE_MAX_CHARS: usize = 1024;
/// The most a user's whole `extends` may take as JSON, counted by [`extends_bytes`]. It
/// bounds every response: 200 profiles at every limit, written in the characters JSON
/// escapes most, come to about 5.0 MB once the Lambda runtime has wrapped the body as a JSON
/// string again (which doubles a `"` or `\` once more), under Lambda's 6 MB (6,291,456
/// bytes) response limit. The profiles tests build that worst case and measure it.
pub const EXTENDS_MAX_BYTES: u64 = 8192;
/// Ids per batch read and users per batch register.
pub const BATCH_MAX: usize = 200;
pub const IM_PASSWORD_CHARS: usize = 24;

pub type Extends = BTreeMap<String, String>;

/// Typed custom fields (MinApp's `USER_FIELDS`): field name -> value of its declared type.
pub type Custom = Map<String, Value>;

/// The MinApp profile fields (SPEC's mapping table); `None` when never set.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Profile {
    /// 0 unknown, 1 male, 2 female.
    pub gender: Option<i64>,
    pub country: Option<String>,
    pub province: Option<String>,
    pub city: Option<String>,
    pub language: Option<String>,
}

/// What anyone may see of a user (info, infos, client user/users/imusers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserInfo {
    pub user_id: String,
    pub nick: String,
    pub avatar: String,
    pub extends: Extends,
    pub im_userid: i64,
}

/// What the user itself and the app server see: the public view plus IM login credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserProfile {
    #[serde(flatten)]
    pub info: UserInfo,
    pub im_username: String,
    pub im_password: String,
}

/// The whole user as every dialect's views see it: identity, profile and account, and no
/// secret (IM password and password hash stay in the store).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct User {
    pub user_id: String,
    pub nick: String,
    pub avatar: String,
    pub extends: Extends,
    pub im_userid: i64,
    /// Login name, email and phone (the password hash is not part of it).
    pub account: Account,
    pub created_at: i64,
    pub updated_at: i64,
    pub profile: Profile,
    pub custom: Custom,
    /// Made by MinApp's anonymous login and not registered since: no login value, no
    /// password. Shown to the user itself only (`_anonymous`).
    pub anonymous: bool,
    /// Unix ms until which an admin disabled the user (`i64::MAX`: until enabled); shown
    /// to the app's server and operators only (`_disabled`, `_disabled_until`).
    pub disabled_until: Option<i64>,
}

/// A validated registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub user_id: String,
    pub nick: String,
    pub avatar: String,
    pub extends: Extends,
}

/// The IM account every user gets at creation, never without it.
#[derive(Clone, PartialEq, Eq)]
pub struct ImIdentity {
    pub im_userid: i64,
    pub im_username: String,
    pub im_password: String,
}

impl std::fmt::Debug for ImIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImIdentity")
            .field("im_userid", &self.im_userid)
            .field("im_username", &self.im_username)
            .field("im_password", &"***")
            .finish()
    }
}

impl ImIdentity {
    /// `im_userid` comes from the store's counter; the password from the OS CSPRNG.
    pub fn new(im_userid: i64, prefix: &str, user_id: &str) -> ApiResult<Self> {
        Ok(ImIdentity {
            im_userid,
            im_username: format!("{prefix}{user_id}"),
            im_password: random_password(IM_PASSWORD_CHARS)?,
        })
    }
}

fn random_password(len: usize) -> ApiResult<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    // Rejection sampling keeps every character equally likely: 248 = 4 * 62.
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        getrandom::fill(&mut buf).map_err(|e| ApiError::Internal(format!("CSPRNG: {e}")))?;
        for b in buf {
            if b < 248 && out.len() < len {
                out.push(ALPHABET[usize::from(b) % ALPHABET.len()] as char);
            }
        }
    }
    Ok(out)
}

/// An update: absent, null or empty `nick`/`avatar` leave the value alone; `extends` merges
/// key by key and a `null` value removes the key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserUpdate {
    pub nick: Option<String>,
    pub avatar: Option<String>,
    pub set_extends: Extends,
    pub remove_extends: Vec<String>,
}

/// What an update does to a stored `extends` map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtendsChange {
    /// Keys the update adds less existing keys it removes.
    pub keys_added: i64,
    /// Change of the map's [`extends_bytes`].
    pub bytes_added: i64,
    /// The map's [`extends_bytes`] after the update.
    pub bytes_after: u64,
}

impl UserUpdate {
    pub fn is_empty(&self) -> bool {
        self.nick.is_none() && self.avatar.is_none() && !self.touches_extends()
    }

    pub fn touches_extends(&self) -> bool {
        !self.set_extends.is_empty() || !self.remove_extends.is_empty()
    }

    /// What this update does to `current` (a consistent read of the stored map), or a 400
    /// naming `extends` when the map after it would pass [`EXTENDS_MAX_KEYS`] or
    /// [`EXTENDS_MAX_BYTES`]. Removals and keys that exist already are credited.
    pub fn extends_change(&self, current: &Extends) -> ApiResult<ExtendsChange> {
        let mut keys_added = 0i64;
        let mut bytes_added = 0i64;
        for (key, value) in &self.set_extends {
            bytes_added = add(bytes_added, extends_entry_bytes(key, value))?;
            match current.get(key) {
                Some(old) => bytes_added = add(bytes_added, -extends_entry_bytes(key, old))?,
                None => keys_added = add(keys_added, 1)?,
            }
        }
        for key in &self.remove_extends {
            if let Some(old) = current.get(key) {
                bytes_added = add(bytes_added, -extends_entry_bytes(key, old))?;
                keys_added = add(keys_added, -1)?;
            }
        }
        let keys_after = add(count(current.len())?, keys_added)?;
        if keys_after > count(EXTENDS_MAX_KEYS)? {
            return Err(ApiError::invalid(
                "extends",
                format!("a user may have at most {EXTENDS_MAX_KEYS} keys"),
            ));
        }
        let bytes_before = i64::try_from(extends_bytes(current)).map_err(|_| overflow())?;
        let bytes_after = u64::try_from(add(bytes_before, bytes_added)?).map_err(|_| overflow())?;
        check_extends_bytes(bytes_after)?;
        Ok(ExtendsChange {
            keys_added,
            bytes_added,
            bytes_after,
        })
    }

    pub fn from_json(body: &Value) -> ApiResult<Self> {
        let obj = as_object(body, "body")?;
        let mut update = UserUpdate {
            nick: optional_text(obj, "nick", NICK_MAX_CHARS)?.filter(|s| !s.is_empty()),
            avatar: optional_text(obj, "avatar", AVATAR_MAX_CHARS)?.filter(|s| !s.is_empty()),
            ..Default::default()
        };
        match obj.get("extends") {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                check_extends_size(map.len())?;
                for (key, value) in map {
                    check_extends_key(key)?;
                    match value {
                        Value::Null => update.remove_extends.push(key.clone()),
                        Value::String(v) => {
                            check_extends_value(key, v)?;
                            update.set_extends.insert(key.clone(), v.clone());
                        }
                        _ => {
                            return Err(ApiError::invalid(
                                format!("extends.{key}"),
                                "value must be a string, or null to remove the key",
                            ));
                        }
                    }
                }
                // The map after the update holds every key set here.
                check_extends_bytes(extends_bytes(&update.set_extends))?;
            }
            Some(_) => return Err(ApiError::invalid("extends", "must be an object of strings")),
        }
        Ok(update)
    }
}

impl NewUser {
    /// `field` names the value in errors: `body` for a single register, `[3]` in a batch.
    pub fn from_json(value: &Value, field: &str) -> ApiResult<Self> {
        let obj = as_object(value, field)?;
        let named = |name: &str| {
            if field == "body" {
                name.to_string()
            } else {
                format!("{field}.{name}")
            }
        };
        let user_id = match obj.get("user_id") {
            None | Some(Value::Null) => {
                return Err(ApiError::invalid(named("user_id"), "is required"));
            }
            Some(Value::String(id)) => validate_user_id(&named("user_id"), id)?,
            Some(_) => return Err(ApiError::invalid(named("user_id"), "must be a string")),
        };
        let text = |name: &str, max: usize| -> ApiResult<String> {
            optional_text(obj, name, max)
                .map(Option::unwrap_or_default)
                .map_err(|e| prefix_error(e, field))
        };
        let nick = text("nick", NICK_MAX_CHARS)?;
        let avatar = text("avatar", AVATAR_MAX_CHARS)?;
        let extends = match obj.get("extends") {
            None | Some(Value::Null) => Extends::new(),
            Some(Value::Object(map)) => {
                check_extends_size(map.len()).map_err(|e| prefix_error(e, field))?;
                let mut extends = Extends::new();
                for (key, value) in map {
                    check_extends_key(key).map_err(|e| prefix_error(e, field))?;
                    let Value::String(v) = value else {
                        return Err(ApiError::invalid(
                            named(&format!("extends.{key}")),
                            "value must be a string",
                        ));
                    };
                    check_extends_value(key, v).map_err(|e| prefix_error(e, field))?;
                    extends.insert(key.clone(), v.clone());
                }
                check_extends_bytes(extends_bytes(&extends)).map_err(|e| prefix_error(e, field))?;
                extends
            }
            Some(_) => {
                return Err(ApiError::invalid(
                    named("extends"),
                    "must be an object of strings",
                ));
            }
        };
        Ok(NewUser {
            user_id,
            nick,
            avatar,
            extends,
        })
    }
}

fn prefix_error(e: ApiError, field: &str) -> ApiError {
    match e {
        ApiError::Invalid(m) if field != "body" => ApiError::Invalid(format!("{field}.{m}")),
        other => other,
    }
}

fn as_object<'a>(value: &'a Value, field: &str) -> ApiResult<&'a Map<String, Value>> {
    value
        .as_object()
        .ok_or_else(|| ApiError::invalid(field, "must be a JSON object"))
}

fn optional_text(obj: &Map<String, Value>, name: &str, max: usize) -> ApiResult<Option<String>> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() > max => Err(ApiError::invalid(
            name,
            format!("must be at most {max} characters"),
        )),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::invalid(name, "must be a string")),
    }
}

fn check_extends_size(keys: usize) -> ApiResult<()> {
    if keys > EXTENDS_MAX_KEYS {
        return Err(ApiError::invalid(
            "extends",
            format!("must have at most {EXTENDS_MAX_KEYS} keys"),
        ));
    }
    Ok(())
}

fn check_extends_bytes(bytes: u64) -> ApiResult<()> {
    if bytes > EXTENDS_MAX_BYTES {
        return Err(ApiError::invalid(
            "extends",
            format!(
                "must take at most {EXTENDS_MAX_BYTES} bytes as JSON in all (keys and values \
                 with their quotes and escapes); this one takes {bytes}"
            ),
        ));
    }
    Ok(())
}

/// The bytes `s` takes as a JSON string, quotes and escapes included, exactly as serde_json
/// (and so the Lambda runtime) writes it.
fn json_string_bytes(s: &str) -> u64 {
    let inner: usize = s
        .chars()
        .map(|c| match c {
            '"' | '\\' | '\u{8}' | '\u{c}' | '\n' | '\r' | '\t' => 2,
            c if u32::from(c) < 0x20 => 6,
            c => c.len_utf8(),
        })
        .sum();
    // A string's length always fits in u64.
    u64::try_from(inner).unwrap_or(u64::MAX).saturating_add(2)
}

/// What one entry adds to the JSON of a map: `"key":"value",`.
pub fn extends_entry_bytes(key: &str, value: &str) -> i64 {
    let bytes = json_string_bytes(key)
        .saturating_add(json_string_bytes(value))
        .saturating_add(2);
    i64::try_from(bytes).unwrap_or(i64::MAX)
}

/// The size of a user's `extends` as [`EXTENDS_MAX_BYTES`] counts it: the sum of its
/// entries' [`extends_entry_bytes`]. The map's JSON is one byte more (`{` and `}` in place of
/// the last comma) unless empty.
pub fn extends_bytes(extends: &Extends) -> u64 {
    extends
        .iter()
        .map(|(k, v)| u64::try_from(extends_entry_bytes(k, v)).unwrap_or(u64::MAX))
        .fold(0, u64::saturating_add)
}

fn add(a: i64, b: i64) -> ApiResult<i64> {
    a.checked_add(b).ok_or_else(overflow)
}

fn count(n: usize) -> ApiResult<i64> {
    i64::try_from(n).map_err(|_| overflow())
}

fn overflow() -> ApiError {
    ApiError::Internal("extends size arithmetic overflowed".into())
}

fn check_extends_key(key: &str) -> ApiResult<()> {
    let n = key.chars().count();
    if n == 0 || n > EXTENDS_KEY_MAX_CHARS {
        return Err(ApiError::invalid(
            "extends",
            format!("keys must be 1 to {EXTENDS_KEY_MAX_CHARS} characters"),
        ));
    }
    Ok(())
}

fn check_extends_value(key: &str, value: &str) -> ApiResult<()> {
    if value.chars().count() > EXTENDS_VALUE_MAX_CHARS {
        return Err(ApiError::invalid(
            format!("extends.{key}"),
            format!("value must be at most {EXTENDS_VALUE_MAX_CHARS} characters"),
        ));
    }
    Ok(())
}

/// 1..64 characters, no whitespace or control characters; case-sensitive.
pub fn validate_user_id(field: &str, id: &str) -> ApiResult<String> {
    let n = id.chars().count();
    if n == 0 {
        return Err(ApiError::invalid(field, "must not be empty"));
    }
    if n > USER_ID_MAX_CHARS {
        return Err(ApiError::invalid(
            field,
            format!("must be at most {USER_ID_MAX_CHARS} characters"),
        ));
    }
    if id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ApiError::invalid(
            field,
            "must not contain whitespace or control characters",
        ));
    }
    Ok(id.to_string())
}

/// Ids of a batch read: 1..200 of them, each valid, duplicates collapsed, request order kept.
pub fn parse_user_ids<'a>(
    field: &str,
    ids: impl IntoIterator<Item = &'a str>,
) -> ApiResult<Vec<String>> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut count = 0;
    for (i, id) in ids.into_iter().enumerate() {
        count += 1;
        if count > BATCH_MAX {
            return Err(ApiError::invalid(
                field,
                format!("at most {BATCH_MAX} ids per request"),
            ));
        }
        let id = validate_user_id(&format!("{field}[{i}]"), id)?;
        if seen.insert(id.clone()) {
            out.push(id);
        }
    }
    if out.is_empty() {
        return Err(ApiError::invalid(field, "at least one id is required"));
    }
    Ok(out)
}

/// IM ids of an imusers request: 1..200 integers, duplicates collapsed, request order kept.
pub fn parse_im_user_ids<'a>(
    field: &str,
    ids: impl IntoIterator<Item = &'a str>,
) -> ApiResult<Vec<i64>> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, raw) in ids.into_iter().enumerate() {
        if i >= BATCH_MAX {
            return Err(ApiError::invalid(
                field,
                format!("at most {BATCH_MAX} ids per request"),
            ));
        }
        let id: i64 = raw
            .trim()
            .parse()
            .map_err(|_| ApiError::invalid(format!("{field}[{i}]"), "must be an integer"))?;
        if seen.insert(id) {
            out.push(id);
        }
    }
    if out.is_empty() {
        return Err(ApiError::invalid(field, "at least one id is required"));
    }
    Ok(out)
}

/// Ids from a JSON array body (`["u1", "u2"]`), with the same rules as [`parse_user_ids`].
pub fn parse_user_id_array(body: &Value) -> ApiResult<Vec<String>> {
    let items = body
        .as_array()
        .ok_or_else(|| ApiError::invalid("body", "must be a JSON array of user ids"))?;
    let mut ids = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        ids.push(
            item.as_str()
                .ok_or_else(|| ApiError::invalid(format!("body[{i}]"), "must be a string"))?,
        );
    }
    parse_user_ids("body", ids)
}

/// Puts `found` in the order of `ids`, dropping ids that were not found.
pub fn in_request_order<T>(ids: &[String], found: Vec<T>, id_of: impl Fn(&T) -> &str) -> Vec<T> {
    let mut by_id: std::collections::HashMap<String, T> = found
        .into_iter()
        .map(|u| (id_of(&u).to_string(), u))
        .collect();
    ids.iter().filter_map(|id| by_id.remove(id)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn invalid_message(r: ApiResult<impl std::fmt::Debug>) -> String {
        match r {
            Err(ApiError::Invalid(m)) => m,
            other => panic!("expected 400, got {other:?}"),
        }
    }

    #[test]
    fn register_body_is_validated_with_the_field_named() {
        let ok = NewUser::from_json(
            &json!({"user_id": "user-1", "nick": "用户", "extends": {"age": "18"}}),
            "body",
        )
        .unwrap();
        assert_eq!(ok.user_id, "user-1");
        assert_eq!(ok.extends.get("age").map(String::as_str), Some("18"));
        assert_eq!(ok.avatar, "");

        let cases = [
            (json!({}), "user_id: is required"),
            (json!({"user_id": 5}), "user_id: must be a string"),
            (json!({"user_id": ""}), "user_id: must not be empty"),
            (
                json!({"user_id": "a b"}),
                "user_id: must not contain whitespace",
            ),
            (
                json!({"user_id": "a\u{7}"}),
                "user_id: must not contain whitespace or control",
            ),
            (
                json!({"user_id": "x".repeat(65)}),
                "user_id: must be at most 64",
            ),
            (json!({"user_id": "u", "nick": 1}), "nick: must be a string"),
            (
                json!({"user_id": "u", "nick": "n".repeat(129)}),
                "nick: must be at most 128",
            ),
            (
                json!({"user_id": "u", "avatar": "a".repeat(1025)}),
                "avatar: must be at most 1024",
            ),
            (
                json!({"user_id": "u", "extends": {"age": 18}}),
                "extends.age: value must be a string",
            ),
            (
                json!({"user_id": "u", "extends": ["a"]}),
                "extends: must be an object",
            ),
            (
                json!({"user_id": "u", "extends": {"": "v"}}),
                "extends: keys must be 1 to 64",
            ),
            (
                json!({"user_id": "u", "extends": {"k": "v".repeat(1025)}}),
                "extends.k: value must be at most 1024",
            ),
            (json!([1]), "body: must be a JSON object"),
        ];
        for (body, expected) in cases {
            let m = invalid_message(NewUser::from_json(&body, "body"));
            assert!(m.starts_with(expected), "{body}: {m}");
        }
        let many: Map<String, Value> = (0..65).map(|i| (format!("k{i}"), json!("v"))).collect();
        let m = invalid_message(NewUser::from_json(
            &json!({"user_id": "u", "extends": many}),
            "body",
        ));
        assert_eq!(m, "extends: must have at most 64 keys");
    }

    #[test]
    fn json_bytes_are_counted_as_serde_json_writes_them() {
        let samples = (0u32..0x80)
            .filter_map(char::from_u32)
            .chain(['é', '风', '😀', '\u{2028}']);
        for c in samples {
            let s = format!("a{c}b");
            let written = serde_json::to_string(&s).unwrap().len();
            assert_eq!(json_string_bytes(&s), written as u64, "{c:?}");
        }
        let map = Extends::from([("k\"".into(), "v\n\u{1}".into()), ("x".into(), "".into())]);
        let written = serde_json::to_string(&map).unwrap().len();
        assert_eq!(extends_bytes(&map) + 1, written as u64);
    }

    #[test]
    fn extends_over_the_byte_limit_is_refused_naming_extends_and_the_limit() {
        let big: Map<String, Value> = (0..9)
            .map(|i| (format!("k{i}"), json!("v".repeat(1000))))
            .collect();
        let m = invalid_message(NewUser::from_json(
            &json!({"user_id": "u", "extends": big}),
            "body",
        ));
        assert!(
            m.starts_with("extends: must take at most 8192 bytes as JSON"),
            "{m}"
        );
        let m = invalid_message(NewUser::from_json(
            &json!({"user_id": "u", "extends": big}),
            "[2]",
        ));
        assert!(m.starts_with("[2].extends: must take at most 8192"), "{m}");
        let m = invalid_message(UserUpdate::from_json(&json!({"extends": big})));
        assert!(m.starts_with("extends: must take at most 8192"), "{m}");
        // Eight such values fit.
        let fits: Map<String, Value> = big.into_iter().take(8).collect();
        assert!(NewUser::from_json(&json!({"user_id": "u", "extends": fits}), "body").is_ok());
    }

    #[test]
    fn an_update_is_measured_against_the_stored_map_with_credit_for_what_it_replaces() {
        let full: Extends = (0..64).map(|i| (format!("k{i}"), "v".into())).collect();
        let update =
            UserUpdate::from_json(&json!({"extends": {"k1": null, "new": "v", "k0": "w"}}))
                .unwrap();
        let change = update.extends_change(&full).unwrap();
        // k1 leaves 9 bytes (`"k1":"v",`), new brings 10, k0 keeps its size.
        assert_eq!((change.keys_added, change.bytes_added), (0, 1));
        assert_eq!(change.bytes_after, extends_bytes(&full) + 1);
        let over = UserUpdate::from_json(&json!({"extends": {"new": "v"}})).unwrap();
        let m = invalid_message(over.extends_change(&full));
        assert_eq!(m, "extends: a user may have at most 64 keys");
        // Built by hand, past what from_json allows: still a 400, never an overflow.
        let huge = UserUpdate {
            set_extends: (0..1000).map(|i| (format!("n{i}"), "v".into())).collect(),
            ..UserUpdate::default()
        };
        assert!(huge.extends_change(&Extends::new()).is_err());
    }

    #[test]
    fn batch_entries_name_their_position() {
        let m = invalid_message(NewUser::from_json(
            &json!({"user_id": "u", "nick": 3}),
            "[2]",
        ));
        assert_eq!(m, "[2].nick: must be a string");
        let m = invalid_message(NewUser::from_json(&json!({}), "[0]"));
        assert_eq!(m, "[0].user_id: is required");
    }

    #[test]
    fn limits_count_characters_not_bytes() {
        let nick: String = "风".repeat(128);
        assert!(
            NewUser::from_json(&json!({"user_id": "用户".repeat(32), "nick": nick}), "body")
                .is_ok()
        );
    }

    #[test]
    fn update_treats_absent_null_and_empty_as_unchanged_and_null_extends_as_remove() {
        let u = UserUpdate::from_json(
            &json!({"nick": "", "avatar": null, "extends": {"a": "1", "b": null, "c": ""}}),
        )
        .unwrap();
        assert_eq!(u.nick, None);
        assert_eq!(u.avatar, None);
        assert_eq!(
            u.set_extends,
            Extends::from([("a".into(), "1".into()), ("c".into(), "".into())])
        );
        assert_eq!(u.remove_extends, vec!["b".to_string()]);
        assert!(UserUpdate::from_json(&json!({})).unwrap().is_empty());
        let m = invalid_message(UserUpdate::from_json(&json!({"extends": {"a": 1}})));
        assert!(
            m.starts_with("extends.a: value must be a string, or null"),
            "{m}"
        );
        let m = invalid_message(UserUpdate::from_json(&json!("x")));
        assert_eq!(m, "body: must be a JSON object");
    }

    #[test]
    fn batch_ids_collapse_duplicates_keep_order_and_stop_at_200() {
        let ids = parse_user_ids("user_ids", ["b", "a", "b", "c"]).unwrap();
        assert_eq!(ids, ["b", "a", "c"]);
        let m = invalid_message(parse_user_ids("user_ids", std::iter::empty()));
        assert_eq!(m, "user_ids: at least one id is required");
        let many: Vec<String> = (0..201).map(|i| format!("u{i}")).collect();
        let m = invalid_message(parse_user_ids("user_ids", many.iter().map(String::as_str)));
        assert_eq!(m, "user_ids: at most 200 ids per request");
        let ok: Vec<String> = (0..200).map(|i| format!("u{i}")).collect();
        assert_eq!(
            parse_user_ids("user_ids", ok.iter().map(String::as_str))
                .unwrap()
                .len(),
            200
        );
        let m = invalid_message(parse_user_ids("user_ids", ["ok", ""]));
        assert_eq!(m, "user_ids[1]: must not be empty");
    }

    #[test]
    fn im_ids_must_be_integers() {
        assert_eq!(
            parse_im_user_ids("im_user_ids", ["3", "1", "3"]).unwrap(),
            [3, 1]
        );
        assert_eq!(
            invalid_message(parse_im_user_ids("im_user_ids", ["1", "abc"])),
            "im_user_ids[1]: must be an integer"
        );
        assert_eq!(
            invalid_message(parse_im_user_ids("im_user_ids", ["1.5"])),
            "im_user_ids[0]: must be an integer"
        );
        assert_eq!(
            invalid_message(parse_im_user_ids("im_user_ids", std::iter::empty())),
            "im_user_ids: at least one id is required"
        );
        let many: Vec<String> = (0..201).map(|i| i.to_string()).collect();
        assert_eq!(
            invalid_message(parse_im_user_ids(
                "im_user_ids",
                many.iter().map(String::as_str)
            )),
            "im_user_ids: at most 200 ids per request"
        );
    }

    #[test]
    fn id_array_bodies_follow_the_same_rules() {
        assert_eq!(
            parse_user_id_array(&json!(["a", "b", "a"])).unwrap(),
            ["a", "b"]
        );
        assert_eq!(
            invalid_message(parse_user_id_array(&json!(["a", 1]))),
            "body[1]: must be a string"
        );
        assert_eq!(
            invalid_message(parse_user_id_array(&json!({"ids": []}))),
            "body: must be a JSON array of user ids"
        );
        assert_eq!(
            invalid_message(parse_user_id_array(&json!([]))),
            "body: at least one id is required"
        );
    }

    #[test]
    fn results_follow_request_order_and_omit_unknown_ids() {
        let ids: Vec<String> = ["c", "x", "a"].iter().map(|s| s.to_string()).collect();
        let found = vec!["a", "c"];
        assert_eq!(in_request_order(&ids, found, |s| s), vec!["c", "a"]);
    }

    #[test]
    fn im_identity_has_prefixed_name_and_a_fresh_strong_password() {
        let a = ImIdentity::new(7, "ql", "user-1").unwrap();
        let b = ImIdentity::new(8, "ql", "user-1").unwrap();
        assert_eq!(a.im_username, "qluser-1");
        assert_eq!(a.im_password.len(), IM_PASSWORD_CHARS);
        assert!(a.im_password.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a.im_password, b.im_password);
        assert!(!format!("{a:?}").contains(&a.im_password));
    }

    #[test]
    fn public_view_has_no_im_credentials_and_profile_view_has_them() {
        let info = UserInfo {
            user_id: "u".into(),
            nick: "n".into(),
            avatar: "".into(),
            extends: Extends::new(),
            im_userid: 3,
        };
        let profile = UserProfile {
            info: info.clone(),
            im_username: "qlu".into(),
            im_password: "p".repeat(24),
        };
        let public = serde_json::to_value(&info).unwrap();
        assert_eq!(
            public,
            json!({"user_id": "u", "nick": "n", "avatar": "", "extends": {}, "im_userid": 3})
        );
        let full = serde_json::to_value(&profile).unwrap();
        assert_eq!(full["im_username"], "qlu");
        assert_eq!(full["im_userid"], 3);
    }
}
