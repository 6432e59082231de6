//! Accounts, the login identity every dialect shares (SPEC "Accounts"): validation of an
//! account change, the guard keys that make values unique, the public view and password
//! hashing. Pure: no HTTP, no DynamoDB (the store writes the guards this module names).

use std::fmt;

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

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

/// The key of the guard item that reserves `value` for one user, e.g. `USERNAME#bob`.
///
/// Usernames and emails are unique case-insensitively, so their keys use Rust's
/// `str::to_lowercase`: the full Unicode lowercase mapping, locale-free and deterministic,
/// so `Bob`, `BOB` and `bob` (or `Ölaf` and `ölaf`) claim one key. That is enough for the
/// contract: what it does not unify (`ß` vs `SS`, precomposed vs decomposed accents) are
/// different strings to this service, each still unique on its own, so the worst case is
/// two look-alike values coexisting, never a guard that lets two users hold one key.
/// Phones are unique as given (SPEC), so their key is the value itself. The prefixes keep
/// guards apart from user items (`USER#...`) and from each other.
pub fn guard_key(field: AccountField, value: &str) -> String {
    match field {
        AccountField::Username => format!("USERNAME#{}", value.to_lowercase()),
        AccountField::Email => format!("EMAIL#{}", value.to_lowercase()),
        AccountField::Phone => format!("PHONE#{value}"),
    }
}

fn validate_username(v: &str) -> ApiResult<()> {
    let field = "username";
    let n = v.chars().count();
    if n == 0 || n > USERNAME_MAX_CHARS {
        return Err(ApiError::invalid(
            field,
            format!("must be 1..{USERNAME_MAX_CHARS} characters (null removes it)"),
        ));
    }
    // Control characters are refused with whitespace: both are invisible in a login name.
    if v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ApiError::invalid(
            field,
            "must not contain whitespace or control characters",
        ));
    }
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

/// Deliberately simple (no RFC 5322 quoting or comments, which no one registers with):
/// at most 254 characters, no whitespace or control characters, exactly one `@` with a
/// non-empty part before it, and a domain of at least two non-empty dot-separated labels.
fn validate_email(v: &str) -> ApiResult<()> {
    let field = "email";
    let n = v.chars().count();
    if n == 0 || n > EMAIL_MAX_CHARS {
        return Err(ApiError::invalid(
            field,
            format!("must be 1..{EMAIL_MAX_CHARS} characters (null removes it)"),
        ));
    }
    if v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ApiError::invalid(
            field,
            "must not contain whitespace or control characters",
        ));
    }
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
        let obj = body
            .as_object()
            .ok_or_else(|| ApiError::invalid("body", "must be a JSON object"))?;
        let mut unknown: Vec<&str> = obj
            .keys()
            .map(String::as_str)
            .filter(|k| !Self::FIELDS.contains(k))
            .collect();
        unknown.sort_unstable();
        if !unknown.is_empty() {
            return Err(ApiError::invalid(
                unknown.join(", "),
                format!("unknown field; allowed: {}", Self::FIELDS.join(", ")),
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

/// argon2id cost, chosen for a Lambda: m = 46 MiB, t = 1, p = 1 (the first line of
/// OWASP's equivalent settings; of those it has the most memory, which is what makes
/// argon2 costly to attack, and the longest run, which fits the target).
///
/// Measured on this project's dev machine (x86_64 AMD EPYC, 2 cores shared with other
/// work), a release build (`opt-level = "s"`, fat LTO, as the workspace profile), one
/// thread, so about Lambda at 1 vCPU (1769 MB); median of 15 hashes, two quiet runs:
///
/// | m (MiB) | t | ms     | OWASP-equivalent |
/// |---------|---|--------|------------------|
/// | 7       | 5 | 37-41  | yes              |
/// | 9       | 4 | 34-38  | yes              |
/// | 12      | 3 | 36-43  | yes              |
/// | 19      | 2 | 37-47  | yes              |
/// | 19      | 3 | 59-62  |                  |
/// | 19      | 4 | 83-84  |                  |
/// | 32      | 2 | 96-98  |                  |
/// | **46**  | **1** | **97-99** | yes     |
/// | 46      | 2 | 148-156 |                 |
/// | 64      | 1 | 131-133 |                 |
///
/// (An earlier run on a busier machine gave 62 ms for 19 MiB/t=2 and 91 ms for 46 MiB/t=1.)
/// Lambda's CPU share scales with memory: ~170 ms at 1024 MB, ~340 ms at 512 MB. Give the
/// hashing function 1769 MB: the hash is CPU-bound, so it costs about the same GB-seconds
/// at any size and answers fastest at a full vCPU. Verification costs the same and reads
/// the parameters from each PHC string, so changing these later keeps old hashes valid.
/// Re-measure with
/// `cargo test --release -p shared --lib account::tests::argon2_cost -- --ignored --nocapture`.
pub const ARGON2_M_COST_KIB: u32 = 46 * 1024;
pub const ARGON2_T_COST: u32 = 1;
pub const ARGON2_P_COST: u32 = 1;

// Checked at compile time, so building the hasher cannot fail at run time.
const ARGON2_PARAMS: Params =
    match Params::new(ARGON2_M_COST_KIB, ARGON2_T_COST, ARGON2_P_COST, None) {
        Ok(p) => p,
        Err(_) => panic!("invalid argon2 parameters"),
    };

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, ARGON2_PARAMS)
}

/// A random 16-byte salt and argon2id: the PHC string to store (`$argon2id$v=19$...`).
pub fn hash_password(password: &str) -> ApiResult<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| ApiError::Internal(format!("password salt: {e}")))?;
    argon2()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| ApiError::Internal(format!("hash password: {e}")))
}

// Test-only: production code counts nothing here.
#[cfg(any(test, feature = "testing"))]
thread_local! {
    static THREAD_VERIFICATIONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Verifications run on the calling thread: a test (one thread per `#[tokio::test]`) reads it
/// to prove that a login for an unknown user runs the same argon2 work as a wrong password.
/// Compiled for tests only (`testing` feature).
#[cfg(any(test, feature = "testing"))]
pub fn password_verifications_on_this_thread() -> u64 {
    THREAD_VERIFICATIONS.with(std::cell::Cell::get)
}

/// Whether `candidate` is the password of `phc`. A malformed PHC string is a mismatch.
pub fn verify_password(phc: &str, candidate: &str) -> bool {
    #[cfg(any(test, feature = "testing"))]
    THREAD_VERIFICATIONS.with(|n| n.set(n.get() + 1));
    match PasswordHash::new(phc) {
        Ok(hash) => argon2()
            .verify_password(candidate.as_bytes(), &hash)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash of a random password no one kept, with the current parameters (a test holds
/// them equal). A sign-in for a user that does not exist verifies against it, so it takes
/// as long as one with a wrong password and cannot tell which users exist.
pub const DUMMY_PASSWORD_HASH: &str = "$argon2id$v=19$m=47104,t=1,p=1$rxwMPv+UBRd2cbNQNasE2w$lcwJHsS/uISN0C0ns+gqn1UzSwU3KH1TlvuEZkvrb3o";

/// [`verify_password`] for a user that may not exist: with no hash it does the same work
/// against [`DUMMY_PASSWORD_HASH`] and answers false.
pub fn verify_password_or_dummy(phc: Option<&str>, candidate: &str) -> bool {
    match phc {
        Some(phc) => verify_password(phc, candidate),
        None => {
            let _ = verify_password(DUMMY_PASSWORD_HASH, candidate);
            false
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
            (
                json!("a b"),
                "username: must not contain whitespace or control characters",
            ),
            (
                json!("a\u{3000}b"),
                "username: must not contain whitespace or control characters",
            ),
            (
                json!("a\u{0}b"),
                "username: must not contain whitespace or control characters",
            ),
            (json!("a@b"), "username: must not contain @"),
            (json!("12345"), "username: must not be all digits"),
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
            (
                "a b@c.com".into(),
                "email: must not contain whitespace or control characters",
            ),
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

    #[test]
    fn passwords_hash_to_argon2id_phc_strings_and_verify() {
        let phc = hash_password("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=47104,t=1,p=1$"), "{phc}");
        assert!(!phc.contains("correct horse"));
        assert!(verify_password(&phc, "correct horse battery"));
        assert!(!verify_password(&phc, "correct horse batterY"));
        assert!(!verify_password(
            "not a phc string",
            "correct horse battery"
        ));
        // Salted: the same password never hashes to the same string twice.
        assert_ne!(phc, hash_password("correct horse battery").unwrap());
        assert!(verify_password_or_dummy(
            Some(&phc),
            "correct horse battery"
        ));
        assert!(!verify_password_or_dummy(None, "correct horse battery"));
        // Every path runs one argon2 verification, the unknown user's too.
        let before = password_verifications_on_this_thread();
        assert!(!verify_password_or_dummy(Some(&phc), "wrong"));
        assert!(!verify_password_or_dummy(None, "wrong"));
        assert_eq!(password_verifications_on_this_thread() - before, 2);
    }

    #[test]
    fn the_dummy_hash_costs_what_a_real_hash_costs() {
        let dummy = PasswordHash::new(DUMMY_PASSWORD_HASH).unwrap();
        let real_phc = hash_password("anything at all").unwrap();
        let real = PasswordHash::new(&real_phc).unwrap();
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.version, real.version);
        assert_eq!(dummy.params, real.params);
    }

    /// Prints the hash time of candidate parameters; run it in release (see
    /// [`ARGON2_M_COST_KIB`]).
    #[test]
    #[ignore = "a measurement, not a check: run in release with --nocapture"]
    fn argon2_cost() {
        let salt = [7u8; 16];
        for (m, t) in [
            (7 * 1024, 5),
            (9 * 1024, 4),
            (12 * 1024, 3),
            (19 * 1024, 2),
            (19 * 1024, 3),
            (19 * 1024, 4),
            (32 * 1024, 2),
            (46 * 1024, 1),
            (46 * 1024, 2),
            (64 * 1024, 1),
        ] {
            let params = Params::new(m, t, 1, None).unwrap();
            let hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
            let mut ms: Vec<f64> = (0..15)
                .map(|_| {
                    let start = std::time::Instant::now();
                    hasher
                        .hash_password_with_salt(b"correct horse battery", &salt)
                        .unwrap();
                    start.elapsed().as_secs_f64() * 1000.0
                })
                .collect();
            ms.sort_by(f64::total_cmp);
            println!("m={} MiB t={t} p=1: median {:.1} ms", m / 1024, ms[7]);
        }
    }
}
