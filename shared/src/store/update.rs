//! Updates: fields SET, `extends` keys SET or REMOVE one by one (never the whole map), and
//! the map's limits decided by DynamoDB in the same write.

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;

use super::directory::{missing_directory, require_directory, set_directory_if_missing};
use super::*;
use crate::user::{EXTENDS_MAX_BYTES, EXTENDS_MAX_KEYS, UserUpdate};

/// Tries of an `extends` update when concurrent updates of the same keys get there first.
const UPDATE_ATTEMPTS: u32 = 8;

/// The parts of an UpdateItem being built; every name and value goes through a placeholder.
#[derive(Default)]
struct Expression {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
    set: Vec<String>,
    remove: Vec<String>,
    conditions: Vec<String>,
}

impl Expression {
    /// `SET updated_at` and the plain fields, on an existing user.
    fn new(update: &UserUpdate, now: i64) -> Expression {
        let mut e = Expression::default();
        e.name("#pk", attr::PK);
        e.conditions.push("attribute_exists(#pk)".into());
        e.name("#updated_at", attr::UPDATED_AT);
        e.values
            .insert(":now".into(), AttributeValue::N(now.to_string()));
        e.set.push("#updated_at = :now".into());
        for (field, value) in [(attr::NICK, &update.nick), (attr::AVATAR, &update.avatar)] {
            if let Some(v) = value {
                e.name(&format!("#{field}"), field);
                e.values.insert(format!(":{field}"), s(v));
                e.set.push(format!("#{field} = :{field}"));
            }
        }
        e
    }

    fn name(&mut self, placeholder: &str, name: &str) {
        self.names.insert(placeholder.to_string(), name.to_string());
    }

    fn number(&mut self, placeholder: &str, n: impl ToString) {
        self.values
            .insert(placeholder.to_string(), AttributeValue::N(n.to_string()));
    }

    /// For a client's own update: the token must still be valid when the write lands.
    fn token_still_valid(&mut self, issued_at_ms: Option<i64>) {
        if let Some(iat) = issued_at_ms {
            self.name("#tva", attr::TOKENS_VALID_AFTER);
            self.number(":iat_ms", iat);
            self.conditions
                .push("(attribute_not_exists(#tva) OR #tva <= :iat_ms)".into());
        }
    }

    fn update_expression(&self) -> String {
        let mut expression = format!("SET {}", self.set.join(", "));
        if !self.remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", self.remove.join(", ")));
        }
        expression
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
        self.update_as(user_id, update, now, None).await
    }

    /// [`UserTable::update`] by the user's own client token issued at `issued_at_ms`: every
    /// read projects `tokens_valid_after` and every UpdateItem is conditioned on the token
    /// still being valid, so a revoked token is a 401 at no extra round trip.
    pub async fn update_as(
        &self,
        user_id: &str,
        update: &UserUpdate,
        now: i64,
        issued_at_ms: Option<i64>,
    ) -> ApiResult<()> {
        let check = |stored: &StoredUser| match issued_at_ms {
            Some(iat) => crate::session::check_issued(iat, stored.tokens_valid_after),
            None => Ok(()),
        };
        if update.is_empty() {
            // Nothing to write; still answer 404 for an unknown user.
            return match self
                .get_stored(user_id, &[attr::USER_ID, attr::TOKENS_VALID_AFTER])
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
                let mut e = Expression::new(update, now);
                e.token_still_valid(issued_at_ms);
                match directory {
                    None => require_directory(&mut e.names, &mut e.conditions),
                    Some((im_userid, created_at)) => set_directory_if_missing(
                        &mut e.names,
                        &mut e.values,
                        &mut e.set,
                        im_userid,
                        created_at,
                    ),
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
            e.token_still_valid(issued_at_ms);
            if let Some((im_userid, created_at)) = missing_directory(&current) {
                set_directory_if_missing(
                    &mut e.names,
                    &mut e.values,
                    &mut e.set,
                    im_userid,
                    created_at,
                );
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
            attempt += 1;
            let pause = backoff(attempt);
            if attempt >= UPDATE_ATTEMPTS || !deadline.allows_write_retry(pause) {
                return Err(ApiError::Busy(
                    "concurrent updates of the same extends keys".into(),
                ));
            }
            tokio::time::sleep(pause).await;
        }
    }

    async fn send_update(&self, user_id: &str, e: &Expression) -> Result<(), Failed> {
        let write = UpdateWrite {
            update: e.update_expression(),
            condition: e.conditions.join(" AND "),
            names: &e.names,
            values: &e.values,
        };
        self.send_update_item(user_id, write, ReturnValue::None)
            .await
            .map(|_| ())
    }

    /// One conditional UpdateItem, cut off in time to answer. A failed condition hands back
    /// the item as it now is (`None`: no such user); `returns` says what a success hands back.
    pub(super) async fn send_update_item(
        &self,
        user_id: &str,
        write: UpdateWrite<'_>,
        returns: ReturnValue,
    ) -> Result<Option<Item>, Failed> {
        let call = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(user_key(user_id)))
            .update_expression(write.update)
            .condition_expression(write.condition)
            .set_expression_attribute_names(Some(write.names.clone()))
            .set_expression_attribute_values(Some(write.values.clone()))
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

/// The parts of one UpdateItem, every name and value through a placeholder.
pub(super) struct UpdateWrite<'a> {
    pub update: String,
    pub condition: String,
    pub names: &'a HashMap<String, String>,
    pub values: &'a HashMap<String, AttributeValue>,
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
) -> ApiResult<Expression> {
    let mut e = Expression::new(update, now);
    e.name("#e", attr::EXTENDS);
    for (i, (key, value)) in update.set_extends.iter().enumerate() {
        e.name(&format!("#k{i}"), key);
        e.values.insert(format!(":v{i}"), s(value));
        e.set.push(format!("#e.#k{i} = :v{i}"));
        pin(
            &mut e,
            format!("#e.#k{i}"),
            current.extends.get(key),
            format!(":o{i}"),
        );
    }
    for (i, key) in update.remove_extends.iter().enumerate() {
        e.name(&format!("#r{i}"), key);
        e.remove.push(format!("#e.#r{i}"));
        pin(
            &mut e,
            format!("#e.#r{i}"),
            current.extends.get(key),
            format!(":x{i}"),
        );
    }
    let overflow = || ApiError::Internal("extends room arithmetic overflowed".into());
    if change.keys_added > 0 {
        let max = i64::try_from(EXTENDS_MAX_KEYS).map_err(|_| overflow())?;
        let room = max.checked_sub(change.keys_added).ok_or_else(overflow)?;
        e.number(":keys_room", room);
        e.conditions.push("size(#e) <= :keys_room".into());
    }
    // DynamoDB refuses a name placeholder the expressions do not use: only when they do.
    if current.extends_bytes.is_none() || change.bytes_added != 0 {
        e.name("#eb", attr::EXTENDS_BYTES);
    }
    match current.extends_bytes {
        Some(_) => {
            if change.bytes_added != 0 {
                e.number(":bytes_added", change.bytes_added);
                e.set.push("#eb = #eb + :bytes_added".into());
            }
            if change.bytes_added > 0 {
                let max = i64::try_from(EXTENDS_MAX_BYTES).map_err(|_| overflow())?;
                let room = max.checked_sub(change.bytes_added).ok_or_else(overflow)?;
                e.number(":bytes_room", room);
                e.conditions.push("#eb <= :bytes_room".into());
            }
        }
        // An item written before `extends_bytes` existed: the map read is the whole truth as
        // long as no other update has written the total since (every one writes it).
        None => {
            e.number(":bytes_after", change.bytes_after);
            e.set.push("#eb = :bytes_after".into());
            e.conditions.push("attribute_not_exists(#eb)".into());
        }
    }
    Ok(e)
}

/// Pins a touched key to what was read: its value, or its absence.
fn pin(e: &mut Expression, path: String, old: Option<&String>, placeholder: String) {
    match old {
        Some(old) => {
            e.conditions.push(format!("{path} = {placeholder}"));
            e.values.insert(placeholder, s(old));
        }
        None => e.conditions.push(format!("attribute_not_exists({path})")),
    }
}
