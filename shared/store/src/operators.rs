//! Operators of the console (SPEC "Operator console"): people who look after the app's users,
//! not app users themselves. They live in one partition of their own, which no user
//! operation, index or directory reads (no `dir`, no `im_userid`).
//!
//! | item | pk | sk | attributes |
//! |---|---|---|---|
//! | operator | `OPERATORS` | `OPERATOR#<name>` | operator_name, role, password_hash (argon2id), created_at, sessions_valid_after (unix ms: console sessions that began before it are void; set by logout) |
//!
//! An admin cannot remove or demote the last admin: such a change is one TransactWriteItems
//! with a ConditionCheck that another operator is still an admin, so two admins demoting each
//! other at once cannot both succeed.

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{ConditionCheck, Delete, Update};
use serde::{Deserialize, Serialize};

use super::expr::{Expr, exists};
use super::*;
use auth::console::Role;

const OPERATORS_PK: &str = "OPERATORS";
const OPERATOR_SK_PREFIX: &str = "OPERATOR#";

/// The 400 of a change that would leave no admin.
pub const LAST_ADMIN: &str = "the last admin cannot be removed or demoted";
/// The 404 of an unknown operator.
pub const NO_OPERATOR: &str = "no such operator";

/// An operator item (its key aside). Field names are [`attr`]'s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredOperator {
    pub operator_name: String,
    pub role: Role,
    /// Never read by a listing, never returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions_valid_after: Option<i64>,
}

fn operator_key(name: &str) -> Item {
    HashMap::from([
        (attr::PK.to_string(), s(OPERATORS_PK)),
        (
            attr::SK.to_string(),
            s(format!("{OPERATOR_SK_PREFIX}{name}")),
        ),
    ])
}

/// What a listing and a session check read: never the hash.
const PUBLIC: [&str; 4] = [
    attr::OPERATOR_NAME,
    attr::ROLE,
    attr::CREATED_AT,
    attr::SESSIONS_VALID_AFTER,
];

impl UserTable {
    /// Creates `operator`; one PutItem conditioned on the name being free (taken: 400 naming
    /// `username`, and `Ok(false)` when `exists_ok`, for an idempotent set-up).
    pub async fn add_operator(
        &self,
        operator: &StoredOperator,
        exists_ok: bool,
    ) -> ApiResult<bool> {
        let mut item = to_item(operator)?;
        item.extend(operator_key(&operator.operator_name));
        let result = Expr::new_item_only()
            .put_item(self.client.put_item())
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(_)) if exists_ok => Ok(false),
                Some(PutItemError::ConditionalCheckFailedException(_)) => Err(ApiError::invalid(
                    "username",
                    "an operator of that name exists",
                )),
                _ => Err(store_error("add operator", e)),
            },
        }
    }

    /// One operator, with its hash when `with_hash` (a login), else what a session check
    /// needs; one strongly consistent GetItem.
    pub async fn operator(&self, name: &str, with_hash: bool) -> ApiResult<Option<StoredOperator>> {
        let mut attributes = PUBLIC.to_vec();
        if with_hash {
            attributes.push(attr::PASSWORD_HASH);
        }
        let (expression, names) = projection(&attributes);
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(operator_key(name)))
            .consistent_read(true)
            .projection_expression(expression)
            .set_expression_attribute_names(Some(names))
            .send()
            .await
            .map_err(|e| store_error("get operator", e))?;
        out.item.map(from_item).transpose()
    }

    /// Every operator, by name (one Query per MB page; never the hashes).
    pub async fn operators(&self) -> ApiResult<Vec<StoredOperator>> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let mut e = Expr::new();
            let pk = e.name(attr::PK);
            let value = e.string(OPERATORS_PK);
            e.key_condition(format!("{pk} = {value}"));
            let projection = e.projection(&PUBLIC);
            let out = e
                .query(self.client.query())
                .table_name(&self.table)
                .consistent_read(true)
                .projection_expression(projection)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| store_error("list operators", e))?;
            for item in out.items.unwrap_or_default() {
                found.push(from_item(item)?);
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(found);
            }
        }
    }

    /// Voids every console session of `name` that began before `now_ms` (logout). One
    /// UpdateItem; an operator that no longer exists: nothing to do.
    pub async fn end_operator_sessions(&self, name: &str, now_ms: i64) -> ApiResult<()> {
        let mut e = Expr::new();
        let pk = e.name(attr::PK);
        e.condition(exists(&pk));
        let after = e.name(attr::SESSIONS_VALID_AFTER);
        let mark = e.number(now_ms);
        e.set(&after, &mark);
        let result = e
            .update_item(self.client.update_item())
            .table_name(&self.table)
            .set_key(Some(operator_key(name)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(()),
                _ => Err(store_error("end operator sessions", e)),
            },
        }
    }

    /// Gives `name` the role `role` (`Some`) or removes it (`None`). Unknown: 404. Taking the
    /// admin role away (demotion or removal) needs another admin, checked in the same
    /// transaction (else 400 [`LAST_ADMIN`]). Round trips: a Query of the operators, then one
    /// TransactWriteItems.
    pub async fn change_operator(&self, name: &str, role: Option<Role>) -> ApiResult<()> {
        let all = self.operators().await?;
        let target = all
            .iter()
            .find(|o| o.operator_name == name)
            .ok_or_else(|| ApiError::NotServed(NO_OPERATOR.into()))?;
        let mut items = Vec::new();
        let mut e = Expr::new();
        let pk = e.name(attr::PK);
        e.condition(exists(&pk));
        let key = Some(operator_key(name));
        match role {
            Some(role) => {
                let r = e.name(attr::ROLE);
                let v = e.string(role.as_str());
                e.set(&r, &v);
                let update = e
                    .transact_update(Update::builder())
                    .table_name(&self.table)
                    .set_key(key)
                    .build()
                    .map_err(|e| ApiError::Internal(format!("operator update: {e}")))?;
                items.push(TransactWriteItem::builder().update(update).build());
            }
            None => {
                let delete = e
                    .transact_delete(Delete::builder())
                    .table_name(&self.table)
                    .set_key(key)
                    .build()
                    .map_err(|e| ApiError::Internal(format!("operator delete: {e}")))?;
                items.push(TransactWriteItem::builder().delete(delete).build());
            }
        }
        let demotes = target.role == Role::Admin && role != Some(Role::Admin);
        if demotes {
            let other = all
                .iter()
                .find(|o| o.role == Role::Admin && o.operator_name != name)
                .ok_or_else(|| ApiError::invalid("role", LAST_ADMIN))?;
            let mut c = Expr::new();
            let r = c.name(attr::ROLE);
            let admin = c.string(Role::Admin.as_str());
            c.condition(format!("{r} = {admin}"));
            let check = ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(operator_key(&other.operator_name)))
                .set_condition_expression(c.condition_expression())
                .set_expression_attribute_names(c.names())
                .set_expression_attribute_values(c.values())
                .build()
                .map_err(|e| ApiError::Internal(format!("operator check: {e}")))?;
            items.push(TransactWriteItem::builder().condition_check(check).build());
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) => match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                    let code = |i: usize| {
                        c.cancellation_reasons()
                            .get(i)
                            .and_then(|r| r.code())
                            .map(str::to_string)
                    };
                    if code(0).as_deref() == Some("ConditionalCheckFailed") {
                        Err(ApiError::NotServed(NO_OPERATOR.into()))
                    } else if code(1).as_deref() == Some("ConditionalCheckFailed") {
                        Err(ApiError::invalid("role", LAST_ADMIN))
                    } else {
                        Err(ApiError::Busy(
                            "operator change conflicted with another: try again".into(),
                        ))
                    }
                }
                _ => Err(store_error("change operator", err)),
            },
        }
    }
}
