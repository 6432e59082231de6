//! Sign-up, sign-in records and token revocation on the user item (the operations are `shared::session`).
//!
//! | attribute | on | meaning |
//! |---|---|---|
//! | `tokens_valid_after` | user | unix ms; tokens issued before it are void |
//! | `login_failures`, `login_failures_since` | user | failed logins in the window that started then (unix s) |
//! | `locked_until` | user | unix s; logins refused until then |

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;

use super::expr::{Expr, exists, not_exists};
use super::lookup::guard_item;
use super::update::void_tokens;
use super::*;
use crate::account::{AccountField, guard_key};
use crate::config::LoginPolicy;
use crate::user::User;
use auth::token::{Session, TOKEN_REVOKED};

/// Tries of a sign-up whose transaction conflicts with a concurrent one.
const SIGN_UP_ATTEMPTS: u32 = 10;

impl UserTable {
    /// Creates `user` (holding the account value `value` of `field` and a password hash)
    /// with the guard of that value, in one transaction: both or neither. The value held by
    /// another user is a 400 naming the field; conflicts with concurrent sign-ups are retried
    /// until decided.
    pub async fn create_with_account(
        &self,
        user: &StoredUser,
        field: AccountField,
        value: &str,
    ) -> ApiResult<()> {
        let item = user_item(user)?;
        let mut guard = guard_item(&guard_key(field, value));
        guard.insert(attr::USER_ID.into(), s(&user.user_id));
        let put = |item: Item| {
            let put = Expr::new_item_only()
                .transact_put(Put::builder())
                .table_name(&self.table)
                .set_item(Some(item))
                .build()
                .expect("table, item and condition are set");
            TransactWriteItem::builder().put(put).build()
        };
        let deadline = Deadline::current();
        let mut attempt = 0;
        loop {
            // A fresh token per attempt: each follows a definite answer that wrote nothing.
            let call = self
                .client
                .transact_write_items()
                .transact_items(put(item.clone()))
                .transact_items(put(guard.clone()))
                .client_request_token(request_token()?)
                .send();
            let Some(result) = deadline.bound(call).await else {
                return Err(ApiError::Busy(
                    "sign-up cut off at the request's deadline, outcome unknown".into(),
                ));
            };
            let err = match result {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                    let reasons = c.cancellation_reasons();
                    let code = |i: usize| reasons.get(i).and_then(|r| r.code()).unwrap_or("None");
                    if code(1) == "ConditionalCheckFailed" {
                        return Err(ApiError::invalid(
                            field.name(),
                            "is already taken by another user",
                        ));
                    }
                    if !(0..2).any(|i| RETRYABLE_CANCELLATIONS.contains(&code(i))) {
                        return Err(ApiError::Internal(format!(
                            "sign-up cancelled: {}",
                            describe_reasons(reasons)
                        )));
                    }
                }
                Some(se) if se.code() == Some("TransactionConflictException") => {}
                _ => return Err(store_error("sign up", err)),
            }
            deadline
                .pause_before_retry(
                    &mut attempt,
                    SIGN_UP_ATTEMPTS,
                    "sign-up contended past deadline",
                )
                .await?;
        }
    }

    /// The user holding a login value, with what a login needs (the hash and the failure
    /// record besides [`User`]'s attributes). Round trips: the guard's GetItem, then the
    /// user's (both strongly consistent).
    pub async fn sign_in_record(
        &self,
        field: AccountField,
        value: &str,
    ) -> ApiResult<Option<StoredUser>> {
        let (expression, names) = projection(&[attr::USER_ID]);
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(guard_item(&guard_key(field, value))))
            .consistent_read(true)
            .projection_expression(expression)
            .set_expression_attribute_names(Some(names))
            .send()
            .await
            .map_err(|e| store_error("get guard", e))?;
        let Some(guard) = out.item else {
            return Ok(None);
        };
        let holder: StoredUser = from_item(guard)?;
        let mut attributes = User::ATTRIBUTES.to_vec();
        attributes.extend([attr::PASSWORD_HASH]);
        attributes.extend(attr::SESSION);
        self.get_stored(&holder.user_id, &attributes).await
    }

    /// Counts one failed login atomically and locks the account (voiding its tokens) when the
    /// count reaches the policy's maximum within its window. Returns the count.
    pub async fn count_failure(
        &self,
        stored: &StoredUser,
        now: i64,
        policy: LoginPolicy,
    ) -> ApiResult<i64> {
        let user_id = stored.user_id.as_str();
        let window_start = now - policy.failure_window_seconds;
        let mut count = None;
        for _ in 0..4 {
            // In the current window: ADD one.
            let added = self
                .failure_update(user_id, Window::Current, window_start, now)
                .await?;
            if added.is_some() {
                count = added;
                break;
            }
            // No window, or an old one: start a new window at 1.
            let started = self
                .failure_update(user_id, Window::New, window_start, now)
                .await?;
            if started.is_some() {
                count = started;
                break;
            }
            // Neither condition held: the user is gone, or a concurrent failure just started
            // the window (then the ADD holds next time).
            if self.get_stored(user_id, &[attr::USER_ID]).await?.is_none() {
                return Ok(0);
            }
        }
        let count = count.ok_or_else(|| ApiError::Busy("login failures contended".into()))?;
        if count >= policy.max_failures {
            self.lock(stored, now + policy.lockout_seconds).await?;
        }
        Ok(count)
    }

    /// One conditional UpdateItem of the failure count; `None` when its condition failed.
    async fn failure_update(
        &self,
        user_id: &str,
        window: Window,
        window_start: i64,
        now: i64,
    ) -> ApiResult<Option<i64>> {
        let mut e = Expr::new();
        let pk = e.name(attr::PK);
        let failures = e.name(attr::LOGIN_FAILURES);
        let since = e.name(attr::LOGIN_FAILURES_SINCE);
        let one = e.number(1);
        let start = e.number(window_start);
        e.condition(exists(&pk));
        match window {
            Window::Current => {
                e.add(&failures, &one);
                e.condition(format!("{since} > {start}"));
            }
            Window::New => {
                let now = e.number(now);
                e.set(&failures, &one);
                e.set(&since, &now);
                e.condition_any(&[not_exists(&since), format!("{since} <= {start}")]);
            }
        }
        let result = e
            .update_item(self.client.update_item())
            .table_name(&self.table)
            .set_key(Some(user_key(user_id)))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        match result {
            Ok(out) => Ok(out
                .attributes()
                .and_then(|a| a.get(attr::LOGIN_FAILURES))
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok())),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(None),
                _ => Err(store_error("count login failure", e)),
            },
        }
    }

    /// Locks the account until `until` (unix s), voids its tokens and clears the count. The
    /// mark never moves back: the write is conditioned on the mark the login read, and a mark
    /// a concurrent write moved is read again.
    async fn lock(&self, user: &StoredUser, until: i64) -> ApiResult<()> {
        let user_id = user.user_id.as_str();
        let mut valid_after = user.tokens_valid_after;
        for _ in 0..4 {
            let mut e = Expr::new();
            let pk = e.name(attr::PK);
            e.condition(exists(&pk));
            let locked = e.name(attr::LOCKED_UNTIL);
            let until = e.number(until);
            e.set(&locked, &until);
            void_tokens(&mut e, crate::clock::now_ms(), valid_after);
            for a in [attr::LOGIN_FAILURES, attr::LOGIN_FAILURES_SINCE] {
                let p = e.name(a);
                e.remove(&p);
            }
            // No ReturnValuesOnConditionCheckFailure: it would hand back the whole item, IM
            // password included, which a login's policy may not read (store::access::login).
            let call = e
                .update_item(self.client.update_item())
                .table_name(&self.table)
                .set_key(Some(user_key(user_id)))
                .send();
            let Some(result) = Deadline::current().bound(call).await else {
                return Err(ApiError::Busy(
                    "lock cut off at the request's deadline, outcome unknown".into(),
                ));
            };
            match result {
                Ok(_) => return Ok(()),
                Err(err) => match err.as_service_error() {
                    // The mark moved since it was read (or the user is gone): read it again.
                    Some(UpdateItemError::ConditionalCheckFailedException(_)) => {
                        let now = self
                            .get_stored(user_id, &[attr::USER_ID, attr::TOKENS_VALID_AFTER])
                            .await?;
                        match now {
                            Some(now) => valid_after = now.tokens_valid_after,
                            None => return Ok(()),
                        }
                    }
                    _ => return Err(store_error("lock account", err)),
                },
            }
        }
        Err(ApiError::Busy("account lock contended".into()))
    }

    /// After a successful login: the failure count and any past lockout are cleared.
    pub async fn clear_failures(&self, user_id: &str) -> ApiResult<()> {
        let mut e = Expr::new();
        let pk = e.name(attr::PK);
        e.condition(exists(&pk));
        for a in [
            attr::LOGIN_FAILURES,
            attr::LOGIN_FAILURES_SINCE,
            attr::LOCKED_UNTIL,
        ] {
            let p = e.name(a);
            e.remove(&p);
        }
        e.update_item(self.client.update_item())
            .table_name(&self.table)
            .set_key(Some(user_key(user_id)))
            .send()
            .await
            .map(|_| ())
            .or_else(|e| match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(()),
                _ => Err(store_error("clear login failures", e)),
            })
    }

    /// Logout: voids every token of the session's user issued up to `now_ms` (and the
    /// session's own, even on a clock behind it). One UpdateItem, conditioned on the token
    /// still being valid (a revoked token is a 401). A token of a user that does not exist
    /// has nothing to void: success.
    pub async fn revoke_tokens(&self, session: &Session, now_ms: i64) -> ApiResult<()> {
        let mark = now_ms.max(session.issued_at_ms().saturating_add(1));
        let mut e = Expr::new();
        let pk = e.name(attr::PK);
        e.condition(exists(&pk));
        super::update::token_still_valid(&mut e, Some(session.issued_at_ms()));
        let tva = e.name(attr::TOKENS_VALID_AFTER);
        let mark = e.number(mark);
        e.set(&tva, &mark);
        let result = e
            .update_item(self.client.update_item())
            .table_name(&self.table)
            .set_key(Some(user_key(session.user_id())))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(c)) => match c.item() {
                    None => Ok(()),
                    Some(_) => Err(ApiError::Unauthorized(TOKEN_REVOKED)),
                },
                _ => Err(store_error("revoke tokens", e)),
            },
        }
    }

    /// 401 unless the session's token is still valid: one GetItem of `tokens_valid_after`,
    /// for client reads that never read the caller's own item (run beside them).
    pub async fn check_session(&self, session: &Session) -> ApiResult<()> {
        let stored = self
            .get_stored(session.user_id(), &[attr::TOKENS_VALID_AFTER])
            .await?;
        session.check(stored.and_then(|u| u.tokens_valid_after))
    }

    /// `user_id` in view `V` for a client: the caller itself is one GetItem that also
    /// projects `tokens_valid_after`; another user is one BatchGetItem of both keys.
    pub async fn get_as<V: UserView>(
        &self,
        session: &Session,
        user_id: &str,
    ) -> ApiResult<Option<V>> {
        let attributes = with_session_check(V::ATTRIBUTES);
        if user_id == session.user_id() {
            let stored = self.get_stored(user_id, &attributes).await?;
            session.check(stored.as_ref().and_then(|u| u.tokens_valid_after))?;
            return stored.map(V::from_stored).transpose();
        }
        let keys = vec![user_key(user_id), user_key(session.user_id())];
        let mut target = None;
        for item in self.batch_get(keys, &attributes).await? {
            let stored: StoredUser = from_item(item)?;
            if stored.user_id == session.user_id() {
                session.check(stored.tokens_valid_after)?;
            } else {
                target = Some(stored);
            }
        }
        target.map(V::from_stored).transpose()
    }

    /// Many users for a client: the caller's key joins the last BatchGetItem when it has room
    /// (else a call of its own, concurrent with the others). Order is the caller's business.
    pub async fn get_many_as<V: UserView>(
        &self,
        session: &Session,
        user_ids: &[String],
    ) -> ApiResult<Vec<V>> {
        let attributes = with_session_check(V::ATTRIBUTES);
        let asked_for_self = user_ids.iter().any(|id| id == session.user_id());
        let mut keys: Vec<Item> = user_ids.iter().map(|id| user_key(id)).collect();
        if !asked_for_self {
            keys.push(user_key(session.user_id()));
        }
        let calls = keys
            .chunks(KEYS_PER_CALL)
            .map(|chunk| self.batch_get(chunk.to_vec(), &attributes));
        let mut users = Vec::with_capacity(user_ids.len());
        for items in join_all(calls).await {
            for item in items? {
                let stored: StoredUser = from_item(item)?;
                if stored.user_id == session.user_id() {
                    session.check(stored.tokens_valid_after)?;
                    if !asked_for_self {
                        continue;
                    }
                }
                users.push(V::from_stored(stored)?);
            }
        }
        Ok(users)
    }
}

/// A view's projection plus what the session check reads (`user_id`, `tokens_valid_after`).
fn with_session_check(view: &[&'static str]) -> Vec<&'static str> {
    let mut attributes = view.to_vec();
    for extra in [attr::USER_ID, attr::TOKENS_VALID_AFTER] {
        if !attributes.contains(&extra) {
            attributes.push(extra);
        }
    }
    attributes
}

/// Which window a failed login counts in.
#[derive(Clone, Copy)]
enum Window {
    /// The one that started after `now - window`: ADD one.
    Current,
    /// None yet, or an old one: a new window starting now, at one.
    New,
}
