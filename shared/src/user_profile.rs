//! MinApp's `user_profile` operations over the one user store: list (`where`, `order_by`,
//! paging), get one, update one and update by query. Dialect-neutral: HTTP parsing and
//! response shapes stay in the functions and [`crate::dialect`].
//!
//! How a listing is served (round trips in brackets):
//! - an exact `id` / `user_id` / `created_by` (the `im_userid` index, then the user [2]), or
//!   `_user_id` [1], `_username` / `_email` / `_phone` (the guard, then the user [2]) among
//!   the top-level conditions: that one user, checked against the whole filter;
//! - the directory's own order (`-created_at`, the default, or `created_at`) without
//!   `return_total_count`: the shards merged in order, read only until the page is complete
//!   [one Query per shard, then one per further page of a shard];
//! - anything else (another order, `total_count`): every match read, then sorted.
//!
//! DynamoDB filters what it can; every user it returns is checked against the whole filter
//! here. Examining more than the configured number of users is a 400 saying how to narrow.

use futures_util::StreamExt;
use serde::Serialize;
use serde_json::Value;

use crate::account::AccountField;
use crate::clock::now;
use crate::error::{ApiError, ApiResult};
use crate::profile::{Builtin, ProfileUpdate, UserFields};
use crate::query::{Cursor, Filter, cursor_link};
pub use crate::query::{ListQuery, Origin};
use crate::store::directory::{Direction, DirectoryRead, order_key};
use crate::store::profile::{ProfileFailure, StillMatches, stored_path};
use crate::user::User;
use crate::users::Users;
use crate::views::MinAppUser;

pub use crate::limits::RESPONSE_MAX_BYTES;
/// Users of one batch update written at a time.
const BATCH_UPDATE_CONCURRENCY: usize = 16;

/// `GET .../user_profile/`: `{"meta": {...}, "objects": [...]}`.
#[derive(Debug, Serialize)]
pub struct Listing {
    pub meta: Meta,
    pub objects: Vec<MinAppUser>,
}

#[derive(Debug, Serialize)]
pub struct Meta {
    pub limit: usize,
    pub offset: usize,
    pub next: Option<String>,
    pub previous: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_count: Option<usize>,
}

/// `PUT .../user_profile/?where=...`: one result per selected user.
#[derive(Debug, Serialize)]
pub struct BatchUpdate {
    pub operation_result: Vec<OperationResult>,
    pub succeed: usize,
    pub offset: usize,
    pub limit: usize,
    pub next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_count: Option<usize>,
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "lowercase")]
pub enum OperationResult {
    Success { id: i64, updated_at: i64 },
    Error { err_msg: String, code: u16 },
}

/// The status a batch reports for a user that no longer matched when it was written.
pub const NO_LONGER_MATCHES: u16 = 409;

/// The users one page selects.
struct Selection {
    users: Vec<User>,
    /// Matches may follow the page.
    more: bool,
    total: Option<usize>,
}

/// MinApp's `user_profile` operations over the users.
pub struct UserProfiles<'a> {
    users: &'a Users,
}

impl<'a> UserProfiles<'a> {
    pub fn new(users: &'a Users) -> Self {
        UserProfiles { users }
    }

    /// A `user_profile` query from a request's decoded parameters, against the declared
    /// custom fields.
    pub fn list_query(&self, params: &[(String, String)]) -> ApiResult<ListQuery> {
        ListQuery::parse(params, self.users.user_fields())
    }

    /// One MinApp object by its numeric id; unknown -> 404. The id goes through the eventually
    /// consistent `im_userid` index: a user created a moment ago may be a 404 briefly.
    pub async fn get(&self, uid: i64) -> ApiResult<MinAppUser> {
        let user = self.by_uid(uid).await?;
        Ok(MinAppUser::with_disabled(&user, self.users.user_fields()))
    }

    /// Updates the user with numeric id `uid` and returns its whole object as written
    /// ([`crate::store::UserTable::update_profile`] says how and at what cost). Unknown id ->
    /// 404, nothing created.
    pub async fn update(&self, uid: i64, body: &Value) -> ApiResult<MinAppUser> {
        let fields = self.users.user_fields();
        let update = ProfileUpdate::from_json(body, fields)?;
        if update.is_empty() {
            return Ok(MinAppUser::with_disabled(&self.by_uid(uid).await?, fields));
        }
        // The index gives the string id; the update itself answers 404 if it is gone.
        let user_id = self.users.user_id_of(uid).await?;
        let written = self
            .users
            .table()
            .update_profile(&user_id, &update, fields, None, None, now())
            .await?;
        Ok(MinAppUser::with_disabled(&written, fields))
    }

    /// A page of the users matching `query`, in its order, with exact `total_count` when
    /// asked. See the module for how each query is served.
    pub async fn list(&self, query: &ListQuery, origin: &Origin) -> ApiResult<Listing> {
        self.list_as(query, origin, MinAppUser::new).await
    }

    /// [`UserProfiles::list`] with each user shown as `view` builds it (the filter is still
    /// evaluated on the whole object: a caller that may not see a field must not query it).
    pub async fn list_as(
        &self,
        query: &ListQuery,
        origin: &Origin,
        view: impl Fn(&User, &UserFields) -> MinAppUser,
    ) -> ApiResult<Listing> {
        if query.after.is_some() {
            // A listing pages by offset: reading changes nobody's place.
            return Err(ApiError::invalid(
                crate::query::CURSOR_PARAM,
                "only a batch update's next link takes it",
            ));
        }
        let fields = self.users.user_fields();
        let selection = self.select(query).await?;
        let mut objects = Vec::with_capacity(selection.users.len());
        let mut bytes = 0;
        let mut cut_short = false;
        for user in &selection.users {
            let object = view(user, fields);
            bytes += wrapped_len(&object);
            if bytes > self.users.response_max_bytes() {
                cut_short = true;
                break;
            }
            objects.push(object);
        }
        let page = query.page;
        let (next, previous) = page.links(
            &origin.path,
            &origin.raw_query,
            objects.len(),
            selection.more || cut_short,
        );
        Ok(Listing {
            meta: Meta {
                limit: page.limit,
                offset: page.offset,
                next,
                previous,
                total_count: selection.total,
            },
            objects,
        })
    }

    /// Applies `body` to each user `query` selects (its page: `limit`, `offset`, or after its
    /// cursor), each on its own and only while it still matches the query when written. Its
    /// `next` continues after the page's last user in the directory's order, so a walk along
    /// `next` updates each user that matched when it began once, whatever the update does.
    pub async fn update_batch(
        &self,
        query: &ListQuery,
        body: &Value,
        origin: &Origin,
    ) -> ApiResult<BatchUpdate> {
        let fields = self.users.user_fields();
        let update = ProfileUpdate::from_json(body, fields)?;
        if update.is_empty() {
            return Err(ApiError::invalid("body", "names no field to update"));
        }
        if query.order.index_order().is_none() {
            return Err(ApiError::invalid(
                "order_by",
                "a batch update walks the users in creation order: created_at or -created_at",
            ));
        }
        let selection = self.select(query).await?;
        let pushdown = query.filter.to_dynamo(|f| stored_path(f, fields));
        let still = StillMatches {
            filter: &query.filter,
            pushdown: &pushdown,
            fields,
        };
        let table = self.users.table();
        let (update, still, stamp) = (&update, &still, now());
        let results: Vec<OperationResult> =
            futures_util::stream::iter(selection.users.iter().cloned())
                .map(|user| async move {
                    let id = user.im_userid;
                    let user_id = user.user_id.clone();
                    let seen = still.pushdown.residual.then_some(user);
                    match table
                        .update_profile(&user_id, update, fields, Some(still), seen, stamp)
                        .await
                    {
                        Ok(written) => OperationResult::Success {
                            id,
                            updated_at: written.updated_at,
                        },
                        Err(ProfileFailure::NoLongerMatches) => OperationResult::Error {
                            err_msg: format!("user {id} no longer matches the query: not changed"),
                            code: NO_LONGER_MATCHES,
                        },
                        Err(ProfileFailure::Error(e)) => OperationResult::Error {
                            err_msg: e.to_string(),
                            code: e.status(),
                        },
                    }
                })
                .buffered(BATCH_UPDATE_CONCURRENCY)
                .collect()
                .await;
        let succeed = results
            .iter()
            .filter(|r| matches!(r, OperationResult::Success { .. }))
            .count();
        let page = query.page;
        let next = match (
            page.next_offset(results.len(), selection.more),
            selection.users.last(),
        ) {
            (Some(offset), Some(last)) => {
                let cursor = Cursor {
                    created_at: last.created_at,
                    im_userid: last.im_userid,
                };
                Some(cursor_link(origin, &cursor, offset))
            }
            _ => None,
        };
        Ok(BatchUpdate {
            operation_result: results,
            succeed,
            offset: page.offset,
            limit: page.limit,
            next,
            total_count: selection.total,
        })
    }

    async fn by_uid(&self, uid: i64) -> ApiResult<User> {
        self.users
            .table()
            .find_by_uid(uid)
            .await?
            .ok_or_else(|| ApiError::UserNotFound(uid.to_string()))
    }

    /// The users of `query`'s page, in its order.
    async fn select(&self, query: &ListQuery) -> ApiResult<Selection> {
        let fields = self.users.user_fields();
        let page = query.page;
        let direction = match query.order.index_order() {
            Some(false) => Direction::OldestFirst,
            _ => Direction::NewestFirst,
        };
        let after = query.after.map(|c| order_key(c.created_at, c.im_userid));
        // A cursor stands for the users before it: no offset counts them again.
        let skip = match query.after {
            Some(_) => 0,
            None => page.offset,
        };
        let keep = |user: &User| {
            query
                .filter
                .matches(MinAppUser::new(user, fields).as_value())
        };
        if let Some(direct) = self.direct_lookup(&query.filter).await? {
            let after_cursor = |u: &User| {
                after.as_deref().is_none_or(|after| {
                    let key = order_key(u.created_at, u.im_userid);
                    match direction {
                        Direction::NewestFirst => key.as_str() < after,
                        Direction::OldestFirst => key.as_str() > after,
                    }
                })
            };
            let matches: Vec<User> = direct
                .into_iter()
                .filter(|u| after_cursor(u) && keep(u))
                .collect();
            let total = matches.len();
            let users: Vec<User> = matches.into_iter().skip(skip).take(page.limit).collect();
            return Ok(Selection {
                users,
                more: false,
                total: page.return_total_count.then_some(total),
            });
        }
        let pushdown = query.filter.to_dynamo(|f| stored_path(f, fields));
        let index_order = query
            .order
            .index_order()
            .filter(|_| !page.return_total_count);
        let wanted = skip.saturating_add(page.limit);
        let read = DirectoryRead {
            pushdown: &pushdown,
            keep: &keep,
            direction,
            after: after.as_deref(),
            // One beyond the page says whether another follows.
            wanted: index_order.map(|_| wanted.saturating_add(1)),
            max_examined: self.users.list_max_examined(),
        };
        let mut found = self.users.table().read_directory(&read).await?.users;
        if index_order.is_none() {
            // Each object built once, not twice per comparison.
            let mut keyed: Vec<(MinAppUser, User)> = found
                .into_iter()
                .map(|u| (MinAppUser::new(&u, fields), u))
                .collect();
            keyed.sort_by(|a, b| query.order.compare(a.0.as_value(), b.0.as_value()));
            found = keyed.into_iter().map(|(_, u)| u).collect();
        }
        let total = found.len();
        let more = total > wanted;
        // After a cursor: the walk's users before it (its offset) and those from it on.
        let counted = total.saturating_add(page.offset - skip);
        let users = found.into_iter().skip(skip).take(page.limit).collect();
        Ok(Selection {
            users,
            more,
            total: page.return_total_count.then_some(counted),
        })
    }

    /// The one user an exact id, `_user_id`, `_username`, `_email` or `_phone` condition
    /// names (`Some(vec![])` when nobody holds it), or `None` when the query has none.
    async fn direct_lookup(&self, filter: &Filter) -> ApiResult<Option<Vec<User>>> {
        let Some((field, value)) = filter.direct_lookup() else {
            return Ok(None);
        };
        let table = self.users.table();
        let text = value.as_str().unwrap_or_default();
        let user = match field {
            // Numbers compare by value: `1.0` is the id 1; a fraction is nobody's id.
            Builtin::Id | Builtin::UserId | Builtin::CreatedBy => {
                let uid = value.as_i64().or_else(|| {
                    value
                        .as_f64()
                        .filter(|f| {
                            f.fract() == 0.0 && f.abs() <= crate::profile::INTEGER_MAX as f64
                        })
                        .map(|f| f as i64)
                });
                match uid {
                    Some(uid) => table.find_by_uid(uid).await?,
                    None => None,
                }
            }
            Builtin::StringId => table.get::<User>(text).await?,
            Builtin::Username => table.find_by_account(AccountField::Username, text).await?,
            Builtin::Email => table.find_by_account(AccountField::Email, text).await?,
            Builtin::Phone => table.find_by_account(AccountField::Phone, text).await?,
            _ => return Ok(None),
        };
        Ok(Some(user.into_iter().collect()))
    }
}

/// What an object adds to the response once the runtime has wrapped the body as a JSON string
/// (each quote and backslash escaped again).
fn wrapped_len(object: &MinAppUser) -> usize {
    let json = serde_json::to_string(object).unwrap_or_default();
    serde_json::to_string(&json).map_or(usize::MAX, |s| s.len())
}
