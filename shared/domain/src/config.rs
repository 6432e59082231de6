//! Configuration from the environment, read once per process in `main`.

use std::fmt;

use crate::limits::{Limit, Limits};

/// Bytes that must never be printed: `Debug` shows only that something is there.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Secret(bytes.into())
    }
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// One active Qiniu access key. Several may be active at once (rotation).
#[derive(Clone, Debug)]
pub struct AccessKey {
    pub access_key: String,
    pub secret_key: Secret,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub table_name: String,
    pub access_keys: Vec<AccessKey>,
    pub im_username_prefix: String,
    /// How far `X-Qiniu-Date` may be from now, in seconds.
    pub date_skew_seconds: i64,
    /// Reject signed requests without `X-Qiniu-Date`.
    pub require_qiniu_date: bool,
    /// Client token secrets: the first signs, any verifies.
    pub token_secrets: Vec<Secret>,
    /// The furthest `expires_at` a token request may ask for, in seconds from now.
    pub token_max_ttl_seconds: i64,
    /// Open the DynamoDB connection during init (one read) so the first request need not.
    pub warm_up_on_init: bool,
    /// Deepin's `/v1/users` lookups are public, as documented; `false` asks for a client
    /// token or a server signature.
    pub deepin_public_lookup: bool,
    /// The app this deployment serves (`APP_ID`): the `AppId` of every token that sign-up and
    /// login issue, and the client ID MinApp's SDKs send as `X-Hydrogen-Client-ID`.
    pub app_id: String,
    /// Anyone may sign up through MinApp's register endpoints (`PUBLIC_SIGNUP`, as MinApp).
    pub public_signup: bool,
    /// MinApp's typed custom fields (`USER_FIELDS`: `level:integer,tags:array,...`).
    /// Checked by `profile::UserFields::parse` where the configuration is put to use
    /// (configuration is ground: it knows no domain type).
    pub user_fields: String,
    /// The most users one MinApp listing or batch update may examine before it answers 400.
    pub list_max_examined: usize,
    /// Per-caller limits of logins, sign-ups and anonymous lookups ([`Limits`]).
    pub limits: Limits,
    /// The region a phone without `+` is read in (`PHONE_DEFAULT_REGION`, default `CN`).
    /// Checked by `account::AccountRules::new` where the configuration is put to use.
    pub phone_default_region: String,
    /// How long audit records are kept (`AUDIT_TTL_DAYS`): DynamoDB's TTL deletes them then.
    pub audit_ttl_days: i64,
    /// The web origins whose pages may call the API from a browser (`CORS_ALLOW_ORIGINS`).
    pub cors_allow_origins: AllowedOrigins,
}

/// `CORS_ALLOW_ORIGINS`: comma-separated exact origins (`https://app.example.com`,
/// `http://127.0.0.1:19531`), or `*` for any. Empty (the default): no browser page on another
/// origin may call the API, which is what an API without a web app needs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowedOrigins {
    any: bool,
    exact: Vec<String>,
}

impl AllowedOrigins {
    pub fn parse(raw: &str) -> Result<Self, ConfigError> {
        let mut allowed = AllowedOrigins::default();
        for origin in raw.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            if origin == "*" {
                allowed.any = true;
                continue;
            }
            // Browsers send `scheme://host[:port]`, nothing more: anything else would never match.
            let rest = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            let host_port_only = rest.is_some_and(|r| {
                !r.is_empty()
                    && !r.contains(['/', '?', '#', '@', ' '])
                    && r == r.to_ascii_lowercase()
            });
            if !host_port_only {
                return Err(ConfigError(format!(
                    "CORS_ALLOW_ORIGINS: {origin:?} is not an origin (scheme://host[:port], lower case, no path)"
                )));
            }
            allowed.exact.push(origin.to_string());
        }
        Ok(allowed)
    }

    /// Whether any origin is allowed at all (responses then vary by `Origin`).
    pub fn is_empty(&self) -> bool {
        !self.any && self.exact.is_empty()
    }

    /// The `Access-Control-Allow-Origin` value for a request from `origin`, if it is allowed.
    pub fn allow(&self, origin: &str) -> Option<String> {
        if self.exact.iter().any(|o| o == origin) {
            Some(origin.to_string())
        } else if self.any {
            Some("*".to_string())
        } else {
            None
        }
    }
}

/// Audit records live 180 days unless `AUDIT_TTL_DAYS` says otherwise.
pub const AUDIT_TTL_DAYS_DEFAULT: i64 = 180;

/// Users a listing may examine unless `LIST_MAX_EXAMINED` says otherwise: a read of every
/// match in large pages stays well inside the request budget at this size.
pub const LIST_MAX_EXAMINED_DEFAULT: usize = 20_000;

/// Where and as whom the DynamoDB client connects: the variables Lambda sets for every
/// function (`AWS_REGION` and the execution role's `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), plus `AWS_ENDPOINT_URL_DYNAMODB` (or
/// `AWS_ENDPOINT_URL`) for DynamoDB Local or LocalStack. Read directly rather than through
/// aws-config's default chain (profiles, SSO, STS, IMDS): on Lambda the chain ends at these
/// variables anyway, and its code would be loaded at every cold start for nothing.
#[derive(Clone, Debug)]
pub struct AwsEnvironment {
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub session_token: Option<Secret>,
    pub endpoint_url: Option<String>,
}

impl AwsEnvironment {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let set = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let region = set("AWS_REGION")
            .or_else(|| set("AWS_DEFAULT_REGION"))
            .ok_or_else(|| ConfigError("AWS_REGION is required (Lambda sets it)".into()))?;
        let (Some(access_key_id), Some(secret)) =
            (set("AWS_ACCESS_KEY_ID"), set("AWS_SECRET_ACCESS_KEY"))
        else {
            return Err(ConfigError(
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are required (Lambda sets them \
                 from the function's role; locally any value works with DynamoDB Local)"
                    .into(),
            ));
        };
        Ok(AwsEnvironment {
            region,
            access_key_id,
            secret_access_key: Secret::new(secret),
            session_token: set("AWS_SESSION_TOKEN").map(Secret::new),
            endpoint_url: set("AWS_ENDPOINT_URL_DYNAMODB").or_else(|| set("AWS_ENDPOINT_URL")),
        })
    }
}

/// The app id of a deployment that names none.
pub const APP_ID_DEFAULT: &str = "app";

/// Client tokens live 7 days unless the request asks otherwise.
pub const TOKEN_DEFAULT_TTL_SECONDS: i64 = 7 * 24 * 3600;
const TOKEN_SECRET_MIN_LEN: usize = 16;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let table_name = lookup("TABLE_NAME")
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| ConfigError("TABLE_NAME is required".into()))?;
        let access_keys = parse_access_keys(&lookup("ACCESS_KEYS").unwrap_or_default())?;
        let im_username_prefix = lookup("IM_USERNAME_PREFIX").unwrap_or_else(|| "ql".into());
        let date_skew_seconds = positive(&lookup, "DATE_SKEW_SECONDS", 900)?;
        let token_max_ttl_seconds = positive(&lookup, "TOKEN_MAX_TTL_SECONDS", 30 * 24 * 3600)?;
        let token_secrets = parse_token_secrets(&lookup("TOKEN_SECRETS").unwrap_or_default())?;
        let require_qiniu_date =
            parse_bool("REQUIRE_QINIU_DATE", lookup("REQUIRE_QINIU_DATE"), true)?;
        let warm_up_on_init = parse_bool("WARM_UP_ON_INIT", lookup("WARM_UP_ON_INIT"), true)?;
        let deepin_public_lookup =
            parse_bool("DEEPIN_PUBLIC_LOOKUP", lookup("DEEPIN_PUBLIC_LOOKUP"), true)?;
        let user_fields = lookup("USER_FIELDS").unwrap_or_default();
        let app_id = lookup("APP_ID").unwrap_or_else(|| APP_ID_DEFAULT.into());
        if app_id.is_empty() || app_id.len() > 128 || !app_id.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(ConfigError(
                "APP_ID must be 1..128 visible ASCII characters".into(),
            ));
        }
        let public_signup = parse_bool("PUBLIC_SIGNUP", lookup("PUBLIC_SIGNUP"), true)?;
        let list_max_examined = usize::try_from(positive(
            &lookup,
            "LIST_MAX_EXAMINED",
            LIST_MAX_EXAMINED_DEFAULT as i64,
        )?)
        .map_err(|_| ConfigError("LIST_MAX_EXAMINED is too large".into()))?;
        let defaults = Limits::default();
        let limits = Limits {
            login: limit(&lookup, "LOGIN_LIMIT", defaults.login)?,
            login_ip: limit(&lookup, "LOGIN_IP_LIMIT", defaults.login_ip)?,
            signup_ip: limit(&lookup, "SIGNUP_IP_LIMIT", defaults.signup_ip)?,
            lookup_ip: limit(&lookup, "LOOKUP_IP_LIMIT", defaults.lookup_ip)?,
        };
        let phone_default_region = lookup("PHONE_DEFAULT_REGION")
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| "CN".into());
        let audit_ttl_days = positive(&lookup, "AUDIT_TTL_DAYS", AUDIT_TTL_DAYS_DEFAULT)?;
        let cors_allow_origins =
            AllowedOrigins::parse(&lookup("CORS_ALLOW_ORIGINS").unwrap_or_default())?;
        Ok(Config {
            cors_allow_origins,
            audit_ttl_days,
            limits,
            phone_default_region,
            table_name,
            access_keys,
            im_username_prefix,
            date_skew_seconds,
            require_qiniu_date,
            token_secrets,
            token_max_ttl_seconds,
            warm_up_on_init,
            deepin_public_lookup,
            app_id,
            public_signup,
            user_fields,
            list_max_examined,
        })
    }
}

/// `max/window_seconds` (e.g. `5/900`), both positive.
fn limit(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: Limit,
) -> Result<Limit, ConfigError> {
    match lookup(name) {
        None => Ok(default),
        Some(v) => Limit::parse(&v).ok_or_else(|| {
            ConfigError(format!(
                "{name} must be attempts/seconds, both positive (e.g. {default})"
            ))
        }),
    }
}

fn positive(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: i64,
) -> Result<i64, ConfigError> {
    match lookup(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|s| *s > 0)
            .ok_or_else(|| ConfigError(format!("{name} must be a positive integer"))),
    }
}

/// Comma-separated; each at least 16 characters. Errors name the position, never the value.
fn parse_token_secrets(raw: &str) -> Result<Vec<Secret>, ConfigError> {
    let mut secrets = Vec::new();
    for (i, secret) in raw.split(',').map(str::trim).enumerate() {
        if secret.is_empty() {
            continue;
        }
        if secret.len() < TOKEN_SECRET_MIN_LEN {
            return Err(ConfigError(format!(
                "TOKEN_SECRETS entry {} must be at least {TOKEN_SECRET_MIN_LEN} characters",
                i + 1
            )));
        }
        secrets.push(Secret::new(secret.as_bytes()));
    }
    if secrets.is_empty() {
        return Err(ConfigError(
            "TOKEN_SECRETS needs at least one secret".into(),
        ));
    }
    Ok(secrets)
}

fn parse_bool(name: &str, value: Option<String>, default: bool) -> Result<bool, ConfigError> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(default),
        Some(v) if v.eq_ignore_ascii_case("true") || v == "1" => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") || v == "0" => Ok(false),
        Some(_) => Err(ConfigError(format!("{name} must be true or false"))),
    }
}

/// `ak:sk[,ak:sk...]`. The error names the position, never the value (it holds secrets).
fn parse_access_keys(raw: &str) -> Result<Vec<AccessKey>, ConfigError> {
    let mut keys = Vec::new();
    for (i, pair) in raw.split(',').map(str::trim).enumerate() {
        if pair.is_empty() {
            continue;
        }
        match pair.split_once(':') {
            Some((ak, sk)) if !ak.is_empty() && !sk.is_empty() => keys.push(AccessKey {
                access_key: ak.to_string(),
                secret_key: Secret::new(sk.as_bytes()),
            }),
            _ => {
                return Err(ConfigError(format!(
                    "ACCESS_KEYS entry {} is not of the form ak:sk",
                    i + 1
                )));
            }
        }
    }
    if keys.is_empty() {
        return Err(ConfigError(
            "ACCESS_KEYS needs at least one ak:sk pair".into(),
        ));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const TS: &str = "token-secret-0123456789";

    /// An environment of exactly `vars`, as a lookup.
    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| vars.get(k).cloned()
    }

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(env(vars))
    }

    #[test]
    fn defaults_apply_when_optional_variables_are_absent() {
        let c = config(&[
            ("TABLE_NAME", "users"),
            ("ACCESS_KEYS", "ak1:sk1"),
            ("TOKEN_SECRETS", TS),
        ])
        .unwrap();
        assert_eq!(c.im_username_prefix, "ql");
        assert_eq!(c.token_max_ttl_seconds, 30 * 24 * 3600);
        assert_eq!(c.date_skew_seconds, 900);
        // A signature without a signed date could be replayed forever: required unless opted out.
        assert!(c.require_qiniu_date);
        assert!(c.warm_up_on_init);
        assert_eq!(c.access_keys.len(), 1);
        assert_eq!(c.limits, Limits::default());
        assert_eq!(c.app_id, "app");
        assert!(c.public_signup);
        assert_eq!(c.audit_ttl_days, AUDIT_TTL_DAYS_DEFAULT);
    }

    #[test]
    fn the_app_id_is_sane_sign_up_can_be_switched_off_and_audit_records_expire() {
        let base = [
            ("TABLE_NAME", "users"),
            ("ACCESS_KEYS", "ak1:sk1"),
            ("TOKEN_SECRETS", TS),
        ];
        let with = |extra: &[(&'static str, &'static str)]| config(&[&base[..], extra].concat());
        let c = with(&[("APP_ID", "my-app"), ("PUBLIC_SIGNUP", "false")]).unwrap();
        assert_eq!(c.app_id, "my-app");
        assert!(!c.public_signup);
        for bad in ["", "two words", "\u{e9}t\u{e9}"] {
            let err = with(&[("APP_ID", bad)]).unwrap_err();
            assert!(err.0.contains("APP_ID"), "{err}");
        }
        assert_eq!(
            with(&[("AUDIT_TTL_DAYS", "30")]).unwrap().audit_ttl_days,
            30
        );
        for bad in ["0", "-1", "x"] {
            assert!(with(&[("AUDIT_TTL_DAYS", bad)]).is_err(), "{bad}");
        }
    }

    #[test]
    fn limits_are_attempts_per_window_and_malformed_ones_are_named() {
        let base = [
            ("TABLE_NAME", "t"),
            ("ACCESS_KEYS", "a:b"),
            ("TOKEN_SECRETS", TS),
        ];
        let with = |name, value| {
            let mut vars = base.to_vec();
            vars.push((name, value));
            config(&vars)
        };
        let c = with("LOOKUP_IP_LIMIT", "100000/60").unwrap();
        assert_eq!(c.limits.lookup_ip, Limit::new(100_000, 60));
        assert_eq!(c.limits.login, Limit::new(5, 900));
        for name in [
            "LOGIN_LIMIT",
            "LOGIN_IP_LIMIT",
            "SIGNUP_IP_LIMIT",
            "LOOKUP_IP_LIMIT",
        ] {
            let err = with(name, "5").unwrap_err().to_string();
            assert!(err.contains(name), "{err}");
        }
    }

    #[test]
    fn several_access_keys_are_active_at_once() {
        let c = config(&[
            ("TABLE_NAME", "users"),
            ("ACCESS_KEYS", "old:sk-old, new:sk-new"),
            ("REQUIRE_QINIU_DATE", "false"),
            ("WARM_UP_ON_INIT", "false"),
            ("DATE_SKEW_SECONDS", "60"),
            (
                "TOKEN_SECRETS",
                "first-secret-0123456, second-secret-0123456",
            ),
        ])
        .unwrap();
        let aks: Vec<_> = c
            .access_keys
            .iter()
            .map(|k| k.access_key.as_str())
            .collect();
        assert_eq!(aks, ["old", "new"]);
        assert_eq!(c.access_keys[1].secret_key.expose(), b"sk-new");
        assert!(!c.require_qiniu_date);
        assert!(!c.warm_up_on_init);
        assert_eq!(c.date_skew_seconds, 60);
        assert_eq!(c.token_secrets.len(), 2);
        assert_eq!(c.token_secrets[0].expose(), b"first-secret-0123456");
    }

    #[test]
    fn token_secrets_are_required_and_long_enough() {
        let base = [("TABLE_NAME", "t"), ("ACCESS_KEYS", "a:b")];
        assert!(
            config(&base)
                .unwrap_err()
                .to_string()
                .contains("TOKEN_SECRETS")
        );
        let short = config(&[base[0], base[1], ("TOKEN_SECRETS", "shortsecret")]).unwrap_err();
        assert!(short.to_string().contains("entry 1 must be at least 16"));
        assert!(!short.to_string().contains("shortsecret"));
    }

    #[test]
    fn malformed_access_keys_are_refused_without_echoing_them() {
        let err = config(&[
            ("TABLE_NAME", "t"),
            ("ACCESS_KEYS", "ak1:sk1,topsecretnocolon"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("entry 2"));
        assert!(!err.to_string().contains("topsecret"));
        assert!(config(&[("TABLE_NAME", "t")]).is_err());
        assert!(config(&[("ACCESS_KEYS", "a:b")]).is_err());
    }

    #[test]
    fn debug_output_hides_secret_keys() {
        let c = config(&[
            ("TABLE_NAME", "t"),
            ("ACCESS_KEYS", "ak1:verysecret"),
            ("TOKEN_SECRETS", TS),
        ])
        .unwrap();
        let shown = format!("{c:?}");
        assert!(shown.contains("ak1"));
        assert!(!shown.contains("verysecret") && !shown.contains(TS));
    }

    fn aws(vars: &[(&str, &str)]) -> Result<AwsEnvironment, ConfigError> {
        AwsEnvironment::from_lookup(env(vars))
    }

    #[test]
    fn the_sdk_client_is_configured_from_the_variables_lambda_sets() {
        let env = aws(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "role-secret-key"),
            ("AWS_SESSION_TOKEN", "role-session-token"),
        ])
        .unwrap();
        assert_eq!(env.region, "eu-west-1");
        assert_eq!(env.access_key_id, "ASIAEXAMPLE");
        assert_eq!(
            env.session_token.as_ref().unwrap().expose(),
            b"role-session-token"
        );
        assert_eq!(env.endpoint_url, None);
        let shown = format!("{env:?}");
        assert!(!shown.contains("role-secret-key") && !shown.contains("role-session-token"));
    }

    #[test]
    fn a_local_endpoint_and_the_default_region_are_honoured() {
        let env = aws(&[
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "local"),
            ("AWS_SECRET_ACCESS_KEY", "local"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000"),
        ])
        .unwrap();
        assert_eq!(env.region, "us-east-1");
        assert_eq!(env.endpoint_url.as_deref(), Some("http://127.0.0.1:8000"));
        assert!(env.session_token.is_none());
    }

    #[test]
    fn missing_region_or_credentials_are_named() {
        let err = aws(&[("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", "b")]).unwrap_err();
        assert!(err.to_string().contains("AWS_REGION"));
        let err = aws(&[("AWS_REGION", "us-east-1"), ("AWS_ACCESS_KEY_ID", "a")]).unwrap_err();
        assert!(err.to_string().contains("AWS_SECRET_ACCESS_KEY"));
    }

    #[test]
    fn cors_origins_are_exact_and_none_by_default() {
        let c = Config::from_lookup(env(&[
            ("TABLE_NAME", "t"),
            ("ACCESS_KEYS", "ak:sk"),
            ("TOKEN_SECRETS", TS),
        ]))
        .unwrap();
        assert!(c.cors_allow_origins.is_empty());
        assert_eq!(c.cors_allow_origins.allow("http://127.0.0.1:19531"), None);

        let two = AllowedOrigins::parse("https://app.example.com, http://127.0.0.1:19531").unwrap();
        assert_eq!(
            two.allow("http://127.0.0.1:19531").as_deref(),
            Some("http://127.0.0.1:19531")
        );
        // Exact: no prefix, suffix, scheme or port games.
        for other in [
            "http://127.0.0.1:1953",
            "https://127.0.0.1:19531",
            "https://app.example.com.evil.test",
            "https://evil.app.example.com",
            "null",
        ] {
            assert_eq!(two.allow(other), None, "{other}");
        }
        assert_eq!(
            AllowedOrigins::parse("*")
                .unwrap()
                .allow("https://x.test")
                .as_deref(),
            Some("*")
        );
        for bad in [
            "app.example.com",
            "https://app.example.com/",
            "https://App.example.com",
        ] {
            let err = AllowedOrigins::parse(bad).unwrap_err();
            assert!(err.0.contains("CORS_ALLOW_ORIGINS"), "{bad}: {}", err.0);
        }
    }
}
