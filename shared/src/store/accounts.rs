//! Account changes: a user's login name, email, phone and password hash, and the guard items
//! that keep the first three unique, changed together in one transaction.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Delete, Update};

use super::lookup::guard_key;
use super::*;
use crate::store::Claim;
use crate::user::User;

/// What an account change does to one value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Change {
    #[default]
    Keep,
    /// `null`: release the value.
    Clear,
    Set(String),
}

/// A validated account change, as the store writes it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct AccountChange {
    pub username: Change,
    pub email: Change,
    pub phone: Change,
    /// An argon2id PHC string, never the password.
    pub password_hash: Option<String>,
}

impl std::fmt::Debug for AccountChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountChange")
            .field("username", &self.username)
            .field("email", &self.email)
            .field("phone", &self.phone)
            .field("password_hash", &self.password_hash.as_ref().map(|_| "***"))
            .finish()
    }
}

impl AccountChange {
    fn claims(&self) -> [(Claim, &Change); 3] {
        [
            (Claim::Username, &self.username),
            (Claim::Email, &self.email),
            (Claim::Phone, &self.phone),
        ]
    }
}

/// How many times a change is tried again when another change of the same user got there
/// first; each try re-reads the user.
const ACCOUNT_ATTEMPTS: u32 = 8;

impl UserTable {
    /// Applies `change` to `user_id` and returns the user as it now is. The user's values and
    /// their guards commit together or not at all: a value another user holds is a 400 naming
    /// the field; a concurrent change of this user is retried on a fresh read. Round trips:
    /// a consistent GetItem and one TransactWriteItems (more only under contention).
    pub async fn change_account(
        &self,
        user_id: &str,
        change: &AccountChange,
        now: i64,
    ) -> ApiResult<User> {
        let deadline = Deadline::current();
        let mut attempt = 0;
        loop {
            let current = self
                .get::<User>(user_id)
                .await?
                .ok_or_else(|| ApiError::UserNotFound(user_id.to_string()))?;
            let (actions, claims) = self.account_actions(&current, change, now);
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
                Ok(_) => return Ok(changed(current, change, now)),
                Err(e) => e,
            };
            let retry = match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                    let code = |i: usize| {
                        c.cancellation_reasons()
                            .get(i)
                            .and_then(|r| r.code())
                            .unwrap_or("None")
                    };
                    // Action 0 is the user: its condition says the values read are still
                    // the user's. If not, another change came first: read again.
                    if code(0) == "ConditionalCheckFailed" {
                        true
                    } else if let Some((_, claim)) = claims
                        .iter()
                        .find(|(i, _)| code(*i) == "ConditionalCheckFailed")
                    {
                        return Err(ApiError::invalid(
                            claim.field(),
                            "is already taken by another user",
                        ));
                    } else if (0..claims.len() + 1)
                        .any(|i| matches!(code(i), "TransactionConflict" | "ThrottlingError"))
                    {
                        true
                    } else {
                        return Err(ApiError::Internal(format!(
                            "account change cancelled: {}",
                            describe_reasons(c.cancellation_reasons())
                        )));
                    }
                }
                Some(se) if se.code() == Some("TransactionConflictException") => true,
                _ => return Err(store_error("change account", err)),
            };
            attempt += 1;
            let pause = backoff(attempt);
            if !retry || attempt >= ACCOUNT_ATTEMPTS || !deadline.allows_write_retry(pause) {
                return Err(ApiError::Busy(
                    "account change contended past deadline".into(),
                ));
            }
            tokio::time::sleep(pause).await;
        }
    }

    /// The transaction: the user first (conditioned on the values just read), then for each
    /// changed value the new guard (which must not exist) and the release of the old one
    /// (which must be this user's). Returns the actions and, for each guard claim, its index.
    fn account_actions(
        &self,
        current: &User,
        change: &AccountChange,
        now: i64,
    ) -> (Vec<TransactWriteItem>, Vec<(usize, Claim)>) {
        let mut names = HashMap::from([
            ("#pk".to_string(), attr::PK.to_string()),
            ("#updated_at".to_string(), attr::UPDATED_AT.to_string()),
        ]);
        let mut values = HashMap::from([(":now".to_string(), AttributeValue::N(now.to_string()))]);
        let mut set = vec!["#updated_at = :now".to_string()];
        let mut remove = Vec::new();
        let mut condition = vec!["attribute_exists(#pk)".to_string()];
        let mut guards = Vec::new();
        let mut claims = Vec::new();
        for (claim, value) in change.claims() {
            let field = claim.field();
            let old = match claim {
                Claim::Username => &current.username,
                Claim::Email => &current.email,
                Claim::Phone => &current.phone,
            };
            let new = match value {
                Change::Keep => continue,
                Change::Clear => None,
                Change::Set(v) => Some(v),
            };
            names.insert(format!("#{field}"), claim.attribute().to_string());
            match old {
                Some(old) => {
                    values.insert(format!(":old_{field}"), s(old));
                    condition.push(format!("#{field} = :old_{field}"));
                }
                None => condition.push(format!("attribute_not_exists(#{field})")),
            }
            match new {
                Some(new) => {
                    values.insert(format!(":{field}"), s(new));
                    set.push(format!("#{field} = :{field}"));
                }
                None => remove.push(format!("#{field}")),
            }
            // Nothing here verifies an email or a phone: any change leaves it unverified.
            if let Some(verified) = claim.verified_attribute() {
                names.insert(format!("#{field}_verified"), verified.to_string());
                values.insert(":false".into(), AttributeValue::Bool(false));
                set.push(format!("#{field}_verified = :false"));
            }
            let same_guard =
                matches!((old, new), (Some(o), Some(n)) if claim.guard_pk(o) == claim.guard_pk(n));
            if same_guard {
                continue;
            }
            if let Some(new) = new {
                let mut item = guard_key(claim, new);
                item.insert(attr::USER_ID.into(), s(&current.user_id));
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .condition_expression("attribute_not_exists(pk)")
                    .build()
                    .expect("table, item and condition are set");
                claims.push((1 + guards.len(), claim));
                guards.push(TransactWriteItem::builder().put(put).build());
            }
            if let Some(old) = old {
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(guard_key(claim, old)))
                    .condition_expression("#user_id = :me")
                    .expression_attribute_names("#user_id", attr::USER_ID)
                    .expression_attribute_values(":me", s(&current.user_id))
                    .build()
                    .expect("table, key and condition are set");
                guards.push(TransactWriteItem::builder().delete(delete).build());
            }
        }
        if let Some(hash) = &change.password_hash {
            names.insert("#password_hash".into(), attr::PASSWORD_HASH.into());
            values.insert(":password_hash".into(), s(hash));
            set.push("#password_hash = :password_hash".into());
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(user_key(&current.user_id)))
            .update_expression(expression)
            .condition_expression(condition.join(" AND "))
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .build()
            .expect("table, key and expression are set");
        let mut actions = vec![TransactWriteItem::builder().update(update).build()];
        actions.extend(guards);
        (actions, claims)
    }
}

/// The user as the committed change left it (no second read).
fn changed(mut user: User, change: &AccountChange, now: i64) -> User {
    let apply = |slot: &mut Option<String>, value: &Change| match value {
        Change::Keep => false,
        Change::Clear => {
            *slot = None;
            true
        }
        Change::Set(v) => {
            *slot = Some(v.clone());
            true
        }
    };
    apply(&mut user.username, &change.username);
    if apply(&mut user.email, &change.email) {
        user.email_verified = false;
    }
    if apply(&mut user.phone, &change.phone) {
        user.phone_verified = false;
    }
    user.updated_at = now;
    user
}
