//! The user directory: a sparse, sharded GSI sorted by creation that lists users without ever
//! scanning the table (MinApp's `user_profile` list and batch update).
//!
//! Every user item carries `dir` (`DIR#<im_userid mod DIRECTORY_SHARDS>`) and `dir_order`
//! (`created_at * 10^12 + im_userid`, unique and in creation order); guards and the counter do
//! not, so only users are in the index. Sharding spreads the writes of a busy registration
//! burst over several partitions; a listing merges the shards back into one order.
//!
//! DynamoDB evaluates what it can of a filter (a FilterExpression, every name and value a
//! placeholder); the caller's `keep` evaluates the rest. A listing in the index's own order
//! reads only until its page is complete; anything else reads every match. Either way it
//! stops with a 400 once it has examined more than the configured number of users, and it
//! never runs past its deadline. The index is eventually consistent: a user created or
//! changed a moment ago may be missing or stale in a listing for a short while.

use std::collections::VecDeque;

use super::*;

pub const DIRECTORY_INDEX: &str = "directory-index";
pub const DIRECTORY_SHARDS: i64 = 4;
/// `dir_order` = created_at * this + im_userid.
const ORDER_SCALE: i128 = 1_000_000_000_000;

/// The directory attributes of a new user.
pub(super) fn directory_attributes(
    im_userid: i64,
    created_at: i64,
) -> [(String, AttributeValue); 2] {
    let order = i128::from(created_at) * ORDER_SCALE + i128::from(im_userid);
    [
        (
            "dir".to_string(),
            s(format!("DIR#{}", im_userid.rem_euclid(DIRECTORY_SHARDS))),
        ),
        (
            "dir_order".to_string(),
            AttributeValue::N(order.to_string()),
        ),
    ]
}

/// A condition DynamoDB evaluates, with its placeholders.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pushdown {
    pub expression: String,
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
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
    pub pushdown: Option<Pushdown>,
    /// The part of the filter DynamoDB cannot evaluate; `Ok(true)` keeps the user.
    pub keep: &'a (dyn Fn(&Item) -> ApiResult<bool> + Sync),
    pub direction: Direction,
    /// `None`: every match (for another order, or a count); `Some(n)`: stop after n matches.
    pub wanted: Option<usize>,
    /// More examined users than this is a 400.
    pub max_examined: usize,
    pub deadline: Instant,
}

/// Matches in directory order, and how many users were examined to find them.
#[derive(Debug, Default)]
pub struct DirectoryPage {
    pub items: Vec<Item>,
    pub examined: usize,
    /// Whether matches may remain beyond `items` (only with `wanted`).
    pub more: bool,
}

/// One shard's lazily read stream.
struct Shard {
    shard: String,
    buffer: VecDeque<Item>,
    next_key: Option<Item>,
    done: bool,
}

impl UserTable {
    /// Reads the directory as `read` asks, merging the shards in order.
    pub async fn read_directory(&self, read: &DirectoryRead<'_>) -> ApiResult<DirectoryPage> {
        let mut shards: Vec<Shard> = (0..DIRECTORY_SHARDS)
            .map(|n| Shard {
                shard: format!("DIR#{n}"),
                buffer: VecDeque::new(),
                next_key: None,
                done: false,
            })
            .collect();
        let mut page = DirectoryPage::default();
        // First pages of every shard at once; later pages as each runs dry.
        let firsts = join_all(shards.iter().map(|s| self.directory_page(s, read))).await;
        for (shard, first) in shards.iter_mut().zip(firsts) {
            page.examined += absorb(shard, first?);
        }
        loop {
            if let Some(wanted) = read.wanted
                && page.items.len() >= wanted
            {
                page.more = shards.iter().any(|s| !s.done || !s.buffer.is_empty());
                return Ok(page);
            }
            if page.examined > read.max_examined {
                return Err(too_broad(read.max_examined));
            }
            // A shard with nothing buffered but more to read must be read before merging.
            if let Some(i) = shards.iter().position(|s| s.buffer.is_empty() && !s.done) {
                if Instant::now() >= read.deadline {
                    return Err(too_broad(read.max_examined));
                }
                let next = self.directory_page(&shards[i], read).await?;
                page.examined += absorb(&mut shards[i], next);
                continue;
            }
            let head = |s: &Shard| s.buffer.front().map(order_of);
            let best = shards
                .iter()
                .enumerate()
                .filter_map(|(i, s)| head(s).map(|o| (i, o)))
                .reduce(|a, b| match read.direction {
                    Direction::NewestFirst if b.1 > a.1 => b,
                    Direction::OldestFirst if b.1 < a.1 => b,
                    _ => a,
                });
            let Some((i, _)) = best else {
                return Ok(page);
            };
            let item = shards[i].buffer.pop_front().expect("the head exists");
            if (read.keep)(&item)? {
                page.items.push(item);
            }
        }
    }

    /// One Query page of one shard, filtered by DynamoDB as far as the pushdown goes.
    async fn directory_page(
        &self,
        shard: &Shard,
        read: &DirectoryRead<'_>,
    ) -> ApiResult<(Vec<Item>, Option<Item>, usize)> {
        let mut names = HashMap::from([("#dir".to_string(), "dir".to_string())]);
        let mut values = HashMap::from([(":dir".to_string(), s(&shard.shard))]);
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(DIRECTORY_INDEX)
            .key_condition_expression("#dir = :dir")
            .scan_index_forward(read.direction == Direction::OldestFirst)
            .set_exclusive_start_key(shard.next_key.clone())
            .limit(DIRECTORY_PAGE);
        if let Some(p) = &read.pushdown {
            names.extend(p.names.clone());
            values.extend(p.values.clone());
            query = query.filter_expression(&p.expression);
        }
        let remaining = read.deadline.saturating_duration_since(Instant::now());
        let out = tokio::time::timeout(
            remaining,
            query
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(Some(values))
                .send(),
        )
        .await
        .map_err(|_| too_broad(read.max_examined))?
        .map_err(|e| store_error("read directory", e))?;
        let examined = usize::try_from(out.scanned_count()).unwrap_or(0);
        Ok((
            out.items().to_vec(),
            out.last_evaluated_key().cloned(),
            examined,
        ))
    }
}

/// Items DynamoDB examines per Query page (before the filter): large enough that a selective
/// filter needs few round trips, small enough that a default page reads little more than it
/// shows.
const DIRECTORY_PAGE: i32 = 200;

fn absorb(
    shard: &mut Shard,
    (items, next_key, examined): (Vec<Item>, Option<Item>, usize),
) -> usize {
    shard.buffer.extend(items);
    shard.done = next_key.is_none();
    shard.next_key = next_key;
    examined
}

fn order_of(item: &Item) -> i128 {
    item.get("dir_order")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or_default()
}

fn too_broad(max: usize) -> ApiError {
    ApiError::invalid(
        "where",
        format!(
            "the query would examine more than {max} users: narrow it (an exact id, \
             _username, _email or _phone is read directly), drop return_total_count, or list \
             in the default order (-created_at or created_at), which reads only up to its page"
        ),
    )
}
