//! The DynamoDB adapter: one table, generic `pk`/`sk` keys, a GSI on `im_userid`.
//!
//! | item | pk | sk | attributes |
//! |---|---|---|---|
//! | user | `USER#<user_id>` | `USER` | user_id, nick, avatar, extends (map), im_userid, im_username, im_password, created_at, updated_at |
//! | IM id counter | `COUNTER#im_userid` | `COUNTER` | value |
//!
//! Later dialects add unique-name items (`USERNAME#..`, `EMAIL#..`) beside the user item.

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, KeysAndAttributes, Projection, ProjectionType, Put, ReturnValue, ScalarAttributeType,
    TransactWriteItem,
};
use futures_util::StreamExt;
use futures_util::future::join_all;

use crate::error::{ApiError, ApiResult};
use crate::user::{
    EXTENDS_MAX_KEYS, Extends, ImIdentity, NewUser, UserInfo, UserProfile, UserUpdate,
};

type Item = HashMap<String, AttributeValue>;

pub const IM_INDEX: &str = "im_userid-index";
/// Non-key attributes copied into the GSI: the public view only, never IM credentials.
pub const IM_INDEX_ATTRIBUTES: [&str; 4] = ["user_id", "nick", "avatar", "extends"];
const USER_SK: &str = "USER";
const COUNTER_PK: &str = "COUNTER#im_userid";
const COUNTER_SK: &str = "COUNTER";
/// BatchGetItem and TransactWriteItems both take at most 100 keys/actions a call.
const KEYS_PER_CALL: usize = 100;
/// How long a batch keeps retrying UnprocessedKeys or conflicts before giving up.
const RETRY_DEADLINE: Duration = Duration::from_secs(5);
/// How long init may spend opening the connection before it gives up and lets the first
/// request connect.
const WARM_UP_TIMEOUT: Duration = Duration::from_millis(1500);
/// Concurrent GSI queries for one imusers request.
const INDEX_QUERY_CONCURRENCY: usize = 16;

const INFO_PROJECTION: &str = "#user_id, #nick, #avatar, #extends, #im_userid";
const PROFILE_PROJECTION: &str =
    "#user_id, #nick, #avatar, #extends, #im_userid, #im_username, #im_password";

mod accounts;
mod lookup;

#[derive(Clone, Debug)]
pub struct UserTable {
    client: Client,
    table: String,
}

/// Read shapes a caller can ask for; the projection keeps secrets out of public reads.
pub trait UserView: Sized {
    const PROJECTION: &'static str;
    fn from_item(item: &Item) -> ApiResult<Self>;
    fn user_id(&self) -> &str;
}

impl UserView for UserInfo {
    const PROJECTION: &'static str = INFO_PROJECTION;
    fn from_item(item: &Item) -> ApiResult<Self> {
        Ok(UserInfo {
            user_id: string(item, "user_id")?,
            nick: string(item, "nick").unwrap_or_default(),
            avatar: string(item, "avatar").unwrap_or_default(),
            extends: extends(item),
            im_userid: number(item, "im_userid")?,
        })
    }
    fn user_id(&self) -> &str {
        &self.user_id
    }
}

impl UserView for UserProfile {
    const PROJECTION: &'static str = PROFILE_PROJECTION;
    fn from_item(item: &Item) -> ApiResult<Self> {
        Ok(UserProfile {
            info: UserInfo::from_item(item)?,
            im_username: string(item, "im_username")?,
            im_password: string(item, "im_password")?,
        })
    }
    fn user_id(&self) -> &str {
        &self.info.user_id
    }
}

/// Per-user outcome of a batch create.
pub type CreateOutcome = (String, ApiResult<()>);

impl UserTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        UserTable {
            client,
            table: table.into(),
        }
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
            .key("pk", s(COUNTER_PK))
            .key("sk", s(COUNTER_SK))
            .projection_expression("pk")
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
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(COUNTER_PK))
            .key("sk", s(COUNTER_SK))
            .update_expression("ADD #v :n")
            .expression_attribute_names("#v", "value")
            .expression_attribute_values(":n", AttributeValue::N(n.to_string()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| store_error("allocate im_userid", e))?;
        let last = out
            .attributes()
            .and_then(|a| a.get("value"))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<i64>().ok())
            .ok_or_else(|| ApiError::Internal("counter returned no value".into()))?;
        Ok(last - n + 1..last + 1)
    }

    /// Creates one user; never overwrites (an existing id is 10001).
    pub async fn create(&self, user: &NewUser, im: &ImIdentity, now: i64) -> ApiResult<()> {
        let item = user_item(user, im, now);
        retry_conflicts(|| async {
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item.clone()))
                .condition_expression("attribute_not_exists(pk)")
                .send()
                .await
        })
        .await
        .map(|_| ())
        .map_err(|e| match e.as_service_error() {
            Some(se) if se.is_conditional_check_failed_exception() => {
                ApiError::UserExists(user.user_id.clone())
            }
            _ => store_error("create user", e),
        })
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
        let mut outcome: Vec<Option<ApiResult<()>>> = vec![None; users.len()];
        let deadline = Instant::now() + RETRY_DEADLINE;
        let mut attempt = 0;
        loop {
            let pending: Vec<usize> = (0..users.len()).filter(|i| outcome[*i].is_none()).collect();
            if pending.is_empty() {
                break;
            }
            let actions = pending
                .iter()
                .map(|&i| {
                    let (user, im) = &users[i];
                    let put = Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(user_item(user, im, now)))
                        .condition_expression("attribute_not_exists(pk)")
                        .build()
                        .expect("table, item and condition are set");
                    TransactWriteItem::builder().put(put).build()
                })
                .collect();
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(actions))
                .send()
                .await;
            let retry_later = match result {
                Ok(_) => {
                    for &i in &pending {
                        outcome[i] = Some(Ok(()));
                    }
                    continue;
                }
                Err(e) => match e.as_service_error() {
                    Some(se) if se.is_transaction_canceled_exception() => {
                        let reasons = match se {
                            aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c) => c.cancellation_reasons().to_vec(),
                            _ => Vec::new(),
                        };
                        let mut settled = false;
                        for (pos, &i) in pending.iter().enumerate() {
                            if reasons.get(pos).and_then(|r| r.code())
                                == Some("ConditionalCheckFailed")
                            {
                                outcome[i] =
                                    Some(Err(ApiError::UserExists(users[i].0.user_id.clone())));
                                settled = true;
                            }
                        }
                        // Existing users are settled: retry the rest at once. Anything else
                        // (conflicts, throttling, no reasons at all) waits, within the deadline.
                        !settled
                    }
                    Some(se) if se.code() == Some("TransactionConflictException") => true,
                    _ => {
                        let err = store_error("create users", e);
                        for &i in &pending {
                            outcome[i] = Some(Err(err.clone()));
                        }
                        continue;
                    }
                },
            };
            if retry_later {
                attempt += 1;
                if Instant::now() >= deadline {
                    for &i in &pending {
                        outcome[i].get_or_insert_with(|| {
                            Err(ApiError::Busy("transaction conflicts past deadline".into()))
                        });
                    }
                    continue;
                }
                tokio::time::sleep(backoff(attempt)).await;
            }
        }
        users
            .iter()
            .zip(outcome)
            .map(|((user, _), o)| (user.user_id.clone(), o.unwrap_or(Ok(()))))
            .collect()
    }

    /// One strongly consistent read of one user.
    pub async fn get<V: UserView>(&self, user_id: &str) -> ApiResult<Option<V>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(user_key(user_id)))
            .consistent_read(true)
            .projection_expression(V::PROJECTION)
            .set_expression_attribute_names(Some(projection_names(V::PROJECTION)))
            .send()
            .await
            .map_err(|e| store_error("get user", e))?;
        out.item().map(V::from_item).transpose()
    }

    /// Reads many users: one BatchGetItem per 100 ids (run concurrently), UnprocessedKeys
    /// retried with backoff. Unknown ids are omitted; order is the caller's business.
    pub async fn get_many<V: UserView>(&self, user_ids: &[String]) -> ApiResult<Vec<V>> {
        let keys: Vec<Item> = user_ids.iter().map(|id| user_key(id)).collect();
        let calls = keys
            .chunks(KEYS_PER_CALL)
            .map(|chunk| self.batch_get(chunk.to_vec(), V::PROJECTION));
        let mut users = Vec::with_capacity(user_ids.len());
        for items in join_all(calls).await {
            for item in items? {
                users.push(V::from_item(&item)?);
            }
        }
        Ok(users)
    }

    /// One BatchGetItem of up to 100 keys of any kind of item, all read with `projection`.
    async fn batch_get(&self, keys: Vec<Item>, projection: &str) -> ApiResult<Vec<Item>> {
        let wanted = keys.len();
        let mut request = KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .consistent_read(true)
            .projection_expression(projection)
            .set_expression_attribute_names(Some(projection_names(projection)))
            .build()
            .map_err(|e| ApiError::Internal(format!("batch get request: {e}")))?;
        let mut items = Vec::with_capacity(wanted);
        let deadline = Instant::now() + RETRY_DEADLINE;
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
                    if Instant::now() >= deadline {
                        return Err(ApiError::Busy("unprocessed keys past deadline".into()));
                    }
                    tokio::time::sleep(backoff(attempt)).await;
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
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(IM_INDEX)
            .key_condition_expression("#im_userid = :id")
            .projection_expression(INFO_PROJECTION)
            .set_expression_attribute_names(Some(projection_names(INFO_PROJECTION)))
            .expression_attribute_values(":id", AttributeValue::N(im_id.to_string()))
            .limit(1)
            .send()
            .await
            .map_err(|e| store_error("query im_userid", e))?;
        out.items().first().map(UserInfo::from_item).transpose()
    }

    /// Applies an update in one UpdateItem: fields SET, `extends` keys SET or REMOVE one by
    /// one, so concurrent updates of different keys both survive.
    pub async fn update(&self, user_id: &str, update: &UserUpdate, now: i64) -> ApiResult<()> {
        if update.is_empty() {
            // Nothing to write; still answer 404 for an unknown user.
            return match self.get::<UserInfo>(user_id).await? {
                Some(_) => Ok(()),
                None => Err(ApiError::UserNotFound(user_id.to_string())),
            };
        }
        let mut names = HashMap::from([("#updated_at".to_string(), "updated_at".to_string())]);
        let mut values = HashMap::from([(":now".to_string(), AttributeValue::N(now.to_string()))]);
        let mut set = vec!["#updated_at = :now".to_string()];
        let mut remove = Vec::new();
        for (field, value) in [("nick", &update.nick), ("avatar", &update.avatar)] {
            if let Some(v) = value {
                names.insert(format!("#{field}"), field.to_string());
                values.insert(format!(":{field}"), s(v));
                set.push(format!("#{field} = :{field}"));
            }
        }
        let touches_extends = !update.set_extends.is_empty() || !update.remove_extends.is_empty();
        if touches_extends {
            names.insert("#extends".into(), "extends".into());
        }
        let mut set_keys = Vec::new();
        for (i, (key, value)) in update.set_extends.iter().enumerate() {
            names.insert(format!("#k{i}"), key.clone());
            values.insert(format!(":v{i}"), s(value));
            set.push(format!("#extends.#k{i} = :v{i}"));
            set_keys.push(format!("attribute_exists(#extends.#k{i})"));
        }
        for (i, key) in update.remove_extends.iter().enumerate() {
            names.insert(format!("#r{i}"), key.clone());
            remove.push(format!("#extends.#r{i}"));
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        // Keep the stored map within its key limit without reading it first: either there is
        // room for every key set here, or every one of them already exists.
        let mut condition = "attribute_exists(pk)".to_string();
        if !set_keys.is_empty() {
            let room = EXTENDS_MAX_KEYS - update.set_extends.len();
            values.insert(":room".into(), AttributeValue::N(room.to_string()));
            condition.push_str(&format!(
                " AND (size(#extends) <= :room OR ({}))",
                set_keys.join(" AND ")
            ));
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(user_key(user_id)))
            .update_expression(expression)
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                match self.get::<UserInfo>(user_id).await? {
                    None => Err(ApiError::UserNotFound(user_id.to_string())),
                    Some(_) => Err(ApiError::invalid(
                        "extends",
                        format!("a user may have at most {EXTENDS_MAX_KEYS} keys"),
                    )),
                }
            }
            Err(e) => Err(store_error("update user", e)),
        }
    }
}

/// Retries an operation that a concurrent transaction on the same item made fail.
async fn retry_conflicts<T, E, F, Fut>(
    mut op: F,
) -> Result<T, SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>>
where
    E: ProvideErrorMetadata,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>>>,
{
    let mut attempt = 0;
    loop {
        match op().await {
            Err(e) if attempt < 5 && e.code() == Some("TransactionConflictException") => {
                attempt += 1;
                tokio::time::sleep(backoff(attempt)).await;
            }
            other => return other,
        }
    }
}

/// Exponential backoff with full jitter: up to 20 ms, 40 ms, ... capped at 1 s.
fn backoff(attempt: u32) -> Duration {
    let cap_ms = (20u64 << attempt.min(6)).min(1000);
    let mut r = [0u8; 8];
    let jitter = getrandom::fill(&mut r)
        .map(|_| u64::from_le_bytes(r))
        .unwrap_or(cap_ms / 2);
    Duration::from_millis(1 + jitter % cap_ms)
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

fn user_key(user_id: &str) -> Item {
    HashMap::from([
        ("pk".to_string(), s(format!("USER#{user_id}"))),
        ("sk".to_string(), s(USER_SK)),
    ])
}

fn user_item(user: &NewUser, im: &ImIdentity, now: i64) -> Item {
    let mut item = user_key(&user.user_id);
    let extends = user
        .extends
        .iter()
        .map(|(k, v)| (k.clone(), s(v)))
        .collect();
    item.extend([
        ("user_id".to_string(), s(&user.user_id)),
        ("nick".to_string(), s(&user.nick)),
        ("avatar".to_string(), s(&user.avatar)),
        // Always a map, even empty: `SET extends.#k` needs the map to exist.
        ("extends".to_string(), AttributeValue::M(extends)),
        (
            "im_userid".to_string(),
            AttributeValue::N(im.im_userid.to_string()),
        ),
        ("im_username".to_string(), s(&im.im_username)),
        ("im_password".to_string(), s(&im.im_password)),
        ("created_at".to_string(), AttributeValue::N(now.to_string())),
        ("updated_at".to_string(), AttributeValue::N(now.to_string())),
    ]);
    item
}

/// `#a, #b` -> {#a: a, #b: b}: every attribute goes through a name placeholder, so reserved
/// words never matter.
fn projection_names(projection: &str) -> HashMap<String, String> {
    projection
        .split(',')
        .map(|p| p.trim())
        .map(|p| (p.to_string(), p.trim_start_matches('#').to_string()))
        .collect()
}

fn string(item: &Item, name: &str) -> ApiResult<String> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v.clone()),
        _ => Err(ApiError::Internal(format!(
            "stored user lacks string {name}"
        ))),
    }
}

fn number(item: &Item, name: &str) -> ApiResult<i64> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v
            .parse()
            .map_err(|_| ApiError::Internal(format!("stored {name} is not an integer"))),
        _ => Err(ApiError::Internal(format!(
            "stored user lacks number {name}"
        ))),
    }
}

fn extends(item: &Item) -> Extends {
    match item.get("extends") {
        Some(AttributeValue::M(m)) => m
            .iter()
            .filter_map(|(k, v)| v.as_s().ok().map(|v| (k.clone(), v.clone())))
            .collect(),
        _ => Extends::new(),
    }
}

/// The table as `template.yaml` declares it (a test keeps the two in step).
pub struct TableDefinition {
    pub attributes: Vec<(&'static str, ScalarAttributeType)>,
    pub key: Vec<(&'static str, KeyType)>,
    pub index_name: &'static str,
    pub index_key: Vec<(&'static str, KeyType)>,
    pub index_projection: ProjectionType,
    pub index_attributes: Vec<&'static str>,
}

pub fn table_definition() -> TableDefinition {
    TableDefinition {
        attributes: vec![
            ("pk", ScalarAttributeType::S),
            ("sk", ScalarAttributeType::S),
            ("im_userid", ScalarAttributeType::N),
        ],
        key: vec![("pk", KeyType::Hash), ("sk", KeyType::Range)],
        index_name: IM_INDEX,
        index_key: vec![("im_userid", KeyType::Hash)],
        index_projection: ProjectionType::Include,
        index_attributes: IM_INDEX_ATTRIBUTES.to_vec(),
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
    let index = GlobalSecondaryIndex::builder()
        .index_name(def.index_name)
        .set_key_schema(Some(key(&def.index_key)))
        .projection(
            Projection::builder()
                .projection_type(def.index_projection)
                .set_non_key_attributes(Some(
                    def.index_attributes.iter().map(|a| a.to_string()).collect(),
                ))
                .build(),
        )
        .build()
        .map_err(|e| ApiError::Internal(format!("index definition: {e}")))?;
    let result = client
        .create_table()
        .table_name(table)
        .set_attribute_definitions(Some(attributes))
        .set_key_schema(Some(key(&def.key)))
        .global_secondary_indexes(index)
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_resource_in_use_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(store_error("create table", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projections_name_every_attribute_through_a_placeholder() {
        let names = projection_names(PROFILE_PROJECTION);
        assert_eq!(
            names.get("#im_password").map(String::as_str),
            Some("im_password")
        );
        assert_eq!(names.len(), 7);
        assert!(
            !INFO_PROJECTION.contains("im_password") && !INFO_PROJECTION.contains("im_username")
        );
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
            extends: Extends::new(),
        };
        let im = ImIdentity {
            im_userid: 9,
            im_username: "qlu1".into(),
            im_password: "p".repeat(24),
        };
        let item = user_item(&user, &im, 100);
        assert!(matches!(item.get("extends"), Some(AttributeValue::M(m)) if m.is_empty()));
        assert_eq!(item.get("pk"), Some(&s("USER#u1")));
        let profile = UserProfile::from_item(&item).unwrap();
        assert_eq!(profile.info.im_userid, 9);
        assert_eq!(profile.im_username, "qlu1");
    }
}
