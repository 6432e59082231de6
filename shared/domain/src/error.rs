//! The one error type of the API, and the one place it becomes an HTTP status and a code.

/// Everything a request can fail with. Each variant maps to exactly one (HTTP status, code)
/// pair of the Qiniu envelope in [`ApiError::status`] / [`ApiError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// Malformed JSON, a missing or invalid field, a limit exceeded. The message names the
    /// field and the rule.
    #[error("{0}")]
    Invalid(String),
    #[error("user already exists: {0}")]
    UserExists(String),
    /// Missing, malformed or wrong credentials. The message says what failed, never a secret.
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("token expired")]
    TokenExpired,
    /// Authenticated (or anonymous) but not allowed: the message says what is refused.
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("request time skew too large")]
    TimeSkew,
    #[error("user not found: {0}")]
    UserNotFound(String),
    /// A path or method this service does not serve (404): the message says which.
    #[error("{0}")]
    NotServed(String),
    /// A per-caller limit refused the attempt before any work was done (429, with
    /// `Retry-After`). The message says only when to try again: the same for a name nobody
    /// holds as for a real account.
    #[error("{0}")]
    TooManyAttempts(Limited),
    /// DynamoDB still throttling (or unreachable) after the SDK's own retries.
    #[error("service busy, retry later")]
    Busy(String),
    /// A bug or an unexpected storage answer. The detail goes to the logs only.
    #[error("internal error")]
    Internal(String),
}

pub type ApiResult<T> = Result<T, ApiError>;

/// What a limit that refused an attempt tells the caller (when to try again) and the logs and
/// audit trail (which limit it was).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    /// Which limit: `login` (per login identifier), `login_ip`, `signup_ip` or `lookup_ip`.
    pub limit: &'static str,
    /// Seconds until the limit's window frees (at least 1): the `Retry-After` header.
    pub retry_after: i64,
}

impl std::fmt::Display for Limited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Too many attempts: try again in {} seconds.",
            self.retry_after
        )
    }
}

impl ApiError {
    /// Shorthand for a 400 whose message names the field and the rule.
    pub fn invalid(field: impl std::fmt::Display, rule: impl std::fmt::Display) -> Self {
        ApiError::Invalid(format!("{field}: {rule}"))
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::Invalid(_) | ApiError::UserExists(_) => 400,
            ApiError::Unauthorized(_) | ApiError::TokenExpired => 401,
            ApiError::TimeSkew | ApiError::Forbidden(_) => 403,
            ApiError::UserNotFound(_) | ApiError::NotServed(_) => 404,
            ApiError::TooManyAttempts(_) => 429,
            ApiError::Busy(_) => 503,
            ApiError::Internal(_) => 500,
        }
    }

    pub fn code(&self) -> u32 {
        match self {
            ApiError::UserExists(_) => 10001,
            ApiError::TokenExpired => 499,
            other => u32::from(other.status()),
        }
    }

    /// A stable, secret-free name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            ApiError::Invalid(_) => "invalid",
            ApiError::UserExists(_) => "user_exists",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::TokenExpired => "token_expired",
            ApiError::TimeSkew => "time_skew",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::UserNotFound(_) => "user_not_found",
            ApiError::NotServed(_) => "not_served",
            ApiError::TooManyAttempts(_) => "too_many_attempts",
            ApiError::Busy(_) => "busy",
            ApiError::Internal(_) => "internal",
        }
    }

    /// Seconds a refused caller should wait (`Retry-After`), for a limit's 429 only.
    pub fn retry_after(&self) -> Option<i64> {
        match self {
            ApiError::TooManyAttempts(limited) => Some(limited.retry_after),
            _ => None,
        }
    }

    /// Detail for the logs of errors whose public message hides it.
    pub fn detail(&self) -> Option<&str> {
        match self {
            ApiError::Busy(d) | ApiError::Internal(d) => Some(d),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_maps_to_the_documented_status_and_code() {
        let table = [
            (
                ApiError::invalid("nick", "too long"),
                400,
                400,
                "nick: too long",
            ),
            (
                ApiError::UserExists("u1".into()),
                400,
                10001,
                "user already exists: u1",
            ),
            (
                ApiError::Unauthorized("bad signature"),
                401,
                401,
                "bad signature",
            ),
            (ApiError::TokenExpired, 401, 499, "token expired"),
            (ApiError::TimeSkew, 403, 403, "request time skew too large"),
            (
                ApiError::UserNotFound("u2".into()),
                404,
                404,
                "user not found: u2",
            ),
            (
                ApiError::NotServed("POST /hserve/v2.0/user/password/reset/ is not served".into()),
                404,
                404,
                "POST /hserve/v2.0/user/password/reset/ is not served",
            ),
            (
                ApiError::TooManyAttempts(Limited {
                    limit: "login",
                    retry_after: 42,
                }),
                429,
                429,
                "Too many attempts: try again in 42 seconds.",
            ),
            (
                ApiError::Busy("throttled".into()),
                503,
                503,
                "service busy, retry later",
            ),
            (
                ApiError::Internal("boom".into()),
                500,
                500,
                "internal error",
            ),
        ];
        for (err, status, code, message) in table {
            assert_eq!((err.status(), err.code()), (status, code), "{err:?}");
            assert_eq!(err.to_string(), message);
        }
    }

    #[test]
    fn internal_detail_stays_out_of_the_message() {
        let err = ApiError::Internal("table users-prod missing".into());
        assert!(!err.to_string().contains("users-prod"));
        assert_eq!(err.detail(), Some("table users-prod missing"));
    }
}
