//! Moving users in and out (SPEC "Moving in and out"): files read into validated
//! [`Incoming`] users, and users written as export lines. Pure: the caller reads the file
//! and writes the store (which normalises account values through its guards and checks
//! password hashes).
//!
//! Sources ([`read`]):
//! - [`Source::MinApp`]: MinApp's `_userprofile` export, CSV with a header row or JSON (one
//!   object per line, or one array of objects): the MinApp user object, `id` the numeric id,
//!   times in unix seconds, every custom field declared in `USER_FIELDS`.
//! - [`Source::QnLiveKit`]: QNLiveKit's `live_users` table as CSV with a header row, times as
//!   `YYYY-MM-DD HH:MM:SS` (UTC); a row with a `deleted_at` is skipped.
//! - [`Source::Jsonl`]: our own export ([`jsonl_line`]), read by the MinApp JSON reader.
//!
//! Exports ([`jsonl_line`], [`minapp_csv_record`]) are the MinApp object
//! ([`MinAppUser::new`]) plus what the store keeps beyond it: `_extends`, `_im_username`,
//! `_im_password` and `_password_hash`. Reading an export back gives the user it was written
//! from, with two exceptions:
//! - CSV has one empty cell for `null` and `""`: a place (`country`...) or a custom
//!   string or date that was `""` comes back as no value (jsonl keeps it);
//! - `_anonymous`, `_disabled` and `_disabled_until` are read and ignored: they are this
//!   store's state of the account, not part of the user moved.
//!
//! Dropped on the way in: `openid` and `unionid` are accepted and dropped, as this store
//! keeps no WeChat identity (its MinApp object shows them as `null`).
//!
//! In CSV an empty cell is no value; numbers are their text, booleans `true`/`false`, arrays
//! and objects JSON text, dates their ISO text.

use std::collections::HashMap;
use std::io::BufRead;

use serde_json::{Map, Number, Value, json};

use crate::account::{Account, AccountField};
use crate::error::{ApiError, ApiResult};
use crate::profile::{
    Builtin, FieldType, PLACE_MAX_CHARS, UserFields, check_custom_size, typed_value,
};
use crate::user::{Custom, Extends, NewUser, Profile, User};
use crate::views::{ANONYMOUS, DISABLED, DISABLED_UNTIL, MinAppUser};

/// The string id's map of extra values (`extends`), in our exports.
pub const EXTENDS: &str = "_extends";
/// The IM login name, in our exports.
pub const IM_USERNAME: &str = "_im_username";
/// The IM password, in our exports.
pub const IM_PASSWORD: &str = "_im_password";
/// The password hash (bcrypt, Django PBKDF2 or argon2 PHC), in our exports.
pub const PASSWORD_HASH: &str = "_password_hash";
/// The password hash as another system's export may name it; read from every source.
pub const PASSWORD_HASH_PLAIN: &str = "password_hash";

/// The largest numeric id: the largest integer JavaScript holds exactly (2^53 - 1), which
/// MinApp's SDKs read ids as. MinApp's own ids have at most 14 digits, but a table that took
/// one near the top hands later sign-ups 15-digit ids, and its export must import again.
pub const ID_MAX: i64 = 9_007_199_254_740_991;
/// The last second of 9999 (`9999-12-31T23:59:59Z`): a time past it is most likely in
/// milliseconds, so it is refused rather than read as a year beyond 50000.
pub const UNIX_TIME_MAX: i64 = 253_402_300_799;

/// Keys our exports add to the MinApp object; every reader of MinApp objects accepts them.
const EXTRA_KEYS: [&str; 5] = [
    EXTENDS,
    IM_USERNAME,
    IM_PASSWORD,
    PASSWORD_HASH,
    PASSWORD_HASH_PLAIN,
];
/// Keys read and ignored (see the module doc).
const IGNORED_KEYS: [&str; 3] = [ANONYMOUS, DISABLED, DISABLED_UNTIL];
/// MinApp columns a CSV must have.
const MINAPP_REQUIRED: [&str; 3] = ["id", "created_at", "updated_at"];

/// QNLiveKit's `live_users` columns. `id` is the table's own row number, not the IM id
/// (`im_userid`): read and ignored.
const QN_COLUMNS: [&str; 13] = [
    "id",
    "user_id",
    "nick",
    "avatar",
    "extends",
    "im_userid",
    "im_username",
    "im_password",
    "created_at",
    "updated_at",
    "deleted_at",
    PASSWORD_HASH_PLAIN,
    PASSWORD_HASH,
];
const QN_REQUIRED: [&str; 3] = ["user_id", "created_at", "updated_at"];

/// QNLiveKit's times (MySQL `datetime`, UTC), with the fraction some exports add.
const QN_TIME: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
    "[year]-[month]-[day] [hour]:[minute]:[second][optional [.[subsecond]]]"
);

/// Where a file comes from (`userctl import --from`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    MinApp,
    QnLiveKit,
    Jsonl,
}

impl Source {
    pub const ALL: [Source; 3] = [Source::MinApp, Source::QnLiveKit, Source::Jsonl];

    pub fn name(self) -> &'static str {
        match self {
            Source::MinApp => "minapp",
            Source::QnLiveKit => "qnlivekit",
            Source::Jsonl => "jsonl",
        }
    }

    pub fn from_name(name: &str) -> Option<Source> {
        Source::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// One user as it moves in, validated. Account values as given (the store normalises them
/// through its guards). `Debug` hides the IM password and the password hash.
#[derive(Clone, PartialEq)]
pub struct Incoming {
    /// 1-based line: a CSV row's first line, a JSON object's first line.
    pub line: usize,
    /// The numeric id (MinApp `id`, QNLiveKit `im_userid`); `None` only for a QNLiveKit row
    /// without `im_userid` (the store allocates one).
    pub id: Option<i64>,
    /// The string id: QNLiveKit `user_id`, our `_user_id`; `None` for MinApp's own rows.
    pub user_id: Option<String>,
    pub nick: String,
    pub avatar: String,
    /// QNLiveKit `extends`, our `_extends`; empty for MinApp's own rows.
    pub extends: Extends,
    pub im_username: Option<String>,
    pub im_password: Option<String>,
    /// `_username`, `_email`, `_phone` (each checked with [`AccountField::validate`]) and the
    /// verified flags.
    pub account: Account,
    /// Passed through as given (the store checks it is a hash it can verify).
    pub password_hash: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    pub updated_at: i64,
    /// `gender` (0, 1, 2), `country`, `province`, `city`, `language`.
    pub profile: Profile,
    /// Every declared custom field the row has a value for, typed with [`typed_value`].
    pub custom: Custom,
}

impl std::fmt::Debug for Incoming {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |s: &Option<String>| s.as_ref().map(|_| "***");
        f.debug_struct("Incoming")
            .field("line", &self.line)
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("nick", &self.nick)
            .field("avatar", &self.avatar)
            .field("extends", &self.extends)
            .field("im_username", &self.im_username)
            .field("im_password", &hidden(&self.im_password))
            .field("account", &self.account)
            .field("password_hash", &hidden(&self.password_hash))
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .field("profile", &self.profile)
            .field("custom", &self.custom)
            .finish()
    }
}

/// What one row of a file is.
// Nearly every row is a user: boxing it would cost an allocation a row and save nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Row {
    User(Incoming),
    /// Not to import: `reason` says why (`deleted`: QNLiveKit's soft delete).
    Skipped {
        line: usize,
        reason: String,
    },
    /// `message` starts with the line and names the column: `line 7: _email: ...`.
    Invalid {
        line: usize,
        message: String,
    },
}

impl Row {
    pub fn line(&self) -> usize {
        match self {
            Row::User(user) => user.line,
            Row::Skipped { line, .. } | Row::Invalid { line, .. } => *line,
        }
    }
}

/// Every row of `input`, in file order. File-level problems (unreadable or not UTF-8, no
/// header row, a required column missing, a column that is neither a built-in of the source
/// nor declared in `fields`, broken JSON framing) are `Err` before any row; a bad row is
/// [`Row::Invalid`] and the rows after it are still read.
///
/// MinApp files are JSON when their first character (after a byte-order mark and
/// whitespace) is `{` or `[`, else CSV. JSON is one object per line (a line that is not an
/// object is an invalid row) or one array of objects (a syntax error in it is the file's).
/// The whole file is read into memory.
pub fn read(source: Source, mut input: impl BufRead, fields: &UserFields) -> ApiResult<Vec<Row>> {
    let mut text = String::new();
    input
        .read_to_string(&mut text)
        .map_err(|e| file_error(format!("cannot be read as UTF-8 text ({e})")))?;
    // Spreadsheets write one before UTF-8 CSV.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let json = text.trim_start().starts_with(['{', '[']);
    match source {
        Source::QnLiveKit => qnlivekit_csv(text),
        Source::MinApp if !json => minapp_csv(text, fields),
        Source::MinApp | Source::Jsonl => minapp_json(text, fields),
    }
}

fn file_error(why: impl std::fmt::Display) -> ApiError {
    ApiError::invalid("file", why)
}

fn to_row(line: usize, user: ApiResult<Incoming>) -> Row {
    match user {
        Ok(user) => Row::User(user),
        Err(e) => invalid_row(line, e),
    }
}

fn invalid_row(line: usize, why: impl std::fmt::Display) -> Row {
    Row::Invalid {
        line,
        message: format!("line {line}: {why}"),
    }
}

// JSON: MinApp's export and ours.

fn minapp_json(text: &str, fields: &UserFields) -> ApiResult<Vec<Row>> {
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Ok(Vec::new());
    }
    if trimmed.starts_with('[') {
        return json_array(text, text.len() - trimmed.len(), fields);
    }
    if !trimmed.starts_with('{') {
        return Err(file_error(
            "is not JSON: expected one object per line or one array of objects",
        ));
    }
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let n = i + 1;
        rows.push(match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(object)) => to_row(n, minapp_user(n, &object, fields)),
            Ok(_) => invalid_row(n, "must be a JSON object"),
            Err(e) => invalid_row(
                n,
                format!(
                    "is not a JSON object ({} at column {})",
                    json_message(&e),
                    e.column()
                ),
            ),
        });
    }
    Ok(rows)
}

/// serde_json's message without its position (its lines are not the file's).
fn json_message(e: &serde_json::Error) -> String {
    let message = e.to_string();
    match message.rsplit_once(" at line ") {
        Some((what, _)) => what.to_string(),
        None => message,
    }
}

/// One array of objects: each element is read on its own, so its row knows its line.
fn json_array(text: &str, open: usize, fields: &UserFields) -> ApiResult<Vec<Row>> {
    let skip = |at: usize| at + (text[at..].len() - text[at..].trim_start().len());
    let mut rows = Vec::new();
    // Lines counted up to `counted`, incrementally: the file is read once.
    let (mut line, mut counted) = (1, 0);
    let mut line_at = |at: usize| {
        line += text[counted..at].matches('\n').count();
        counted = at;
        line
    };
    let mut at = skip(open + 1);
    if text[at..].starts_with(']') {
        at += 1;
    } else {
        loop {
            let n = line_at(at);
            let mut stream = serde_json::Deserializer::from_str(&text[at..]).into_iter::<Value>();
            let value = match stream.next() {
                Some(Ok(value)) => value,
                Some(Err(e)) => {
                    return Err(file_error(format!(
                        "broken JSON array at line {}: {}",
                        n + e.line() - 1,
                        json_message(&e)
                    )));
                }
                None => return Err(file_error("JSON array is not closed with ]")),
            };
            at = skip(at + stream.byte_offset());
            rows.push(match value {
                Value::Object(object) => to_row(n, minapp_user(n, &object, fields)),
                _ => invalid_row(n, "must be a JSON object"),
            });
            match text[at..].chars().next() {
                Some(',') => at = skip(at + 1),
                Some(']') => {
                    at += 1;
                    break;
                }
                _ => {
                    return Err(file_error(format!(
                        "broken JSON array at line {}: expected , or ] after an object",
                        line_at(at)
                    )));
                }
            }
        }
    }
    if !text[at..].trim().is_empty() {
        return Err(file_error(format!(
            "has text after the JSON array, at line {}",
            line_at(skip(at))
        )));
    }
    Ok(rows)
}

/// A MinApp object (from JSON, or a CSV row made one by [`minapp_csv`]) as a user.
fn minapp_user(
    line: usize,
    object: &Map<String, Value>,
    fields: &UserFields,
) -> ApiResult<Incoming> {
    if let Some(key) = object.keys().find(|k| !known_minapp_key(k, fields)) {
        return Err(ApiError::invalid(
            key,
            "is neither a MinApp built-in nor declared in USER_FIELDS",
        ));
    }
    let get = |name: &str| object.get(name).filter(|v| !v.is_null());
    let id = numeric_id(
        "id",
        get("id").ok_or_else(|| ApiError::invalid("id", "is required"))?,
    )?;
    for same in [Builtin::UserId, Builtin::CreatedBy] {
        if let Some(v) = get(same.name())
            && v.as_i64() != Some(id)
        {
            return Err(ApiError::invalid(same.name(), "must equal id"));
        }
    }
    // NewUser's rules for the Qiniu fields; MinApp's own rows have no string id (the store
    // gives them one), so a stand-in passes its check and is dropped.
    let string_id = get(Builtin::StringId.name());
    let qiniu = NewUser::from_json(
        &json!({
            "user_id": string_id.cloned().unwrap_or_else(|| Value::from("-")),
            "nick": get(Builtin::Nickname.name()),
            "avatar": get(Builtin::Avatar.name()),
            "extends": get(EXTENDS),
        }),
        "body",
    )
    .map_err(|e| {
        let e = renamed(e, "user_id", Builtin::StringId.name());
        let e = renamed(e, "nick", Builtin::Nickname.name());
        renamed(e, "extends", EXTENDS)
    })?;
    let place_of = |b: Builtin| place(b.name(), get(b.name()));
    let profile = Profile {
        gender: gender(get(Builtin::Gender.name()))?,
        country: place_of(Builtin::Country)?,
        province: place_of(Builtin::Province)?,
        city: place_of(Builtin::City)?,
        language: place_of(Builtin::Language)?,
    };
    let mut custom = Custom::new();
    for (name, ty) in fields.custom() {
        if let Some(value) = get(name) {
            custom.insert(name.to_string(), typed_value(name, ty, value)?);
        }
    }
    // Its message names no one column ("custom fields of a user must total ...").
    check_custom_size(&custom, fields).map_err(|e| match e {
        ApiError::Invalid(m) => ApiError::Invalid(m.trim_start_matches("body: ").to_string()),
        other => other,
    })?;
    Ok(Incoming {
        line,
        id: Some(id),
        user_id: string_id.map(|_| qiniu.user_id),
        nick: qiniu.nick,
        avatar: qiniu.avatar,
        extends: qiniu.extends,
        im_username: text(IM_USERNAME, get(IM_USERNAME))?,
        im_password: text(IM_PASSWORD, get(IM_PASSWORD))?,
        account: account(&get)?,
        password_hash: password_hash(get(PASSWORD_HASH), get(PASSWORD_HASH_PLAIN))?,
        created_at: unix_time("created_at", get("created_at"))?,
        updated_at: unix_time("updated_at", get("updated_at"))?,
        profile,
        custom,
    })
}

fn known_minapp_key(key: &str, fields: &UserFields) -> bool {
    Builtin::from_name(key).is_some()
        || fields.custom_type(key).is_some()
        || EXTRA_KEYS.contains(&key)
        || IGNORED_KEYS.contains(&key)
}

/// An error about `from` (`from: ...` or `from.key: ...`) named `to` instead.
fn renamed(e: ApiError, from: &str, to: &str) -> ApiError {
    match e {
        ApiError::Invalid(m) => match m.strip_prefix(from) {
            Some(rest) if rest.starts_with([':', '.']) => ApiError::Invalid(format!("{to}{rest}")),
            _ => ApiError::Invalid(m),
        },
        other => other,
    }
}

fn numeric_id(name: &str, value: &Value) -> ApiResult<i64> {
    value
        .as_i64()
        .filter(|id| (1..=ID_MAX).contains(id))
        .ok_or_else(|| ApiError::invalid(name, "must be a positive integer up to 2^53 - 1"))
}

fn unix_time(name: &str, value: Option<&Value>) -> ApiResult<i64> {
    let value = value.ok_or_else(|| ApiError::invalid(name, "is required"))?;
    checked_time(name, value.as_i64())
}

fn checked_time(name: &str, seconds: Option<i64>) -> ApiResult<i64> {
    seconds
        .filter(|s| (0..=UNIX_TIME_MAX).contains(s))
        .ok_or_else(|| {
            ApiError::invalid(
                name,
                format!("must be unix seconds, an integer from 0 to {UNIX_TIME_MAX} (9999-12-31)"),
            )
        })
}

fn gender(value: Option<&Value>) -> ApiResult<Option<i64>> {
    value
        .map(|v| {
            v.as_i64().filter(|g| (0..=2).contains(g)).ok_or_else(|| {
                ApiError::invalid("gender", "must be 0 (unknown), 1 (male) or 2 (female)")
            })
        })
        .transpose()
}

fn place(name: &str, value: Option<&Value>) -> ApiResult<Option<String>> {
    match value {
        None => Ok(None),
        Some(Value::String(s)) if s.chars().count() > PLACE_MAX_CHARS => Err(ApiError::invalid(
            name,
            format!("must be at most {PLACE_MAX_CHARS} characters"),
        )),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::invalid(name, "must be a string")),
    }
}

/// A string, `""` counting as none (a secret given empty is no secret).
fn text(name: &str, value: Option<&Value>) -> ApiResult<Option<String>> {
    match value {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone()).filter(|s| !s.is_empty())),
        Some(_) => Err(ApiError::invalid(name, "must be a string")),
    }
}

/// `_password_hash` (ours) or `password_hash` (others'); both only when equal. The error
/// never shows a hash.
fn password_hash(ours: Option<&Value>, plain: Option<&Value>) -> ApiResult<Option<String>> {
    let ours = text(PASSWORD_HASH, ours)?;
    let plain = text(PASSWORD_HASH_PLAIN, plain)?;
    match (ours, plain) {
        (Some(a), Some(b)) if a != b => Err(ApiError::invalid(
            PASSWORD_HASH_PLAIN,
            format!("differs from {PASSWORD_HASH}: give one"),
        )),
        (a, b) => Ok(a.or(b)),
    }
}

fn account<'a>(get: &impl Fn(&str) -> Option<&'a Value>) -> ApiResult<Account> {
    let value = |field: AccountField, b: Builtin| -> ApiResult<Option<String>> {
        let name = b.name();
        match get(name) {
            None => Ok(None),
            Some(Value::String(s)) => {
                field
                    .validate(s)
                    .map_err(|e| renamed(e, field.name(), name))?;
                Ok(Some(s.clone()))
            }
            Some(_) => Err(ApiError::invalid(name, "must be a string")),
        }
    };
    let flag = |b: Builtin, of: &Option<String>, of_name: Builtin| -> ApiResult<bool> {
        match get(b.name()) {
            None => Ok(false),
            Some(Value::Bool(true)) if of.is_none() => Err(ApiError::invalid(
                b.name(),
                format!("is true but there is no {}", of_name.name()),
            )),
            Some(Value::Bool(v)) => Ok(*v),
            Some(_) => Err(ApiError::invalid(b.name(), "must be true or false")),
        }
    };
    let username = value(AccountField::Username, Builtin::Username)?;
    let email = value(AccountField::Email, Builtin::Email)?;
    let phone = value(AccountField::Phone, Builtin::Phone)?;
    Ok(Account {
        email_verified: flag(Builtin::EmailVerified, &email, Builtin::Email)?,
        phone_verified: flag(Builtin::PhoneVerified, &phone, Builtin::Phone)?,
        email,
        username,
        phone,
    })
}

// CSV: MinApp's and QNLiveKit's.

/// The header's column names (trimmed), and the reader at the first data row.
fn csv_header(text: &str) -> ApiResult<(csv::Reader<&[u8]>, Vec<String>)> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| file_error(format!("has no readable header row ({e})")))?
        .iter()
        .map(|name| name.trim().to_string())
        .collect();
    if header.iter().all(String::is_empty) {
        return Err(file_error("has no header row"));
    }
    for (i, name) in header.iter().enumerate() {
        if name.is_empty() {
            return Err(file_error(format!("column {} has no name", i + 1)));
        }
        if header[..i].contains(name) {
            return Err(file_error(format!("column {name} appears twice")));
        }
    }
    Ok((reader, header))
}

fn require(header: &[String], required: &[&str]) -> ApiResult<()> {
    match required.iter().find(|r| !header.iter().any(|h| h == *r)) {
        Some(missing) => Err(file_error(format!("has no {missing} column"))),
        None => Ok(()),
    }
}

/// A CSV record: its line and non-empty cells by column name, or why it cannot be read.
enum Record<'h> {
    Cells(usize, HashMap<&'h str, String>),
    Bad(usize, String),
}

/// Every record of `reader` as (line, cells by column name, empty cells left out), or the
/// why the row cannot be read.
fn csv_records<'h>(
    reader: csv::Reader<&[u8]>,
    header: &'h [String],
) -> impl Iterator<Item = Record<'h>> {
    reader.into_records().map(move |record| {
        let line = |p: Option<&csv::Position>| p.map_or(0, |p| p.line() as usize);
        match record {
            Ok(record) => {
                let cells = header
                    .iter()
                    .map(String::as_str)
                    .zip(record.iter())
                    .filter(|(_, cell)| !cell.is_empty())
                    .map(|(name, cell)| (name, cell.to_string()))
                    .collect();
                Record::Cells(line(record.position()), cells)
            }
            Err(e) => {
                let why = match e.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => format!("has {len} cells, the header {expected_len}"),
                    _ => format!("cannot be read ({e})"),
                };
                Record::Bad(line(e.position()), why)
            }
        }
    })
}

/// How a MinApp CSV cell becomes the JSON value of its column. A cell that does not read
/// as its type stays a string, so the object's validation names the column and the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cell {
    Text,
    Integer,
    Number,
    Boolean,
    Json,
}

impl Cell {
    fn of(ty: FieldType) -> Cell {
        match ty {
            FieldType::String | FieldType::Date => Cell::Text,
            FieldType::Integer => Cell::Integer,
            FieldType::Number => Cell::Number,
            FieldType::Boolean => Cell::Boolean,
            FieldType::Array | FieldType::Object => Cell::Json,
        }
    }

    fn value(self, cell: &str) -> Value {
        let text = || Value::from(cell);
        let trimmed = cell.trim();
        match self {
            Cell::Text => text(),
            Cell::Integer => trimmed.parse::<i64>().map_or_else(|_| text(), Value::from),
            Cell::Number => {
                serde_json::from_str::<Number>(trimmed).map_or_else(|_| text(), Value::Number)
            }
            Cell::Boolean => match trimmed.to_ascii_lowercase().as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => text(),
            },
            Cell::Json => serde_json::from_str(cell).unwrap_or_else(|_| text()),
        }
    }
}

fn minapp_column(name: &str, fields: &UserFields) -> ApiResult<Cell> {
    if let Some(b) = Builtin::from_name(name) {
        return Ok(Cell::of(b.ty()));
    }
    if let Some(ty) = fields.custom_type(name) {
        return Ok(Cell::of(ty));
    }
    if name == EXTENDS {
        return Ok(Cell::Json);
    }
    if EXTRA_KEYS.contains(&name) || IGNORED_KEYS.contains(&name) {
        return Ok(Cell::Text);
    }
    Err(file_error(format!(
        "column {name} is neither a MinApp built-in nor declared in USER_FIELDS"
    )))
}

fn minapp_csv(text: &str, fields: &UserFields) -> ApiResult<Vec<Row>> {
    let (reader, header) = csv_header(text)?;
    require(&header, &MINAPP_REQUIRED)?;
    let cells: HashMap<&str, Cell> = header
        .iter()
        .map(|name| Ok((name.as_str(), minapp_column(name, fields)?)))
        .collect::<ApiResult<_>>()?;
    let rows = csv_records(reader, &header).map(|record| match record {
        Record::Cells(line, row) => {
            let object: Map<String, Value> = row
                .iter()
                .map(|(name, cell)| (name.to_string(), cells[name].value(cell)))
                .collect();
            to_row(line, minapp_user(line, &object, fields))
        }
        Record::Bad(line, why) => invalid_row(line, why),
    });
    Ok(rows.collect())
}

fn qnlivekit_csv(text: &str) -> ApiResult<Vec<Row>> {
    let (reader, header) = csv_header(text)?;
    if let Some(name) = header.iter().find(|h| !QN_COLUMNS.contains(&h.as_str())) {
        return Err(file_error(format!(
            "column {name} is not a column of QNLiveKit's live_users"
        )));
    }
    require(&header, &QN_REQUIRED)?;
    let rows = csv_records(reader, &header).map(|record| match record {
        Record::Cells(line, row) => match qnlivekit_user(line, &row) {
            Ok(Some(user)) => Row::User(user),
            Ok(None) => Row::Skipped {
                line,
                reason: "deleted".to_string(),
            },
            Err(e) => invalid_row(line, e),
        },
        Record::Bad(line, why) => invalid_row(line, why),
    });
    Ok(rows.collect())
}

/// A `live_users` row as a user; `None` when soft-deleted.
fn qnlivekit_user(line: usize, row: &HashMap<&str, String>) -> ApiResult<Option<Incoming>> {
    let get = |name: &str| row.get(name).map(String::as_str);
    // MySQL tools write SQL NULL as `NULL` or `\N`: read as a deletion, it would skip
    // every user.
    if let Some(deleted) = get("deleted_at").filter(|d| !["NULL", "null", "\\N"].contains(d)) {
        qn_time("deleted_at", Some(deleted))?;
        return Ok(None);
    }
    let extends = match get("extends") {
        None | Some("null") => Value::Null,
        Some(cell) => serde_json::from_str(cell).unwrap_or_else(|_| Value::from(cell)),
    };
    let qiniu = NewUser::from_json(
        &json!({
            "user_id": get("user_id"),
            "nick": get("nick"),
            "avatar": get("avatar"),
            "extends": extends,
        }),
        "body",
    )?;
    let id = get("im_userid")
        .map(|cell| numeric_id("im_userid", &Cell::Integer.value(cell)))
        .transpose()?;
    let password_hash = password_hash(
        get(PASSWORD_HASH).map(Value::from).as_ref(),
        get(PASSWORD_HASH_PLAIN).map(Value::from).as_ref(),
    )?;
    Ok(Some(Incoming {
        line,
        id,
        user_id: Some(qiniu.user_id),
        nick: qiniu.nick,
        avatar: qiniu.avatar,
        extends: qiniu.extends,
        im_username: get("im_username").map(str::to_string),
        im_password: get("im_password").map(str::to_string),
        account: Account::default(),
        password_hash,
        created_at: qn_time("created_at", get("created_at"))?,
        updated_at: qn_time("updated_at", get("updated_at"))?,
        profile: Profile::default(),
        custom: Custom::new(),
    }))
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) as unix seconds.
fn qn_time(name: &str, cell: Option<&str>) -> ApiResult<i64> {
    let cell = cell.ok_or_else(|| ApiError::invalid(name, "is required"))?;
    let at = time::PrimitiveDateTime::parse(cell.trim(), QN_TIME)
        .map_err(|_| ApiError::invalid(name, "must be a UTC time YYYY-MM-DD HH:MM:SS"))?;
    let seconds = at.assume_utc().unix_timestamp();
    if seconds < 0 {
        return Err(ApiError::invalid(name, "must not be before 1970"));
    }
    Ok(seconds)
}

// Export.

/// What an export line needs besides the user itself. `Debug` hides the secrets.
#[derive(Clone, Copy)]
pub struct Secrets<'a> {
    pub im_username: &'a str,
    pub im_password: &'a str,
    pub password_hash: Option<&'a str>,
}

impl std::fmt::Debug for Secrets<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("im_username", &self.im_username)
            .field("im_password", &"***")
            .field("password_hash", &self.password_hash.map(|_| "***"))
            .finish()
    }
}

/// The MinApp object and what the store keeps beyond it.
fn export_object(user: &User, secrets: &Secrets, fields: &UserFields) -> Map<String, Value> {
    let mut object = match MinAppUser::new(user, fields).0 {
        Value::Object(object) => object,
        _ => Map::new(),
    };
    let extends = user
        .extends
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
        .collect();
    object.insert(EXTENDS.to_string(), Value::Object(extends));
    object.insert(IM_USERNAME.to_string(), Value::from(secrets.im_username));
    object.insert(IM_PASSWORD.to_string(), Value::from(secrets.im_password));
    if let Some(hash) = secrets.password_hash {
        object.insert(PASSWORD_HASH.to_string(), Value::from(hash));
    }
    object
}

/// One jsonl line: [`MinAppUser::new`] plus `_extends`, `_im_username`, `_im_password` and
/// (when given) `_password_hash`. One JSON object, no newline.
pub fn jsonl_line(user: &User, secrets: &Secrets, fields: &UserFields) -> String {
    Value::Object(export_object(user, secrets, fields)).to_string()
}

/// The MinApp CSV columns: the MinApp object's built-ins, the declared custom fields, then
/// `_extends`, `_im_username`, `_im_password` and `_password_hash`.
pub fn minapp_csv_header(fields: &UserFields) -> Vec<String> {
    Builtin::ALL
        .iter()
        .map(|b| b.name())
        .chain(fields.custom().map(|(name, _)| name))
        .chain([EXTENDS, IM_USERNAME, IM_PASSWORD, PASSWORD_HASH])
        .map(str::to_string)
        .collect()
}

/// One user's cells, in [`minapp_csv_header`]'s order: no value is an empty cell, strings as
/// they are, numbers and booleans as their JSON text, arrays and objects as JSON.
pub fn minapp_csv_record(user: &User, secrets: &Secrets, fields: &UserFields) -> Vec<String> {
    let object = export_object(user, secrets, fields);
    minapp_csv_header(fields)
        .iter()
        .map(|name| match object.get(name) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        })
        .collect()
}

/// One CSV line of `cells` (RFC 4180 quoting, `\n` at the end), for writers without a CSV
/// library of their own.
pub fn csv_line(cells: &[String]) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    // Writing to memory cannot fail.
    let _ = writer.write_record(cells);
    let bytes = writer.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

#[cfg(test)]
mod tests;
