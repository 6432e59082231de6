//! The operator console's operations (SPEC "Operator console"): operators log in and out, and
//! admins revoke, disable and enable users and manage operators.
//!
//! - **Login** counts against the same limits as an app user's (`LOGIN_IP_LIMIT` per source
//!   IP, `LOGIN_LIMIT` per identifier, here `OPERATOR#<name>`), before anything is read, then
//!   verifies with argon2id (a dummy hash for an unknown name: the same work and the same 401).
//!   Each attempt is an audit record (`operator_login`, success or failure) in the
//!   identifier's partition (`LOGIN#OPERATOR#<name>`). Round trips: UpdateItem x2 (limits),
//!   GetItem of the operator, PutItem of the record (a success also gives its attempt back).
//! - **Sessions**: [`crate::auth::console`]; a request with the cookie costs one GetItem of the
//!   operator (its role now, and logout's `sessions_valid_after`), so a demoted or removed
//!   operator, or a logged-out session, stops at once rather than at the cookie's expiry.
//! - **Users**: revoke (`tokens_valid_after` now, `tokens_kept` removed), disable (optionally
//!   until a time) and enable, each one conditioned UpdateItem and an audit record in the
//!   user's partition naming the operator.

use std::net::IpAddr;

use serde::Serialize;
use serde_json::Value;

use crate::account::{AccountField, Password, hash_password, verify_password_or_dummy};
use crate::audit::{Event, Subject};
use crate::auth::console::{ConsoleKeys, ConsoleSession, Operator, Role, SESSION_SECONDS};
use crate::clock::{now, now_ms};
use crate::error::{ApiError, ApiResult};
use crate::limits::Counter;
use crate::store::operators::StoredOperator;
use crate::users::Users;
use crate::views::MinAppUser;

/// The 401 of a wrong operator name or password (the same for both).
pub const WRONG_CREDENTIALS: &str = "wrong operator name or password";

/// What the console's session endpoints answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionView {
    pub username: String,
    pub role: Role,
    pub csrf_token: String,
    pub expires_in: i64,
}

/// An operator as the operators endpoints show one (never its hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperatorView {
    pub username: String,
    pub role: Role,
    pub created_at: i64,
}

impl From<&StoredOperator> for OperatorView {
    fn from(o: &StoredOperator) -> Self {
        OperatorView {
            username: o.operator_name.clone(),
            role: o.role,
            created_at: o.created_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Operators {
    pub objects: Vec<OperatorView>,
}

/// `{"disabled": bool, "until"?: unix seconds | null}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DisabledView {
    pub disabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<Option<i64>>,
}

/// An empty JSON object: `{}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Done {}

/// 1..64 ASCII letters, digits and `._@-`: an operator's name, safe in a key and a log line.
pub fn operator_name(field: &str, value: Option<&Value>) -> ApiResult<String> {
    let name = value
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid(field, "a string is required"))?;
    let valid = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b));
    if valid {
        Ok(name.to_string())
    } else {
        Err(ApiError::invalid(
            field,
            "must be 1..64 ASCII letters, digits or . _ @ -",
        ))
    }
}

fn role_of(body: &Value) -> ApiResult<Role> {
    let value = body
        .get("role")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid("role", "viewer, editor or admin is required"))?;
    Role::parse("role", value)
}

/// The console for one request: the table, the session keys and the source IP.
pub struct Console<'a> {
    users: &'a Users,
    keys: &'a ConsoleKeys,
    source_ip: Option<IpAddr>,
}

impl<'a> Console<'a> {
    pub fn new(users: &'a Users, keys: &'a ConsoleKeys, source_ip: Option<IpAddr>) -> Self {
        Console {
            users,
            keys,
            source_ip,
        }
    }

    /// `POST /console/session`: a new session and its cookie value, for the right name and
    /// password; else 401 (past a limit: 429).
    pub async fn log_in(&self, body: &Value) -> ApiResult<(SessionView, String)> {
        let name = operator_name("username", body.get("username"))?;
        let password = body
            .get("password")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::invalid("password", "a string is required"))?;
        let password = Password::candidate("password", password)?;
        let table = self.users.table();
        let limits = self.users.limits();
        let now = now();
        table
            .reserve(
                &Counter::per_ip("login", self.source_ip, limits.login_ip),
                now,
            )
            .await?;
        let identifier = format!("OPERATOR#{name}");
        let reserved = table.reserve_login(&identifier, limits.login, now).await?;
        let found = table.operator(&name, true).await?;
        let hash = found.as_ref().and_then(|o| o.password_hash.as_deref());
        let verified = verify_password_or_dummy(hash, password.expose());
        let subject = Subject::Identifier(&identifier);
        let Some(operator) = found.filter(|_| verified) else {
            table.audit(subject, Event::OperatorLoginFailed).await;
            return Err(ApiError::Unauthorized(WRONG_CREDENTIALS));
        };
        table.give_back(&reserved).await?;
        table.audit(subject, Event::OperatorLogin).await;
        let (token, session) = self.keys.start(&name, now_ms())?;
        Ok((self.view(&session, operator.role), token))
    }

    /// The session's answer (`GET /console/session` and login).
    pub fn view(&self, session: &ConsoleSession, role: Role) -> SessionView {
        SessionView {
            username: session.operator().to_string(),
            role,
            csrf_token: self.keys.csrf_token(session),
            expires_in: SESSION_SECONDS,
        }
    }

    /// The operator of a verified cookie, checked against its item (one GetItem): gone, or
    /// logged out since the session began: 401.
    pub async fn confirm(&self, session: ConsoleSession) -> ApiResult<Operator> {
        let stored = self
            .users
            .table()
            .operator(session.operator(), false)
            .await?;
        let valid_after = stored.as_ref().and_then(|o| o.sessions_valid_after);
        session.confirm(stored.map(|o| o.role), valid_after)
    }

    /// `DELETE /console/session`: every session of the operator begun up to now is void.
    pub async fn log_out(&self, operator: &Operator) -> ApiResult<Done> {
        let mark = now_ms().max(operator.session().claims().iat_ms + 1);
        self.users
            .table()
            .end_operator_sessions(operator.name(), mark)
            .await?;
        Ok(Done {})
    }

    /// `GET /console/operators` (admin).
    pub async fn operators(&self, by: &Operator) -> ApiResult<Operators> {
        by.require(Role::Admin)?;
        let all = self.users.table().operators().await?;
        Ok(Operators {
            objects: all.iter().map(OperatorView::from).collect(),
        })
    }

    /// `POST /console/operators` (admin): `{username, password, role}`.
    pub async fn add_operator(&self, by: &Operator, body: &Value) -> ApiResult<OperatorView> {
        by.require(Role::Admin)?;
        let name = operator_name("username", body.get("username"))?;
        let role = role_of(body)?;
        let password = body
            .get("password")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::invalid("password", "a string is required"))?;
        let password = Password::named("password", password)?;
        let stored = new_operator(&name, role, &password)?;
        self.users.table().add_operator(&stored, false).await?;
        self.record_change(&name, format!("added:{}", role.as_str()))
            .await;
        Ok(OperatorView::from(&stored))
    }

    /// `PUT /console/operators/{name}` (admin): `{role}`; never the last admin's demotion.
    pub async fn set_role(&self, by: &Operator, name: &str, body: &Value) -> ApiResult<Done> {
        by.require(Role::Admin)?;
        let role = role_of(body)?;
        self.users.table().change_operator(name, Some(role)).await?;
        self.record_change(name, format!("role:{}", role.as_str()))
            .await;
        Ok(Done {})
    }

    /// `DELETE /console/operators/{name}` (admin); never the last admin.
    pub async fn remove(&self, by: &Operator, name: &str) -> ApiResult<Done> {
        by.require(Role::Admin)?;
        self.users.table().change_operator(name, None).await?;
        self.record_change(name, "removed".into()).await;
        Ok(Done {})
    }

    async fn record_change(&self, name: &str, change: String) {
        let identifier = format!("OPERATOR#{name}");
        self.users
            .table()
            .audit(
                Subject::Identifier(&identifier),
                Event::OperatorChanged { change },
            )
            .await;
    }

    /// `GET /console/users/lookup` (any role): the user holding `value` as its `field`,
    /// through the guard (the account rules' equality: any case, a phone in any of its
    /// forms), as the user's own page shows it; 404 when nobody holds it. Round trips: the
    /// guard, then the user.
    pub async fn lookup(
        &self,
        by: &Operator,
        field: AccountField,
        value: &str,
    ) -> ApiResult<MinAppUser> {
        by.require(Role::Viewer)?;
        field.validate(value)?;
        let user = self
            .users
            .table()
            .find_by_account(field, value)
            .await?
            .ok_or_else(|| ApiError::UserNotFound(format!("{} {value}", field.name())))?;
        Ok(MinAppUser::with_disabled(&user, self.users.user_fields()))
    }

    /// `POST /console/users/{id}/revoke` (admin; `id` the numeric id): every token of the user
    /// is void.
    pub async fn revoke(&self, by: &Operator, uid: i64) -> ApiResult<Done> {
        by.require(Role::Admin)?;
        let user_id = &self.users.user_id_of(uid).await?;
        let table = self.users.table();
        table.revoke_all(user_id, now_ms()).await?;
        table
            .audit(Subject::User(user_id), Event::TokensRevoked)
            .await;
        Ok(Done {})
    }

    /// `PUT /console/users/{id}/disabled` (admin): `{"until": unix seconds | null}`.
    pub async fn disable(&self, by: &Operator, uid: i64, body: &Value) -> ApiResult<DisabledView> {
        by.require(Role::Admin)?;
        let until = match body.get("until") {
            None | Some(Value::Null) => None,
            Some(v) => {
                let at = v
                    .as_i64()
                    .ok_or_else(|| ApiError::invalid("until", "must be unix seconds or null"))?;
                if at <= now() {
                    return Err(ApiError::invalid("until", "must be in the future"));
                }
                Some(at)
            }
        };
        let user_id = &self.users.user_id_of(uid).await?;
        let table = self.users.table();
        table.set_disabled(user_id, until).await?;
        table
            .audit(Subject::User(user_id), Event::Disabled { until })
            .await;
        Ok(DisabledView {
            disabled: true,
            until: Some(until),
        })
    }

    /// `DELETE /console/users/{id}/disabled` (admin).
    pub async fn enable(&self, by: &Operator, uid: i64) -> ApiResult<DisabledView> {
        by.require(Role::Admin)?;
        let user_id = &self.users.user_id_of(uid).await?;
        let table = self.users.table();
        table.set_enabled(user_id).await?;
        table.audit(Subject::User(user_id), Event::Enabled).await;
        Ok(DisabledView {
            disabled: false,
            until: None,
        })
    }
}

/// A new operator's item, its password hashed with argon2id.
pub fn new_operator(name: &str, role: Role, password: &Password) -> ApiResult<StoredOperator> {
    Ok(StoredOperator {
        operator_name: name.to_string(),
        role,
        password_hash: Some(hash_password(password.expose())?),
        created_at: now(),
        sessions_valid_after: None,
    })
}
