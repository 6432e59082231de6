//! Account changes: a user's login name, email, phone and password hash, and the guard items
//! that keep the first three unique, committed together in one transaction.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Delete, Update};

use super::audit::{Event, Subject};
use super::directory::set_directory_if_missing;
use super::expr::{Expr, not_exists};
use super::lookup::guard_item;
use super::update::{token_still_valid, user_write, void_tokens};
use super::*;
use crate::account::{AccountChange, AccountField, AccountUpdate, Change};
use crate::user::User;
use auth::token::{Revocation, Session};

/// How many times a change is tried again when another change of the same user got there
/// first (or a transaction conflicted); each try reads the user afresh.
const ACCOUNT_ATTEMPTS: u32 = 8;

/// A client changing its own account: its session and the user as it read it (the account
/// projection, the password hash and the revocation marks), which the first try uses.
pub struct OwnAccount<'a> {
    pub session: &'a Session,
    pub read: StoredUser,
}

/// What [`UserTable::change_account`] reads of the user: the account, the revocation marks,
/// and the password hash when a client's password check depends on it.
fn account_attributes(with_hash: bool) -> Vec<&'static str> {
    let mut attributes = User::ATTRIBUTES.to_vec();
    attributes.extend(attr::SESSION);
    if with_hash {
        attributes.push(attr::PASSWORD_HASH);
    }
    attributes
}

impl UserTable {
    /// The caller's own user as [`UserTable::change_account`] reads it (`with_hash`: and its
    /// password hash), for an [`OwnAccount`]: one consistent GetItem, 401 for a revoked token.
    pub async fn read_own_account(
        &self,
        session: &Session,
        with_hash: bool,
    ) -> ApiResult<StoredUser> {
        let read = self
            .get_stored(session.user_id(), &account_attributes(with_hash))
            .await?
            .ok_or_else(|| ApiError::UserNotFound(session.user_id().to_string()))?;
        session.check(read.revocation())?;
        Ok(read)
    }

    /// Applies `update` to `user_id` and returns the user as it now is. The user's values,
    /// their guards and the `account_changed` audit record (naming the fields, never a value)
    /// commit together or not at all: a value another user holds is a 400
    /// naming the field; a concurrent change of this user is retried on a fresh read. Round
    /// trips: a consistent GetItem and one TransactWriteItems (more only under contention).
    /// The write also gives a user written before the directory index its directory
    /// attributes, from the user read.
    ///
    /// `own`: the user's own client makes the change (else its app server). Its token must
    /// still be valid at every read and in the write's condition (401 otherwise, nothing
    /// written); a new password then keeps that session working (`tokens_kept` = its
    /// `iat_ms`) while voiding every other token; the app server's voids all (`tokens_kept`
    /// removed). A client's current password was checked against the hash it read: if
    /// another change replaced that hash before this one landed, 400 naming `password`.
    pub async fn change_account(
        &self,
        user_id: &str,
        update: &AccountUpdate,
        password_hash: Option<&str>,
        own: Option<OwnAccount<'_>>,
        now: i64,
    ) -> ApiResult<User> {
        let mut fields: Vec<&'static str> = AccountField::ALL
            .iter()
            .filter(|f| *update.change(**f) != Change::Absent)
            .map(|f| f.name())
            .collect();
        if password_hash.is_some() {
            fields.push("password");
        }
        let event = Event::AccountChanged { fields };
        let deadline = Deadline::current();
        let mut attempt = 0;
        let session = own.as_ref().map(|o| o.session);
        let checked_hash = own.as_ref().map(|o| o.read.password_hash.clone());
        let attributes = account_attributes(session.is_some() && password_hash.is_some());
        let mut read = own.map(|o| o.read);
        loop {
            let stored = match read.take() {
                Some(stored) => stored,
                None => self
                    .get_stored(user_id, &attributes)
                    .await?
                    .ok_or_else(|| ApiError::UserNotFound(user_id.to_string()))?,
            };
            if let Some(session) = session {
                session.check(stored.revocation())?;
            }
            if let Some(checked) = &checked_hash
                && password_hash.is_some()
                && stored.password_hash != *checked
            {
                return Err(ApiError::invalid(
                    "password",
                    "was changed by another request meanwhile; try again",
                ));
            }
            let revocation = stored.revocation();
            let current = User::from_stored(stored)?;
            let plan = update.apply(&current.account);
            let password = password_hash.map(|hash| NewPassword {
                hash,
                read: revocation,
                kept: session.map(Session::issued_at_ms),
            });
            let issued_at_ms = session.map(Session::issued_at_ms);
            let mut actions =
                self.account_actions(&current, update, &plan, password, issued_at_ms, now);
            // Last, so the positions of the user, claims and releases stay as read below.
            actions.push(self.audit_put(Subject::User(user_id), &event)?);
            let call = self
                .client
                .transact_write_items()
                .set_transact_items(Some(actions))
                .send();
            let Some(result) = deadline.bound(call).await else {
                return Err(ApiError::Busy(
                    "account change cut off at the request's deadline, outcome unknown".into(),
                ));
            };
            let err = match result {
                Ok(_) => {
                    audit::logged(&event);
                    return Ok(User {
                        account: plan.account,
                        updated_at: now,
                        ..current
                    });
                }
                Err(e) => e,
            };
            match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                    let code = |i: usize| {
                        c.cancellation_reasons()
                            .get(i)
                            .and_then(|r| r.code())
                            .unwrap_or("None")
                    };
                    // Action 0 is the user, conditioned on the values just read: failing,
                    // another change came first, so read again. Then come the claims.
                    let taken = plan
                        .claim
                        .iter()
                        .enumerate()
                        .find(|(i, _)| code(i + 1) == "ConditionalCheckFailed");
                    if code(0) == "ConditionalCheckFailed" {
                    } else if let Some((_, guard)) = taken {
                        return Err(ApiError::invalid(
                            guard.field.name(),
                            "is already taken by another user",
                        ));
                    } else if !(0..=plan.claim.len() + plan.release.len())
                        .any(|i| matches!(code(i), "TransactionConflict" | "ThrottlingError"))
                    {
                        return Err(ApiError::Internal(format!(
                            "account change cancelled: {}",
                            describe_reasons(c.cancellation_reasons())
                        )));
                    }
                }
                Some(se) if se.code() == Some("TransactionConflictException") => {}
                _ => return Err(store_error("change account", err)),
            }
            deadline
                .pause_before_retry(
                    &mut attempt,
                    ACCOUNT_ATTEMPTS,
                    "account change contended past deadline",
                )
                .await?;
        }
    }

    /// The transaction: the user (conditioned on the values just read, so a release never
    /// frees a value the user no longer holds, and on `issued_at_ms`'s token still being
    /// valid), each claim (the guard must not exist), each release (the guard must be this
    /// user's).
    fn account_actions(
        &self,
        current: &User,
        update: &AccountUpdate,
        plan: &AccountChange,
        password: Option<NewPassword<'_>>,
        issued_at_ms: Option<i64>,
        now: i64,
    ) -> Vec<TransactWriteItem> {
        let mut e = user_write(now);
        for field in AccountField::ALL {
            if *update.change(field) == Change::Absent {
                continue;
            }
            let p = e.name(stored_attribute(field));
            match current.account.get(field) {
                Some(old) => {
                    let old = e.string(old);
                    e.condition(format!("{p} = {old}"));
                }
                None => e.condition(not_exists(&p)),
            }
            match plan.account.get(field) {
                Some(new) => {
                    let new = e.string(new);
                    e.set(&p, &new);
                }
                None => e.remove(&p),
            }
        }
        for (name, before, after) in [
            (
                attr::EMAIL_VERIFIED,
                current.account.email_verified,
                plan.account.email_verified,
            ),
            (
                attr::PHONE_VERIFIED,
                current.account.phone_verified,
                plan.account.phone_verified,
            ),
        ] {
            if before != after {
                let p = e.name(name);
                let v = e.value(AttributeValue::Bool(after));
                e.set(&p, &v);
            }
        }
        if let Some(password) = password {
            let p = e.name(attr::PASSWORD_HASH);
            let v = e.string(password.hash);
            e.set(&p, &v);
            // A new password voids every client token issued before it, never moving the mark
            // back (a later logout, from a clock ahead, keeps its mark): the mark as read is
            // a condition, so a concurrent change is read again.
            void_tokens(&mut e, crate::clock::now_ms(), password.read.valid_after);
            // The client session that set it keeps working; after the app server's, none.
            let kept = e.name(attr::TOKENS_KEPT);
            match password.kept {
                Some(iat) => {
                    let iat = e.number(iat);
                    e.set(&kept, &iat);
                }
                None => e.remove(&kept),
            }
        }
        // A login value ends an anonymous user's anonymity, as its register would.
        if current.anonymous
            && AccountField::ALL
                .iter()
                .any(|f| plan.account.get(*f).is_some())
        {
            let p = e.name(attr::ANONYMOUS);
            e.remove(&p);
        }
        // The directory attributes, where a user written before the index lacks them.
        set_directory_if_missing(&mut e, current.im_userid, current.created_at);
        token_still_valid(&mut e, issued_at_ms);
        let update = e
            .transact_update(Update::builder())
            .table_name(&self.table)
            .set_key(Some(user_key(&current.user_id)))
            .build()
            .expect("table, key and expression are set");
        let mut actions = vec![TransactWriteItem::builder().update(update).build()];
        for guard in &plan.claim {
            let mut item = guard_item(&guard.key);
            item.insert(attr::USER_ID.into(), s(&current.user_id));
            let put = Expr::new_item_only()
                .transact_put(Put::builder())
                .table_name(&self.table)
                .set_item(Some(item))
                .build()
                .expect("table, item and condition are set");
            actions.push(TransactWriteItem::builder().put(put).build());
        }
        for guard in &plan.release {
            let key = guard_item(&guard.key);
            let mut e = Expr::new();
            let holder = e.name(attr::USER_ID);
            let me = e.string(&current.user_id);
            e.condition(format!("{holder} = {me}"));
            let delete = e
                .transact_delete(Delete::builder())
                .table_name(&self.table)
                .set_key(Some(key))
                .build()
                .expect("table, key and condition are set");
            actions.push(TransactWriteItem::builder().delete(delete).build());
        }
        actions
    }
}

/// A new password's write: its hash, the revocation marks as read (the mark never moves
/// back), and the session it keeps (`None`: the app server's change keeps none).
struct NewPassword<'a> {
    hash: &'a str,
    read: Revocation,
    kept: Option<i64>,
}

/// The user item's attribute holding an account value.
pub(super) fn stored_attribute(field: AccountField) -> &'static str {
    match field {
        AccountField::Username => attr::USERNAME,
        AccountField::Email => attr::EMAIL,
        AccountField::Phone => attr::PHONE,
    }
}
