//! The user directory: a sparse, sharded GSI sorted by creation that lists users without ever
//! scanning the table (MinApp's `user_profile` list and batch update).
//!
//! Every user item carries `dir` (`DIR#<im_userid mod DIRECTORY_SHARDS>`) and `dir_order`
//! (`<created_at, 11 digits>#<im_userid, 19 digits>`: unique, fixed width, so string order is
//! creation order with the id breaking ties); guards and the counter carry neither, so only
//! users are in the index. Sharding spreads a burst of registrations over several partitions;
//! a listing merges the shards back into one order.
//!
//! DynamoDB evaluates what it can of a filter (a FilterExpression, every name and value a
//! placeholder); the caller's `keep` evaluates the whole filter on what comes back. A listing
//! in the index's own order reads only until its page is complete; anything else reads every
//! match. Either way it answers 400 once it has examined more than the configured number of
//! users, or when the request's deadline comes near: never a timeout. The index is eventually
//! consistent: a user created or changed a moment ago may be missing or stale in a listing for
//! a short while.

use std::collections::VecDeque;

use aws_sdk_dynamodb::types::ReturnConsumedCapacity;

use super::expr::{Expr, exists, if_not_exists, not_exists};
use super::*;
use crate::account::{AccountField, guard_key};
use crate::query::Pushdown;
use crate::user::User;

pub const DIRECTORY_INDEX: &str = "directory-index";
pub const DIRECTORY_SHARDS: i64 = 4;
/// Non-key attributes copied into the directory: what the whole-user view reads (so a listing
/// needs no second read), less `pk` and `extends`, which no MinApp object shows, and the
/// `anonymous` marker, which only the user's own object shows, and `disabled_until`, which a
/// user's own page shows (and a deployed index's
/// projection cannot change in place). The view holds no IM credential nor the password
/// hash, so neither does the index.
pub fn directory_attributes() -> Vec<&'static str> {
    User::ATTRIBUTES
        .iter()
        .copied()
        .filter(|a| {
            !matches!(
                *a,
                attr::PK | attr::EXTENDS | attr::ANONYMOUS | attr::DISABLED_UNTIL
            )
        })
        .collect()
}
/// Time kept back from the request's deadline: a listing that has not finished by then
/// answers 400 (narrow the query) instead of running into the function's timeout.
pub const LISTING_MARGIN: Duration = Duration::from_millis(1500);
/// Users the filter evaluates between two looks at the deadline: evaluation runs without
/// yielding, so nothing else would stop a slow filter (many `$regex`, long strings).
const EVALUATED_PER_DEADLINE_CHECK: usize = 16;

/// The directory shard of a user.
pub fn shard_of(im_userid: i64) -> String {
    format!("DIR#{}", im_userid.rem_euclid(DIRECTORY_SHARDS))
}

/// The directory sort key of a user: creation time, then IM id, fixed width.
pub fn order_key(created_at: i64, im_userid: i64) -> String {
    format!("{created_at:011}#{im_userid:019}")
}

/// Adds to a user write `SET dir = if_not_exists(dir, :dir), dir_order = if_not_exists(...)`:
/// a user written before the directory index existed gets its entry with its next write,
/// one already in it keeps what it has (the values are the same: a user's IM id and creation
/// time never change). Placeholders `#dir`, `#dir_order`, `:dir`, `:dir_order`, which no
/// other part of a user write uses.
pub(super) fn set_directory_if_missing(e: &mut Expr, im_userid: i64, created_at: i64) {
    let dir = e.name(attr::DIR);
    let dir_order = e.name(attr::DIR_ORDER);
    let shard = e.string(shard_of(im_userid));
    let order = e.string(order_key(created_at, im_userid));
    e.set(&dir, &if_not_exists(&dir, &shard));
    e.set(&dir_order, &if_not_exists(&dir_order, &order));
}

/// For a write that has not read the user, so cannot compute its directory attributes: a
/// condition that fails only on a user that lacks them and could have them (it has an IM
/// id). The failed write hands back the item, and [`missing_directory`] gives what the write
/// sent again sets: one more round trip, once in the life of such a user.
pub(super) fn require_directory(e: &mut Expr) {
    let dir = e.name(attr::DIR);
    let im_userid = e.name(attr::IM_USERID);
    e.condition_any(&[exists(&dir), not_exists(&im_userid)]);
}

/// The IM id and creation time of a stored user that lacks its directory attributes.
pub(super) fn missing_directory(user: &StoredUser) -> Option<(i64, i64)> {
    match (&user.dir, user.im_userid) {
        (None, Some(im_userid)) => Some((im_userid, user.created_at)),
        _ => None,
    }
}

/// Which way the directory is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Newest first (`-created_at`, MinApp's default).
    NewestFirst,
    OldestFirst,
}

/// One listing's request to the directory.
pub struct DirectoryRead<'a> {
    pub pushdown: &'a Pushdown,
    /// The whole filter, evaluated on each user DynamoDB hands back.
    pub keep: &'a (dyn Fn(&User) -> bool + Sync),
    pub direction: Direction,
    /// Only users after this order key in `direction` (a batch update's cursor).
    pub after: Option<&'a str>,
    /// `None`: every match (another order, or a count); `Some(n)`: stop after n matches.
    pub wanted: Option<usize>,
    /// Examining more users than this is a 400.
    pub max_examined: usize,
}

/// Matches in directory order, and what finding them cost.
#[derive(Debug, Default)]
pub struct DirectoryPage {
    pub users: Vec<User>,
    /// Users DynamoDB examined (before its filter).
    pub examined: usize,
    /// Whether matches may remain beyond `users` (only with `wanted`).
    pub more: bool,
    /// Query calls made.
    pub queries: usize,
    /// Read capacity units DynamoDB reports for them.
    pub read_units: f64,
}

/// One shard's lazily read stream.
struct Shard {
    shard: String,
    buffer: VecDeque<Item>,
    next_key: Option<Item>,
    done: bool,
    /// Items DynamoDB examines for the next page: doubled while the filter keeps few of them.
    page_size: i32,
}

/// One Query page of a shard.
struct ShardPage {
    items: Vec<Item>,
    next_key: Option<Item>,
    examined: usize,
    read_units: f64,
}

impl UserTable {
    /// Reads the directory as `read` asks, merging the shards in order. Round trips: one
    /// Query per shard to start, then one per further page of a shard the merge drains.
    pub async fn read_directory(&self, read: &DirectoryRead<'_>) -> ApiResult<DirectoryPage> {
        let deadline = Deadline::current();
        let mut shards: Vec<Shard> = (0..DIRECTORY_SHARDS)
            .map(|n| Shard {
                shard: shard_of(n),
                buffer: VecDeque::new(),
                next_key: None,
                done: false,
                page_size: directory_page_size(read.wanted),
            })
            .collect();
        let mut page = DirectoryPage::default();
        // First pages of every shard at once; later pages as each runs dry.
        let firsts = join_all(
            shards
                .iter()
                .map(|s| self.directory_page(s, read, deadline)),
        )
        .await;
        for (shard, first) in shards.iter_mut().zip(firsts) {
            absorb(&mut page, shard, first?);
        }
        let mut evaluated = 0usize;
        loop {
            if let Some(wanted) = read.wanted
                && page.users.len() >= wanted
            {
                page.more = shards.iter().any(|s| !s.done || !s.buffer.is_empty());
                return Ok(page);
            }
            if page.examined > read.max_examined {
                return Err(too_broad(read.max_examined));
            }
            // `a` comes before `b` in the order read.
            let before = |a: &str, b: &str| match read.direction {
                Direction::NewestFirst => a > b,
                Direction::OldestFirst => a < b,
            };
            let best = shards
                .iter()
                .enumerate()
                .filter_map(|(i, s)| s.buffer.front().map(|item| (i, order_of(item))))
                .reduce(|a, b| if before(b.1, a.1) { b } else { a });
            // A shard with nothing buffered but more to read holds only users after its
            // last evaluated key: it must be read first only when that key does not come
            // after the best head, so a shard the filter leaves empty is not read to its end
            // while the others fill the page.
            let dry = shards
                .iter()
                .enumerate()
                .filter(|(_, s)| s.buffer.is_empty() && !s.done)
                .map(|(i, s)| (i, s.next_key.as_ref().map_or("", order_of)))
                .filter(|(_, horizon)| best.is_none_or(|(_, head)| !before(head, horizon)))
                .reduce(|a, b| if before(b.1, a.1) { b } else { a })
                .map(|(i, _)| i);
            let best = best.map(|(i, _)| i);
            if let Some(i) = dry {
                let next = self.directory_page(&shards[i], read, deadline).await?;
                absorb(&mut page, &mut shards[i], next);
                continue;
            }
            let Some(i) = best else {
                return Ok(page);
            };
            let item = shards[i].buffer.pop_front().expect("the head exists");
            let user: User = read_view(item)?;
            evaluated += 1;
            if evaluated.is_multiple_of(EVALUATED_PER_DEADLINE_CHECK)
                && deadline.remaining() <= LISTING_MARGIN
            {
                return Err(too_slow());
            }
            if (read.keep)(&user) {
                page.users.push(user);
            }
        }
    }

    /// One Query page of one shard, filtered by DynamoDB as far as the pushdown goes.
    async fn directory_page(
        &self,
        shard: &Shard,
        read: &DirectoryRead<'_>,
        deadline: Deadline,
    ) -> ApiResult<ShardPage> {
        let room = deadline.remaining().saturating_sub(LISTING_MARGIN);
        if room.is_zero() {
            return Err(too_broad(read.max_examined));
        }
        let mut e = Expr::new();
        let dir = e.name(attr::DIR);
        let shard_value = e.string(&shard.shard);
        e.key_condition(format!("{dir} = {shard_value}"));
        if let Some(after) = read.after {
            // A batch walk's cursor: only what follows the last user it updated.
            let order = e.name(attr::DIR_ORDER);
            let after = e.string(after);
            e.key_condition(match read.direction {
                Direction::NewestFirst => format!("{order} < {after}"),
                Direction::OldestFirst => format!("{order} > {after}"),
            });
        }
        if let Some(condition) = &read.pushdown.condition {
            e.filter_of(condition)?;
        }
        let query = e
            .query(self.client.query())
            .table_name(&self.table)
            .index_name(DIRECTORY_INDEX)
            .scan_index_forward(read.direction == Direction::OldestFirst)
            .set_exclusive_start_key(shard.next_key.clone())
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .limit(shard.page_size);
        let out = tokio::time::timeout(room, query.send())
            .await
            .map_err(|_| too_broad(read.max_examined))?
            .map_err(|e| store_error("read directory", e))?;
        Ok(ShardPage {
            examined: usize::try_from(out.scanned_count()).unwrap_or(0),
            read_units: out
                .consumed_capacity()
                .and_then(|c| c.capacity_units())
                .unwrap_or(0.0),
            next_key: out.last_evaluated_key().cloned(),
            items: out.items.unwrap_or_default(),
        })
    }
}

impl UserTable {
    /// The user holding a login name, email or phone (its guard, then the user): 2 round
    /// trips, both strongly consistent.
    pub async fn find_by_account(
        &self,
        field: AccountField,
        value: &str,
    ) -> ApiResult<Option<User>> {
        let guards = self
            .batch_get(
                vec![lookup::guard_item(&guard_key(field, value))],
                &[attr::PK, attr::USER_ID],
            )
            .await?;
        match guards.into_iter().next() {
            Some(guard) => {
                let holder: StoredUser = from_item(guard)?;
                self.get::<User>(&holder.user_id).await
            }
            None => Ok(None),
        }
    }

    /// The user with IM id (MinApp `id`) `uid`: the `im_userid` index, then the user (2 round
    /// trips). The index is eventually consistent: a user created a moment ago may be missing.
    pub async fn find_by_uid(&self, uid: i64) -> ApiResult<Option<User>> {
        match self.find_by_im_ids(&[uid]).await?.pop() {
            Some(info) => self.get::<User>(&info.user_id).await,
            None => Ok(None),
        }
    }
}

/// Items DynamoDB examines per Query page (before the filter). A page-bounded read asks for
/// a little more than its page from each shard, so the default listing reads in proportion
/// to its page; a read of every match takes large pages (DynamoDB stops a page at 1 MB).
fn directory_page_size(wanted: Option<usize>) -> i32 {
    match wanted {
        Some(n) => i32::try_from(n.div_ceil(DIRECTORY_SHARDS as usize) + 2)
            .unwrap_or(1000)
            .clamp(2, 1000),
        None => 1000,
    }
}

fn absorb(page: &mut DirectoryPage, shard: &mut Shard, read: ShardPage) {
    let kept = read.items.len();
    if kept * 2 < usize::try_from(shard.page_size).unwrap_or(0) {
        shard.page_size = (shard.page_size * 2).min(1000);
    }
    shard.buffer.extend(read.items);
    shard.done = read.next_key.is_none();
    shard.next_key = read.next_key;
    page.examined += read.examined;
    page.queries += 1;
    page.read_units += read.read_units;
}

fn order_of(item: &Item) -> &str {
    // A user's item, or a page's last evaluated key (it holds the index key too).
    item.get(attr::DIR_ORDER)
        .and_then(|v| v.as_s().ok())
        .map_or("", String::as_str)
}

/// A filter that could not be evaluated over the users read before the request's deadline.
fn too_slow() -> ApiError {
    ApiError::invalid(
        "where",
        "the query could not be evaluated in time: narrow it (an exact id, _username, _email \
         or _phone is read directly) or simplify its $regex / $icontains conditions",
    )
}

pub(crate) fn too_broad(max: usize) -> ApiError {
    ApiError::invalid(
        "where",
        format!(
            "the query would examine more than {max} users: narrow it (an exact id, \
             _username, _email or _phone is read directly), drop return_total_count, or list \
             in the default order (-created_at or created_at), which reads only up to its page"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_keys_sort_as_creation_then_id() {
        let mut keys = vec![
            order_key(1_700_000_001, 2),
            order_key(1_700_000_000, 10),
            order_key(1_700_000_000, 9),
            order_key(99, 1),
        ];
        keys.sort();
        assert_eq!(
            keys,
            vec![
                order_key(99, 1),
                order_key(1_700_000_000, 9),
                order_key(1_700_000_000, 10),
                order_key(1_700_000_001, 2),
            ]
        );
        assert_eq!(shard_of(7), "DIR#3");
    }
}
