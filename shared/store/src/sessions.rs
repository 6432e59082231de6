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
use aws_sdk_dynamodb::types::Update;

use super::accounts::stored_attribute;
use super::audit::{Event, Subject};
use super::expr::{Expr, exists, not_exists};
use super::lookup::guard_item;
use super::*;
use crate::account::{AccountField, guard_key};
use crate::user::User;
use auth::token::{Session, TOKEN_REVOKED};

/// A register with an anonymous user's token that another register of it got to first.
pub const ANONYMOUS_TAKEN: &str =
    "Authorization: the anonymous user of this token has already registered: log in instead";

/// Why a login value cannot be had.
const TAKEN: &str = "is already taken by another user";

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
        let mut items = vec![self.put_new(user_item(user)?)];
        if let Some((field, value)) = account {
            items.push(self.put_new(guard_of(field, value, &user.user_id)));
        }
        items.push(self.audit_put(Subject::User(&user.user_id), &Event::SignUp)?);
        self.commit("sign-up", items, &Event::SignUp, |reasons| {
            let (field, _) = account?;
            failed(reasons, 1).then(|| ApiError::invalid(field.name(), TAKEN))
        })
        .await
    }

    /// Commits `items` in one transaction within the request's deadline, logging `event` once
    /// it is in. A cancellation that `refused` answers (a condition that failed) is that
    /// answer; conflicts and throttling are tried again until decided (a fresh idempotency
    /// token per try: each follows a definite answer that wrote nothing); anything else is a
    /// 500 naming the reasons.
    async fn commit(
        &self,
        what: &str,
        items: Vec<TransactWriteItem>,
        event: &Event,
        refused: impl Fn(&[CancellationReason]) -> Option<ApiError>,
    ) -> ApiResult<()> {
        let deadline = Deadline::current();
        let mut attempt = 0;
        loop {
            let call = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .client_request_token(request_token()?)
                .send();
            let Some(result) = deadline.bound(call).await else {
                return Err(ApiError::Busy(format!(
                    "{what} cut off at the request's deadline, outcome unknown"
                )));
            };
            let err = match result {
                Ok(_) => {
                    audit::logged(event);
                    return Ok(());
                }
                Err(e) => e,
            };
            match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                    let reasons = c.cancellation_reasons();
                    if let Some(answer) = refused(reasons) {
                        return Err(answer);
                    }
                    let retryable = reasons.iter().any(|r| {
                        r.code()
                            .is_some_and(|c| RETRYABLE_CANCELLATIONS.contains(&c))
                    });
                    if !retryable {
                        return Err(ApiError::Internal(format!(
                            "{what} cancelled: {}",
                            describe_reasons(reasons)
                        )));
                    }
                }
                Some(se) if se.code() == Some("TransactionConflictException") => {}
                _ => return Err(store_error(what, err)),
            }
            deadline
                .pause_before_retry(
                    &mut attempt,
                    SIGN_UP_ATTEMPTS,
                    &format!("{what} contended past deadline"),
                )
                .await?;
        }
    }

    /// The user a register's session speaks for, when it is an anonymous user (the stored
    /// marker, never "no login value"): `None` for any other user and for a token of no user.
    /// A revoked token is a 401; a token of the user's anonymous days, once it registered, a
    /// 400 (the loser of two registers of one anonymous session, however they interleave).
    /// One consistent GetItem.
    pub async fn anonymous_caller(&self, session: &Session) -> ApiResult<Option<User>> {
        let attributes = [User::ATTRIBUTES, &attr::SESSION, &[attr::ANONYMOUS_UNTIL]].concat();
        let Some(stored) = self.get_stored(session.user_id(), &attributes).await? else {
            return Ok(None);
        };
        session.check(stored.revocation())?;
        if stored
            .anonymous_until
            .is_some_and(|until| session.issued_at_ms() < until)
        {
            return Err(ApiError::Invalid(ANONYMOUS_TAKEN.into()));
        }
        let user = User::from_stored(stored)?;
        Ok(Some(user).filter(|u| u.anonymous))
    }

    /// The anonymous `user` (as [`Self::anonymous_caller`] read it) takes a login value and
    /// password hash and loses its marker, keeping its id and everything else, with the guard
    /// of the value and a `sign_up` audit record (`from_anonymous`), in one transaction. The
    /// user's write is conditioned on it still being anonymous with no login value or hash
    /// and on the session's token still being valid, so of concurrent registers with one
    /// anonymous token exactly one wins: the others are a 400 (decided on their read, never
    /// made a plain sign-up by a retry; a token revoked between the read and the write is
    /// that 400 too: the condition cannot say which, and ALL_OLD would hand back secrets).
    /// A value another user holds: 400 naming the field. Returns the user as now stored.
    pub async fn register_anonymous(
        &self,
        session: &Session,
        mut user: User,
        (field, value): (AccountField, &str),
        password_hash: &str,
        now: i64,
    ) -> ApiResult<User> {
        let mut e = super::update::user_write(now);
        let anonymous = e.name(attr::ANONYMOUS);
        let yes = e.value(AttributeValue::Bool(true));
        e.condition(format!("{anonymous} = {yes}"));
        for held in [
            attr::USERNAME,
            attr::EMAIL,
            attr::PHONE,
            attr::PASSWORD_HASH,
        ] {
            let p = e.name(held);
            e.condition(not_exists(&p));
        }
        super::update::token_still_valid(&mut e, Some(session.issued_at_ms()));
        let (p, v) = (e.name(stored_attribute(field)), e.string(value));
        e.set(&p, &v);
        let (p, v) = (e.name(attr::PASSWORD_HASH), e.string(password_hash));
        e.set(&p, &v);
        // After the anonymous session's token even on a clock behind it (as logout marks).
        let until = crate::clock::now_ms().max(session.issued_at_ms().saturating_add(1));
        let (p, v) = (e.name(attr::ANONYMOUS_UNTIL), e.number(until));
        e.set(&p, &v);
        e.remove(&anonymous);
        let update = e
            .transact_update(Update::builder())
            .table_name(&self.table)
            .set_key(Some(user_key(&user.user_id)))
            .build()
            .expect("table, key and expression are set");
        let event = Event::SignUpFromAnonymous;
        let items = vec![
            TransactWriteItem::builder().update(update).build(),
            self.put_new(guard_of(field, value, &user.user_id)),
            self.audit_put(Subject::User(&user.user_id), &event)?,
        ];
        self.commit("registration", items, &event, |reasons| {
            // The user is no longer as read: another register of it won (or its token was
            // revoked meanwhile). Never read again: that would make this loser a plain
            // sign-up, a second winner.
            if failed(reasons, 0) {
                Some(ApiError::Invalid(ANONYMOUS_TAKEN.into()))
            } else {
                failed(reasons, 1).then(|| ApiError::invalid(field.name(), TAKEN))
            }
        })
        .await?;
        let held = Some(value.to_string());
        match field {
            AccountField::Username => user.account.username = held,
            AccountField::Email => user.account.email = held,
            AccountField::Phone => user.account.phone = held,
        }
        user.anonymous = false;
        user.updated_at = now;
        Ok(user)
    }

    /// A TransactWriteItems put of an item that must not exist yet.
    pub(super) fn put_new(&self, item: Item) -> TransactWriteItem {
        let put = Expr::new_item_only()
            .transact_put(Put::builder())
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .expect("table, item and condition are set");
        TransactWriteItem::builder().put(put).build()
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

    /// An admin's revoke: every token of `user_id` issued up to `now_ms` is void, the kept
    /// session's too (`tokens_kept` removed). One UpdateItem; an unknown user: 404.
    pub async fn revoke_all(&self, user_id: &str, now_ms: i64) -> ApiResult<()> {
        let mut e = Expr::new();
        let tva = e.name(attr::TOKENS_VALID_AFTER);
        let mark = e.number(now_ms);
        e.set(&tva, &mark);
        let kept = e.name(attr::TOKENS_KEPT);
        e.remove(&kept);
        self.admin_write(user_id, e, "revoke tokens").await
    }

    /// An admin disables `user_id` until `until` (unix seconds; `None`: until enabled). One
    /// UpdateItem; an unknown user: 404.
    pub async fn set_disabled(&self, user_id: &str, until: Option<i64>) -> ApiResult<()> {
        let until_ms = until.map_or(auth::token::DISABLED_FOREVER, |s| s.saturating_mul(1000));
        let mut e = Expr::new();
        let disabled = e.name(attr::DISABLED_UNTIL);
        let until = e.number(until_ms);
        e.set(&disabled, &until);
        self.admin_write(user_id, e, "disable user").await
    }

    /// An admin enables `user_id` again. One UpdateItem; an unknown user: 404.
    pub async fn set_enabled(&self, user_id: &str) -> ApiResult<()> {
        let mut e = Expr::new();
        let disabled = e.name(attr::DISABLED_UNTIL);
        e.remove(&disabled);
        self.admin_write(user_id, e, "enable user").await
    }

    /// `e` on an existing user item (404 when there is none).
    async fn admin_write(&self, user_id: &str, mut e: Expr, what: &str) -> ApiResult<()> {
        let pk = e.name(attr::PK);
        e.condition(exists(&pk));
        match self.update_user_if(user_id, e, what).await? {
            true => Ok(()),
            false => Err(ApiError::UserNotFound(user_id.to_string())),
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

/// Whether the `i`th action of a cancelled transaction failed its condition.
fn failed(reasons: &[CancellationReason], i: usize) -> bool {
    reasons.get(i).and_then(|r| r.code()) == Some("ConditionalCheckFailed")
}

/// The guard item that gives `value` of `field` to `user_id`.
fn guard_of(field: AccountField, value: &str, user_id: &str) -> Item {
    let mut guard = guard_item(&guard_key(field, value));
    guard.insert(attr::USER_ID.into(), s(user_id));
    guard
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
