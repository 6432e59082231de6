//! The user operations of the API, in its own words: register, update, info, profile (Qiniu's
//! server API), Deepin's lookups and MinApp's account change, over the state every operation
//! group shares (the table, reserved IM ids, configuration). No operation sets a deadline: the pipeline runs each request
//! within one ([`crate::store::within_deadline`]). Register, update and account changes leave
//! audit records ([`crate::audit`]).

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;

use serde::Serialize;
use serde_json::Value;

use crate::account::{Account, AccountUpdate, hash_password};
use crate::audit::{AUDIT_PAGE_MAX, AuditEntry, Event, Subject, valid_cursor};
use crate::config::LIST_MAX_EXAMINED_DEFAULT;
use crate::error::{ApiError, ApiResult};
use crate::limits::{Limits, REQUEST_BUDGET, RESPONSE_MAX_BYTES};
use crate::lookup::{Identify, UsersQuery};
use crate::profile::UserFields;
use crate::store::{UserTable, UserView};
use crate::user::{
    BATCH_MAX, ImIdentity, NewUser, User, UserInfo, UserProfile, UserUpdate, in_request_order,
};

pub use crate::clock::now;

/// Why one user of a batch register was not created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub code: u32,
    pub message: String,
}

impl From<&ApiError> for Failure {
    fn from(e: &ApiError) -> Self {
        Failure {
            code: e.code(),
            message: e.to_string(),
        }
    }
}

/// `user_id -> failure` for each user a batch did not create; `None` when all were created.
pub type BatchFailures = Option<BTreeMap<String, Failure>>;

/// `GET /userve/v2.2/miniapp/user/audit/{id}/`: one page of a user's audit records, newest
/// first, in MinApp's list shape; `next` continues after the page's last record.
#[derive(Debug, Serialize)]
pub struct AuditList {
    pub meta: AuditMeta,
    pub objects: Vec<AuditEntry>,
}

#[derive(Debug, Serialize)]
pub struct AuditMeta {
    pub limit: usize,
    pub next: Option<String>,
    pub previous: Option<String>,
}

/// Records a page shows unless `limit` says otherwise.
pub const AUDIT_PAGE_DEFAULT: usize = 20;

/// A validated page request: `limit` (1..100, default 20) and `cursor` (a record's `id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    pub limit: usize,
    pub cursor: Option<String>,
}

impl AuditQuery {
    pub fn parse(limit: Option<&str>, cursor: Option<&str>) -> ApiResult<AuditQuery> {
        let limit = match limit {
            None => AUDIT_PAGE_DEFAULT,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=AUDIT_PAGE_MAX).contains(n))
                .ok_or_else(|| {
                    ApiError::invalid("limit", format!("must be an integer 1..{AUDIT_PAGE_MAX}"))
                })?,
        };
        let cursor = match cursor {
            None => None,
            Some(c) if valid_cursor(c) => Some(c.to_string()),
            Some(_) => {
                return Err(ApiError::invalid(
                    "cursor",
                    "must be the id of a record (a `next` link's cursor)",
                ));
            }
        };
        Ok(AuditQuery { limit, cursor })
    }
}

/// IM ids reserved beyond what a request needs, so that most registrations cost one write
/// (the user) instead of two (counter, then user). Ids are still unique and never reused: a
/// process that ends with some unused leaves a gap.
pub const IM_ID_BLOCK: usize = 32;

#[derive(Clone, Debug)]
pub struct Users {
    table: UserTable,
    im_username_prefix: String,
    /// Reserved IM ids this process has not handed out yet. An async lock, held across a
    /// refill: concurrent registrations in one process wait for one counter call and share
    /// its block instead of each reserving one.
    reserved_im_ids: Arc<Mutex<Range<i64>>>,
    /// How long the pipeline gives one request ([`REQUEST_BUDGET`] unless a test harness
    /// says otherwise).
    request_budget: Duration,
    /// The per-caller limits of logins, sign-ups and anonymous lookups.
    limits: Limits,
    /// MinApp's custom fields (`USER_FIELDS`).
    user_fields: Arc<UserFields>,
    /// The most users one MinApp listing may examine.
    list_max_examined: usize,
    /// The most bytes a list's objects may take in a response ([`RESPONSE_MAX_BYTES`]
    /// unless a test says otherwise).
    response_max_bytes: usize,
}

impl Users {
    pub fn new(table: UserTable, im_username_prefix: impl Into<String>) -> Self {
        Users {
            table,
            im_username_prefix: im_username_prefix.into(),
            reserved_im_ids: Arc::new(Mutex::new(0..0)),
            request_budget: REQUEST_BUDGET,
            limits: Limits::default(),
            user_fields: Arc::default(),
            list_max_examined: LIST_MAX_EXAMINED_DEFAULT,
            response_max_bytes: RESPONSE_MAX_BYTES,
        }
    }

    /// The same users with another response limit for lists (tests make it small).
    pub fn with_response_limit(mut self, bytes: usize) -> Self {
        self.response_max_bytes = bytes;
        self
    }

    pub fn response_max_bytes(&self) -> usize {
        self.response_max_bytes
    }

    /// The same users with MinApp's custom fields and listing bound.
    pub fn with_minapp(mut self, fields: UserFields, list_max_examined: usize) -> Self {
        self.user_fields = Arc::new(fields);
        self.list_max_examined = list_max_examined;
        self
    }

    pub fn user_fields(&self) -> &UserFields {
        &self.user_fields
    }

    pub fn list_max_examined(&self) -> usize {
        self.list_max_examined
    }

    /// The time the pipeline gives each request (its one deadline).
    pub fn budget(&self) -> Duration {
        self.request_budget
    }

    /// The same users with these per-caller limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The same users with another request budget. Deployed functions keep
    /// [`REQUEST_BUDGET`]; the test harness gives DynamoDB Local on a busy machine more.
    pub fn with_request_budget(mut self, budget: Duration) -> Self {
        self.request_budget = budget;
        self
    }

    /// `n` unused IM ids: from this process's reserve when it holds enough, else from the
    /// counter, reserving [`IM_ID_BLOCK`] more for the registrations that follow.
    pub(crate) async fn im_ids(&self, n: usize) -> ApiResult<Range<i64>> {
        let wanted =
            i64::try_from(n).map_err(|_| ApiError::Internal("id count overflow".into()))?;
        let take = |reserve: &mut Range<i64>| {
            (reserve.end - reserve.start >= wanted).then(|| {
                let taken = reserve.start..reserve.start + wanted;
                reserve.start += wanted;
                taken
            })
        };
        let mut reserve = self.reserved_im_ids.lock().await;
        if let Some(ids) = take(&mut reserve) {
            return Ok(ids);
        }
        let mut fresh = self.table.allocate_im_ids(n + IM_ID_BLOCK).await?;
        let ids = take(&mut fresh).ok_or_else(|| {
            ApiError::Internal("the counter reserved fewer ids than asked".into())
        })?;
        // What was left of the old reserve is dropped, never reused.
        *reserve = fresh;
        Ok(ids)
    }

    pub fn table(&self) -> &UserTable {
        &self.table
    }

    /// The prefix of IM usernames (for operations outside this module, e.g. sign-up).
    pub(crate) fn im_username_prefix(&self) -> &str {
        &self.im_username_prefix
    }

    /// Creates one user with its IM identity; an existing id is 10001. The `registered`
    /// record follows (one PutItem).
    pub async fn register(&self, user: NewUser) -> ApiResult<()> {
        let ids = self.im_ids(1).await?;
        let im = ImIdentity::new(ids.start, &self.im_username_prefix, &user.user_id)?;
        self.table.create(&user, &im, now()).await?;
        self.table
            .audit(Subject::User(&user.user_id), Event::Registered)
            .await;
        Ok(())
    }

    /// Creates every valid new user of a JSON array of 1..200; reports each one it did not.
    /// Entries that are invalid or whose `user_id` appears more than once are not created.
    /// The created users' `registered` records follow (BatchWriteItems of 25, concurrently).
    pub async fn register_batch(&self, body: &Value) -> ApiResult<BatchFailures> {
        let entries = body
            .as_array()
            .ok_or_else(|| ApiError::invalid("body", "must be a JSON array of users"))?;
        if entries.is_empty() || entries.len() > BATCH_MAX {
            return Err(ApiError::invalid(
                "body",
                format!("must hold 1 to {BATCH_MAX} users"),
            ));
        }
        let mut failures = BTreeMap::new();
        let mut occurrences: HashMap<&str, usize> = HashMap::new();
        for entry in entries {
            if let Some(id) = entry.get("user_id").and_then(Value::as_str) {
                *occurrences.entry(id).or_default() += 1;
            }
        }
        let mut valid = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            let id = entry.get("user_id").and_then(Value::as_str);
            let key = id.map_or_else(|| format!("[{i}]"), str::to_string);
            if id.is_some_and(|id| occurrences[id] > 1) {
                let e = ApiError::invalid(
                    format!("[{i}].user_id"),
                    "appears more than once in the request",
                );
                failures.entry(key).or_insert_with(|| Failure::from(&e));
                continue;
            }
            match NewUser::from_json(entry, &format!("[{i}]")) {
                Ok(user) => valid.push(user),
                Err(e) => {
                    failures.entry(key).or_insert_with(|| Failure::from(&e));
                }
            }
        }
        if !valid.is_empty() {
            let ids = self.im_ids(valid.len()).await?;
            let mut users = Vec::with_capacity(valid.len());
            for (user, im_userid) in valid.into_iter().zip(ids) {
                let im = ImIdentity::new(im_userid, &self.im_username_prefix, &user.user_id)?;
                users.push((user, im));
            }
            let outcomes = self.table.create_many(&users, now()).await;
            let created: Vec<String> = outcomes
                .iter()
                .filter(|(_, r)| r.is_ok())
                .map(|(user_id, _)| user_id.clone())
                .collect();
            self.table.audit_many(&created, Event::Registered).await;
            let created = created.len();
            for (user_id, result) in outcomes {
                if let Err(e) = result {
                    // Nothing created and the store failed: say so for the whole request.
                    if created == 0 && matches!(e, ApiError::Busy(_) | ApiError::Internal(_)) {
                        return Err(e);
                    }
                    failures.insert(user_id, Failure::from(&e));
                }
            }
        }
        Ok((!failures.is_empty()).then_some(failures))
    }

    /// Makes sure `user_id` exists, registering it (with its IM identity) if not. Concurrent
    /// calls for one new id create one user: the conditional create decides.
    pub async fn ensure(&self, user_id: &str) -> ApiResult<()> {
        if self.table.get::<UserInfo>(user_id).await?.is_some() {
            return Ok(());
        }
        let user = NewUser {
            user_id: user_id.to_string(),
            nick: String::new(),
            avatar: String::new(),
            extends: Default::default(),
        };
        match self.register(user).await {
            Ok(()) | Err(ApiError::UserExists(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Public views by IM id, in request order; ids without a user are left out. Served by
    /// the eventually consistent GSI: a user created a moment ago may be missing briefly.
    pub async fn imusers(&self, im_user_ids: &[i64]) -> ApiResult<Vec<UserInfo>> {
        self.table.find_by_im_ids(im_user_ids).await
    }

    /// Qiniu's update, then its `updated` record (one PutItem).
    pub async fn update(&self, user_id: &str, update: UserUpdate) -> ApiResult<()> {
        self.table.update(user_id, &update, now()).await?;
        self.table
            .audit(Subject::User(user_id), Event::Updated)
            .await;
        Ok(())
    }

    pub async fn info(&self, user_id: &str) -> ApiResult<UserInfo> {
        self.one(user_id).await
    }

    pub async fn profile(&self, user_id: &str) -> ApiResult<UserProfile> {
        self.one(user_id).await
    }

    /// Public views in request order; unknown ids are left out.
    pub async fn infos(&self, user_ids: &[String]) -> ApiResult<Vec<UserInfo>> {
        self.many(user_ids).await
    }

    pub async fn profiles(&self, user_ids: &[String]) -> ApiResult<Vec<UserProfile>> {
        self.many(user_ids).await
    }

    /// The whole user (every dialect's views are built from it).
    pub async fn user(&self, user_id: &str) -> ApiResult<User> {
        self.one(user_id).await
    }

    /// One user by email, uid or login name, in Deepin's order ([`Identify`]).
    pub async fn find(&self, identify: &Identify) -> ApiResult<User> {
        self.table
            .find(identify)
            .await?
            .ok_or_else(|| ApiError::UserNotFound(identify.as_str().to_string()))
    }

    /// Users matching every parameter of `query` (any of its values), sorted by uid; none is
    /// a 404, as Deepin answers.
    pub async fn find_all(&self, query: &UsersQuery) -> ApiResult<Vec<User>> {
        let users = self.table.find_all(query).await?;
        if users.is_empty() {
            return Err(ApiError::UserNotFound("no user matches".into()));
        }
        Ok(users)
    }

    /// Sets or clears the login name, email, phone and password hash of the user with numeric
    /// id `uid` (MinApp's `id`). The id is resolved through the eventually consistent
    /// `im_userid` index: a user created a moment ago may be a 404 briefly.
    /// The password is hashed here (argon2id) and only the hash reaches the store.
    pub async fn change_account(&self, uid: i64, update: &AccountUpdate) -> ApiResult<Account> {
        let hash = update
            .new_password
            .as_ref()
            .map(|p| hash_password(p.expose()))
            .transpose()?;
        let user_id = self.user_id_of(uid).await?;
        self.table
            .change_account(&user_id, update, hash.as_deref(), None, now())
            .await
            .map(|user| user.account)
    }

    /// One page of the audit records of the user with numeric id `uid` (resolved through the
    /// eventually consistent `im_userid` index, as [`Users::change_account`] does); `path` is
    /// where the `next` link points. Round trips: the index Query and one Query of the
    /// user's partition.
    pub async fn audit_trail(
        &self,
        uid: i64,
        query: &AuditQuery,
        path: &str,
    ) -> ApiResult<AuditList> {
        let user_id = self.user_id_of(uid).await?;
        let page = self
            .table
            .audit_records(&user_id, query.limit, query.cursor.as_deref())
            .await?;
        let next = page.next.map(|cursor| {
            format!("{path}?limit={}&cursor={cursor}", query.limit).replace('#', "%23")
        });
        Ok(AuditList {
            meta: AuditMeta {
                limit: query.limit,
                next,
                previous: None,
            },
            objects: page.entries,
        })
    }

    /// The string id of the user with numeric id `uid` (MinApp's `id`), through the eventually
    /// consistent `im_userid` index (one Query): a user created a moment ago may be a 404
    /// briefly.
    pub async fn user_id_of(&self, uid: i64) -> ApiResult<String> {
        Ok(self
            .table
            .find_by_im_ids(&[uid])
            .await?
            .pop()
            .ok_or_else(|| ApiError::UserNotFound(uid.to_string()))?
            .user_id)
    }

    async fn one<V: UserView>(&self, user_id: &str) -> ApiResult<V> {
        self.table
            .get::<V>(user_id)
            .await?
            .ok_or_else(|| ApiError::UserNotFound(user_id.to_string()))
    }

    async fn many<V: UserView>(&self, user_ids: &[String]) -> ApiResult<Vec<V>> {
        let found = self.table.get_many::<V>(user_ids).await?;
        Ok(in_request_order(user_ids, found, |u| u.user_id()))
    }
}
