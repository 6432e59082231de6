//! Configuration from the environment, read once per process in `main`.

use std::fmt;

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
}

/// Client tokens live 7 days unless the request asks otherwise.
pub const TOKEN_DEFAULT_TTL_SECONDS: i64 = 7 * 24 * 3600;
const TOKEN_SECRET_MIN_LEN: usize = 16;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("configuration: {0}")]
pub struct ConfigError(String);

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
        let require_qiniu_date = parse_bool("REQUIRE_QINIU_DATE", lookup("REQUIRE_QINIU_DATE"))?;
        Ok(Config {
            table_name,
            access_keys,
            im_username_prefix,
            date_skew_seconds,
            require_qiniu_date,
            token_secrets,
            token_max_ttl_seconds,
        })
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

fn parse_bool(name: &str, value: Option<String>) -> Result<bool, ConfigError> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(false),
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

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| vars.get(k).cloned())
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
        assert!(!c.require_qiniu_date);
        assert_eq!(c.access_keys.len(), 1);
    }

    #[test]
    fn several_access_keys_are_active_at_once() {
        let c = config(&[
            ("TABLE_NAME", "users"),
            ("ACCESS_KEYS", "old:sk-old, new:sk-new"),
            ("REQUIRE_QINIU_DATE", "true"),
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
        assert!(c.require_qiniu_date);
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
}
