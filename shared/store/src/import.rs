//! Users moving in with their own numeric ids (`userctl import`, the import batch function).
//!
//! | item | pk | sk | attributes |
//! |---|---|---|---|
//! | id guard | `ID#<im_userid>` | `GUARD` | user_id |
//! | skipped range | `IMPORT#ids` | `GAP#<last, 19 digits>` | first, last |
//!
//! Sign-ups take ids from the counter in blocks that each function instance reserves ahead
//! of use, so an id an import gives must be one that no block holds now or ever will. An
//! import therefore raises the counter past its largest id, in one transaction with the
//! record of the range the counter skipped (its old value + 1 ..= the new value): an id is
//! written only when it lies in such a range. Any other id is one the counter has handed out,
//! or may yet hand out from a block a running instance holds: it is refused, never written.
//! The counter only grows, so no sign-up ever gets an id of a skipped range. Two imports of
//! one id meet at its id guard, written with the user; so do the user's `user_id` (its item's
//! key) and its account values (their guards). Nothing an import finds is overwritten.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::Update;

use super::audit::{Event, Subject};
use super::expr::{Expr, not_exists};
use super::lookup::guard_item;
use super::*;
use crate::account::{AccountField, guard_key};

const IMPORT_PK: &str = "IMPORT#ids";
const GAP_SK_PREFIX: &str = "GAP#";
/// BatchGetItem calls an import keeps in flight.
const BATCH_GETS_AT_ONCE: usize = 16;
/// Tries of the counter's raise when sign-ups move the counter in between.
const RAISE_ATTEMPTS: u32 = 20;

/// A user to import, as it will be stored.
#[derive(Debug, Clone)]
pub struct ImportUser {
    pub stored: StoredUser,
    /// Whether the row gave the IM credentials; otherwise they were made as a sign-up makes
    /// them, and a rerun does not compare them.
    pub given_im: bool,
}

/// What became of one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Imported {
    /// Written now (or, in a dry run, would be).
    Imported,
    /// Already stored with these values (a rerun).
    Unchanged,
    /// Not written: what holds the id, `user_id` or account value, or how the stored user
    /// differs from the row.
    Refused(String),
    /// The store failed (after its retries); rerunning is safe.
    Failed(String),
}

/// What a write of imported users did: each user's outcome, and what it cost.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportWrites {
    pub outcomes: Vec<Imported>,
    /// TransactWriteItems calls, those a condition cancelled included.
    pub transactions: usize,
    /// Write capacity units of the committed transactions, by DynamoDB's sizing rules
    /// ([`transactional_units`]; DynamoDB Local's own count of transactions is not DynamoDB's).
    pub write_units: f64,
}

/// The ids an import may give, and the counter it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub allowed: BTreeSet<i64>,
    pub counter: i64,
}

/// The id guard's key of `id`.
fn id_guard_key(id: i64) -> String {
    format!("ID#{id}")
}

fn gap_sk(last: i64) -> String {
    format!("{GAP_SK_PREFIX}{last:019}")
}

impl UserTable {
    /// Which of `ids` an import may give (see the module's doc). With `raise`, the counter is
    /// first raised past the largest of them, recording the range it skips; without (a dry
    /// run), ids above the counter count as allowed and nothing is written.
    pub async fn claim_import_ids(&self, ids: &[i64], raise: bool) -> ApiResult<Claim> {
        let (Some(&min), Some(&max)) = (ids.iter().min(), ids.iter().max()) else {
            return Ok(Claim {
                allowed: BTreeSet::new(),
                counter: self.im_id_counter().await?,
            });
        };
        let mut attempt = 0;
        let counter = loop {
            let counter = self.im_id_counter().await?;
            if max <= counter || !raise {
                break counter;
            }
            if self.raise_counter(counter, max).await? {
                break max;
            }
            // A sign-up's block moved the counter since it was read: read it again.
            Deadline::current()
                .pause_before_retry(&mut attempt, RAISE_ATTEMPTS, "import id range contended")
                .await?;
        };
        let gaps = self.import_gaps(min).await?;
        let allowed = ids
            .iter()
            .copied()
            .filter(|id| {
                (!raise && *id > counter)
                    || gaps.iter().any(|(first, last)| first <= id && id <= last)
            })
            .collect();
        Ok(Claim { allowed, counter })
    }

    /// Sets the counter from `from` to `to` and records the range `from + 1 ..= to`, in one
    /// transaction; false when the counter is no longer `from`.
    async fn raise_counter(&self, from: i64, to: i64) -> ApiResult<bool> {
        let mut e = Expr::new();
        let value = e.name(attr::VALUE);
        let new = e.number(to);
        e.set(&value, &new);
        let was = e.number(from);
        if from == 0 {
            e.condition(format!("({} OR {value} = {was})", not_exists(&value)));
        } else {
            e.condition(format!("{value} = {was}"));
        }
        let raise = e
            .transact_update(Update::builder())
            .table_name(&self.table)
            .key(attr::PK, s(COUNTER_PK))
            .key(attr::SK, s(COUNTER_SK))
            .build()
            .map_err(|e| ApiError::Internal(format!("raise counter: {e}")))?;
        let gap = HashMap::from([
            (attr::PK.to_string(), s(IMPORT_PK)),
            (attr::SK.to_string(), s(gap_sk(to))),
            (attr::GAP_FIRST.to_string(), n(from + 1)),
            (attr::GAP_LAST.to_string(), n(to)),
        ]);
        let record = Expr::new_item_only()
            .transact_put(Put::builder())
            .table_name(&self.table)
            .set_item(Some(gap))
            .build()
            .map_err(|e| ApiError::Internal(format!("record range: {e}")))?;
        let call = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(raise).build())
            .transact_items(TransactWriteItem::builder().put(record).build())
            .client_request_token(request_token()?)
            .send();
        match call.await {
            Ok(_) => {
                tracing::info!(from, to, "counter raised past imported ids");
                Ok(true)
            }
            Err(err) => match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(_)) => Ok(false),
                Some(se) if se.code() == Some("TransactionConflictException") => Ok(false),
                _ => Err(store_error("raise counter", err)),
            },
        }
    }

    /// The recorded ranges that end at or after `from`: (first, last).
    async fn import_gaps(&self, from: i64) -> ApiResult<Vec<(i64, i64)>> {
        let mut gaps = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut e = Expr::new();
            let pk = e.name(attr::PK);
            let sk = e.name(attr::SK);
            let partition = e.string(IMPORT_PK);
            let low = e.string(gap_sk(from));
            e.key_condition(format!("{pk} = {partition}"));
            e.key_condition(format!("{sk} >= {low}"));
            let out = e
                .query(self.client.query())
                .table_name(&self.table)
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| store_error("read import ranges", e))?;
            for item in out.items() {
                let number = |name: &str| {
                    item.get(name)
                        .and_then(|v| v.as_n().ok())
                        .and_then(|v| v.parse::<i64>().ok())
                };
                if let (Some(first), Some(last)) = (number(attr::GAP_FIRST), number(attr::GAP_LAST))
                {
                    gaps.push((first, last));
                }
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(gaps),
            }
        }
    }

    /// Who holds each of `ids` through its id guard (an earlier import): id -> user_id.
    pub async fn id_holders(&self, ids: &[i64]) -> ApiResult<HashMap<i64, String>> {
        let keys: Vec<Item> = ids
            .iter()
            .map(|id| guard_item(&id_guard_key(*id)))
            .collect();
        let mut holders = HashMap::new();
        for items in self.batch_get_all(keys, &[attr::PK, attr::USER_ID]).await? {
            for item in items {
                let key = item.get(attr::PK).and_then(|v| v.as_s().ok());
                let id = key
                    .and_then(|k| k.strip_prefix("ID#"))
                    .and_then(|id| id.parse::<i64>().ok());
                let holder = item.get(attr::USER_ID).and_then(|v| v.as_s().ok());
                if let (Some(id), Some(holder)) = (id, holder) {
                    holders.insert(id, holder.clone());
                }
            }
        }
        Ok(holders)
    }

    /// Whole stored users (secrets included: for comparing, never for a view), by user_id.
    pub async fn stored_users(&self, user_ids: &[String]) -> ApiResult<Vec<StoredUser>> {
        let attributes = [&attr::USER[..], &[attr::PASSWORD_HASH]].concat();
        let keys: Vec<Item> = user_ids.iter().map(|id| user_key(id)).collect();
        let mut users = Vec::new();
        for items in self.batch_get_all(keys, &attributes).await? {
            for item in items {
                users.push(from_item::<StoredUser>(item)?);
            }
        }
        Ok(users)
    }

    /// `keys` read 100 a BatchGetItem, a bounded number of calls at once (a file's worth of
    /// keys must not open thousands of requests together).
    async fn batch_get_all(
        &self,
        keys: Vec<Item>,
        attributes: &[&str],
    ) -> ApiResult<Vec<Vec<Item>>> {
        futures_util::stream::iter(keys.chunks(KEYS_PER_CALL).map(<[Item]>::to_vec))
            .map(|chunk| self.batch_get(chunk, attributes))
            .buffered(BATCH_GETS_AT_ONCE)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect()
    }

    /// Writes `users` (none of whose ids any guard holds yet, all allowed by
    /// [`claim_import_ids`](UserTable::claim_import_ids)): each user's item, id guard,
    /// account guards and an `imported` audit record, all or nothing per user, as many users
    /// a transaction as fit in its 100 actions. A transaction a condition cancels is settled
    /// user by user: the users whose items were taken are compared with what holds them
    /// (unchanged or refused), the rest go again. With `dry_run` nothing is written: the same
    /// keys are read, and what is free is reported as imported.
    pub async fn import_users(&self, users: &[ImportUser], dry_run: bool) -> ImportWrites {
        let mut writes = ImportWrites::default();
        if dry_run {
            writes.outcomes = self.import_dry(users).await;
            return writes;
        }
        let mut outcomes = vec![None; users.len()];
        let mut pending: Vec<usize> = (0..users.len()).collect();
        let mut attempt = 0;
        while !pending.is_empty() {
            let chunks = transaction_chunks(users, &pending);
            let results =
                join_all(chunks.iter().map(|chunk| self.import_chunk(users, chunk))).await;
            let mut again = Vec::new();
            for (chunk, (result, units)) in chunks.iter().zip(results) {
                writes.transactions += 1;
                writes.write_units += units;
                match result {
                    Ok(()) => chunk
                        .iter()
                        .for_each(|&i| outcomes[i] = Some(Imported::Imported)),
                    Err(ChunkError::Taken(taken)) => {
                        for &i in chunk {
                            if taken.contains(&i) {
                                outcomes[i] = Some(self.compare_imported(&users[i]).await);
                            } else {
                                again.push(i);
                            }
                        }
                    }
                    Err(ChunkError::Retry) => again.extend(chunk),
                    Err(ChunkError::Failed(e)) => chunk
                        .iter()
                        .for_each(|&i| outcomes[i] = Some(Imported::Failed(e.clone()))),
                }
            }
            if again.len() == pending.len() {
                attempt += 1;
                if attempt > 10 {
                    for i in again {
                        outcomes[i] = Some(Imported::Failed("contended: rerun".into()));
                    }
                    break;
                }
                tokio::time::sleep(backoff(attempt)).await;
            }
            pending = again;
        }
        writes.outcomes = outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|| Imported::Failed("not attempted".into())))
            .collect();
        writes
    }

    /// One transaction of the users at `chunk`, and the write units it consumed.
    async fn import_chunk(
        &self,
        users: &[ImportUser],
        chunk: &[usize],
    ) -> (Result<(), ChunkError>, f64) {
        let mut units = 0.0;
        let result = self.import_chunk_inner(users, chunk, &mut units).await;
        (result, units)
    }

    async fn import_chunk_inner(
        &self,
        users: &[ImportUser],
        chunk: &[usize],
        units: &mut f64,
    ) -> Result<(), ChunkError> {
        let mut actions = Vec::new();
        // The user each action belongs to, to read the cancellation reasons by.
        let mut owner = Vec::new();
        let mut cost = 0.0;
        for &i in chunk {
            let items = self
                .import_items(&users[i])
                .map_err(|e| ChunkError::Failed(e.to_string()))?;
            cost += items.iter().map(transactional_units).sum::<f64>();
            owner.extend(std::iter::repeat_n(i, items.len()));
            actions.extend(items);
        }
        let token = request_token().map_err(|e| ChunkError::Failed(e.to_string()))?;
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(actions))
            .client_request_token(token)
            .send()
            .await;
        let err = match result {
            Ok(_) => {
                *units += cost;
                for &i in chunk {
                    tracing::info!(user_id = %users[i].stored.user_id, im_userid = users[i].stored.im_userid.unwrap_or_default(), "imported");
                }
                return Ok(());
            }
            Err(e) => e,
        };
        match err.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                let reasons = c.cancellation_reasons();
                let taken: BTreeSet<usize> = reasons
                    .iter()
                    .zip(&owner)
                    .filter(|(r, _)| r.code() == Some("ConditionalCheckFailed"))
                    .map(|(_, &i)| i)
                    .collect();
                if !taken.is_empty() {
                    return Err(ChunkError::Taken(taken));
                }
                let retryable = reasons.iter().any(|r| {
                    r.code()
                        .is_some_and(|c| RETRYABLE_CANCELLATIONS.contains(&c))
                });
                if retryable {
                    Err(ChunkError::Retry)
                } else {
                    Err(ChunkError::Failed(format!(
                        "import cancelled: {}",
                        describe_reasons(reasons)
                    )))
                }
            }
            Some(se)
                if matches!(
                    se.code(),
                    Some("TransactionConflictException" | "TransactionInProgressException")
                ) =>
            {
                Err(ChunkError::Retry)
            }
            _ => Err(ChunkError::Failed(
                store_error("import users", err).to_string(),
            )),
        }
    }

    /// The puts of one user: its item, its id guard, its account guards, its record.
    fn import_items(&self, user: &ImportUser) -> ApiResult<Vec<TransactWriteItem>> {
        let stored = &user.stored;
        let id = stored
            .im_userid
            .ok_or_else(|| ApiError::Internal("an imported user needs its id".into()))?;
        let mut items = vec![self.put_new(user_item(stored)?)];
        let mut id_guard = guard_item(&id_guard_key(id));
        id_guard.insert(attr::USER_ID.into(), s(&stored.user_id));
        items.push(self.put_new(id_guard));
        for (field, value) in account_values(stored) {
            let mut guard = guard_item(&guard_key(field, value));
            guard.insert(attr::USER_ID.into(), s(&stored.user_id));
            items.push(self.put_new(guard));
        }
        items.push(self.audit_put(Subject::User(&stored.user_id), &Event::Imported)?);
        Ok(items)
    }

    /// A user some of whose keys are taken: unchanged when the very user is stored (a rerun),
    /// else refused, naming what holds what.
    pub async fn compare_imported(&self, user: &ImportUser) -> Imported {
        match self.settle_inner(user).await {
            Ok(outcome) => outcome,
            Err(e) => Imported::Failed(e.to_string()),
        }
    }

    async fn settle_inner(&self, user: &ImportUser) -> ApiResult<Imported> {
        let ours = &user.stored;
        let id = ours.im_userid.unwrap_or_default();
        let mut problems = Vec::new();
        if let Some(holder) = self.id_holders(&[id]).await?.remove(&id)
            && holder != ours.user_id
        {
            problems.push(format!("id {id} belongs to user {holder}"));
        }
        match self
            .stored_users(std::slice::from_ref(&ours.user_id))
            .await?
            .pop()
        {
            Some(stored) if stored.im_userid != ours.im_userid => problems.push(format!(
                "user_id {} belongs to the user with id {}",
                ours.user_id,
                stored.im_userid.map_or("none".into(), |i| i.to_string())
            )),
            Some(stored) => {
                let differs = differences(&stored, user);
                if !differs.is_empty() {
                    problems.push(format!(
                        "user {} is stored with other values of {}",
                        ours.user_id,
                        differs.join(", ")
                    ));
                }
            }
            None => {}
        }
        for (field, value) in account_values(ours) {
            let key = guard_key(field, value);
            let holder = self
                .batch_get(vec![guard_item(&key)], &[attr::USER_ID])
                .await?
                .pop()
                .and_then(|g| g.get(attr::USER_ID).and_then(|v| v.as_s().ok()).cloned());
            if let Some(holder) = holder.filter(|h| *h != ours.user_id) {
                problems.push(format!("{} is held by user {holder}", field.name()));
            }
        }
        Ok(if problems.is_empty() {
            Imported::Unchanged
        } else {
            Imported::Refused(problems.join("; "))
        })
    }

    /// A dry run: the keys an import would write, read; free ones report as imported.
    async fn import_dry(&self, users: &[ImportUser]) -> Vec<Imported> {
        let mut out = Vec::with_capacity(users.len());
        for user in users {
            out.push(match self.settle_inner(user).await {
                Ok(Imported::Unchanged) => {
                    let exists = self
                        .stored_users(std::slice::from_ref(&user.stored.user_id))
                        .await
                        .map(|u| !u.is_empty());
                    match exists {
                        Ok(true) => Imported::Unchanged,
                        Ok(false) => Imported::Imported,
                        Err(e) => Imported::Failed(e.to_string()),
                    }
                }
                Ok(other) => other,
                Err(e) => Imported::Failed(e.to_string()),
            });
        }
        out
    }

    /// Writes `hash` as the user's password hash if it still holds `was` (a login's rehash
    /// of an imported hash to argon2id): false when it changed meanwhile, which wins.
    pub async fn rehash_password(&self, user_id: &str, was: &str, hash: &str) -> ApiResult<bool> {
        let mut e = Expr::new();
        let name = e.name(attr::PASSWORD_HASH);
        let new = e.string(hash);
        let old = e.string(was);
        e.set(&name, &new);
        e.condition(format!("{name} = {old}"));
        self.update_user_if(user_id, e, "rehash password").await
    }
}

/// A page of a scan of the users.
#[derive(Debug)]
pub struct ScanPage {
    pub users: Vec<StoredUser>,
    /// Items the page read (users and the rest), for a progress bar.
    pub scanned: usize,
    pub next: Option<Item>,
}

impl UserTable {
    /// One page of a scan of every user item (an export's walk): whole users with their IM
    /// credentials, and their password hashes only when asked.
    pub async fn scan_users(&self, start: Option<Item>, with_hash: bool) -> ApiResult<ScanPage> {
        let mut e = Expr::new();
        let attributes = if with_hash {
            [&attr::USER[..], &[attr::PASSWORD_HASH]].concat()
        } else {
            attr::USER
                .iter()
                .copied()
                .filter(|a| *a != attr::PASSWORD_HASH)
                .collect()
        };
        let projected = e.projection(&attributes);
        let sk = e.name(attr::SK);
        let user_sk = e.string(USER_SK);
        let filter = format!("{sk} = {user_sk}");
        let out = self
            .client
            .scan()
            .table_name(&self.table)
            .projection_expression(projected)
            .filter_expression(filter)
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| store_error("scan users", e))?;
        let scanned = usize::try_from(out.scanned_count()).unwrap_or_default();
        let users = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(from_item::<StoredUser>)
            .filter(|u| u.as_ref().map_or(true, |u| u.im_userid.is_some()))
            .collect::<ApiResult<Vec<_>>>()?;
        let next = out.last_evaluated_key.filter(|k| !k.is_empty());
        Ok(ScanPage {
            users,
            scanned,
            next,
        })
    }
}

/// Why one import transaction wrote nothing.
enum ChunkError {
    /// Conditions failed for these users' items.
    Taken(BTreeSet<usize>),
    /// Conflicts or throttling: the same again later.
    Retry,
    Failed(String),
}

/// The users at `pending`, grouped so that each group's actions fit one transaction.
fn transaction_chunks(users: &[ImportUser], pending: &[usize]) -> Vec<Vec<usize>> {
    let mut chunks: Vec<Vec<usize>> = Vec::new();
    let mut actions = 0;
    for &i in pending {
        // Item, id guard, account guards, record.
        let needs = 3 + account_values(&users[i].stored).len();
        if chunks.is_empty() || actions + needs > KEYS_PER_CALL {
            chunks.push(Vec::new());
            actions = 0;
        }
        actions += needs;
        if let Some(last) = chunks.last_mut() {
            last.push(i);
        }
    }
    chunks
}

/// The account values a user holds.
pub fn account_values(user: &StoredUser) -> Vec<(AccountField, &str)> {
    [
        (AccountField::Username, user.username.as_deref()),
        (AccountField::Email, user.email.as_deref()),
        (AccountField::Phone, user.phone.as_deref()),
    ]
    .into_iter()
    .filter_map(|(f, v)| v.map(|v| (f, v)))
    .collect()
}

/// The fields in which the stored user differs from the one an import brings. The password
/// hash is not compared: a login rehashes an imported one, and a rerun must not call that a
/// difference (an import never writes a hash over a stored one either way).
fn differences(stored: &StoredUser, ours: &ImportUser) -> Vec<&'static str> {
    let new = &ours.stored;
    let mut out = Vec::new();
    let mut check = |differs: bool, name: &'static str| {
        if differs {
            out.push(name);
        }
    };
    check(stored.nick != new.nick, attr::NICK);
    check(stored.avatar != new.avatar, attr::AVATAR);
    check(stored.extends != new.extends, attr::EXTENDS);
    check(stored.im_userid != new.im_userid, attr::IM_USERID);
    if ours.given_im {
        check(stored.im_username != new.im_username, attr::IM_USERNAME);
        check(stored.im_password != new.im_password, attr::IM_PASSWORD);
    }
    check(stored.username != new.username, attr::USERNAME);
    check(stored.email != new.email, attr::EMAIL);
    check(
        stored.email_verified != new.email_verified,
        attr::EMAIL_VERIFIED,
    );
    check(stored.phone != new.phone, attr::PHONE);
    check(
        stored.phone_verified != new.phone_verified,
        attr::PHONE_VERIFIED,
    );
    check(stored.created_at != new.created_at, attr::CREATED_AT);
    check(stored.updated_at != new.updated_at, attr::UPDATED_AT);
    check(stored.gender != new.gender, attr::GENDER);
    check(stored.country != new.country, attr::COUNTRY);
    check(stored.province != new.province, attr::PROVINCE);
    check(stored.city != new.city, attr::CITY);
    check(stored.language != new.language, attr::LANGUAGE);
    let custom_differs = stored.custom.len() != new.custom.len()
        || new.custom.iter().any(|(k, v)| {
            stored
                .custom
                .get(k)
                .is_none_or(|s| !domain::profile::json_eq(s, v))
        });
    check(custom_differs, attr::CUSTOM);
    out
}

/// What a put in a transaction costs: two write units per started KB of its item, the item's
/// size counted as DynamoDB documents it (names and values in UTF-8 bytes, a number about one
/// byte per two digits plus one, three bytes of overhead per map or list and one per element).
fn transactional_units(action: &TransactWriteItem) -> f64 {
    let size: usize = action
        .put()
        .map(|p| p.item().iter().map(|(k, v)| k.len() + value_size(v)).sum())
        .unwrap_or(0);
    2.0 * size.div_ceil(1024).max(1) as f64
}

fn value_size(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => n.trim_start_matches('-').len().div_ceil(2) + 1,
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, v)| 1 + k.len() + value_size(v))
                .sum::<usize>()
        }
        AttributeValue::L(l) => 3 + l.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::Ss(l) => l.iter().map(String::len).sum(),
        AttributeValue::Ns(l) => l.iter().map(|n| n.len().div_ceil(2) + 1).sum(),
        _ => 0,
    }
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}
