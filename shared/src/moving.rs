//! Moving in and out: import users with their ids, times and password hashes (`userctl
//! import`, the import batch function of the Step Functions path), and export any selection
//! (`userctl export`). Files are read and written by [`domain::moving`]; the store keeps an
//! imported id to one user and away from sign-ups ([`crate::store::Claim`]).
//!
//! An import is safe to run twice and alongside traffic: a rerun finds each user already
//! stored with the same values (unchanged); a row whose id, `user_id` or account value
//! another user holds is refused and reported, never merged or overwritten.

use std::collections::HashMap;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::account::{AccountField, check_imported_hash, guard_key};
use crate::audit::Event;
use crate::error::{ApiError, ApiResult};
use crate::query::Filter;
use crate::store::directory::{order_key, shard_of};
use crate::store::{ImportUser, Imported, StoredUser, UserView};
use crate::user::{ImIdentity, User, extends_bytes};
use crate::users::Users;
use domain::moving::Incoming;
/// The files: what a row says, and what an export line is ([`domain::moving`]).
pub use domain::moving::{
    Row, Secrets, Source, csv_line, jsonl_line, minapp_csv_header, minapp_csv_record, read,
};

/// Users written per group: the unit of progress, and of the transactions run at once.
const GROUP: usize = 400;
/// Users compared with what is stored at once, on a rerun.
const COMPARE_CONCURRENCY: usize = 16;

/// What became of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Imported,
    Unchanged,
    Skipped,
    Failed,
}

/// One row's line in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowReport {
    pub line: usize,
    pub id: Option<i64>,
    pub user_id: Option<String>,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// The counts of a report: its last line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub imported: usize,
    pub unchanged: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl Totals {
    pub fn of(reports: &[RowReport]) -> Totals {
        let mut t = Totals::default();
        for r in reports {
            match r.outcome {
                Outcome::Imported => t.imported += 1,
                Outcome::Unchanged => t.unchanged += 1,
                Outcome::Failed => t.failed += 1,
                Outcome::Skipped => t.skipped += 1,
            }
        }
        t
    }
}

impl std::fmt::Display for Totals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "imported {}, unchanged {}, failed {}",
            self.imported, self.unchanged, self.failed
        )?;
        if self.skipped > 0 {
            write!(f, " (skipped {}: deleted at the source)", self.skipped)?;
        }
        Ok(())
    }
}

/// A user ready to go in, with the row it came from.
struct Ready {
    line: usize,
    user: ImportUser,
}

/// An import's reports, one per row in row order, and what its writes cost.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    pub rows: Vec<RowReport>,
    /// TransactWriteItems calls.
    pub transactions: usize,
    /// Write capacity units consumed (DynamoDB's count).
    pub write_units: f64,
}

/// Imports `rows` (read by [`domain::moving::read`]); `progress` hears how many rows each
/// step settled. With `dry_run` nothing is written.
pub async fn import(
    users: &Users,
    rows: Vec<Row>,
    dry_run: bool,
    progress: &(dyn Fn(usize) + Sync),
) -> ImportReport {
    let mut cost = ImportReport::default();
    let mut reports: Vec<RowReport> = Vec::with_capacity(rows.len());
    let mut incoming = Vec::new();
    for row in rows {
        match row {
            Row::User(user) => incoming.push(user),
            Row::Skipped { line, reason } => {
                reports.push(report(line, None, None, Outcome::Skipped, reason))
            }
            Row::Invalid { line, message } => {
                reports.push(report(line, None, None, Outcome::Failed, message))
            }
        }
    }
    progress(reports.len());
    let (incoming, refused) = once_each(incoming);
    progress(refused.len());
    reports.extend(refused);
    match ready(users, incoming, dry_run).await {
        Ok((ready, known, mut refused)) => {
            progress(refused.len());
            reports.append(&mut refused);
            reports.extend(compare(users, known, progress).await);
            for group in ready.chunks(GROUP) {
                let batch: Vec<ImportUser> = group.iter().map(|r| r.user.clone()).collect();
                let writes = users.table().import_users(&batch, dry_run).await;
                cost.transactions += writes.transactions;
                cost.write_units += writes.write_units;
                progress(group.len());
                reports.extend(
                    group
                        .iter()
                        .zip(writes.outcomes)
                        .map(|(r, o)| outcome(r, o)),
                );
            }
        }
        Err((lines, e)) => {
            for (line, id) in lines {
                reports.push(report(line, id, None, Outcome::Failed, e.to_string()));
            }
        }
    }
    reports.sort_by_key(|r| r.line);
    ImportReport {
        rows: reports,
        ..cost
    }
}

fn report(
    line: usize,
    id: Option<i64>,
    user_id: Option<String>,
    outcome: Outcome,
    message: impl Into<String>,
) -> RowReport {
    RowReport {
        line,
        id,
        user_id,
        outcome,
        message: message.into(),
    }
}

fn outcome(ready: &Ready, imported: Imported) -> RowReport {
    let stored = &ready.user.stored;
    let (outcome, message) = match imported {
        Imported::Imported => (Outcome::Imported, String::new()),
        Imported::Unchanged => (Outcome::Unchanged, String::new()),
        Imported::Refused(why) => (Outcome::Failed, why),
        Imported::Failed(why) => (
            Outcome::Failed,
            format!("not written: {why} (rerun to go on)"),
        ),
    };
    report(
        ready.line,
        stored.im_userid,
        Some(stored.user_id.clone()),
        outcome,
        message,
    )
}

/// The rows whose id, `user_id`, account values and password hash no earlier row of the file
/// has, and the reports of those that repeat one (a file cannot give one value to two
/// users). A password hash in no form we verify is refused here too.
fn once_each(incoming: Vec<Incoming>) -> (Vec<Incoming>, Vec<RowReport>) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut kept = Vec::new();
    let mut refused = Vec::new();
    for mut user in incoming {
        if let Some(hash) = user.password_hash.take() {
            match check_imported_hash("password_hash", &hash) {
                Ok(hash) => user.password_hash = Some(hash),
                Err(e) => {
                    refused.push(report(
                        user.line,
                        user.id,
                        user.user_id.clone(),
                        Outcome::Failed,
                        e.to_string(),
                    ));
                    continue;
                }
            }
        }
        let mut keys = Vec::new();
        if let Some(id) = user.id {
            keys.push((format!("id {id}"), format!("ID#{id}")));
        }
        if let Some(user_id) = &user.user_id {
            keys.push((format!("user_id {user_id}"), format!("USER#{user_id}")));
        }
        for (field, value) in [
            (AccountField::Username, &user.account.username),
            (AccountField::Email, &user.account.email),
            (AccountField::Phone, &user.account.phone),
        ] {
            if let Some(value) = value {
                keys.push((format!("{} {value}", field.name()), guard_key(field, value)));
            }
        }
        let repeated = keys.iter().find_map(|(what, key)| {
            seen.get(key)
                .map(|line| format!("{what} is also on line {line}"))
        });
        match repeated {
            Some(why) => refused.push(report(
                user.line,
                user.id,
                user.user_id.clone(),
                Outcome::Failed,
                why,
            )),
            None => {
                for (_, key) in keys {
                    seen.insert(key, user.line);
                }
                kept.push(user);
            }
        }
    }
    (kept, refused)
}

type ReadyParts = (Vec<Ready>, Vec<Ready>, Vec<RowReport>);

/// Splits the rows into users to write (their ids claimed), users an earlier import already
/// holds by id or `user_id` (to compare), and refusals (ids the counter has handed out).
async fn ready(
    users: &Users,
    incoming: Vec<Incoming>,
    dry_run: bool,
) -> Result<ReadyParts, (Vec<(usize, Option<i64>)>, ApiError)> {
    let lines: Vec<(usize, Option<i64>)> = incoming.iter().map(|u| (u.line, u.id)).collect();
    let fail = |e: ApiError| (lines.clone(), e);
    let table = users.table();
    // Rows without an id (QNLiveKit users without IM) keep the one a first run gave them.
    let unnumbered: Vec<String> = incoming
        .iter()
        .filter(|u| u.id.is_none())
        .filter_map(|u| u.user_id.clone())
        .collect();
    let earlier: HashMap<String, i64> = table
        .stored_users(&unnumbered)
        .await
        .map_err(fail)?
        .into_iter()
        .filter_map(|s| s.im_userid.map(|id| (s.user_id, id)))
        .collect();
    let ids: Vec<i64> = incoming.iter().filter_map(|u| u.id).collect();
    let holders = table.id_holders(&ids).await.map_err(fail)?;
    let free: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| !holders.contains_key(id))
        .collect();
    let claim = table
        .claim_import_ids(&free, !dry_run)
        .await
        .map_err(fail)?;
    let fresh_needed = incoming
        .iter()
        .filter(|u| {
            u.id.is_none()
                && u.user_id
                    .as_ref()
                    .is_none_or(|id| !earlier.contains_key(id))
        })
        .count();
    let mut fresh = if fresh_needed > 0 && !dry_run {
        users.im_ids(fresh_needed).await.map_err(fail)?
    } else {
        0..0
    };
    let (mut write, mut known, mut refused) = (Vec::new(), Vec::new(), Vec::new());
    for user in incoming {
        let line = user.line;
        let (id, known_id) = match user.id {
            Some(id) => (id, holders.contains_key(&id)),
            None => match user.user_id.as_ref().and_then(|u| earlier.get(u)) {
                Some(&id) => (id, true),
                None => (fresh.next().unwrap_or_default(), false),
            },
        };
        if user.id.is_some() && !known_id && !claim.allowed.contains(&id) {
            refused.push(report(
                line,
                Some(id),
                user.user_id.clone(),
                Outcome::Failed,
                format!(
                    "id {id} is within the ids this table hands out to new users (up to {}): \
                     it may be taken, so it is not written",
                    claim.counter
                ),
            ));
            continue;
        }
        let user_id = match (&user.user_id, holders.get(&id)) {
            (Some(user_id), _) => user_id.clone(),
            (None, Some(holder)) => holder.clone(),
            (None, None) => crate::session::new_user_id().map_err(fail)?,
        };
        let stored = match stored_user(&user, id, user_id, users.im_username_prefix()) {
            Ok(stored) => stored,
            Err(e) => {
                refused.push(report(
                    line,
                    Some(id),
                    user.user_id.clone(),
                    Outcome::Failed,
                    e.to_string(),
                ));
                continue;
            }
        };
        let given_im = user.im_username.is_some() || user.im_password.is_some();
        let ready = Ready {
            line,
            user: ImportUser { stored, given_im },
        };
        if known_id {
            known.push(ready)
        } else {
            write.push(ready)
        }
    }
    Ok((write, known, refused))
}

/// The users an earlier import holds by id, compared with what is stored.
async fn compare(
    users: &Users,
    known: Vec<Ready>,
    progress: &(dyn Fn(usize) + Sync),
) -> Vec<RowReport> {
    futures_util::stream::iter(known)
        .map(|ready| async move {
            let imported = users.table().compare_imported(&ready.user).await;
            progress(1);
            outcome(&ready, imported)
        })
        .buffer_unordered(COMPARE_CONCURRENCY)
        .collect()
        .await
}

/// The item an imported user is stored as.
fn stored_user(user: &Incoming, id: i64, user_id: String, prefix: &str) -> ApiResult<StoredUser> {
    // IM credentials the row lacks are made as a sign-up makes them.
    let made = ImIdentity::new(id, prefix, &user_id)?;
    Ok(StoredUser {
        user_id,
        nick: user.nick.clone(),
        avatar: user.avatar.clone(),
        extends_bytes: Some(extends_bytes(&user.extends)),
        extends: user.extends.clone(),
        im_userid: Some(id),
        im_username: Some(user.im_username.clone().unwrap_or(made.im_username)),
        im_password: Some(user.im_password.clone().unwrap_or(made.im_password)),
        username: user.account.username.clone(),
        email: user.account.email.clone(),
        email_verified: user.account.email.is_some() && user.account.email_verified,
        phone: user.account.phone.clone(),
        phone_verified: user.account.phone.is_some() && user.account.phone_verified,
        password_hash: user.password_hash.clone(),
        created_at: user.created_at,
        updated_at: user.updated_at,
        gender: user.profile.gender,
        country: user.profile.country.clone(),
        province: user.profile.province.clone(),
        city: user.profile.city.clone(),
        language: user.profile.language.clone(),
        custom: user.custom.clone(),
        dir: Some(shard_of(id)),
        dir_order: Some(order_key(user.created_at, id)),
        ..StoredUser::default()
    })
}

// ---------------------------------------------------------------------------------------------
// Export

/// How an export runs.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// Only users matching this MinApp `where` (all when `None`).
    pub filter: Option<Filter>,
    /// Include password hashes (recorded in each exported user's audit trail).
    pub with_password_hashes: bool,
}

/// One exported user: the user and what a line carries besides.
pub struct Exported {
    pub user: User,
    pub im_username: String,
    pub im_password: String,
    pub password_hash: Option<String>,
}

impl Exported {
    pub fn secrets(&self) -> Secrets<'_> {
        Secrets {
            im_username: &self.im_username,
            im_password: &self.im_password,
            password_hash: self.password_hash.as_deref(),
        }
    }
}

/// Every user matching `options`, a scan page at a time: `emit` gets each page's matches
/// and how many items the page read (for a progress bar). Returns how many were exported.
pub async fn export(
    users: &Users,
    options: &ExportOptions,
    mut emit: impl FnMut(Vec<Exported>, usize) -> ApiResult<()>,
) -> ApiResult<usize> {
    let table = users.table();
    let fields = users.user_fields();
    let mut start = None;
    let mut total = 0;
    loop {
        let page = table
            .scan_users(start, options.with_password_hashes)
            .await?;
        let scanned = page.scanned;
        let mut out = Vec::new();
        for stored in page.users {
            let im_username = stored.im_username.clone().unwrap_or_default();
            let im_password = stored.im_password.clone().unwrap_or_default();
            let password_hash = stored
                .password_hash
                .clone()
                .filter(|_| options.with_password_hashes);
            let user = User::from_stored(stored)?;
            let keep = options
                .filter
                .as_ref()
                .is_none_or(|f| f.matches(crate::views::MinAppUser::new(&user, fields).as_value()));
            if keep {
                out.push(Exported {
                    user,
                    im_username,
                    im_password,
                    password_hash,
                });
            }
        }
        if options.with_password_hashes {
            let ids: Vec<String> = out
                .iter()
                .filter(|e| e.password_hash.is_some())
                .map(|e| e.user.user_id.clone())
                .collect();
            table.audit_many(&ids, Event::HashesExported).await;
        }
        total += out.len();
        emit(out, scanned)?;
        match page.next {
            Some(next) => start = Some(next),
            None => return Ok(total),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The batch of the Step Functions path

/// One batch of the import state machine's Distributed Map over a file in S3: `Items` (a
/// CSV row as its column -> text map, or a JSON object) and the `BatchInput` the state
/// machine adds to every batch.
#[derive(Debug, Deserialize)]
pub struct ImportBatch {
    #[serde(rename = "Items")]
    pub items: Vec<Value>,
    #[serde(rename = "BatchInput")]
    pub input: BatchInput,
}

#[derive(Debug, Deserialize)]
pub struct BatchInput {
    /// `minapp`, `qnlivekit` or `jsonl`.
    pub source: String,
    #[serde(default)]
    pub dry_run: bool,
}

/// What a batch reports (the state machine's result file collects them).
#[derive(Debug, Serialize)]
pub struct BatchReport {
    pub totals: Totals,
    /// The rows that did not go in as imported or unchanged.
    pub problems: Vec<RowReport>,
}

/// Imports one batch through the same reader and [`import`] as `userctl import`: the items
/// are written back as the file they came from (CSV rows under a header of their columns,
/// JSON objects one a line), so every rule is the file path's. Lines count within the batch.
pub async fn import_batch(users: &Users, batch: ImportBatch) -> ApiResult<BatchReport> {
    let source = Source::from_name(&batch.input.source).ok_or_else(|| {
        ApiError::invalid(
            "BatchInput.source",
            "must be one of minapp, qnlivekit, jsonl",
        )
    })?;
    let text = batch_text(source, &batch.items)?;
    let rows = read(source, text.as_bytes(), users.user_fields())?;
    let reports = import(users, rows, batch.input.dry_run, &|_| {}).await.rows;
    let totals = Totals::of(&reports);
    tracing::info!(
        imported = totals.imported,
        unchanged = totals.unchanged,
        failed = totals.failed,
        skipped = totals.skipped,
        "import batch"
    );
    let problems = reports
        .into_iter()
        .filter(|r| r.outcome == Outcome::Failed)
        .collect();
    Ok(BatchReport { totals, problems })
}

/// The batch as the file it came from.
fn batch_text(source: Source, items: &[Value]) -> ApiResult<String> {
    let texts: Option<Vec<&serde_json::Map<String, Value>>> = items
        .iter()
        .map(|i| i.as_object().filter(|o| o.values().all(Value::is_string)))
        .collect();
    match texts {
        // The CSV reader of Step Functions gives each row as strings under the header's names.
        Some(rows) if !matches!(source, Source::Jsonl) => {
            let mut columns: Vec<&String> = rows.iter().flat_map(|r| r.keys()).collect();
            columns.sort();
            columns.dedup();
            let mut out = String::new();
            let line = |cells: Vec<&str>| {
                cells
                    .into_iter()
                    .map(|c| format!("\"{}\"", c.replace('"', "\"\"")))
                    .collect::<Vec<_>>()
                    .join(",")
            };
            out.push_str(&line(columns.iter().map(|c| c.as_str()).collect()));
            out.push('\n');
            for row in rows {
                let cells = columns
                    .iter()
                    .map(|c| row.get(*c).and_then(Value::as_str).unwrap_or(""))
                    .collect();
                out.push_str(&line(cells));
                out.push('\n');
            }
            Ok(out)
        }
        _ => {
            let mut out = String::new();
            for item in items {
                if !item.is_object() {
                    return Err(ApiError::invalid("Items", "must be JSON objects"));
                }
                out.push_str(&item.to_string());
                out.push('\n');
            }
            Ok(out)
        }
    }
}
