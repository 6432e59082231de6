//! Moving guards to the look-alike keys (`userctl rekey-guards`, issue 18): a table written
//! before them holds its guards under [`legacy_guard_key`] (`USERNAME#<lower-cased>`,
//! `EMAIL#<lower-cased>`, `PHONE#<as given>`); the code reads [`guard_key`] only.
//!
//! A Scan of the whole table. Each user holding a value whose key changed gets, in one
//! transaction: a condition that it still holds the value, the guard under the new key
//! (created, or already its own) and the old guard deleted (if it is still there and its
//! own). So no guard ever points away from its holder, and a rerun finds every moved user
//! done and writes nothing for it. A new key another user holds already (two values that
//! were distinct and now read alike, or a sign-up between the deploy and the run) is a
//! collision: reported, never merged; that value of that user keeps its old guard.

use aws_sdk_dynamodb::types::{ConditionCheck, Delete};
use futures_util::StreamExt as _;

use super::accounts::stored_attribute;
use super::expr::{Expr, not_exists};
use super::lookup::guard_item;
use super::*;
use crate::account::{AccountField, guard_key, legacy_guard_key};

/// Users rekeyed at once.
const REKEY_CONCURRENCY: usize = 16;
/// Tries of one user's move when a concurrent change of that user got there first.
const REKEY_ATTEMPTS: u32 = 4;

/// What a rekeying saw and did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RekeyReport {
    /// Items scanned, of every kind.
    pub scanned: u64,
    /// Users whose guards moved in this run.
    pub moved: u64,
    /// Users whose guards were under the new keys already (an earlier run, or values set
    /// since the deploy).
    pub already: u64,
    /// Values whose new key another user holds: left as they were.
    pub collisions: Vec<Collision>,
}

/// One value of one user whose new key another user holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collision {
    pub user_id: String,
    pub field: AccountField,
    pub value: String,
    /// The user holding the new key.
    pub holder: String,
}

/// One value of a user whose guard key changed.
#[derive(Debug, Clone)]
struct Move {
    field: AccountField,
    value: String,
    old: String,
    new: String,
}

enum Outcome {
    Moved,
    Already,
}

impl UserTable {
    /// Moves every user's guards to the current keys: Scan pages of at most `page_size`
    /// items, users of a page concurrently. Safe while traffic flows and to run again.
    pub async fn rekey_guards(&self, page_size: i32) -> ApiResult<RekeyReport> {
        let mut report = RekeyReport::default();
        let mut start = None;
        loop {
            let (expression, names) = projection(&[
                attr::PK,
                attr::SK,
                attr::USER_ID,
                attr::USERNAME,
                attr::EMAIL,
                attr::PHONE,
            ]);
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .set_exclusive_start_key(start)
                .projection_expression(expression)
                .set_expression_attribute_names(Some(names))
                .limit(page_size.max(1))
                .send()
                .await
                .map_err(|e| store_error("scan to rekey guards", e))?;
            let mut users = Vec::new();
            for item in out.items.unwrap_or_default() {
                report.scanned += 1;
                if item.get(attr::SK).and_then(|v| v.as_s().ok()) == Some(&USER_SK.into()) {
                    users.push(from_item::<StoredUser>(item)?);
                }
            }
            let results: Vec<_> = futures_util::stream::iter(users)
                .map(|user| async move { self.rekey_user(&user).await })
                .buffer_unordered(REKEY_CONCURRENCY)
                .collect()
                .await;
            for result in results {
                let (outcome, collisions) = result?;
                match outcome {
                    Some(Outcome::Moved) => report.moved += 1,
                    Some(Outcome::Already) => report.already += 1,
                    None => {}
                }
                report.collisions.extend(collisions);
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(report);
            }
        }
    }

    /// One user's moves, from a fresh read when a concurrent change cancels them. `None`
    /// when no value of the user changed key (or every one collides).
    async fn rekey_user(
        &self,
        scanned: &StoredUser,
    ) -> ApiResult<(Option<Outcome>, Vec<Collision>)> {
        let mut user = scanned.clone();
        for _ in 0..REKEY_ATTEMPTS {
            let moves = moves_of(&user);
            if moves.is_empty() {
                return Ok((None, Vec::new()));
            }
            let keys = moves
                .iter()
                .flat_map(|m| [guard_item(&m.old), guard_item(&m.new)])
                .collect();
            let guards = self.batch_get(keys, &[attr::PK, attr::USER_ID]).await?;
            let holder = |key: &str| -> Option<String> {
                guards
                    .iter()
                    .find(|g| {
                        g.get(attr::PK)
                            .and_then(|v| v.as_s().ok())
                            .map(String::as_str)
                            == Some(key)
                    })
                    .and_then(|g| g.get(attr::USER_ID)?.as_s().ok().cloned())
            };
            let mut collisions = Vec::new();
            let mut todo = Vec::new();
            for m in moves {
                match holder(&m.new) {
                    Some(other) if other != user.user_id => collisions.push(Collision {
                        user_id: user.user_id.clone(),
                        field: m.field,
                        value: m.value.clone(),
                        holder: other,
                    }),
                    Some(_) if holder(&m.old).is_none() => {}
                    // An old key another user holds is theirs: left alone.
                    _ => {
                        let delete_old = holder(&m.old).is_none_or(|h| h == user.user_id);
                        todo.push((m, delete_old));
                    }
                }
            }
            if todo.is_empty() {
                let done = (collisions.len() < moves_of(&user).len()).then_some(Outcome::Already);
                return Ok((done, collisions));
            }
            if self.move_guards(&user.user_id, &todo).await? {
                return Ok((Some(Outcome::Moved), collisions));
            }
            // The user changed, or a new key was claimed meanwhile: read and decide again.
            let mut attributes = vec![attr::USER_ID];
            attributes.extend(AccountField::ALL.map(stored_attribute));
            match self.get_stored(&user.user_id, &attributes).await? {
                Some(fresh) => user = fresh,
                None => return Ok((None, Vec::new())),
            }
        }
        Err(ApiError::Busy(format!(
            "rekeying user {} kept meeting concurrent changes",
            user.user_id
        )))
    }

    /// One transaction: the user still holds each value; each new guard is created (or is
    /// its own already); each old guard is deleted (or is gone already). Whether it was
    /// committed: a failed condition or a conflict is `false` (read again, decide again).
    async fn move_guards(&self, user_id: &str, moves: &[(Move, bool)]) -> ApiResult<bool> {
        let mut e = Expr::new();
        for (m, _) in moves {
            let p = e.name(stored_attribute(m.field));
            let v = e.string(&m.value);
            e.condition(format!("{p} = {v}"));
        }
        let condition = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(user_key(user_id)))
            .set_condition_expression(e.condition_expression())
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .build()
            .map_err(|e| ApiError::Internal(format!("rekey condition: {e}")))?;
        let mut actions = vec![
            TransactWriteItem::builder()
                .condition_check(condition)
                .build(),
        ];
        let mine = || {
            let mut e = Expr::new();
            let pk = e.name(attr::PK);
            let holder = e.name(attr::USER_ID);
            let me = e.string(user_id);
            e.condition_any(&[not_exists(&pk), format!("{holder} = {me}")]);
            e
        };
        for (m, delete_old) in moves {
            let mut item = guard_item(&m.new);
            item.insert(attr::USER_ID.into(), s(user_id));
            let put = mine()
                .transact_put(Put::builder())
                .table_name(&self.table)
                .set_item(Some(item))
                .build()
                .map_err(|e| ApiError::Internal(format!("rekey put: {e}")))?;
            actions.push(TransactWriteItem::builder().put(put).build());
            if !delete_old {
                continue;
            }
            let delete = mine()
                .transact_delete(Delete::builder())
                .table_name(&self.table)
                .set_key(Some(guard_item(&m.old)))
                .build()
                .map_err(|e| ApiError::Internal(format!("rekey delete: {e}")))?;
            actions.push(TransactWriteItem::builder().delete(delete).build());
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(actions))
            .client_request_token(request_token()?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) => match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(_)) => Ok(false),
                Some(se) if se.code() == Some("TransactionConflictException") => Ok(false),
                _ => Err(store_error("rekey guards", err)),
            },
        }
    }
}

/// The values of `user` whose guard key changed.
fn moves_of(user: &StoredUser) -> Vec<Move> {
    AccountField::ALL
        .into_iter()
        .filter_map(|field| {
            let value = match field {
                AccountField::Username => user.username.as_ref(),
                AccountField::Email => user.email.as_ref(),
                AccountField::Phone => user.phone.as_ref(),
            }?;
            let (old, new) = (legacy_guard_key(field, value), guard_key(field, value));
            (old != new).then(|| Move {
                field,
                value: value.clone(),
                old,
                new,
            })
        })
        .collect()
}
