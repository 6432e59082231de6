//! The audit trail: who did what to whom, in every log line of a request and, for security
//! events, as records in the table.
//!
//! - **The request's trail** ([`within`]): the pipeline opens one per request with the ids,
//!   source IP and route ([`Context`]), then sets the verified caller ([`set_actor`]). The
//!   store notes every user whose key a request touches ([`touch`], called where user keys
//!   are made), so the target is never left to an operation to remember. Every log line the
//!   request emits carries these fields ([`log_fields`]).
//! - **Audit records** ([`UserTable::audit`]): one item per security event in the partition of
//!   the user it concerns (`pk = USER#<user_id>`, `sk = AUDIT#<unix ms, 15 digits>#<8 hex>`),
//!   with `expires_at` (DynamoDB's TTL; `AUDIT_TTL_DAYS`). A login that fails for an identifier
//!   nobody holds is recorded in that identifier's own partition (`LOGIN#<guard key>`): one
//!   PutItem either way, so a record never tells a known name from an unknown one. Server
//!   tokens are recorded per access key (`ACCESS_KEY#<ak>`). Records name the event, outcome,
//!   time, both request ids, source IP, caller and route; never a password, hash or token.
//! - **Written** in the transaction the event already makes (sign-up, account change:
//!   [`UserTable::audit_put`]), else as one PutItem ([`UserTable::audit`]) or BatchWriteItems
//!   of 25 ([`UserTable::audit_many`]) once the outcome is known. Those are best effort: a
//!   failed write is an error line (carrying the same fields), never a changed answer.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Mutex;

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::attempts::Reservation;
use super::*;
use crate::limits::{Counter, Limit};
use auth::caller::{Anonymous, Lookup, Operator, Registrant, Server, ServerCredential, Session};

/// The sort key prefix of audit records.
const AUDIT_SK_PREFIX: &str = "AUDIT#";
/// BatchWriteItem takes at most 25 puts a call.
const PUTS_PER_BATCH: usize = 25;
/// Targets a trail names one by one; beyond them it only counts.
const TARGETS_NAMED: usize = 1000;
/// The most records one page of [`UserTable::audit_records`] may hold.
pub const AUDIT_PAGE_MAX: usize = 100;

// ---------------------------------------------------------------------------------------------
// The request's trail

tokio::task_local! {
    static TRAIL: Trail;
}

/// What the pipeline knows of a request before it runs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// API Gateway's request id (else Lambda's): what the access log joins on.
    pub request_id: String,
    /// The client's `X-Reqid`, when sane: its own field, never the request id.
    pub client_reqid: Option<String>,
    /// From API Gateway's request context only (never a header).
    pub source_ip: Option<IpAddr>,
    /// The route template (`PUT /server/user/{user_id}`).
    pub route: String,
}

/// Who made a request, as the trail and the records name it: `caller` is the kind of
/// credential (`signature`, `server_token`, `client_token`, `client_credentials`,
/// `anonymous`; `unverified` until authentication passed; `internal` outside a request),
/// `caller_id` the access key id or the token's subject, never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub caller: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_id: Option<String>,
    /// A client token's issue time (unix ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_issued_at_ms: Option<i64>,
}

impl Actor {
    fn kind(caller: &str) -> Actor {
        Actor {
            caller: caller.into(),
            caller_id: None,
            token_issued_at_ms: None,
        }
    }

    /// Whoever holds an AK/SK pair and sent it in a body (MinApp's open-API token flow).
    /// An operator of the console (its name is the `caller_id`).
    pub fn operator() -> Actor {
        Actor::kind("operator")
    }

    pub fn client_credentials(access_key: &str) -> Actor {
        Actor {
            caller_id: Some(access_key.into()),
            ..Actor::kind("client_credentials")
        }
    }
}

/// A verified caller names itself for the trail.
pub trait Audited {
    fn actor(&self) -> Actor;
}

impl Audited for Server {
    fn actor(&self) -> Actor {
        let kind = match self.via() {
            ServerCredential::Signature => "signature",
            ServerCredential::ServerToken => "server_token",
            ServerCredential::Console => "operator",
        };
        Actor {
            caller_id: Some(self.access_key().into()),
            ..Actor::kind(kind)
        }
    }
}

impl Audited for Operator {
    fn actor(&self) -> Actor {
        Actor {
            caller_id: Some(self.name().into()),
            ..Actor::operator()
        }
    }
}

impl Audited for Session {
    fn actor(&self) -> Actor {
        Actor {
            caller: "client_token".into(),
            caller_id: Some(self.user_id().into()),
            token_issued_at_ms: Some(self.issued_at_ms()),
        }
    }
}

impl Audited for Anonymous {
    fn actor(&self) -> Actor {
        Actor::kind("anonymous")
    }
}

impl Audited for Registrant {
    /// The presented session's user (an anonymous user registering), else anonymous.
    fn actor(&self) -> Actor {
        self.session()
            .map_or_else(|| Anonymous.actor(), Session::actor)
    }
}

impl Audited for Lookup {
    fn actor(&self) -> Actor {
        match self {
            Lookup::Anonymous => Anonymous.actor(),
            Lookup::Server(server) => server.actor(),
            Lookup::Client(session) => session.actor(),
        }
    }
}

/// One request's trail.
struct Trail {
    context: Context,
    state: Mutex<State>,
}

struct State {
    actor: Actor,
    targets: BTreeSet<String>,
    /// Targets touched beyond [`TARGETS_NAMED`].
    more: usize,
}

/// Runs one request's work inside its trail.
pub async fn within<F: std::future::Future>(context: Context, work: F) -> F::Output {
    let trail = Trail {
        context,
        state: Mutex::new(State {
            actor: Actor::kind("unverified"),
            targets: BTreeSet::new(),
            more: 0,
        }),
    };
    TRAIL.scope(trail, work).await
}

fn with_state<R>(f: impl FnOnce(&Context, &mut State) -> R) -> Option<R> {
    TRAIL
        .try_with(|t| {
            // A poisoned lock only means a panic elsewhere; the trail is still readable.
            let mut state = t.state.lock().unwrap_or_else(|p| p.into_inner());
            f(&t.context, &mut state)
        })
        .ok()
}

/// The verified caller of the request being served.
pub fn set_actor(actor: Actor) {
    with_state(|_, state| state.actor = actor);
}

/// Notes that the request acted on or looked up `user_id` (no-op outside a request).
pub fn touch(user_id: &str) {
    with_state(|_, state| {
        if state.targets.contains(user_id) {
        } else if state.targets.len() < TARGETS_NAMED {
            state.targets.insert(user_id.to_string());
        } else {
            state.more += 1;
        }
    });
}

/// The trail's fields for a log line: `request_id`, `client_reqid`, `source_ip`, `route`,
/// `caller`, `caller_id`, `token_issued_at_ms`, and `target` (one user) or `targets` (how
/// many). `None` outside a request.
pub fn log_fields() -> Option<Map<String, Value>> {
    with_state(|context, state| {
        let mut fields = Map::new();
        fields.insert("request_id".into(), context.request_id.clone().into());
        if let Some(id) = &context.client_reqid {
            fields.insert("client_reqid".into(), id.clone().into());
        }
        if let Some(ip) = context.source_ip {
            fields.insert("source_ip".into(), ip.to_string().into());
        }
        fields.insert("route".into(), context.route.clone().into());
        if let Ok(Value::Object(actor)) = serde_json::to_value(&state.actor) {
            fields.extend(actor);
        }
        match state.targets.len() + state.more {
            0 => {}
            1 => {
                let only = state.targets.first().cloned().unwrap_or_default();
                fields.insert("target".into(), only.into());
            }
            n => {
                fields.insert("targets".into(), n.into());
            }
        }
        fields
    })
}

/// The request's context and caller for a record; outside a request, an `internal` one.
fn current() -> (Context, Actor) {
    with_state(|context, state| (context.clone(), state.actor.clone())).unwrap_or_else(|| {
        let context = Context {
            request_id: "-".into(),
            route: "-".into(),
            ..Context::default()
        };
        (context, Actor::kind("internal"))
    })
}

// ---------------------------------------------------------------------------------------------
// Events and records

/// A security event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// MinApp sign-up.
    SignUp,
    /// MinApp sign-up by an anonymous user's session: that user took the login value and
    /// password (a `sign_up` record, detail `from_anonymous`).
    SignUpFromAnonymous,
    /// A login that passed.
    Login,
    /// A login refused: wrong password or nobody holds the identifier.
    LoginFailed,
    /// A limit refused the request before it was tried; `limit` names it.
    LimitReached { limit: &'static str },
    /// The user ended its sessions.
    Logout,
    /// Account values changed (their names only, never a value); `password` among them.
    AccountChanged { fields: Vec<&'static str> },
    /// A client's new password refused: the current password it gave was wrong or missing.
    PasswordCheckFailed,
    /// Qiniu register (one, a batch, or a token for a new `user_id`).
    Registered,
    /// Qiniu profile update.
    Updated,
    /// A MinApp server token was issued.
    ServerTokenIssued,
    /// An operator logged in to the console (recorded under `LOGIN#OPERATOR#<name>`).
    OperatorLogin,
    /// An operator login refused: wrong password or no such operator.
    OperatorLoginFailed,
    /// An operator was added, given a role or removed; `change` says which.
    OperatorChanged { change: String },
    /// An admin voided every token of the user (log out everywhere).
    TokensRevoked,
    /// An admin disabled the user, until a unix time or indefinitely (detail: `until=<s>`).
    Disabled { until: Option<i64> },
    /// An admin enabled the user again.
    Enabled,
    /// A disabled user's right password refused (after the check, so it tells no guesser).
    LoginRefusedDisabled,
    /// The user moved in by an import, with its id (`userctl import`, the import batch).
    Imported,
    /// Users' password hashes were exported (`userctl export --with-password-hashes`).
    HashesExported,
    /// A login replaced the user's imported password hash with argon2id.
    PasswordRehashed,
}

impl Event {
    pub fn name(&self) -> &'static str {
        match self {
            Event::SignUp | Event::SignUpFromAnonymous => "sign_up",
            Event::Login | Event::LoginFailed => "login",
            Event::LimitReached { .. } => "limit_reached",
            Event::Logout => "logout",
            Event::AccountChanged { .. } => "account_changed",
            Event::PasswordCheckFailed => "password_check_failed",
            Event::Registered => "registered",
            Event::Updated => "updated",
            Event::ServerTokenIssued => "server_token_issued",
            Event::OperatorLogin | Event::OperatorLoginFailed => "operator_login",
            Event::OperatorChanged { .. } => "operator_changed",
            Event::TokensRevoked => "tokens_revoked",
            Event::Disabled { .. } => "disabled",
            Event::Enabled => "enabled",
            Event::LoginRefusedDisabled => "login",
            Event::Imported => "imported",
            Event::HashesExported => "password_hash_exported",
            Event::PasswordRehashed => "password_rehashed",
        }
    }

    pub fn outcome(&self) -> &'static str {
        match self {
            Event::LoginFailed | Event::PasswordCheckFailed | Event::OperatorLoginFailed => {
                "failure"
            }
            Event::LoginRefusedDisabled => "refused",
            Event::LimitReached { .. } => "refused",
            _ => "success",
        }
    }

    pub fn detail(&self) -> Option<String> {
        match self {
            Event::LimitReached { limit } => Some((*limit).to_string()),
            Event::AccountChanged { fields } => Some(fields.join(",")),
            Event::SignUpFromAnonymous => Some("from_anonymous".into()),
            Event::OperatorChanged { change } => Some(change.clone()),
            Event::Disabled { until } => Some(match until {
                Some(at) => format!("until={at}"),
                None => "indefinitely".into(),
            }),
            Event::LoginRefusedDisabled => Some("disabled".into()),
            _ => None,
        }
    }
}

/// Whose partition a record goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject<'a> {
    /// A user (`USER#<user_id>`): the user's own trail, which admins read.
    User(&'a str),
    /// A login identifier nobody holds (`LOGIN#<guard key>`, e.g. `LOGIN#USERNAME#bob`).
    Identifier(&'a str),
    /// An access key (`ACCESS_KEY#<ak>`): server tokens.
    AccessKey(&'a str),
    /// Logged only.
    Nobody,
}

impl Subject<'_> {
    fn pk(&self) -> Option<String> {
        match self {
            Subject::User(user_id) => Some(user_pk(user_id)),
            Subject::Identifier(key) => Some(format!("LOGIN#{key}")),
            Subject::AccessKey(ak) => Some(format!("ACCESS_KEY#{ak}")),
            Subject::Nobody => None,
        }
    }
}

/// One stored record (its key aside). Field names are [`attr`]'s (a test holds them together).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub event: String,
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// When (unix ms).
    pub at_ms: i64,
    pub request_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_reqid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    pub caller: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_issued_at_ms: Option<i64>,
    pub route: String,
    /// DynamoDB's TTL attribute (unix s).
    pub expires_at: i64,
}

/// A record as admins read it: its id (the cursor that continues after it) and its fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub id: String,
    #[serde(flatten)]
    pub record: AuditRecord,
}

/// A page of a user's records, newest first; `next` is the cursor of the page after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub next: Option<String>,
}

/// A record id: 15 digits of unix ms, `#`, 8 lowercase hex digits.
pub fn valid_cursor(id: &str) -> bool {
    let Some((ms, random)) = id.split_once('#') else {
        return false;
    };
    ms.len() == 15
        && ms.bytes().all(|b| b.is_ascii_digit())
        && random.len() == 8
        && random
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn new_record_id(at_ms: i64) -> ApiResult<String> {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::Internal(format!("CSPRNG: {e}")))?;
    let random: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{at_ms:015}#{random}"))
}

/// The info line of an event: the trail's fields come with it.
fn log_event(event: &Event) {
    match event.detail() {
        Some(detail) => tracing::info!(
            audit = event.name(),
            outcome = event.outcome(),
            detail,
            "audit"
        ),
        None => tracing::info!(audit = event.name(), outcome = event.outcome(), "audit"),
    }
}

impl UserTable {
    /// The record of `event` for this request, as an item of `subject`'s partition (`None`
    /// for [`Subject::Nobody`]).
    fn audit_item(&self, subject: Subject<'_>, event: &Event) -> ApiResult<Option<Item>> {
        let Some(pk) = subject.pk() else {
            return Ok(None);
        };
        if let Subject::User(user_id) = subject {
            touch(user_id);
        }
        let (context, actor) = current();
        let at_ms = clock::now_ms();
        let record = AuditRecord {
            event: event.name().into(),
            outcome: event.outcome().into(),
            detail: event.detail(),
            at_ms,
            request_id: context.request_id,
            client_reqid: context.client_reqid,
            source_ip: context.source_ip.map(|ip| ip.to_string()),
            caller: actor.caller,
            caller_id: actor.caller_id,
            token_issued_at_ms: actor.token_issued_at_ms,
            route: context.route,
            expires_at: at_ms / 1000 + self.audit_ttl_seconds,
        };
        let mut item = to_item(&record)?;
        item.insert(attr::PK.into(), s(pk));
        let sk = format!("{AUDIT_SK_PREFIX}{}", new_record_id(at_ms)?);
        item.insert(attr::SK.into(), s(sk));
        Ok(Some(item))
    }

    /// One attempt from the login limit of `identifier` (a login value's guard key, or
    /// `OPERATOR#<name>`): past it, the refusal recorded under the identifier, and the 429.
    pub async fn reserve_login(
        &self,
        identifier: &str,
        limit: Limit,
        now: i64,
    ) -> ApiResult<Reservation> {
        match self.reserve(&Counter::login(identifier, limit), now).await {
            Err(refused @ ApiError::TooManyAttempts(_)) => {
                let limit = Event::LimitReached { limit: "login" };
                self.audit(Subject::Identifier(identifier), limit).await;
                Err(refused)
            }
            other => other,
        }
    }

    /// Records `event` with one PutItem (none for [`Subject::Nobody`]) and logs it. Best
    /// effort: a failed write is logged as an error, never changes the answer.
    pub async fn audit(&self, subject: Subject<'_>, event: Event) {
        log_event(&event);
        let item = match self.audit_item(subject, &event) {
            Ok(Some(item)) => item,
            Ok(None) => return,
            Err(e) => return audit_failed(&event, &e),
        };
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send();
        match Deadline::current().bound(put).await {
            Some(Ok(_)) => {}
            Some(Err(e)) => audit_failed(&event, &store_error("put audit record", e)),
            None => audit_failed(&event, &ApiError::Busy("cut off at the deadline".into())),
        }
    }

    /// The put of `event`'s record, for a transaction the event already makes; log it with
    /// [`logged`] once the transaction committed.
    pub fn audit_put(&self, subject: Subject<'_>, event: &Event) -> ApiResult<TransactWriteItem> {
        let item = self
            .audit_item(subject, event)?
            .ok_or_else(|| ApiError::Internal("a transaction's record needs a subject".into()))?;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .map_err(|e| ApiError::Internal(format!("audit put: {e}")))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Records `event` for each of `user_ids`: BatchWriteItems of 25, run concurrently,
    /// unprocessed items retried while the deadline allows. Best effort, like [`audit`].
    ///
    /// [`audit`]: UserTable::audit
    pub async fn audit_many(&self, user_ids: &[String], event: Event) {
        if user_ids.is_empty() {
            return;
        }
        log_event(&event);
        let mut requests = Vec::with_capacity(user_ids.len());
        for user_id in user_ids {
            let put = self
                .audit_item(Subject::User(user_id), &event)
                .and_then(|item| {
                    PutRequest::builder()
                        .set_item(item)
                        .build()
                        .map_err(|e| ApiError::Internal(format!("audit put: {e}")))
                });
            match put {
                Ok(put) => requests.push(WriteRequest::builder().put_request(put).build()),
                Err(e) => return audit_failed(&event, &e),
            }
        }
        let calls = requests
            .chunks(PUTS_PER_BATCH)
            .map(|chunk| self.batch_write(chunk.to_vec()));
        for result in join_all(calls).await {
            if let Err(e) = result {
                audit_failed(&event, &e);
            }
        }
    }

    async fn batch_write(&self, mut requests: Vec<WriteRequest>) -> ApiResult<()> {
        let deadline = Deadline::current();
        let mut attempt = 0;
        loop {
            let call = self
                .client
                .batch_write_item()
                .request_items(&self.table, requests)
                .send();
            let out = deadline
                .bound(call)
                .await
                .ok_or_else(|| ApiError::Busy("cut off at the deadline".into()))?
                .map_err(|e| store_error("batch put audit records", e))?;
            match out
                .unprocessed_items
                .and_then(|mut u| u.remove(&self.table))
            {
                Some(rest) if !rest.is_empty() => {
                    attempt += 1;
                    let pause = backoff(attempt);
                    if !deadline.allows_write_retry(pause) {
                        return Err(ApiError::Busy(format!(
                            "{} audit records unprocessed at the deadline",
                            rest.len()
                        )));
                    }
                    tokio::time::sleep(pause).await;
                    requests = rest;
                }
                _ => return Ok(()),
            }
        }
    }

    /// A page of `user_id`'s records, newest first, after the record `after` (a cursor from
    /// a previous page). One Query (of `limit` + 1, to know whether more follow).
    pub async fn audit_records(
        &self,
        user_id: &str,
        limit: usize,
        after: Option<&str>,
    ) -> ApiResult<AuditPage> {
        let limit = limit.clamp(1, AUDIT_PAGE_MAX);
        let pk = user_pk(user_id);
        touch(user_id);
        let mut e = Expr::new();
        let pk_name = e.name(attr::PK);
        let sk_name = e.name(attr::SK);
        let pk_value = e.string(&pk);
        let prefix = e.string(AUDIT_SK_PREFIX);
        e.key_condition(format!(
            "{pk_name} = {pk_value} AND begins_with({sk_name}, {prefix})"
        ));
        let start = after.map(|id| {
            HashMap::from([
                (attr::PK.to_string(), s(&pk)),
                (attr::SK.to_string(), s(format!("{AUDIT_SK_PREFIX}{id}"))),
            ])
        });
        let out = e
            .query(self.client.query())
            .table_name(&self.table)
            .scan_index_forward(false)
            .set_exclusive_start_key(start)
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| store_error("query audit records", e))?;
        let mut entries = Vec::new();
        for mut item in out.items.unwrap_or_default() {
            let sk = item
                .remove(attr::SK)
                .and_then(|v| v.as_s().ok().cloned())
                .unwrap_or_default();
            item.remove(attr::PK);
            let id = sk.strip_prefix(AUDIT_SK_PREFIX).unwrap_or(&sk).to_string();
            entries.push(AuditEntry {
                id,
                record: from_item(item)?,
            });
        }
        let next = (entries.len() > limit).then(|| {
            entries.truncate(limit);
            entries.last().map(|e| e.id.clone()).unwrap_or_default()
        });
        Ok(AuditPage { entries, next })
    }
}

/// The line a record that could not be stored leaves instead (with the trail's fields).
fn audit_failed(event: &Event, error: &ApiError) {
    tracing::error!(
        audit = event.name(),
        outcome = event.outcome(),
        error = %error,
        "audit record not stored"
    );
}

/// Logs an event whose record a committed transaction held ([`UserTable::audit_put`]).
pub fn logged(event: &Event) {
    log_event(event);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_ids_sort_by_time_and_are_valid_cursors() {
        let a = new_record_id(1_765_000_000_000).unwrap();
        let b = new_record_id(1_765_000_000_001).unwrap();
        assert!(a < b, "{a} {b}");
        assert!(valid_cursor(&a) && valid_cursor(&b));
        for bad in [
            "",
            "1#2",
            "001765000000000#ABCDEF12",
            "001765000000000#abcdef1",
        ] {
            assert!(!valid_cursor(bad), "{bad}");
        }
    }

    #[test]
    fn record_field_names_are_the_attribute_names() {
        let record = AuditRecord {
            event: "login".into(),
            outcome: "success".into(),
            detail: Some("d".into()),
            at_ms: 1,
            request_id: "r".into(),
            client_reqid: Some("c".into()),
            source_ip: Some("192.0.2.1".into()),
            caller: "anonymous".into(),
            caller_id: Some("u".into()),
            token_issued_at_ms: Some(2),
            route: "GET /".into(),
            expires_at: 3,
        };
        let item = to_item(&record).unwrap();
        let mut written: Vec<&str> = item.keys().map(String::as_str).collect();
        written.sort_unstable();
        let mut names = attr::AUDIT.to_vec();
        names.sort_unstable();
        assert_eq!(written, names);
        assert_eq!(from_item::<AuditRecord>(item).unwrap(), record);
    }

    #[test]
    fn the_template_lets_functions_put_exactly_the_audit_attributes() {
        // Functions with no other PutItem may put items of these attributes only: the list
        // in template.yaml is the record's key and attr::AUDIT.
        let template = include_str!("../../../template.yaml");
        let lists: Vec<Vec<&str>> = template
            .lines()
            .filter_map(|l| l.trim().strip_prefix("dynamodb:Attributes:"))
            .map(|l| l.trim().trim_start_matches('[').trim_end_matches(']'))
            .filter(|l| l.contains(attr::EVENT))
            .map(|l| l.split(',').map(str::trim).collect())
            .collect();
        assert!(lists.len() >= 6, "{lists:?}");
        let mut expected = vec![attr::PK, attr::SK];
        expected.extend(attr::AUDIT);
        for list in lists {
            assert_eq!(list, expected);
        }
    }

    #[tokio::test]
    async fn the_trail_names_the_caller_and_its_targets() {
        assert_eq!(log_fields(), None);
        let context = Context {
            request_id: "gw".into(),
            client_reqid: Some("mine".into()),
            source_ip: "192.0.2.7".parse().ok(),
            route: "GET /x".into(),
        };
        within(context, async {
            let fields = log_fields().unwrap();
            assert_eq!(fields["caller"], "unverified");
            assert!(!fields.contains_key("target"));
            set_actor(Anonymous.actor());
            touch("u1");
            touch("u1");
            let fields = log_fields().unwrap();
            assert_eq!(
                Value::Object(fields),
                serde_json::json!({"request_id": "gw", "client_reqid": "mine",
                    "source_ip": "192.0.2.7", "route": "GET /x", "caller": "anonymous",
                    "target": "u1"})
            );
            touch("u2");
            assert_eq!(log_fields().unwrap()["targets"], 2);
        })
        .await;
    }
}
