//! Account changes: a user's login name, email, phone and password hash, and the guard items
//! that keep the first three unique, committed together in one transaction.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Delete, Update};

use super::audit::{Event, Subject};
use super::directory::set_directory_if_missing;
use super::expr::{Expr, not_exists};
use super::lookup::guard_item;
use super::update::{user_write, void_tokens};
use super::*;
use crate::account::{Account, AccountChange, AccountField, AccountUpdate, Change};
use crate::user::User;

/// How many times a change is tried again when another change of the same user got there
/// first (or a transaction conflicted); each try reads the user afresh.
const ACCOUNT_ATTEMPTS: u32 = 8;

impl UserTable {
    /// Applies `update` to `user_id` and returns the account as it now is. The user's values,
    /// their guards and the `account_changed` audit record (naming the fields, never a value)
    /// commit together or not at all: a value another user holds is a 400
    /// naming the field; a concurrent change of this user is retried on a fresh read. Round
    /// trips: a consistent GetItem and one TransactWriteItems (more only under contention).
    /// The write also gives a user written before the directory index its directory
    /// attributes, from the user read.
    pub async fn change_account(
        &self,
        user_id: &str,
        update: &AccountUpdate,
        password_hash: Option<&str>,
        now: i64,
    ) -> ApiResult<Account> {
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
        loop {
            let mut attributes = User::ATTRIBUTES.to_vec();
            attributes.push(attr::TOKENS_VALID_AFTER);
            let stored = self
                .get_stored(user_id, &attributes)
                .await?
                .ok_or_else(|| ApiError::UserNotFound(user_id.to_string()))?;
            let valid_after = stored.tokens_valid_after;
            let current = User::from_stored(stored)?;
            let plan = update.apply(&current.account);
            let voided = password_hash.map(|hash| (hash, valid_after));
            let mut actions = self.account_actions(&current, update, &plan, voided, now);
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
                    return Ok(plan.account);
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
    /// frees a value the user no longer holds), each claim (the guard must not exist), each
    /// release (the guard must be this user's).
    fn account_actions(
        &self,
        current: &User,
        update: &AccountUpdate,
        plan: &AccountChange,
        password: Option<(&str, Option<i64>)>,
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
        if let Some((hash, valid_after)) = password {
            let p = e.name(attr::PASSWORD_HASH);
            let v = e.string(hash);
            e.set(&p, &v);
            // A new password voids every client token issued before it, never moving the mark
            // back (a later logout, from a clock ahead, keeps its mark): the mark as read is
            // a condition, so a concurrent change is read again.
            void_tokens(&mut e, crate::clock::now_ms(), valid_after);
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

/// The user item's attribute holding an account value.
pub(super) fn stored_attribute(field: AccountField) -> &'static str {
    match field {
        AccountField::Username => attr::USERNAME,
        AccountField::Email => attr::EMAIL,
        AccountField::Phone => attr::PHONE,
    }
}
