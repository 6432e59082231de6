//! The DynamoDB adapter: one table, generic `pk`/`sk` keys, a GSI on `im_userid` and the
//! sharded user directory ([`directory`]).
//!
//! | item | pk | sk | attributes |
//! |---|---|---|---|
//! | user | `USER#<user_id>` | `USER` | [`StoredUser`]: user_id, nick, avatar, extends (map), extends_bytes, im_userid, im_username, im_password, created_at, updated_at; account values (username, email, phone, their `_verified` flags, password_hash) when set; MinApp profile (gender, country, province, city, language) when set, custom (map, always); dir and dir_order (the [`directory`] index) |
//! | IM id counter | `COUNTER#im_userid` | `COUNTER` | value |
//! | guard | see [`lookup`] | `GUARD` | user_id |
//! | limit counter | see [`attempts`] | `WINDOW#<start>` | attempts, expires_at (TTL) |
//! | id guard, skipped id range | see [`import`] | | |
//! | operator | `OPERATORS` | `OPERATOR#<name>` | see [`operators`]: operator_name, role, password_hash, created_at, sessions_valid_after |
//!
//! Attribute names are defined once, in [`attr`]; items map to and from [`StoredUser`]
//! through `serde_dynamo`.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, CancellationReason, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, KeysAndAttributes, Projection, ProjectionType, Put, ReturnValue,
    ReturnValuesOnConditionCheckFailure, ScalarAttributeType, TransactWriteItem,
};
use futures_util::StreamExt;
use futures_util::future::join_all;

use crate::error::{ApiError, ApiResult};
#[cfg(test)]
use crate::user::UserProfile;
use crate::user::{ImIdentity, NewUser, UserInfo};

// Ground and domain modules, reachable as `crate::…` like this crate's own.
use domain::{account, clock, config, error, limits, query, user, views};

pub mod access;
mod accounts;
mod attempts;
pub mod audit;
pub mod backfill;
pub mod client;
mod deadline;
pub mod directory;
pub(crate) mod expr;
#[cfg(test)]
mod filter;
mod import;
mod item;
mod lookup;
pub mod operators;
pub mod profile;
pub mod rekey;
mod sessions;
mod update;
pub use accounts::OwnAccount;
pub use attempts::Reservation;
pub use deadline::{
    Deadline, REQUEST_BUDGET, SDK_OPERATION_TIMEOUT, backoff, within_budget, within_deadline,
};
pub use import::{Claim, ImportUser, ImportWrites, Imported, ScanPage, account_values};
pub use item::{StoredUser, UserView, attr};

use expr::Expr;
use item::{INFO_ATTRIBUTES, from_item, read_view, to_item};

type Item = HashMap<String, AttributeValue>;

pub const IM_INDEX: &str = "im_userid-index";
/// Non-key attributes copied into the GSI: the public view only, never IM credentials.
pub const IM_INDEX_ATTRIBUTES: [&str; 4] = [attr::USER_ID, attr::NICK, attr::AVATAR, attr::EXTENDS];
const USER_SK: &str = "USER";
const COUNTER_PK: &str = "COUNTER#im_userid";
const COUNTER_SK: &str = "COUNTER";
/// BatchGetItem and TransactWriteItems both take at most 100 keys/actions a call.
const KEYS_PER_CALL: usize = 100;
/// How long init may spend opening the connection before it gives up and lets the first
/// request connect.
const WARM_UP_TIMEOUT: Duration = Duration::from_millis(1500);
/// Concurrent GSI queries for one imusers request.
const INDEX_QUERY_CONCURRENCY: usize = 16;
/// Cancellation reasons a later attempt can get past; any other (ValidationError,
/// ItemCollectionSizeLimitExceeded, ...) would fail the same way again.
const RETRYABLE_CANCELLATIONS: [&str; 3] = [
    "TransactionConflict",
    "ProvisionedThroughputExceeded",
    "ThrottlingError",
];

#[derive(Clone, Debug)]
pub struct UserTable {
    client: Client,
    table: String,
    /// How long audit records live (`AUDIT_TTL_DAYS`, in seconds).
    audit_ttl_seconds: i64,
}

/// Per-user outcome of a batch create.
pub type CreateOutcome = (String, ApiResult<()>);

impl UserTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        UserTable {
            client,
            table: table.into(),
            audit_ttl_seconds: config::AUDIT_TTL_DAYS_DEFAULT * 86_400,
        }
    }

    /// The same table keeping audit records `days` days.
    pub fn with_audit_ttl_days(mut self, days: i64) -> Self {
        self.audit_ttl_seconds = days.saturating_mul(86_400);
        self
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Opens the connection to DynamoDB (DNS, TCP, TLS) and settles everything a first call
    /// needs (credentials, endpoint, signing) with one cheap read of the counter item, while
    /// the function initialises: Lambda runs init with boosted CPU, and the first request
    /// then costs what a warm one does instead of paying for the handshake. Best effort and
    /// bounded: if it fails, the first request simply connects itself.
    pub async fn warm_up(&self) {
        let read = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(attr::PK, s(COUNTER_PK))
            .key(attr::SK, s(COUNTER_SK))
            .projection_expression(attr::PK)
            .send();
        match tokio::time::timeout(WARM_UP_TIMEOUT, read).await {
            Ok(Ok(_)) => tracing::debug!("connection to DynamoDB warmed up"),
            Ok(Err(e)) => tracing::warn!(error = %DisplayErrorContext(&e), "warm-up read failed"),
            Err(_) => tracing::warn!("warm-up read timed out"),
        }
    }

    /// Reserves `n` consecutive IM ids from the atomic counter (ids are never reused).
    pub async fn allocate_im_ids(&self, n: usize) -> ApiResult<std::ops::Range<i64>> {
        let n = i64::try_from(n).map_err(|_| ApiError::Internal("id count overflow".into()))?;
        let mut e = Expr::new();
        let value = e.name(attr::VALUE);
        let by = e.number(n);
        e.add(&value, &by);
        let out = e
            .update_item(self.client.update_item())
            .table_name(&self.table)
            .key(attr::PK, s(COUNTER_PK))
            .key(attr::SK, s(COUNTER_SK))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| store_error("allocate im_userid", e))?;
        let last = out
            .attributes()
            .and_then(|a| a.get(attr::VALUE))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<i64>().ok())
            .ok_or_else(|| ApiError::Internal("counter returned no value".into()))?;
        let first = last
            .checked_sub(n)
            .and_then(|f| f.checked_add(1))
            .ok_or_else(|| ApiError::Internal("counter out of range".into()))?;
        Ok(first..last + 1)
    }

    /// The IM id counter's current value (0 before the first allocation).
    pub async fn im_id_counter(&self) -> ApiResult<i64> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(attr::PK, s(COUNTER_PK))
            .key(attr::SK, s(COUNTER_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error("read im_userid counter", e))?;
        let value = out
            .item()
            .and_then(|i| i.get(attr::VALUE))
            .map(|v| v.as_n().ok().and_then(|n| n.parse::<i64>().ok()))
            .unwrap_or(Some(0));
        value.ok_or_else(|| ApiError::Internal("counter value is not an integer".into()))
    }

    /// Creates one user; never overwrites (an existing id is 10001). When the SDK retries a
    /// put whose answer was lost, the retry meets the item its first attempt wrote: DynamoDB
    /// hands that item back and, being this request's own, it is a success.
    pub async fn create(&self, user: &NewUser, im: &ImIdentity, now: i64) -> ApiResult<()> {
        let ours = StoredUser::new(user, im, now);
        let item = user_item(&ours)?;
        let deadline = Deadline::current();
        let mut attempt = 0;
        // A put that a concurrent transaction on the item made fail is tried again.
        let result = loop {
            let put = Expr::new_item_only()
                .put_item(self.client.put_item())
                .table_name(&self.table)
                .set_item(Some(item.clone()))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .send();
            let Some(result) = deadline.bound(put).await else {
                return Err(ApiError::Busy(
                    "create cut off at the request's deadline, outcome unknown".into(),
                ));
            };
            match result {
                Err(e) if attempt < 5 && e.code() == Some("TransactionConflictException") => {
                    attempt += 1;
                    let pause = backoff(attempt);
                    if !deadline.allows_write_retry(pause) {
                        break Err(e);
                    }
                    tokio::time::sleep(pause).await;
                }
                other => break other,
            }
        };
        match result {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(c)) => {
                    if is_own_create(c.item(), &ours)? {
                        tracing::info!(user_id = %user.user_id, "a retried create found its own write");
                        Ok(())
                    } else {
                        Err(ApiError::UserExists(user.user_id.clone()))
                    }
                }
                _ => Err(store_error("create user", e)),
            },
        }
    }

    /// Creates many users in transactions of up to 100 conditional puts. An existing id
    /// cancels its transaction; the cancellation reasons say which, and the rest are retried.
    /// Returns one outcome per user, in input order.
    pub async fn create_many(
        &self,
        users: &[(NewUser, ImIdentity)],
        now: i64,
    ) -> Vec<CreateOutcome> {
        let chunks = users
            .chunks(KEYS_PER_CALL)
            .map(|chunk| self.create_chunk(chunk, now));
        join_all(chunks).await.into_iter().flatten().collect()
    }

    async fn create_chunk(&self, users: &[(NewUser, ImIdentity)], now: i64) -> Vec<CreateOutcome> {
        let ours: Vec<StoredUser> = users
            .iter()
            .map(|(user, im)| StoredUser::new(user, im, now))
            .collect();
        let mut outcome: Vec<Option<ApiResult<()>>> = vec![None; users.len()];
        let items = match ours.iter().map(user_item).collect::<ApiResult<Vec<_>>>() {
            Ok(items) => items,
            Err(e) => {
                return users
                    .iter()
                    .map(|(user, _)| (user.user_id.clone(), Err(e.clone())))
                    .collect();
            }
        };
        let deadline = Deadline::current();
        let mut attempt = 0;
        loop {
            let pending: Vec<usize> = (0..users.len()).filter(|i| outcome[*i].is_none()).collect();
            if pending.is_empty() {
                break;
            }
            let actions = pending
                .iter()
                .map(|&i| {
                    let put = Expr::new_item_only()
                        .transact_put(Put::builder())
                        .table_name(&self.table)
                        .set_item(Some(items[i].clone()))
                        .return_values_on_condition_check_failure(
                            ReturnValuesOnConditionCheckFailure::AllOld,
                        )
                        .build()
                        .expect("table, item and condition are set");
                    TransactWriteItem::builder().put(put).build()
                })
                .collect();
            // A fresh token per attempt (the SDK would make one per call too; this keeps the
            // rule here). The SDK's own retries of this call resend it, so a transaction
            // whose answer was lost is applied once and its retry answered with success. A
            // next attempt here follows a definite answer that committed nothing (and
            // usually holds fewer actions): a new request, which a reused token would make
            // an IdempotentParameterMismatch.
            let token = match request_token() {
                Ok(token) => token,
                Err(e) => {
                    for &i in &pending {
                        outcome[i] = Some(Err(e.clone()));
                    }
                    continue;
                }
            };
            let call = self
                .client
                .transact_write_items()
                .set_transact_items(Some(actions))
                .client_request_token(token)
                .send();
            let Some(result) = deadline.bound(call).await else {
                for &i in &pending {
                    outcome[i] = Some(Err(ApiError::Busy(
                        "transaction cut off at the request's deadline, outcome unknown".into(),
                    )));
                }
                continue;
            };
            let retry_at_once = match result {
                Ok(_) => {
                    for &i in &pending {
                        outcome[i] = Some(Ok(()));
                    }
                    continue;
                }
                Err(e) => match e.as_service_error() {
                    Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                        let reasons = c.cancellation_reasons();
                        let mut settled = false;
                        let mut hopeless = false;
                        for (pos, &i) in pending.iter().enumerate() {
                            let reason = reasons.get(pos);
                            match reason.and_then(|r| r.code()) {
                                Some("ConditionalCheckFailed") => {
                                    let own =
                                        is_own_create(reason.and_then(|r| r.item()), &ours[i]);
                                    outcome[i] = Some(match own {
                                        Ok(true) => Ok(()),
                                        Ok(false) => {
                                            Err(ApiError::UserExists(users[i].0.user_id.clone()))
                                        }
                                        Err(e) => Err(e),
                                    });
                                    settled = true;
                                }
                                None | Some("None") => {}
                                Some(code) if RETRYABLE_CANCELLATIONS.contains(&code) => {}
                                Some(_) => hopeless = true,
                            }
                        }
                        if hopeless {
                            // Retrying cannot help: 500, with the reasons for the logs.
                            let err = ApiError::Internal(format!(
                                "create users: transaction cancelled: {}",
                                describe_reasons(reasons)
                            ));
                            for &i in &pending {
                                outcome[i].get_or_insert_with(|| Err(err.clone()));
                            }
                            continue;
                        }
                        // Existing users are settled: retry the rest at once. Anything else
                        // (conflicts, throttling, no reasons at all) waits.
                        settled
                    }
                    // The token's first attempt may still be running; a later attempt that
                    // meets what it wrote recognises it as ours.
                    Some(se)
                        if matches!(
                            se.code(),
                            Some("TransactionConflictException" | "TransactionInProgressException")
                        ) =>
                    {
                        false
                    }
                    _ => {
                        let err = store_error("create users", e);
                        for &i in &pending {
                            outcome[i] = Some(Err(err.clone()));
                        }
                        continue;
                    }
                },
            };
            attempt += 1;
            let pause = if retry_at_once {
                Duration::ZERO
            } else {
                backoff(attempt)
            };
            if !deadline.allows_write_retry(pause) {
                for &i in &pending {
                    outcome[i].get_or_insert_with(|| {
                        Err(ApiError::Busy(
                            "transaction conflicts past the request's deadline".into(),
                        ))
                    });
                }
                continue;
            }
            tokio::time::sleep(pause).await;
        }
        users
            .iter()
            .zip(outcome)
            .map(|((user, _), o)| (user.user_id.clone(), o.unwrap_or(Ok(()))))
            .collect()
    }

    /// The update `e` (its condition included) on one user's item: false when the condition
    /// failed, which the caller decides the meaning of.
    async fn update_user_if(&self, user_id: &str, e: expr::Expr, what: &str) -> ApiResult<bool> {
        let result = e
            .update_item(self.client.update_item())
            .table_name(&self.table)
            .set_key(Some(user_key(user_id)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) => match err.as_service_error() {
                Some(se) if se.is_conditional_check_failed_exception() => Ok(false),
                _ => Err(store_error(what, err)),
            },
        }
    }

    /// One strongly consistent read of one user.
    pub async fn get<V: UserView>(&self, user_id: &str) -> ApiResult<Option<V>> {
        self.get_stored(user_id, V::ATTRIBUTES)
            .await?
            .map(V::from_stored)
            .transpose()
    }

    /// One strongly consistent read of `attributes` of one user.
    async fn get_stored(
        &self,
        user_id: &str,
        attributes: &[&str],
    ) -> ApiResult<Option<StoredUser>> {
        let (expression, names) = projection(attributes);
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(user_key(user_id)))
            .consistent_read(true)
            .projection_expression(expression)
            .set_expression_attribute_names(Some(names))
            .send()
            .await
            .map_err(|e| store_error("get user", e))?;
        out.item.map(from_item).transpose()
    }

    /// Reads many users: one BatchGetItem per 100 ids (run concurrently), UnprocessedKeys
    /// retried with backoff. Unknown ids are omitted; order is the caller's business.
    pub async fn get_many<V: UserView>(&self, user_ids: &[String]) -> ApiResult<Vec<V>> {
        let keys: Vec<Item> = user_ids.iter().map(|id| user_key(id)).collect();
        let calls = keys
            .chunks(KEYS_PER_CALL)
            .map(|chunk| self.batch_get(chunk.to_vec(), V::ATTRIBUTES));
        let mut users = Vec::with_capacity(user_ids.len());
        for items in join_all(calls).await {
            for item in items? {
                users.push(read_view(item)?);
            }
        }
        Ok(users)
    }

    /// One BatchGetItem of up to 100 keys of any kind of item, all read with `attributes`.
    /// UnprocessedKeys are asked again with backoff while a whole call still fits before the
    /// request's deadline.
    async fn batch_get(&self, keys: Vec<Item>, attributes: &[&str]) -> ApiResult<Vec<Item>> {
        let wanted = keys.len();
        let (expression, names) = projection(attributes);
        let mut request = KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .consistent_read(true)
            .projection_expression(expression)
            .set_expression_attribute_names(Some(names))
            .build()
            .map_err(|e| ApiError::Internal(format!("batch get request: {e}")))?;
        let mut items = Vec::with_capacity(wanted);
        let deadline = Deadline::current();
        let mut attempt = 0;
        loop {
            let mut out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(|e| store_error("batch get users", e))?;
            if let Some(found) = out.responses.as_mut().and_then(|r| r.remove(&self.table)) {
                items.extend(found);
            }
            match out.unprocessed_keys.and_then(|mut u| u.remove(&self.table)) {
                Some(rest) if !rest.keys().is_empty() => {
                    attempt += 1;
                    let pause = backoff(attempt);
                    if !deadline.allows_retry(pause) {
                        return Err(ApiError::Busy(
                            "unprocessed keys past the request's deadline".into(),
                        ));
                    }
                    tokio::time::sleep(pause).await;
                    request = rest;
                }
                _ => return Ok(items),
            }
        }
    }

    /// Public views of users by IM id, one GSI query each (a bounded number at a time).
    /// The index is eventually consistent: a user created a moment ago may be missing.
    pub async fn find_by_im_ids(&self, im_ids: &[i64]) -> ApiResult<Vec<UserInfo>> {
        let queries = futures_util::stream::iter(im_ids.iter().copied())
            .map(|im_id| self.find_by_im_id(im_id))
            .buffered(INDEX_QUERY_CONCURRENCY);
        let found: Vec<ApiResult<Option<UserInfo>>> = queries.collect().await;
        found.into_iter().filter_map(Result::transpose).collect()
    }

    async fn find_by_im_id(&self, im_id: i64) -> ApiResult<Option<UserInfo>> {
        let mut e = expr::Expr::new();
        let projected = e.projection(&INFO_ATTRIBUTES);
        let im = e.name(attr::IM_USERID);
        let id = e.number(im_id);
        e.key_condition(format!("{im} = {id}"));
        let out = e
            .query(self.client.query())
            .table_name(&self.table)
            .index_name(IM_INDEX)
            .projection_expression(projected)
            .limit(1)
            .send()
            .await
            .map_err(|e| store_error("query im_userid", e))?;
        out.items
            .unwrap_or_default()
            .into_iter()
            .next()
            .map(read_view)
            .transpose()
    }
}

/// Whether the item a failed create condition handed back is the one this create wrote.
fn is_own_create(old: Option<&Item>, ours: &StoredUser) -> ApiResult<bool> {
    match old {
        Some(item) => Ok(from_item::<StoredUser>(item.clone())?.is_same_create(ours)),
        None => Ok(false),
    }
}

/// Cancellation reasons for the logs: position, code and message, never the items.
fn describe_reasons(reasons: &[CancellationReason]) -> String {
    let described: Vec<String> = reasons
        .iter()
        .enumerate()
        .filter(|(_, r)| r.code().is_some_and(|c| c != "None"))
        .map(|(i, r)| {
            format!(
                "[{i}] {}: {}",
                r.code().unwrap_or("?"),
                r.message().unwrap_or("")
            )
        })
        .collect();
    described.join("; ")
}

/// A ClientRequestToken (1..36 characters): 32 random hex digits.
fn request_token() -> ApiResult<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::Internal(format!("CSPRNG: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Throttling and timeouts after the SDK's own retries are 503; everything else is 500.
pub fn store_error<E, R>(op: &str, err: SdkError<E, R>) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let busy = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => true,
        SdkError::ServiceError(_) => matches!(
            err.code(),
            Some(
                "ProvisionedThroughputExceededException"
                    | "ThrottlingException"
                    | "RequestLimitExceeded"
                    | "LimitExceededException"
            )
        ),
        _ => false,
    };
    let detail = format!("{op}: {}", DisplayErrorContext(&err));
    if busy {
        ApiError::Busy(detail)
    } else {
        ApiError::Internal(detail)
    }
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A user's partition key: its item and its audit records.
fn user_pk(user_id: &str) -> String {
    format!("USER#{user_id}")
}

/// A user's key; every request that makes one names the user as its target in the trail.
fn user_key(user_id: &str) -> Item {
    audit::touch(user_id);
    HashMap::from([
        (attr::PK.to_string(), s(user_pk(user_id))),
        (attr::SK.to_string(), s(USER_SK)),
    ])
}

/// The whole item of a user: its key and its attributes.
fn user_item(user: &StoredUser) -> ApiResult<Item> {
    let mut item = to_item(user)?;
    item.extend(user_key(&user.user_id));
    Ok(item)
}

/// `#a, #b` and {#a: a, #b: b}: every attribute goes through a name placeholder, so reserved
/// words never matter.
fn projection(attributes: &[&str]) -> (String, HashMap<String, String>) {
    let mut e = expr::Expr::new();
    let expression = e.projection(attributes);
    (expression, e.names().unwrap_or_default())
}

/// The table as `template.yaml` declares it (a test keeps the two in step).
pub struct TableDefinition {
    pub attributes: Vec<(&'static str, ScalarAttributeType)>,
    pub key: Vec<(&'static str, KeyType)>,
    pub indexes: Vec<IndexDefinition>,
}

/// One GSI: its key and the non-key attributes it copies (`INCLUDE`).
pub struct IndexDefinition {
    pub name: &'static str,
    pub key: Vec<(&'static str, KeyType)>,
    pub attributes: Vec<&'static str>,
}

pub fn table_definition() -> TableDefinition {
    TableDefinition {
        attributes: vec![
            (attr::PK, ScalarAttributeType::S),
            (attr::SK, ScalarAttributeType::S),
            (attr::IM_USERID, ScalarAttributeType::N),
            (attr::DIR, ScalarAttributeType::S),
            (attr::DIR_ORDER, ScalarAttributeType::S),
        ],
        key: vec![(attr::PK, KeyType::Hash), (attr::SK, KeyType::Range)],
        indexes: vec![
            IndexDefinition {
                name: IM_INDEX,
                key: vec![(attr::IM_USERID, KeyType::Hash)],
                attributes: IM_INDEX_ATTRIBUTES.to_vec(),
            },
            IndexDefinition {
                name: directory::DIRECTORY_INDEX,
                key: vec![
                    (attr::DIR, KeyType::Hash),
                    (attr::DIR_ORDER, KeyType::Range),
                ],
                attributes: directory::directory_attributes(),
            },
        ],
    }
}

/// Creates the table if it does not exist (for DynamoDB Local and tests; AWS uses the template).
pub async fn create_table(client: &Client, table: &str) -> ApiResult<()> {
    let def = table_definition();
    let key = |parts: &[(&str, KeyType)]| -> Vec<KeySchemaElement> {
        parts
            .iter()
            .map(|(name, kind)| {
                KeySchemaElement::builder()
                    .attribute_name(*name)
                    .key_type(kind.clone())
                    .build()
                    .expect("name and type are set")
            })
            .collect()
    };
    let attributes = def
        .attributes
        .iter()
        .map(|(name, kind)| {
            AttributeDefinition::builder()
                .attribute_name(*name)
                .attribute_type(kind.clone())
                .build()
                .expect("name and type are set")
        })
        .collect();
    let mut indexes = Vec::new();
    for index in &def.indexes {
        indexes.push(
            GlobalSecondaryIndex::builder()
                .index_name(index.name)
                .set_key_schema(Some(key(&index.key)))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::Include)
                        .set_non_key_attributes(Some(
                            index.attributes.iter().map(|a| a.to_string()).collect(),
                        ))
                        .build(),
                )
                .build()
                .map_err(|e| ApiError::Internal(format!("index definition: {e}")))?,
        );
    }
    let result = client
        .create_table()
        .table_name(table)
        .set_attribute_definitions(Some(attributes))
        .set_key_schema(Some(key(&def.key)))
        .set_global_secondary_indexes(Some(indexes))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    match result {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_resource_in_use_exception()) => {}
        Err(e) => return Err(store_error("create table", e)),
    }
    enable_ttl(client, table).await;
    Ok(())
}

/// TTL on `expires_at`, as the template declares it: limit counters and audit records expire.
/// Best effort: an emulator that refuses it (or a table that has it already) keeps its items
/// longer, which only ever ask to be deleted (a counter's window is in its key, so an old one is
/// never counted again).
async fn enable_ttl(client: &Client, table: &str) {
    let spec = aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
        .attribute_name(attr::EXPIRES_AT)
        .enabled(true)
        .build();
    let result = match spec {
        Ok(spec) => client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(spec)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| DisplayErrorContext(e).to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, "TTL not enabled");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projections_name_every_attribute_through_a_placeholder() {
        let (expression, names) = projection(UserProfile::ATTRIBUTES);
        assert!(names.values().any(|n| n == "im_password"));
        assert_eq!(names.len(), 7);
        assert_eq!(expression.split(", ").count(), 7);
        assert!(
            expression.split(", ").all(|p| names.contains_key(p)),
            "{expression}"
        );
        let (_, public) = projection(&INFO_ATTRIBUTES);
        assert!(
            public
                .values()
                .all(|n| n != "im_password" && n != "im_username")
        );
    }

    #[test]
    fn the_index_holds_every_attribute_of_the_public_view() {
        let def = table_definition();
        let im = &def.indexes[0];
        let mut held: Vec<&str> = im.attributes.clone();
        held.extend(im.key.iter().map(|(name, _)| *name));
        held.sort();
        let mut info = INFO_ATTRIBUTES.to_vec();
        info.sort();
        assert_eq!(held, info);
    }

    #[test]
    fn the_directory_holds_the_minapp_object_and_no_secret() {
        let def = table_definition();
        let dir = &def.indexes[1];
        for a in crate::user::User::ATTRIBUTES {
            let needed = !matches!(
                *a,
                attr::PK | attr::EXTENDS | attr::ANONYMOUS | attr::DISABLED_UNTIL
            );
            assert_eq!(dir.attributes.contains(a), needed, "{a}");
        }
        for secret in [attr::IM_PASSWORD, attr::PASSWORD_HASH, attr::IM_USERNAME] {
            assert!(!dir.attributes.contains(&secret));
        }
    }

    #[test]
    fn backoff_grows_but_stays_capped() {
        for attempt in 0..20 {
            let d = backoff(attempt);
            assert!(
                d >= Duration::from_millis(1) && d <= Duration::from_millis(1000),
                "{d:?}"
            );
        }
    }

    #[test]
    fn stored_items_always_carry_an_extends_map_and_the_im_identity() {
        let user = NewUser {
            user_id: "u1".into(),
            nick: String::new(),
            avatar: String::new(),
            extends: Default::default(),
        };
        let im = ImIdentity {
            im_userid: 9,
            im_username: "qlu1".into(),
            im_password: "p".repeat(24),
        };
        let item = user_item(&StoredUser::new(&user, &im, 100)).unwrap();
        assert!(matches!(item.get(attr::EXTENDS), Some(AttributeValue::M(m)) if m.is_empty()));
        assert_eq!(
            item.get(attr::EXTENDS_BYTES),
            Some(&AttributeValue::N("0".into()))
        );
        assert_eq!(item.get(attr::PK), Some(&s("USER#u1")));
        let profile: UserProfile = read_view(item).unwrap();
        assert_eq!(profile.info.im_userid, 9);
        assert_eq!(profile.im_username, "qlu1");
    }

    #[test]
    fn request_tokens_are_fresh_and_fit_dynamodb() {
        let (a, b) = (request_token().unwrap(), request_token().unwrap());
        assert_ne!(a, b);
        assert!(a.len() <= 36 && a.chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn cancellation_reasons_are_described_without_their_items() {
        let reasons = [
            CancellationReason::builder().code("None").build(),
            CancellationReason::builder()
                .code("ValidationError")
                .message("bad")
                .item(attr::IM_PASSWORD, s("secret-password"))
                .build(),
        ];
        let text = describe_reasons(&reasons);
        assert_eq!(text, "[1] ValidationError: bad");
    }
}
