//! The directory backfill (`userctl backfill-directory`): gives every user item written before
//! the directory index existed its `dir` and `dir_order` ([`super::directory`]).
//!
//! A Scan of the whole table, in parallel segments, one page of each segment per round. Each
//! user item without `dir` gets both attributes from its own `im_userid` and `created_at` in
//! one UpdateItem conditioned on `attribute_not_exists(dir)` (and on the item still being that
//! user): it never overwrites, never recreates a deleted user, and touches nothing else, so it
//! is safe while traffic flows (a concurrent write of the same user sets the same values with
//! `if_not_exists`, see [`super::update`]). After each round, [`BackfillPosition::token`]
//! says where every segment stands; a run started from it goes on from there. Running it
//! again when it is done updates nothing.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;

use super::directory::{missing_directory, order_key, shard_of};
use super::expr::{Expr, exists, not_exists};
use super::*;

/// Concurrent UpdateItems of one round.
const BACKFILL_CONCURRENCY: usize = 16;

/// Where a backfill stands: for each Scan segment, not started, after a key, or done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackfillPosition {
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Segment {
    Start,
    /// The segment's last evaluated key (`pk`, `sk`).
    After(String, String),
    Done,
}

impl BackfillPosition {
    /// A backfill not yet started, scanning in `segments` parallel segments (at least 1).
    pub fn start(segments: u32) -> BackfillPosition {
        BackfillPosition {
            segments: vec![Segment::Start; segments.max(1) as usize],
        }
    }

    /// Every segment scanned to its end.
    pub fn is_done(&self) -> bool {
        self.segments.iter().all(|s| *s == Segment::Done)
    }

    pub fn segments(&self) -> usize {
        self.segments.len()
    }

    /// The position as one shell-safe word (base64url of JSON), for `--resume`.
    pub fn token(&self) -> String {
        let json = serde_json::to_vec(self).expect("a position serialises");
        URL_SAFE_NO_PAD.encode(json)
    }

    /// The position a [`token`](Self::token) describes.
    pub fn from_token(token: &str) -> ApiResult<BackfillPosition> {
        let bad = |e: String| ApiError::invalid("resume", format!("not a backfill token: {e}"));
        let json = URL_SAFE_NO_PAD
            .decode(token.trim())
            .map_err(|e| bad(e.to_string()))?;
        let position: BackfillPosition =
            serde_json::from_slice(&json).map_err(|e| bad(e.to_string()))?;
        if position.segments.is_empty() {
            return Err(bad("no segment".into()));
        }
        Ok(position)
    }
}

/// What a backfill (or one round of it) saw and did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BackfillCounts {
    /// Items scanned, of every kind.
    pub scanned: u64,
    /// Users given their directory attributes.
    pub updated: u64,
    /// Users that had them already (or got them from a concurrent write meanwhile).
    pub already: u64,
    /// Items that are not users (guards, the IM id counter), and users without an IM id.
    pub other: u64,
}

impl std::ops::AddAssign for BackfillCounts {
    fn add_assign(&mut self, o: BackfillCounts) {
        self.scanned += o.scanned;
        self.updated += o.updated;
        self.already += o.already;
        self.other += o.other;
    }
}

impl UserTable {
    /// One round of the backfill: one Scan page (at most `page_size` items) of every segment
    /// not yet done, concurrently, and the updates its users need; then `position` moves past
    /// those pages. An error leaves `position` where it was: the round may be run again (its
    /// updates are conditional, so none is applied twice).
    pub async fn backfill_directory_round(
        &self,
        position: &mut BackfillPosition,
        page_size: i32,
    ) -> ApiResult<BackfillCounts> {
        let total = position.segments.len();
        let pages = join_all(
            position
                .segments
                .iter()
                .enumerate()
                .map(|(n, at)| self.backfill_page(n, total, at, page_size)),
        )
        .await;
        let mut counts = BackfillCounts::default();
        let mut next = Vec::with_capacity(total);
        for page in pages {
            let (page_counts, at) = page?;
            counts += page_counts;
            next.push(at);
        }
        position.segments = next;
        Ok(counts)
    }

    /// One Scan page of segment `n` of `total` from `at`, its users backfilled; where the
    /// segment then stands.
    async fn backfill_page(
        &self,
        n: usize,
        total: usize,
        at: &Segment,
        page_size: i32,
    ) -> ApiResult<(BackfillCounts, Segment)> {
        let start = match at {
            Segment::Done => return Ok((BackfillCounts::default(), Segment::Done)),
            Segment::Start => None,
            Segment::After(pk, sk) => Some(HashMap::from([
                (attr::PK.to_string(), s(pk)),
                (attr::SK.to_string(), s(sk)),
            ])),
        };
        let (expression, names) = projection(&[
            attr::PK,
            attr::SK,
            attr::IM_USERID,
            attr::CREATED_AT,
            attr::DIR,
        ]);
        let mut scan = self
            .client
            .scan()
            .table_name(&self.table)
            .set_exclusive_start_key(start)
            .projection_expression(expression)
            .set_expression_attribute_names(Some(names))
            .limit(page_size.max(1));
        if total > 1 {
            let (segment, total) = (i32::try_from(n), i32::try_from(total));
            let (Ok(segment), Ok(total)) = (segment, total) else {
                return Err(ApiError::Internal("too many scan segments".into()));
            };
            scan = scan.segment(segment).total_segments(total);
        }
        let out = scan
            .send()
            .await
            .map_err(|e| store_error("scan for the directory backfill", e))?;
        let next = match out.last_evaluated_key() {
            None => Segment::Done,
            Some(key) => {
                let part = |name: &str| {
                    key.get(name)
                        .and_then(|v| v.as_s().ok())
                        .cloned()
                        .ok_or_else(|| ApiError::Internal(format!("scan key lacks {name}")))
                };
                Segment::After(part(attr::PK)?, part(attr::SK)?)
            }
        };
        let mut counts = BackfillCounts::default();
        let mut todo = Vec::new();
        for item in out.items.unwrap_or_default() {
            counts.scanned += 1;
            let is_user = item.get(attr::SK).and_then(|v| v.as_s().ok()) == Some(&USER_SK.into());
            let pk = item.get(attr::PK).and_then(|v| v.as_s().ok()).cloned();
            let stored: StoredUser = from_item(item)?;
            match (is_user, pk, missing_directory(&stored)) {
                (true, Some(pk), Some((im_userid, created_at))) => {
                    todo.push((pk, im_userid, created_at));
                }
                (true, _, None) if stored.dir.is_some() => counts.already += 1,
                _ => counts.other += 1,
            }
        }
        let results: Vec<ApiResult<bool>> = futures_util::stream::iter(todo)
            .map(|(pk, im_userid, created_at)| async move {
                self.give_directory(&pk, im_userid, created_at).await
            })
            .buffer_unordered(BACKFILL_CONCURRENCY)
            .collect()
            .await;
        for result in results {
            match result? {
                true => counts.updated += 1,
                false => counts.already += 1,
            }
        }
        Ok((counts, next))
    }

    /// Sets the directory attributes of the user item `pk` unless it has them (or is gone, or
    /// is no longer that user): whether it set them.
    async fn give_directory(&self, pk: &str, im_userid: i64, created_at: i64) -> ApiResult<bool> {
        let mut e = Expr::new();
        let key = e.name(attr::PK);
        let dir = e.name(attr::DIR);
        let dir_order = e.name(attr::DIR_ORDER);
        let im = e.name(attr::IM_USERID);
        let shard = e.string(shard_of(im_userid));
        let order = e.string(order_key(created_at, im_userid));
        let id = e.number(im_userid);
        e.set(&dir, &shard);
        e.set(&dir_order, &order);
        e.condition(exists(&key));
        e.condition(not_exists(&dir));
        e.condition(format!("{im} = {id}"));
        let result = e
            .update_item(self.client.update_item())
            .table_name(&self.table)
            .key(attr::PK, s(pk))
            .key(attr::SK, s(USER_SK))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(false),
                _ => Err(store_error("backfill the directory", e)),
            },
        }
    }
}
