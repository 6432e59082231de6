//! Accounts, the login identity every dialect shares (SPEC "Accounts"): validation of an
//! account change, the guard keys that make values unique, the public view and password
//! hashes ([`password`]). Pure: no HTTP, no DynamoDB (the store writes the guards this
//! module names).

use std::fmt;
use std::sync::OnceLock;

use serde::Serialize;
use serde_json::{Map, Value};

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
use unicode_security::GeneralSecurityProfile;
use unicode_security::general_security_profile::IdentifierType;
use unicode_security::skeleton;

use crate::config::ConfigError;
use crate::error::{ApiError, ApiResult};

pub mod password;

#[cfg(any(test, feature = "testing"))]
pub use password::password_verifications_on_this_thread;
pub use password::{
    ARGON2_M_COST_KIB, ARGON2_P_COST, ARGON2_T_COST, DUMMY_PASSWORD_HASH, check_imported_hash,
    hash_password, needs_rehash, verify_password, verify_password_or_dummy,
};

pub const USERNAME_MAX_CHARS: usize = 64;
pub const EMAIL_MAX_CHARS: usize = 254;
pub const PHONE_MIN_CHARS: usize = 5;
pub const PHONE_MAX_CHARS: usize = 20;
pub const PASSWORD_MIN_CHARS: usize = 8;
pub const PASSWORD_MAX_CHARS: usize = 256;

/// One of the three unique account values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountField {
    Username,
    Email,
    Phone,
}

impl AccountField {
    pub const ALL: [AccountField; 3] = [
        AccountField::Username,
        AccountField::Email,
        AccountField::Phone,
    ];

    /// The request/response field name, which a 400 names.
    pub fn name(self) -> &'static str {
        match self {
            AccountField::Username => "username",
            AccountField::Email => "email",
            AccountField::Phone => "phone",
        }
    }

    /// Checks `value` against SPEC's rule for this field; the error names the field.
    pub fn validate(self, value: &str) -> ApiResult<()> {
        match self {
            AccountField::Username => validate_username(value),
            AccountField::Email => validate_email(value),
            AccountField::Phone => validate_phone(value),
        }
    }
}

/// The key of the guard item that reserves `value` for one user, under the rules this
/// process installed from its configuration ([`AccountRules::install`]; China's phone region
/// until then). See [`AccountRules::guard_key`]. It is also the login identifier that login
/// limits count attempts on, whether or not an account holds it.
pub fn guard_key(field: AccountField, value: &str) -> String {
    AccountRules::current().guard_key(field, value)
}

/// The deployment's account rules: which region a phone without `+` is read in
/// (`PHONE_DEFAULT_REGION`). Pure; the process keeps one, installed from configuration, so
/// that [`guard_key`] needs no more than the field and the value at every caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountRules {
    phone_default_region: phonenumber::country::Id,
}

/// The default region: the product's users are Chinese apps, whose users give their mobile
/// numbers without `+86`.
pub const PHONE_DEFAULT_REGION: &str = "CN";

static RULES: OnceLock<AccountRules> = OnceLock::new();

impl Default for AccountRules {
    fn default() -> Self {
        AccountRules {
            phone_default_region: phonenumber::country::Id::CN,
        }
    }
}

impl AccountRules {
    /// Rules reading phones without `+` in `phone_default_region`, an ISO 3166 code with a
    /// telephone numbering plan (`CN`, `US`, `DE`, ...).
    pub fn new(phone_default_region: &str) -> Result<Self, ConfigError> {
        let region = phone_default_region.trim().to_ascii_uppercase();
        region
            .parse()
            .ok()
            // Two letters: the crate's ids also take a few non-region names (`001`).
            .filter(|_| region.len() == 2 && region.bytes().all(|b| b.is_ascii_alphabetic()))
            .map(|phone_default_region| AccountRules {
                phone_default_region,
            })
            .ok_or_else(|| {
                ConfigError(format!(
                    "PHONE_DEFAULT_REGION must be a two-letter region with a numbering plan \
                     (like CN or US), not {phone_default_region:?}"
                ))
            })
    }

    /// Makes these the process's rules ([`guard_key`]). Installing the same rules again is
    /// fine; other rules once keys were made are a configuration error, since guards made
    /// under two rules would not meet.
    pub fn install(self) -> Result<(), ConfigError> {
        let installed = *RULES.get_or_init(|| self);
        if installed == self {
            Ok(())
        } else {
            Err(ConfigError(format!(
                "account rules already in use with phone region {}",
                installed.phone_default_region.as_ref()
            )))
        }
    }

    /// The process's rules: those installed, else the default.
    pub fn current() -> AccountRules {
        *RULES.get_or_init(AccountRules::default)
    }

    /// The key of the guard item that reserves `value`: one key for every spelling of one
    /// value, so that no two users hold look-alikes (SPEC "Accounts"). The prefixes keep
    /// guards apart from user items (`USER#...`) and from each other.
    ///
    /// - username: the UTS #39 confusable skeleton of the full case folding of its NFKC
    ///   form: `paypal`, `PayPal`, `pаypal` (Cyrillic а) and fullwidth `ｐａｙｐａｌ` meet,
    ///   and so do `é` and `e` + U+0301. The skeleton folds more than people expect
    ///   (`m`/`rn`, `l`/`1`/`I`, `O`/`0`): that is the point, such names read alike.
    ///   At most 64 characters of at most 21 bytes each (the longest skeleton of one
    ///   character), far below DynamoDB's 2048-byte key.
    /// - email: the full case folding of its NFKC form (unique case-insensitively, not by
    ///   skeleton: addresses are typed, rarely read).
    /// - phone: its E.164 form, a number without `+` read in the default region
    ///   (`13800138000` and `+8613800138000` meet under `CN`). A value the number metadata
    ///   cannot parse (too short or long for any plan, no such country code) is keyed as
    ///   given: it is still a valid value under SPEC's syntax, so refusing it would lock out
    ///   short codes and numbers newer than the metadata, and it has no second spelling to
    ///   be confused with. Whether a parsed number is *valid* does not matter: that changes
    ///   as numbering plans grow, and a key must not.
    pub fn guard_key(&self, field: AccountField, value: &str) -> String {
        match field {
            AccountField::Username => {
                let folded = caseless::default_case_fold_str(&nfkc(value));
                format!("USERNAME#{}", skeleton(&folded).collect::<String>())
            }
            AccountField::Email => {
                format!("EMAIL#{}", caseless::default_case_fold_str(&nfkc(value)))
            }
            AccountField::Phone => format!("PHONE#{}", self.phone_key(value)),
        }
    }

    fn phone_key(&self, value: &str) -> String {
        // A `+` number names its country; with a default region the crate would also strip
        // that region's national prefix from it (`+86138...` read in `US` lost its `1`).
        let region = (!value.starts_with('+')).then_some(self.phone_default_region);
        match phonenumber::parse(region, value) {
            Ok(number) => number.format().mode(phonenumber::Mode::E164).to_string(),
            Err(_) => value.to_string(),
        }
    }
}

/// The key a guard had before the look-alike rules (issue 18): usernames and emails
/// lower-cased, phones as given. Only the rekeying of a deployed table reads it.
pub fn legacy_guard_key(field: AccountField, value: &str) -> String {
    match field {
        AccountField::Username => format!("USERNAME#{}", value.to_lowercase()),
        AccountField::Email => format!("EMAIL#{}", value.to_lowercase()),
        AccountField::Phone => format!("PHONE#{value}"),
    }
}

fn nfkc(value: &str) -> String {
    value.nfkc().collect()
}

/// Characters that do not show, or change how their neighbours show: format characters
/// (General_Category Cf, which holds the bidi controls and the zero-width ones),
/// default-ignorable code points (also Hangul fillers and variation selectors, which are not
/// Cf), and control characters.
fn is_invisible(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::Format | GeneralCategory::Control
    ) || c.identifier_type() == Some(IdentifierType::Default_Ignorable)
}

/// The checks usernames and emails share on the NFKC form `v` of the value `given`.
fn check_visible(field: &str, given: &str, v: &str) -> ApiResult<()> {
    if v.chars().any(char::is_whitespace) {
        return Err(ApiError::invalid(field, "must not contain whitespace"));
    }
    // Both spellings: NFKC keeps most of these, but the given text is what people see.
    if given.chars().chain(v.chars()).any(is_invisible) {
        return Err(ApiError::invalid(
            field,
            "must not contain invisible, bidi-control or other format characters",
        ));
    }
    Ok(())
}

/// On the NFKC form, so that what reads as `@`, a digit or a space counts as one.
fn validate_username(given: &str) -> ApiResult<()> {
    let field = "username";
    let v = nfkc(given);
    let n = v.chars().count();
    if n == 0 || n > USERNAME_MAX_CHARS {
        return Err(ApiError::invalid(
            field,
            format!("must be 1..{USERNAME_MAX_CHARS} characters (null removes it)"),
        ));
    }
    check_visible(field, given, &v)?;
    // So that a username never reads as an email or a uid (Deepin's lookup order).
    if v.contains('@') {
        return Err(ApiError::invalid(field, "must not contain @"));
    }
    // ASCII digits: the ones a uid is written in.
    if v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::invalid(field, "must not be all digits"));
    }
    Ok(())
}

/// Deliberately simple (no RFC 5322 quoting or comments, which no one registers with), on
/// the NFKC form: at most 254 characters, no whitespace or invisible characters, exactly one
/// `@` with a non-empty part before it, and a domain of at least two non-empty dot-separated
/// labels.
fn validate_email(given: &str) -> ApiResult<()> {
    let field = "email";
    let v = nfkc(given);
    let n = v.chars().count();
    if n == 0 || n > EMAIL_MAX_CHARS {
        return Err(ApiError::invalid(
            field,
            format!("must be 1..{EMAIL_MAX_CHARS} characters (null removes it)"),
        ));
    }
    check_visible(field, given, &v)?;
    let Some((local, domain)) = v.split_once('@').filter(|(_, d)| !d.contains('@')) else {
        return Err(ApiError::invalid(field, "must contain exactly one @"));
    };
    if local.is_empty() {
        return Err(ApiError::invalid(field, "must have a name before the @"));
    }
    if !domain.contains('.') || domain.split('.').any(str::is_empty) {
        return Err(ApiError::invalid(
            field,
            "must have a domain like example.com after the @",
        ));
    }
    Ok(())
}

/// Digits with an optional leading `+`; the length counts the `+`.
fn validate_phone(v: &str) -> ApiResult<()> {
    let field = "phone";
    let n = v.chars().count();
    if !(PHONE_MIN_CHARS..=PHONE_MAX_CHARS).contains(&n) {
        return Err(ApiError::invalid(
            field,
            format!("must be {PHONE_MIN_CHARS}..{PHONE_MAX_CHARS} characters (null removes it)"),
        ));
    }
    let digits = v.strip_prefix('+').unwrap_or(v);
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::invalid(
            field,
            "must be digits with an optional leading +",
        ));
    }
    Ok(())
}

/// A plain-text password on its way to the hash. `Debug` never shows it, so a stray
/// `{:?}` of a request cannot log it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Validates SPEC's 8..256 characters; any characters, spaces included.
    pub fn new(value: &str) -> ApiResult<Self> {
        Self::named("new_password", value)
    }

    /// [`Password::new`] for a request that names the field otherwise (`password`).
    pub fn named(field: &str, value: &str) -> ApiResult<Self> {
        let n = value.chars().count();
        if !(PASSWORD_MIN_CHARS..=PASSWORD_MAX_CHARS).contains(&n) {
            return Err(ApiError::invalid(
                field,
                format!("must be {PASSWORD_MIN_CHARS}..{PASSWORD_MAX_CHARS} characters"),
            ));
        }
        Ok(Password(value.to_string()))
    }

    /// A password offered at login: any string of 1..256 characters (a shorter one than the
    /// sign-up rule simply never matches; the length rule is not revealed at login).
    pub fn candidate(field: &str, value: &str) -> ApiResult<Self> {
        let n = value.chars().count();
        if n == 0 || n > PASSWORD_MAX_CHARS {
            return Err(ApiError::invalid(
                field,
                format!("must be 1..{PASSWORD_MAX_CHARS} characters"),
            ));
        }
        Ok(Password(value.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// What a request does to one account value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Change<T> {
    /// Not in the request: left as it is.
    #[default]
    Absent,
    /// JSON `null`: removed (its guard released).
    Clear,
    Set(T),
}

/// A validated body of the account endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountUpdate {
    pub username: Change<String>,
    pub email: Change<String>,
    pub phone: Change<String>,
    /// `None` when absent. There is no `null` for it: see [`AccountUpdate::from_json`].
    pub new_password: Option<Password>,
}

impl AccountUpdate {
    pub const FIELDS: [&'static str; 4] = ["username", "email", "phone", "new_password"];

    /// From the JSON body: an object of `username`, `email`, `phone` (each a string, or
    /// `null` to remove it) and `new_password` (a string). Anything else is a 400 naming it.
    ///
    /// `new_password: null` is a 400: MinApp documents `null` only for the three unique
    /// values, and removing a password would silently end password sign-in for the user,
    /// which no caller of a "set the password" field can mean.
    pub fn from_json(body: &Value) -> ApiResult<Self> {
        Self::parse(body, &Self::FIELDS)
    }

    /// A client's own change (MinApp's `PUT /hserve/v2.2/user/account/`): the body of
    /// [`AccountUpdate::from_json`] plus `password`, the current password (any 1..256
    /// characters: a wrong one simply does not match), which only `new_password` needs.
    pub fn from_client_json(body: &Value) -> ApiResult<(Self, Option<Password>)> {
        let update = Self::parse(
            body,
            &["username", "email", "phone", "password", "new_password"],
        )?;
        let current = match body.get("password") {
            None => None,
            Some(Value::String(p)) => Some(Password::candidate("password", p)?),
            Some(_) => return Err(ApiError::invalid("password", "must be a string")),
        };
        if current.is_some() && update.new_password.is_none() {
            return Err(ApiError::invalid(
                "password",
                "is the current password: send it only with new_password",
            ));
        }
        Ok((update, current))
    }

    fn parse(body: &Value, allowed: &[&str]) -> ApiResult<Self> {
        let obj = body
            .as_object()
            .ok_or_else(|| ApiError::invalid("body", "must be a JSON object"))?;
        let mut unknown: Vec<&str> = obj
            .keys()
            .map(String::as_str)
            .filter(|k| !allowed.contains(k))
            .collect();
        unknown.sort_unstable();
        if !unknown.is_empty() {
            return Err(ApiError::invalid(
                unknown.join(", "),
                format!("unknown field; allowed: {}", allowed.join(", ")),
            ));
        }
        let new_password = match obj.get("new_password") {
            None => None,
            Some(Value::String(s)) => Some(Password::new(s)?),
            Some(_) => {
                return Err(ApiError::invalid(
                    "new_password",
                    "must be a string (a password cannot be removed)",
                ));
            }
        };
        Ok(AccountUpdate {
            username: change(obj, AccountField::Username)?,
            email: change(obj, AccountField::Email)?,
            phone: change(obj, AccountField::Phone)?,
            new_password,
        })
    }

    pub fn is_empty(&self) -> bool {
        AccountField::ALL
            .iter()
            .all(|f| *self.change(*f) == Change::Absent)
            && self.new_password.is_none()
    }

    pub fn change(&self, field: AccountField) -> &Change<String> {
        match field {
            AccountField::Username => &self.username,
            AccountField::Email => &self.email,
            AccountField::Phone => &self.phone,
        }
    }

    /// What this update does to `current`: the account afterwards and the guards to claim
    /// and release, in one plan the store commits as one transaction. Setting the exact
    /// value already held changes nothing (its verified flag stays, as MinApp resets
    /// `phone_verified` only for a new number); any other new value resets the flag. A
    /// change of case only keeps the guard (same key) but stores the new spelling.
    pub fn apply(&self, current: &Account) -> AccountChange {
        let mut plan = AccountChange {
            account: current.clone(),
            claim: Vec::new(),
            release: Vec::new(),
        };
        for field in AccountField::ALL {
            let old = current.get(field);
            let new = match self.change(field) {
                Change::Absent => continue,
                Change::Clear => None,
                Change::Set(v) if old == Some(v.as_str()) => continue,
                Change::Set(v) => Some(v.as_str()),
            };
            let old_key = old.map(|v| guard_key(field, v));
            let new_key = new.map(|v| guard_key(field, v));
            if old_key != new_key {
                plan.release.extend(old_key.map(|key| Guard { field, key }));
                plan.claim.extend(new_key.map(|key| Guard { field, key }));
            }
            plan.account.set(field, new.map(str::to_string));
        }
        plan
    }
}

fn change(obj: &Map<String, Value>, field: AccountField) -> ApiResult<Change<String>> {
    match obj.get(field.name()) {
        None => Ok(Change::Absent),
        Some(Value::Null) => Ok(Change::Clear),
        Some(Value::String(s)) => {
            field.validate(s)?;
            Ok(Change::Set(s.clone()))
        }
        Some(_) => Err(ApiError::invalid(
            field.name(),
            "must be a string, or null to remove it",
        )),
    }
}

/// One guard item of a plan: the value's key and the field a lost claim is reported on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guard {
    pub field: AccountField,
    pub key: String,
}

/// The outcome of [`AccountUpdate::apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountChange {
    pub account: Account,
    pub claim: Vec<Guard>,
    pub release: Vec<Guard>,
}

/// The account as MinApp's account endpoint answers it (seed 004): unset values are
/// `null`, the hash is not part of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Account {
    pub email: Option<String>,
    pub email_verified: bool,
    pub username: Option<String>,
    pub phone: Option<String>,
    pub phone_verified: bool,
}

impl Account {
    pub fn get(&self, field: AccountField) -> Option<&str> {
        match field {
            AccountField::Username => self.username.as_deref(),
            AccountField::Email => self.email.as_deref(),
            AccountField::Phone => self.phone.as_deref(),
        }
    }

    /// Nothing here verifies a value, so a new (or no) email or phone is unverified.
    fn set(&mut self, field: AccountField, value: Option<String>) {
        match field {
            AccountField::Username => self.username = value,
            AccountField::Email => {
                self.email = value;
                self.email_verified = false;
            }
            AccountField::Phone => {
                self.phone = value;
                self.phone_verified = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn invalid(body: Value) -> String {
        match AccountUpdate::from_json(&body) {
            Err(ApiError::Invalid(m)) => m,
            other => panic!("{body}: expected 400, got {other:?}"),
        }
    }

    fn ok(body: Value) -> AccountUpdate {
        AccountUpdate::from_json(&body).unwrap_or_else(|e| panic!("{body}: {e:?}"))
    }

    #[test]
    fn usernames_follow_the_spec_rules() {
        for good in [
            "a",
            "pretty_girl",
            "Bob.Smith-1",
            "用户名",
            "007bond",
            &"x".repeat(64),
            "١٢٣", // not ASCII digits: cannot read as a uid
        ] {
            assert_eq!(
                ok(json!({ "username": good })).username,
                Change::Set(good.into())
            );
        }
        let cases = [
            (
                json!(""),
                "username: must be 1..64 characters (null removes it)",
            ),
            (
                json!("x".repeat(65)),
                "username: must be 1..64 characters (null removes it)",
            ),
            (json!("a b"), "username: must not contain whitespace"),
            (json!("a\u{3000}b"), "username: must not contain whitespace"),
            (json!("a\u{a0}b"), "username: must not contain whitespace"),
            (json!("a\u{0}b"), INVISIBLE_USERNAME),
            (json!("a@b"), "username: must not contain @"),
            (json!("a\u{ff20}b"), "username: must not contain @"), // fullwidth @
            (json!("12345"), "username: must not be all digits"),
            (
                json!("\u{ff11}\u{ff12}\u{ff13}"),
                "username: must not be all digits",
            ), // fullwidth
            // NFKC decides the length: U+FDFA is 18 characters.
            (
                json!(format!("{}\u{fdfa}", "x".repeat(47))),
                "username: must be 1..64 characters (null removes it)",
            ),
            (
                json!(12345),
                "username: must be a string, or null to remove it",
            ),
            (
                json!(["a"]),
                "username: must be a string, or null to remove it",
            ),
        ];
        for (value, message) in cases {
            assert_eq!(invalid(json!({ "username": value })), message, "{value}");
        }
        // 64 characters, not bytes.
        assert!(validate_username(&"é".repeat(64)).is_ok());
    }

    const INVISIBLE_USERNAME: &str =
        "username: must not contain invisible, bidi-control or other format characters";

    #[test]
    fn usernames_refuse_invisible_bidi_and_format_characters() {
        for c in [
            '\u{200b}',  // zero-width space
            '\u{200c}',  // zero-width non-joiner
            '\u{200d}',  // zero-width joiner
            '\u{2060}',  // word joiner
            '\u{feff}',  // zero-width no-break space (BOM)
            '\u{ad}',    // soft hyphen
            '\u{202e}',  // right-to-left override
            '\u{202a}',  // left-to-right embedding
            '\u{2066}',  // left-to-right isolate
            '\u{200f}',  // right-to-left mark
            '\u{61c}',   // Arabic letter mark
            '\u{3164}',  // Hangul filler (Lo, default-ignorable)
            '\u{fe0f}',  // variation selector (Mn, default-ignorable)
            '\u{34f}',   // combining grapheme joiner
            '\u{e0041}', // tag latin capital A
            '\u{7f}',    // delete (control)
        ] {
            for value in [
                format!("pay{c}pal"),
                format!("{c}paypal"),
                format!("paypal{c}"),
            ] {
                assert_eq!(
                    invalid(json!({ "username": value })),
                    INVISIBLE_USERNAME,
                    "U+{:04X}",
                    c as u32
                );
            }
        }
        // The same rule for emails.
        assert_eq!(
            invalid(json!({ "email": "pay\u{200b}pal@example.com" })),
            "email: must not contain invisible, bidi-control or other format characters"
        );
        assert_eq!(
            invalid(json!({ "email": "moc.elpmaxe@\u{202e}x" })),
            "email: must not contain invisible, bidi-control or other format characters"
        );
    }

    #[test]
    fn look_alike_usernames_share_one_guard() {
        use AccountField::Username;
        let rules = AccountRules::default();
        let key = |v: &str| rules.guard_key(Username, v);
        let paypal = key("paypal");
        for alike in [
            "PayPal",
            "PAYPAL",
            "p\u{430}yp\u{430}l",                               // Cyrillic а
            "\u{ff50}\u{ff41}\u{ff59}\u{ff50}\u{ff41}\u{ff4c}", // fullwidth
            "\u{1d429}aypal",                                   // mathematical bold p
            "paypa1",                                           // digit one for l
        ] {
            assert_eq!(key(alike), paypal, "{alike}");
            assert!(validate_username(alike).is_ok(), "{alike}");
        }
        // Precomposed and decomposed accents; case folding beyond lower-casing.
        assert_eq!(key("caf\u{e9}"), key("cafe\u{301}"));
        assert_eq!(key("CAF\u{c9}"), key("cafe\u{301}"));
        assert_eq!(key("stra\u{df}e"), key("STRASSE"));
        assert_eq!(key("\u{d6}laf"), key("\u{f6}laf"));
        // Case folding comes first (SPEC), so a capital I is an i here, not an l.
        assert_ne!(key("paypaI"), paypal);
        // Different names stay different.
        assert_ne!(key("paypal"), key("paypal2"));
        assert_ne!(key("cafe"), key("caf\u{e9}"));
        assert_ne!(key("bob"), key("rob"));
        // The longest key of a 64-character username stays inside DynamoDB's 2048-byte key.
        assert!(key(&"\u{af66}".repeat(64)).len() < 2048);
    }

    #[test]
    fn emails_are_unique_by_their_case_folded_nfkc_form() {
        use AccountField::Email;
        let rules = AccountRules::default();
        let key = |v: &str| rules.guard_key(Email, v);
        assert_eq!(key("Pretty_Girl@Fake.COM"), "EMAIL#pretty_girl@fake.com");
        // Fullwidth letters and @ are NFKC-equal to the ASCII ones.
        assert_eq!(
            key("\u{ff42}\u{ff4f}\u{ff42}\u{ff20}example.com"),
            key("bob@example.com")
        );
        assert!(validate_email("\u{ff42}\u{ff4f}\u{ff42}\u{ff20}example.com").is_ok());
        assert_eq!(key("jos\u{e9}@example.com"), key("JOSE\u{301}@example.com"));
        // Not by skeleton: a Cyrillic а is another address.
        assert_ne!(key("p\u{430}ypal@example.com"), key("paypal@example.com"));
    }

    #[test]
    fn phones_are_unique_by_their_e164_form() {
        use AccountField::Phone;
        let cn = AccountRules::default();
        let us = AccountRules::new("us").unwrap();
        let e164 = "PHONE#+8613800138000";
        for spelling in ["+8613800138000", "13800138000", "008613800138000"] {
            assert_eq!(cn.guard_key(Phone, spelling), e164, "{spelling}");
            assert!(validate_phone(spelling).is_ok());
        }
        // The default region reads numbers without `+`; a `+` number is read as it says.
        assert_eq!(cn.guard_key(Phone, "2025550123"), "PHONE#+862025550123");
        assert_eq!(us.guard_key(Phone, "2025550123"), "PHONE#+12025550123");
        assert_eq!(us.guard_key(Phone, "+12025550123"), "PHONE#+12025550123");
        assert_eq!(us.guard_key(Phone, "+8613800138000"), e164);
        // What no numbering plan can hold is keyed as given, never refused.
        for unparsable in ["12345", "+8612345", "99999999999999999999"] {
            assert_eq!(
                cn.guard_key(Phone, unparsable),
                format!("PHONE#{unparsable}")
            );
            assert!(validate_phone(unparsable).is_ok());
        }
        assert_ne!(
            cn.guard_key(Phone, "12345"),
            cn.guard_key(Phone, "+8612345")
        );
    }

    #[test]
    fn the_phone_region_is_a_two_letter_region_with_a_numbering_plan() {
        assert_eq!(AccountRules::new("CN").unwrap(), AccountRules::default());
        assert_eq!(
            AccountRules::new(" de ").unwrap(),
            AccountRules::new("DE").unwrap()
        );
        for bad in ["", "C", "ZZ", "001", "China", "XK1"] {
            let err = AccountRules::new(bad).unwrap_err().0;
            assert!(
                err.starts_with("PHONE_DEFAULT_REGION must be"),
                "{bad}: {err}"
            );
        }
        // The process's rules take one region: the default, unless installed before any key.
        AccountRules::default().install().unwrap();
        assert_eq!(AccountRules::current(), AccountRules::default());
        assert!(AccountRules::new("US").unwrap().install().is_err());
    }

    #[test]
    fn legacy_keys_are_the_lower_cased_and_as_given_ones() {
        use AccountField::*;
        assert_eq!(
            legacy_guard_key(Username, "Pretty_Girl"),
            "USERNAME#pretty_girl"
        );
        assert_eq!(legacy_guard_key(Email, "A@B.com"), "EMAIL#a@b.com");
        assert_eq!(legacy_guard_key(Phone, "13800138000"), "PHONE#13800138000");
    }

    #[test]
    fn emails_follow_the_documented_simple_rules() {
        for good in [
            "pretty_girl@fake.com",
            "A.B+tag@Sub.Example.ORG",
            "名@例子.中国",
            &format!("{}@example.com", "a".repeat(242)), // 254 in all
        ] {
            assert_eq!(ok(json!({ "email": good })).email, Change::Set(good.into()));
        }
        let cases = [
            (
                format!("{}@example.com", "a".repeat(243)),
                "email: must be 1..254 characters (null removes it)",
            ),
            (
                "".into(),
                "email: must be 1..254 characters (null removes it)",
            ),
            ("a b@c.com".into(), "email: must not contain whitespace"),
            ("abc.com".into(), "email: must contain exactly one @"),
            ("a@b@c.com".into(), "email: must contain exactly one @"),
            ("@c.com".into(), "email: must have a name before the @"),
            (
                "a@localhost".into(),
                "email: must have a domain like example.com after the @",
            ),
            (
                "a@".into(),
                "email: must have a domain like example.com after the @",
            ),
            (
                "a@.com".into(),
                "email: must have a domain like example.com after the @",
            ),
            (
                "a@b..com".into(),
                "email: must have a domain like example.com after the @",
            ),
            (
                "a@b.com.".into(),
                "email: must have a domain like example.com after the @",
            ),
        ];
        for (value, message) in cases {
            assert_eq!(invalid(json!({ "email": value })), message, "{value}");
        }
        assert_eq!(
            invalid(json!({ "email": true })),
            "email: must be a string, or null to remove it"
        );
    }

    #[test]
    fn phones_are_digits_with_an_optional_plus() {
        for good in [
            "13800138000",
            "+8613800138000",
            "12345",
            "+1234",
            &"9".repeat(20),
        ] {
            assert_eq!(ok(json!({ "phone": good })).phone, Change::Set(good.into()));
        }
        let length = "phone: must be 5..20 characters (null removes it)";
        let shape = "phone: must be digits with an optional leading +";
        for (value, message) in [
            ("1234", length),
            ("+123", length),
            ("123456789012345678901", length),
            ("138-0013-8000", shape),
            ("1380013800+", shape),
            ("++12345", shape),
            ("１３８００１３８０００", shape), // full-width digits
        ] {
            assert_eq!(invalid(json!({ "phone": value })), message, "{value}");
        }
        assert_eq!(
            invalid(json!({ "phone": 13800138000u64 })),
            "phone: must be a string, or null to remove it"
        );
    }

    #[test]
    fn null_clears_absent_keeps_and_passwords_are_8_to_256_characters() {
        let u = ok(json!({ "username": null, "email": null, "phone": null }));
        assert_eq!(
            (u.username, u.email, u.phone),
            (Change::Clear, Change::Clear, Change::Clear)
        );
        let u = ok(json!({}));
        assert!(u.is_empty());
        assert_eq!(u.username, Change::Absent);
        let u = ok(json!({ "new_password": "correct horse" }));
        assert!(!u.is_empty());
        assert_eq!(u.new_password.unwrap().expose(), "correct horse");
        assert!(
            ok(json!({ "new_password": "x".repeat(256) }))
                .new_password
                .is_some()
        );
        let length = "new_password: must be 8..256 characters";
        assert_eq!(invalid(json!({ "new_password": "1234567" })), length);
        assert_eq!(invalid(json!({ "new_password": "x".repeat(257) })), length);
        assert_eq!(
            invalid(json!({ "new_password": null })),
            "new_password: must be a string (a password cannot be removed)"
        );
        assert_eq!(
            invalid(json!({ "new_password": 12345678 })),
            "new_password: must be a string (a password cannot be removed)"
        );
    }

    #[test]
    fn unknown_fields_and_non_objects_are_named() {
        assert_eq!(
            invalid(json!({ "username": "bob", "password": "x", "nick": "y" })),
            "nick, password: unknown field; allowed: username, email, phone, new_password"
        );
        assert_eq!(invalid(json!(["username"])), "body: must be a JSON object");
        assert_eq!(invalid(json!(null)), "body: must be a JSON object");
    }

    #[test]
    fn a_client_body_adds_the_current_password_for_new_password_only() {
        let client = |body: Value| AccountUpdate::from_client_json(&body);
        let (u, current) =
            client(json!({ "password": "old", "new_password": "new password" })).unwrap();
        assert_eq!(current.unwrap().expose(), "old");
        assert_eq!(u.new_password.unwrap().expose(), "new password");
        let (u, current) = client(json!({ "username": "ann", "phone": null })).unwrap();
        assert_eq!(
            (u.username, u.phone, current),
            (Change::Set("ann".into()), Change::Clear, None)
        );
        let message = |body| match client(body) {
            Err(ApiError::Invalid(m)) => m,
            other => panic!("expected 400, got {other:?}"),
        };
        assert_eq!(
            message(json!({ "username": "ann", "nick": 1 })),
            "nick: unknown field; allowed: username, email, phone, password, new_password"
        );
        assert_eq!(
            message(json!({ "username": "ann", "password": "x" })),
            "password: is the current password: send it only with new_password"
        );
        assert_eq!(
            message(json!({ "password": 1, "new_password": "new password" })),
            "password: must be a string"
        );
        assert_eq!(
            message(json!({ "password": "", "new_password": "new password" })),
            "password: must be 1..256 characters"
        );
    }

    #[test]
    fn guard_keys_fold_case_for_username_and_email_only() {
        use AccountField::*;
        assert_eq!(guard_key(Username, "Pretty_Girl"), "USERNAME#pretty_girl");
        assert_eq!(guard_key(Username, "ÖLAF"), guard_key(Username, "ölaf"));
        assert_eq!(
            guard_key(Email, "Pretty_Girl@Fake.COM"),
            "EMAIL#pretty_girl@fake.com"
        );
        assert_eq!(guard_key(Phone, "+8613800138000"), "PHONE#+8613800138000");
        // The same text in two fields never shares a guard.
        assert_ne!(guard_key(Username, "x"), guard_key(Phone, "x"));
    }

    fn account(username: Option<&str>, email: Option<&str>, phone: Option<&str>) -> Account {
        Account {
            username: username.map(Into::into),
            email: email.map(Into::into),
            email_verified: email.is_some(),
            phone: phone.map(Into::into),
            phone_verified: phone.is_some(),
        }
    }

    fn guard(field: AccountField, value: &str) -> Guard {
        Guard {
            field,
            key: guard_key(field, value),
        }
    }

    #[test]
    fn a_plan_claims_new_values_releases_old_ones_and_resets_verification() {
        use AccountField::*;
        let current = account(Some("alice"), Some("a@x.com"), Some("13800138000"));
        // A -> B releases A and claims B; a new email or phone is unverified.
        let plan = ok(json!({ "username": "alice2", "email": "b@x.com", "phone": "+1555000" }))
            .apply(&current);
        assert_eq!(
            plan.claim,
            [
                guard(Username, "alice2"),
                guard(Email, "b@x.com"),
                guard(Phone, "+1555000")
            ]
        );
        assert_eq!(
            plan.release,
            [
                guard(Username, "alice"),
                guard(Email, "a@x.com"),
                guard(Phone, "13800138000")
            ]
        );
        assert_eq!(
            plan.account,
            Account {
                username: Some("alice2".into()),
                email: Some("b@x.com".into()),
                email_verified: false,
                phone: Some("+1555000".into()),
                phone_verified: false,
            }
        );
        // null releases; absent leaves alone.
        let plan = ok(json!({ "email": null })).apply(&current);
        assert_eq!(
            (plan.claim, plan.release),
            (vec![], vec![guard(Email, "a@x.com")])
        );
        assert_eq!(plan.account.email, None);
        assert!(!plan.account.email_verified);
        assert_eq!(plan.account.username.as_deref(), Some("alice"));
        assert!(plan.account.phone_verified);
        // The exact value already held: nothing to do, still verified.
        let plan = ok(json!({ "email": "a@x.com", "phone": "13800138000" })).apply(&current);
        assert_eq!(plan.account, current);
        assert!(plan.claim.is_empty() && plan.release.is_empty());
        // A case change keeps the guard but stores the new spelling, unverified.
        let plan = ok(json!({ "username": "ALICE", "email": "A@X.com" })).apply(&current);
        assert!(plan.claim.is_empty() && plan.release.is_empty());
        assert_eq!(plan.account.username.as_deref(), Some("ALICE"));
        assert_eq!(plan.account.email.as_deref(), Some("A@X.com"));
        assert!(!plan.account.email_verified);
        // From nothing: claims only; clearing nothing: no-op.
        let plan = ok(json!({ "username": "bob", "phone": null })).apply(&Account::default());
        assert_eq!(
            (plan.claim, plan.release),
            (vec![guard(Username, "bob")], vec![])
        );
    }

    #[test]
    fn the_account_view_matches_the_seed_and_shows_null_when_unset() {
        let a = Account {
            email: Some("pretty_girl@fake.com".into()),
            email_verified: false,
            username: Some("pretty_girl".into()),
            phone: Some("13800138000".into()),
            phone_verified: true,
        };
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            r#"{"email":"pretty_girl@fake.com","email_verified":false,"username":"pretty_girl","phone":"13800138000","phone_verified":true}"#
        );
        assert_eq!(
            serde_json::to_value(Account::default()).unwrap(),
            json!({"email": null, "email_verified": false, "username": null, "phone": null, "phone_verified": false})
        );
    }

    #[test]
    fn debug_output_hides_the_password() {
        let update = ok(json!({ "username": "bob", "new_password": "hunter2-secret" }));
        let shown = format!("{update:?}");
        assert!(!shown.contains("hunter2-secret"), "{shown}");
        assert!(shown.contains("Password(***)"), "{shown}");
    }
}
