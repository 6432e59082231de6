//! Updates: fields SET, `extends` keys SET or REMOVE one by one (never the whole map), and
//! the map's limits decided by DynamoDB in the same write.

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;

use super::directory::{missing_directory, require_directory, set_directory_if_missing};
use super::expr::{Expr, exists, not_exists};
use super::*;
use crate::user::{EXTENDS_MAX_BYTES, EXTENDS_MAX_KEYS, UserUpdate};
use auth::token::Session;

/// Tries of an `extends` update when concurrent updates of the same keys get there first.
const UPDATE_ATTEMPTS: u32 = 8;

/// A write of an existing user (never creating one), stamped `updated_at = now`.
pub(super) fn user_write(now: i64) -> Expr {
    let mut e = Expr::new();
    let pk = e.name(attr::PK);
    e.condition(exists(&pk));
    let updated_at = e.name(attr::UPDATED_AT);
    let now = e.number(now);
    e.set(&updated_at, &now);
    e
}

/// `SET updated_at` and the plain fields, on an existing user.
fn base_expression(update: &UserUpdate, now: i64) -> Expr {
    let mut e = user_write(now);
    for (field, value) in [(attr::NICK, &update.nick), (attr::AVATAR, &update.avatar)] {
        if let Some(v) = value {
            let p = e.name(field);
            let v = e.string(v);
            e.set(&p, &v);
        }
    }
    e
}

/// For a client's own write: the token must still be valid when the write lands, by the
/// rule of [`auth::token::Revocation`] in DynamoDB's words (issued at or after
/// `tokens_valid_after`, or the session `tokens_kept`; and the user not disabled now).
pub(super) fn token_still_valid(e: &mut Expr, issued_at_ms: Option<i64>) {
    if let Some(iat) = issued_at_ms {
        let tva = e.name(attr::TOKENS_VALID_AFTER);
        let kept = e.name(attr::TOKENS_KEPT);
        let iat = e.number(iat);
        e.condition_any(&[
            not_exists(&tva),
            format!("{tva} <= {iat}"),
            format!("{kept} = {iat}"),
        ]);
        let disabled = e.name(attr::DISABLED_UNTIL);
        let now = e.number(crate::clock::now_ms());
        e.condition_any(&[not_exists(&disabled), format!("{disabled} <= {now}")]);
    }
}

impl UserTable {
    /// Applies an update. `nick`/`avatar` alone: one UpdateItem. With `extends`: a consistent
    /// read of the map, then one UpdateItem that sets or removes each key on its own (so
    /// concurrent updates of different keys all survive) and keeps `extends_bytes` exact,
    /// under a condition that DynamoDB checks atomically with the write:
    /// - every key this update touches still holds the value read (or is still absent), so
    ///   what the update adds is known exactly;
    /// - the map then has room: `size(extends)` and `extends_bytes` leave space for what it
    ///   adds, so the stored map never passes [`EXTENDS_MAX_KEYS`] or [`EXTENDS_MAX_BYTES`].
    ///
    /// When a concurrent update of the same keys got there first, DynamoDB hands back the
    /// item as it now is and the update is decided again from it.
    ///
    /// Either way the write gives a user written before the directory index its `dir` and
    /// `dir_order` (`SET ... = if_not_exists(...)`): from the read when there is one; without
    /// one, a condition fails on such a user and the item it hands back supplies them (one
    /// more UpdateItem, once in such a user's life).
    pub async fn update(&self, user_id: &str, update: &UserUpdate, now: i64) -> ApiResult<()> {
        self.apply_update(user_id, update, now, None).await
    }

    /// [`UserTable::update`] by the user's own client: every read projects
    /// the revocation marks and every UpdateItem is conditioned on the session's token still
    /// being valid, so a revoked token is a 401 at no extra round trip.
    pub async fn update_own(
        &self,
        session: &Session,
        update: &UserUpdate,
        now: i64,
    ) -> ApiResult<()> {
        self.apply_update(session.user_id(), update, now, Some(session))
            .await
    }

    async fn apply_update(
        &self,
        user_id: &str,
        update: &UserUpdate,
        now: i64,
        session: Option<&Session>,
    ) -> ApiResult<()> {
        let issued_at_ms = session.map(Session::issued_at_ms);
        let check = |stored: &StoredUser| match session {
            Some(session) => session.check(stored.revocation()),
            None => Ok(()),
        };
        if update.is_empty() {
            // Nothing to write; still answer 404 for an unknown user.
            return match self
                .get_stored(
                    user_id,
                    &[
                        attr::USER_ID,
                        attr::TOKENS_VALID_AFTER,
                        attr::TOKENS_KEPT,
                        attr::DISABLED_UNTIL,
                    ],
                )
                .await?
            {
                Some(stored) => check(&stored),
                None => Err(ApiError::UserNotFound(user_id.to_string())),
            };
        }
        if !update.touches_extends() {
            // Not read first: the directory attributes are learnt from a failed condition,
            // once in the life of a user written before the directory index.
            let mut directory = None;
            loop {
                let mut e = base_expression(update, now);
                token_still_valid(&mut e, issued_at_ms);
                match directory {
                    None => require_directory(&mut e),
                    Some((im_userid, created_at)) => {
                        set_directory_if_missing(&mut e, im_userid, created_at)
                    }
                }
                return match self.send_update(user_id, &e).await {
                    Ok(()) => Ok(()),
                    Err(Failed::Condition(Some(item))) => {
                        let stored = from_item::<StoredUser>(item)?;
                        check(&stored)?;
                        if directory.is_none()
                            && let Some(missing) = missing_directory(&stored)
                        {
                            directory = Some(missing);
                            continue;
                        }
                        Err(ApiError::UserNotFound(user_id.to_string()))
                    }
                    Err(Failed::Condition(None)) => {
                        Err(ApiError::UserNotFound(user_id.to_string()))
                    }
                    Err(Failed::Store(e)) => Err(e),
                };
            }
        }
        let deadline = Deadline::current();
        let mut current = self
            .get_stored(
                user_id,
                &[
                    attr::USER_ID,
                    attr::EXTENDS,
                    attr::EXTENDS_BYTES,
                    attr::TOKENS_VALID_AFTER,
                    attr::TOKENS_KEPT,
                    attr::DISABLED_UNTIL,
                    attr::IM_USERID,
                    attr::CREATED_AT,
                    attr::DIR,
                ],
            )
            .await?
            .ok_or_else(|| ApiError::UserNotFound(user_id.to_string()))?;
        check(&current)?;
        let mut attempt = 0;
        loop {
            let change = update.extends_change(&current.extends)?;
            let mut e = extends_expression(update, now, &current, change)?;
            token_still_valid(&mut e, issued_at_ms);
            if let Some((im_userid, created_at)) = missing_directory(&current) {
                set_directory_if_missing(&mut e, im_userid, created_at);
            }
            let now_stored = match self.send_update(user_id, &e).await {
                Ok(()) => return Ok(()),
                Err(Failed::Store(e)) => return Err(e),
                Err(Failed::Condition(None)) => {
                    return Err(ApiError::UserNotFound(user_id.to_string()));
                }
                Err(Failed::Condition(Some(item))) => from_item::<StoredUser>(item)?,
            };
            check(&now_stored)?;
            if now_stored.extends == current.extends
                && now_stored.extends_bytes == current.extends_bytes
            {
                // Nothing moved, so what failed is the room the stored total leaves.
                return Err(ApiError::invalid(
                    "extends",
                    format!(
                        "a user may have at most {EXTENDS_MAX_KEYS} keys taking at most \
                         {EXTENDS_MAX_BYTES} bytes as JSON"
                    ),
                ));
            }
            current = now_stored;
            deadline
                .pause_before_retry(
                    &mut attempt,
                    UPDATE_ATTEMPTS,
                    "concurrent updates of the same extends keys",
                )
                .await?;
        }
    }

    async fn send_update(&self, user_id: &str, e: &Expr) -> Result<(), Failed> {
        self.send_update_item(user_id, e, ReturnValue::None)
            .await
            .map(|_| ())
    }

    /// One conditional UpdateItem, cut off in time to answer. A failed condition hands back
    /// the item as it now is (`None`: no such user); `returns` says what a success hands back.
    pub(super) async fn send_update_item(
        &self,
        user_id: &str,
        e: &Expr,
        returns: ReturnValue,
    ) -> Result<Option<Item>, Failed> {
        let call = e
            .update_item(self.client.update_item())
            .table_name(&self.table)
            .set_key(Some(user_key(user_id)))
            .return_values(returns)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send();
        let Some(result) = Deadline::current().bound(call).await else {
            return Err(Failed::Store(ApiError::Busy(
                "update cut off at the request's deadline, outcome unknown".into(),
            )));
        };
        match result {
            Ok(out) => Ok(out.attributes),
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(c)) => {
                    Err(Failed::Condition(c.item().cloned()))
                }
                _ => Err(Failed::Store(store_error("update user", err))),
            },
        }
    }
}

/// Why an UpdateItem did not apply.
pub(super) enum Failed {
    /// The condition failed; the item as it is, if there is one.
    Condition(Option<Item>),
    Store(ApiError),
}

/// The UpdateItem of an update touching `extends`, decided from `current` (see
/// [`UserTable::update`]).
fn extends_expression(
    update: &UserUpdate,
    now: i64,
    current: &StoredUser,
    change: crate::user::ExtendsChange,
) -> ApiResult<Expr> {
    let mut e = base_expression(update, now);
    for (key, value) in &update.set_extends {
        let p = e.path(&[attr::EXTENDS, key.as_str()]);
        let v = e.string(value);
        e.set(&p, &v);
        pin(&mut e, &p, current.extends.get(key));
    }
    for key in &update.remove_extends {
        let p = e.path(&[attr::EXTENDS, key.as_str()]);
        e.remove(&p);
        pin(&mut e, &p, current.extends.get(key));
    }
    let overflow = || ApiError::Internal("extends room arithmetic overflowed".into());
    if change.keys_added > 0 {
        let max = i64::try_from(EXTENDS_MAX_KEYS).map_err(|_| overflow())?;
        let room = max.checked_sub(change.keys_added).ok_or_else(overflow)?;
        let map = e.name(attr::EXTENDS);
        let room = e.number(room);
        e.condition(format!("size({map}) <= {room}"));
    }
    // A name placeholder is handed out only where an expression uses it (DynamoDB refuses
    // unused ones).
    match current.extends_bytes {
        Some(_) => {
            if change.bytes_added != 0 {
                let eb = e.name(attr::EXTENDS_BYTES);
                let added = e.number(change.bytes_added);
                e.set(&eb, &format!("{eb} + {added}"));
            }
            if change.bytes_added > 0 {
                let max = i64::try_from(EXTENDS_MAX_BYTES).map_err(|_| overflow())?;
                let room = max.checked_sub(change.bytes_added).ok_or_else(overflow)?;
                let eb = e.name(attr::EXTENDS_BYTES);
                let room = e.number(room);
                e.condition(format!("{eb} <= {room}"));
            }
        }
        // An item written before `extends_bytes` existed: the map read is the whole truth as
        // long as no other update has written the total since (every one writes it).
        None => {
            let eb = e.name(attr::EXTENDS_BYTES);
            let after = e.number(change.bytes_after);
            e.set(&eb, &after);
            e.condition(not_exists(&eb));
        }
    }
    Ok(e)
}

/// Pins a touched key to what was read: its value, or its absence.
fn pin(e: &mut Expr, path: &str, old: Option<&String>) {
    match old {
        Some(old) => {
            let old = e.string(old);
            e.condition(format!("{path} = {old}"));
        }
        None => e.condition(not_exists(path)),
    }
}

/// Voids the tokens issued before `now_ms`: `tokens_valid_after` becomes the later of `now_ms`
/// and just after the mark `read` (so it never moves back, whatever the writer's clock), on
/// condition that the stored mark is still the one read.
pub(super) fn void_tokens(e: &mut Expr, now_ms: i64, read: Option<i64>) {
    let tva = e.name(attr::TOKENS_VALID_AFTER);
    let mark = read.map_or(now_ms, |r| now_ms.max(r.saturating_add(1)));
    let mark = e.number(mark);
    e.set(&tva, &mark);
    match read {
        Some(r) => {
            let r = e.number(r);
            e.condition(format!("{tva} = {r}"));
        }
        None => e.condition(not_exists(&tva)),
    }
}
