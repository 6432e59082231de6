//! Operator console sessions (SPEC "Operator console"): a signed cookie, its CSRF token and
//! the operator roles.
//!
//! - The session is an HS256 JWT signed by `TOKEN_SECRETS` under a key derived for this one
//!   purpose (HMAC-SHA256 of the secret over [`PURPOSE`]) and carrying `aud: console`: a client
//!   token never verifies as a console session, nor a session as a client token.
//! - Its CSRF token is an HMAC of the session's random id under another derived key, so it is
//!   bound to that session and needs no storage; renewing the cookie keeps the id.
//! - A verified cookie is a [`ConsoleSession`]; only its [`ConsoleSession::confirm`] against the
//!   operator's stored item (role, `sessions_valid_after`) makes an [`Operator`].

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::config::Secret;
use crate::error::{ApiError, ApiResult};

/// The cookie's name.
pub const COOKIE: &str = "console_session";
/// A session's lifetime, renewed while in use (sliding).
pub const SESSION_SECONDS: i64 = 30 * 60;
/// The key derivation label and audience of console sessions.
pub const PURPOSE: &str = "console-session";
const AUDIENCE: &str = "console";
const CSRF_PURPOSE: &str = "console-csrf";

/// The 401 of a request without a valid console session.
pub const NO_SESSION: &str = "console session missing, expired or ended: log in again";

/// What an operator may do; each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads users and their audit records.
    Viewer,
    /// + profile updates and batch updates.
    Editor,
    /// + accounts, passwords, revoke, disable/enable, operators.
    Admin,
}

impl Role {
    pub fn parse(field: &str, value: &str) -> ApiResult<Role> {
        match value {
            "viewer" => Ok(Role::Viewer),
            "editor" => Ok(Role::Editor),
            "admin" => Ok(Role::Admin),
            _ => Err(ApiError::invalid(field, "must be viewer, editor or admin")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }
}

/// A console session's claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleClaims {
    /// The operator's name.
    pub sub: String,
    /// The session's random id (the CSRF token's subject).
    pub sid: String,
    pub aud: String,
    pub exp: i64,
    /// Login time, unix ms: what logout's `sessions_valid_after` compares with.
    pub iat_ms: i64,
}

/// A cookie whose signature and expiry verified; not yet checked against the operator's item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    claims: ConsoleClaims,
}

impl ConsoleSession {
    pub fn operator(&self) -> &str {
        &self.claims.sub
    }

    pub fn claims(&self) -> &ConsoleClaims {
        &self.claims
    }

    /// The operator, when its item still exists (`role`) and was not logged out after this
    /// session began (`sessions_valid_after`, unix ms); else 401.
    pub fn confirm(
        self,
        role: Option<Role>,
        sessions_valid_after: Option<i64>,
    ) -> ApiResult<Operator> {
        let role = role.ok_or(ApiError::Unauthorized(NO_SESSION))?;
        if sessions_valid_after.is_some_and(|after| self.claims.iat_ms < after) {
            return Err(ApiError::Unauthorized(NO_SESSION));
        }
        Ok(Operator {
            session: self,
            role,
        })
    }
}

/// A logged-in operator: its session verified and confirmed against its stored item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    session: ConsoleSession,
    role: Role,
}

impl Operator {
    pub fn name(&self) -> &str {
        self.session.operator()
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn session(&self) -> &ConsoleSession {
        &self.session
    }

    /// 403 unless the operator's role includes `needed`.
    pub fn require(&self, needed: Role) -> ApiResult<()> {
        if self.role >= needed {
            Ok(())
        } else {
            Err(ApiError::Forbidden(match needed {
                Role::Viewer => "this needs an operator role",
                Role::Editor => "this needs the editor or admin role",
                Role::Admin => "this needs the admin role",
            }))
        }
    }
}

/// Signs and verifies console sessions and their CSRF tokens: signs with the first secret,
/// verifies with any (rotation), each under keys derived for the console only.
#[derive(Clone)]
pub struct ConsoleKeys {
    signing: EncodingKey,
    verifying: Vec<DecodingKey>,
    csrf: Vec<[u8; 32]>,
    validation: Validation,
}

impl std::fmt::Debug for ConsoleKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ConsoleKeys({} secrets)", self.verifying.len())
    }
}

fn derive(secret: &[u8], purpose: &str) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(purpose.as_bytes());
    mac.finalize().into_bytes().into()
}

impl ConsoleKeys {
    pub fn new(secrets: &[Secret]) -> Self {
        let derived = |purpose| {
            secrets
                .iter()
                .map(|s| derive(s.expose(), purpose))
                .collect::<Vec<_>>()
        };
        let session = derived(PURPOSE);
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "aud"]);
        validation.set_audience(&[AUDIENCE]);
        validation.leeway = 0;
        ConsoleKeys {
            signing: EncodingKey::from_secret(session.first().map_or(&[][..], |k| &k[..])),
            verifying: session
                .iter()
                .map(|k| DecodingKey::from_secret(k))
                .collect(),
            csrf: derived(CSRF_PURPOSE),
            validation,
        }
    }

    /// A new session for `operator`, logged in at `now_ms`, with a fresh random id.
    pub fn start(&self, operator: &str, now_ms: i64) -> ApiResult<(String, ConsoleSession)> {
        let mut id = [0u8; 18];
        getrandom::fill(&mut id).map_err(|e| ApiError::Internal(format!("random: {e}")))?;
        let claims = ConsoleClaims {
            sub: operator.to_string(),
            sid: URL_SAFE_NO_PAD.encode(id),
            aud: AUDIENCE.to_string(),
            exp: now_ms / 1000 + SESSION_SECONDS,
            iat_ms: now_ms,
        };
        self.renew(&ConsoleSession { claims }, now_ms / 1000)
    }

    /// The same session (id, login time) with a fresh lifetime from `now`.
    pub fn renew(&self, session: &ConsoleSession, now: i64) -> ApiResult<(String, ConsoleSession)> {
        let mut claims = session.claims.clone();
        claims.exp = now + SESSION_SECONDS;
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.signing)
            .map_err(|e| ApiError::Internal(format!("sign console session: {e}")))?;
        Ok((token, ConsoleSession { claims }))
    }

    /// The session of a cookie value: signature (any secret), audience and expiry; else 401.
    pub fn verify(&self, token: &str) -> ApiResult<ConsoleSession> {
        match jsonwebtoken::decode_header(token) {
            Ok(header) if header.alg == Algorithm::HS256 => {}
            _ => return Err(ApiError::Unauthorized(NO_SESSION)),
        }
        for key in &self.verifying {
            match jsonwebtoken::decode::<ConsoleClaims>(token, key, &self.validation) {
                Ok(data) => {
                    return Ok(ConsoleSession {
                        claims: data.claims,
                    });
                }
                Err(e) if *e.kind() == ErrorKind::InvalidSignature => continue,
                Err(_) => break,
            }
        }
        Err(ApiError::Unauthorized(NO_SESSION))
    }

    /// The CSRF token of `session` (under the first secret).
    pub fn csrf_token(&self, session: &ConsoleSession) -> String {
        let key = self.csrf.first().map_or(&[][..], |k| &k[..]);
        URL_SAFE_NO_PAD.encode(csrf_mac(key, &session.claims.sid).finalize().into_bytes())
    }

    /// Whether `presented` is `session`'s CSRF token under any secret (constant time).
    pub fn csrf_matches(&self, session: &ConsoleSession, presented: &str) -> bool {
        let Ok(tag) = URL_SAFE_NO_PAD.decode(presented.trim()) else {
            return false;
        };
        self.csrf.iter().any(|key| {
            csrf_mac(key, &session.claims.sid)
                .verify_slice(&tag)
                .is_ok()
        })
    }
}

fn csrf_mac(key: &[u8], sid: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(sid.as_bytes());
    mac
}

/// The `Set-Cookie` value of a session `token` (empty with `max_age` 0: the cookie cleared).
pub fn set_cookie(token: &str, max_age: i64) -> String {
    format!("{COOKIE}={token}; HttpOnly; SameSite=Strict; Secure; Path=/; Max-Age={max_age}")
}

/// The console cookie's value in a `Cookie` header, if any.
pub fn cookie_value(cookie_header: &str) -> Option<&str> {
    cookie_header.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name.trim() == COOKIE && !value.trim().is_empty()).then(|| value.trim())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::{Claims, TokenKeys};

    fn secrets(s: &[&str]) -> Vec<Secret> {
        s.iter().map(|s| Secret::new(s.as_bytes())).collect()
    }

    #[test]
    fn a_session_verifies_renews_and_binds_its_csrf_token() {
        let keys = ConsoleKeys::new(&secrets(&["secret-secret-secret"]));
        let now_ms = crate::clock::now_ms();
        let (token, session) = keys.start("ops", now_ms).unwrap();
        let verified = keys.verify(&token).unwrap();
        assert_eq!(verified, session);
        let csrf = keys.csrf_token(&session);
        assert!(keys.csrf_matches(&verified, &csrf));
        let (renewed, again) = keys.renew(&session, now_ms / 1000 + 60).unwrap();
        assert!(keys.csrf_matches(&keys.verify(&renewed).unwrap(), &csrf));
        assert_eq!(again.claims().iat_ms, now_ms);
        // Another session's token is not this one's.
        let (_, other) = keys.start("ops", now_ms).unwrap();
        assert!(!keys.csrf_matches(&other, &csrf));
        assert!(!keys.csrf_matches(&session, "not-base64!"));
        // Rotation: a new first secret still verifies the old session and its CSRF token.
        let rotated = ConsoleKeys::new(&secrets(&["another-secret-000", "secret-secret-secret"]));
        assert!(rotated.csrf_matches(&rotated.verify(&token).unwrap(), &csrf));
    }

    #[test]
    fn client_tokens_and_console_sessions_never_pass_for_each_other() {
        let s = secrets(&["secret-secret-secret"]);
        let (console, client) = (ConsoleKeys::new(&s), TokenKeys::new(&s));
        let claims = Claims {
            app_id: "app".into(),
            user_id: "u1".into(),
            device_id: String::new(),
            role: "user".into(),
            exp: crate::clock::now() + 600,
            iat: 0,
            iat_ms: 0,
        };
        let token = client.sign(&claims).unwrap();
        assert_eq!(
            console.verify(&token),
            Err(ApiError::Unauthorized(NO_SESSION))
        );
        let (session, _) = console.start("ops", crate::clock::now_ms()).unwrap();
        assert!(client.session(&session).is_err());
    }

    #[test]
    fn confirm_checks_the_item_and_roles_include_the_lower_ones() {
        let keys = ConsoleKeys::new(&secrets(&["secret-secret-secret"]));
        let (_, session) = keys.start("ops", 5_000).unwrap();
        assert!(session.clone().confirm(None, None).is_err());
        assert!(
            session
                .clone()
                .confirm(Some(Role::Admin), Some(5_001))
                .is_err()
        );
        let editor = session.confirm(Some(Role::Editor), Some(5_000)).unwrap();
        assert!(editor.require(Role::Viewer).is_ok());
        assert!(editor.require(Role::Editor).is_ok());
        assert!(matches!(
            editor.require(Role::Admin),
            Err(ApiError::Forbidden(_))
        ));
    }

    #[test]
    fn the_cookie_is_read_among_others_and_set_with_its_attributes() {
        assert_eq!(
            cookie_value("a=1; console_session=t.k.n; b=2"),
            Some("t.k.n")
        );
        assert_eq!(cookie_value("a=1"), None);
        assert_eq!(
            set_cookie("x", 1800),
            "console_session=x; HttpOnly; SameSite=Strict; Secure; Path=/; Max-Age=1800"
        );
    }
}
