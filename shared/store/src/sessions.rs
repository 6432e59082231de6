//! Sign-up, sign-in records and token revocation on the user item (the operations are `shared::session`).
//!
//! | attribute | on | meaning |
//! |---|---|---|
//! | `tokens_valid_after` | user | unix ms; tokens issued before it are void |
//! | `tokens_kept` | user | `iat_ms` of the session a client's password change kept (valid although before the mark) |
//!
//! Failed logins write nothing here: the per-caller limits ([`super::limits`]) bound them,
//! and no stranger's attempt can change a user's item or void its tokens.

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;

use super::audit::{Event, Subject};
use super::expr::{Expr, exists};
use super::lookup::guard_item;
use super::*;
use crate::account::{AccountField, guard_key};
use crate::user::User;
use auth::token::{Session, TOKEN_REVOKED};

/// Tries of a sign-up whose transaction conflicts with a concurrent one.
const SIGN_UP_ATTEMPTS: u32 = 10;

impl UserTable {
    /// Creates `user` with the guard of its login value (`account`: the field and the value it
    /// holds; `None` for an anonymous user, who holds none yet) and its sign-up audit record,
    /// in one transaction: all or nothing. The value held by another user is a 400 naming the
    /// field; conflicts with concurrent sign-ups are retried until decided.
    pub async fn create_signed_up(
        &self,
        user: &StoredUser,
        account: Option<(AccountField, &str)>,
    ) -> ApiResult<()> {
        let item = user_item(user)?;
        let guard = account.map(|(field, value)| {
            let mut guard = guard_item(&guard_key(field, value));
            guard.insert(attr::USER_ID.into(), s(&user.user_id));
            (field, guard)
        });
        let put = |item: Item| {
            let put = Expr::new_item_only()
                .transact_put(Put::builder())
                .table_name(&self.table)
                .set_item(Some(item))
                .build()
                .expect("table, item and condition are set");
            TransactWriteItem::builder().put(put).build()
        };
        let record = self.audit_put(Subject::User(&user.user_id), &Event::SignUp)?;
        let deadline = Deadline::current();
        let mut attempt = 0;
        loop {
            // A fresh token per attempt: each follows a definite answer that wrote nothing.
            let mut items = vec![put(item.clone())];
            items.extend(guard.iter().map(|(_, g)| put(g.clone())));
            items.push(record.clone());
            let call = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items))
                .client_request_token(request_token()?)
                .send();
            let Some(result) = deadline.bound(call).await else {
                return Err(ApiError::Busy(
                    "sign-up cut off at the request's deadline, outcome unknown".into(),
                ));
            };
            let err = match result {
                Ok(_) => {
                    audit::logged(&Event::SignUp);
                    return Ok(());
                }
                Err(e) => e,
            };
            match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                    let reasons = c.cancellation_reasons();
                    let code = |i: usize| reasons.get(i).and_then(|r| r.code()).unwrap_or("None");
                    if let Some((field, _)) = &guard
                        && code(1) == "ConditionalCheckFailed"
                    {
                        return Err(ApiError::invalid(
                            field.name(),
                            "is already taken by another user",
                        ));
                    }
                    if !(0..3).any(|i| RETRYABLE_CANCELLATIONS.contains(&code(i))) {
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

    /// The user holding a login value, with what a login needs (the hash besides [`User`]'s
    /// attributes). Round trips: the guard's GetItem, then a GetItem of its holder, or of a
    /// key no user can have when no guard holds the value: a known and an unknown value cost
    /// the same two calls (both strongly consistent).
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
        let holder = match out.item {
            Some(guard) => from_item::<StoredUser>(guard)?.user_id,
            // `USER#`: user ids are 1..64 characters, so this item never exists.
            None => String::new(),
        };
        let mut attributes = User::ATTRIBUTES.to_vec();
        attributes.extend([attr::PASSWORD_HASH]);
        attributes.extend(attr::SESSION);
        let found = self.get_stored(&holder, &attributes).await?;
        Ok(found.filter(|_| !holder.is_empty()))
    }

    /// Logout: voids every token of the session's user issued up to `now_ms` (and the
    /// session's own, even on a clock behind it, or kept by a password change: `tokens_kept`
    /// is removed). One UpdateItem, conditioned on the token still being valid (a revoked
    /// token is a 401). A token of a user that does not exist has nothing to void: success,
    /// `false` (the user existed: `true`).
    pub async fn revoke_tokens(&self, session: &Session, now_ms: i64) -> ApiResult<bool> {
        let mark = now_ms.max(session.issued_at_ms().saturating_add(1));
        let mut e = Expr::new();
        let pk = e.name(attr::PK);
        e.condition(exists(&pk));
        super::update::token_still_valid(&mut e, Some(session.issued_at_ms()));
        let tva = e.name(attr::TOKENS_VALID_AFTER);
        let mark = e.number(mark);
        e.set(&tva, &mark);
        let kept = e.name(attr::TOKENS_KEPT);
        e.remove(&kept);
        let result = e
            .update_item(self.client.update_item())
            .table_name(&self.table)
            .set_key(Some(user_key(session.user_id())))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(c)) => match c.item() {
                    None => Ok(false),
                    Some(_) => Err(ApiError::Unauthorized(TOKEN_REVOKED)),
                },
                _ => Err(store_error("revoke tokens", e)),
            },
        }
    }

    /// 401 unless the session's token is still valid: one GetItem of the revocation marks,
    /// for client reads that never read the caller's own item (run beside them).
    pub async fn check_session(&self, session: &Session) -> ApiResult<()> {
        let stored = self.get_stored(session.user_id(), &attr::SESSION).await?;
        session.check(stored.map(|u| u.revocation()).unwrap_or_default())
    }

    /// `user_id` in view `V` for a client: the caller itself is one GetItem that also
    /// projects the revocation marks; another user is one BatchGetItem of both keys.
    pub async fn get_as<V: UserView>(
        &self,
        session: &Session,
        user_id: &str,
    ) -> ApiResult<Option<V>> {
        let attributes = with_session_check(V::ATTRIBUTES);
        if user_id == session.user_id() {
            let stored = self.get_stored(user_id, &attributes).await?;
            session.check(
                stored
                    .as_ref()
                    .map(StoredUser::revocation)
                    .unwrap_or_default(),
            )?;
            return stored.map(V::from_stored).transpose();
        }
        let keys = vec![user_key(user_id), user_key(session.user_id())];
        let mut target = None;
        for item in self.batch_get(keys, &attributes).await? {
            let stored: StoredUser = from_item(item)?;
            if stored.user_id == session.user_id() {
                session.check(stored.revocation())?;
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
                    session.check(stored.revocation())?;
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

/// A view's projection plus what the session check reads (`user_id`, [`attr::SESSION`]).
pub(super) fn with_session_check(view: &[&'static str]) -> Vec<&'static str> {
    let mut attributes = view.to_vec();
    for extra in std::iter::once(attr::USER_ID).chain(attr::SESSION) {
        if !attributes.contains(&extra) {
            attributes.push(extra);
        }
    }
    attributes
}
