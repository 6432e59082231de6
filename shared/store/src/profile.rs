//! MinApp profile updates: each field its own update expression in one UpdateItem that returns
//! the new item, and the stored attribute path of every MinApp field (for filters and
//! updates alike).
//!
//! | operation | expression | needs a read first |
//! |---|---|---|
//! | a built-in, `null`, `$unset` | `SET #a = :v` / `REMOVE #a` | no |
//! | `$incr_by` | `SET P = if_not_exists(P, 0) + :n`, the sum kept in range by a condition | no |
//! | `$append` | `SET P = list_append(if_not_exists(P, []), :vs)`, room checked by `size(P)` | yes: the byte bound |
//! | a custom value | `SET P = :v` | yes: the user's custom fields must stay within their byte bound |
//! | `$append_unique`, `$remove`, `$pop`, `$update` | `SET P = :new`, pinned to the value read (`P = :old`) | yes |
//!
//! So concurrent `$incr_by`s all count and concurrent updates of different fields all
//! survive (no update touches another's field), while the read-decided operators retry on a
//! fresh read when a concurrent write moved their field first: a value `$append_unique`d by
//! several writers at once ends up in the array once.
//!
//! The custom fields' byte bound ([`domain::profile::CUSTOM_FIELDS_MAX_BYTES`]) is checked
//! against the consistent read; writes that grow different fields at the same moment are not
//! pinned to each other (so that none waits for another), and together may pass it by at most
//! their own operands (each request's at most that bound too). DynamoDB's 400 KB item limit
//! stays far away.

use serde_json::{Map, Value};

use super::*;
use crate::query::{Filter, Pushdown};
use crate::user::User;
use crate::views::MinAppUser;
use domain::profile::{
    ARRAY_MAX_ITEMS, Builtin, FieldKind, FieldOp, FieldType, FieldUpdate, INTEGER_MAX,
    ProfileUpdate, UserFields, number_increment_bounds,
};

use super::directory::{missing_directory, require_directory, set_directory_if_missing};
use super::expr::{Expr, exists, if_not_exists, not_exists};
use super::update::{Failed, token_still_valid, user_write};
use auth::token::Session;

/// Tries of an update whose read-decided fields concurrent writes moved first: each round
/// one of the contenders wins, so this many contenders on one field all get through (the
/// request's deadline bounds the whole).
const PROFILE_ATTEMPTS: u32 = 64;

/// The stored attribute path of a MinApp field (`.` between map keys), or `None` when the
/// field is not stored as itself (derived: the `_verified` flags, absent when false; the
/// WeChat ids, always null).
pub fn stored_path(field: &str, fields: &UserFields) -> Option<String> {
    let path = match Builtin::from_name(field) {
        Some(b) => match b {
            Builtin::Id | Builtin::UserId | Builtin::CreatedBy => attr::IM_USERID,
            Builtin::StringId => attr::USER_ID,
            Builtin::CreatedAt => attr::CREATED_AT,
            Builtin::UpdatedAt => attr::UPDATED_AT,
            Builtin::Nickname => attr::NICK,
            Builtin::Avatar => attr::AVATAR,
            Builtin::Gender => attr::GENDER,
            Builtin::Country => attr::COUNTRY,
            Builtin::Province => attr::PROVINCE,
            Builtin::City => attr::CITY,
            Builtin::Language => attr::LANGUAGE,
            Builtin::Username => attr::USERNAME,
            Builtin::Email => attr::EMAIL,
            Builtin::Phone => attr::PHONE,
            Builtin::EmailVerified
            | Builtin::PhoneVerified
            | Builtin::Openid
            | Builtin::Unionid => return None,
        }
        .to_string(),
        None => {
            fields.custom_type(field)?;
            format!("{}.{field}", attr::CUSTOM)
        }
    };
    Some(path)
}

/// What must still hold when a batch update writes a user: the query it was selected by.
pub struct StillMatches<'a> {
    pub filter: &'a Filter,
    /// DynamoDB's part of the filter.
    pub pushdown: &'a Pushdown,
    pub fields: &'a UserFields,
}

/// Why a profile update was not applied.
#[derive(Debug)]
pub enum ProfileFailure {
    /// The user no longer matches the batch's query: nothing changed.
    NoLongerMatches,
    Error(ApiError),
}

impl From<ApiError> for ProfileFailure {
    fn from(e: ApiError) -> Self {
        ProfileFailure::Error(e)
    }
}

/// For an update without `still`, which cannot fail to match.
impl From<ProfileFailure> for ApiError {
    fn from(f: ProfileFailure) -> Self {
        match f {
            ProfileFailure::Error(e) => e,
            ProfileFailure::NoLongerMatches => {
                ApiError::Internal("an unconditional update failed to match".into())
            }
        }
    }
}

/// Pins a path to a value read, or to its absence.
fn pin(e: &mut Expr, path: &str, old: Option<&Value>) -> ApiResult<()> {
    let condition = match old.filter(|v| !v.is_null()) {
        Some(old) => format!("{path} = {}", e.json(old)?),
        None => not_exists(path),
    };
    e.condition(condition);
    Ok(())
}

/// Whether an operation is decided from the stored value, or can grow the custom fields.
fn needs_read(u: &FieldUpdate) -> bool {
    match &u.op {
        FieldOp::Set(_) | FieldOp::Append(_) => u.kind == FieldKind::Custom,
        FieldOp::Unset | FieldOp::IncrBy(_) => false,
        FieldOp::AppendUnique(_) | FieldOp::Remove(_) | FieldOp::Pop(_) | FieldOp::Update(_) => {
            true
        }
    }
}

impl UserTable {
    /// Applies a MinApp profile update to `user_id` and returns the user as written. Round
    /// trips: one UpdateItem (`ReturnValues: ALL_NEW`); one consistent GetItem before it when
    /// an operation is decided from the stored value or can grow the custom fields (see the
    /// module's table); again both for each retry after a concurrent write moved a field read.
    /// Every write also gives a user written before the directory index its directory
    /// attributes: from the read when there is one, else learnt from the item a failed
    /// condition hands back (one more UpdateItem, once in such a user's life).
    /// `still` (batch updates) makes the write conditional on the user still matching; `seen`
    /// is the user as the batch's listing found it (it may be stale: a failed pin retries).
    pub async fn update_profile(
        &self,
        user_id: &str,
        update: &ProfileUpdate,
        fields: &UserFields,
        still: Option<&StillMatches<'_>>,
        seen: Option<User>,
        now: i64,
    ) -> Result<User, ProfileFailure> {
        self.write_profile(user_id, update, fields, still, seen, None, now)
            .await
    }

    /// [`UserTable::update_profile`] of the caller itself by its own client (MinApp's
    /// `PUT /hserve/v2.5/user/info/`), at the same round trips: the read projects
    /// the revocation marks and every UpdateItem is conditioned on the session's token still
    /// being valid, so a revoked token is a 401 and nothing changes.
    pub async fn update_own_profile(
        &self,
        session: &Session,
        update: &ProfileUpdate,
        fields: &UserFields,
        now: i64,
    ) -> ApiResult<User> {
        self.write_profile(
            session.user_id(),
            update,
            fields,
            None,
            None,
            Some(session),
            now,
        )
        .await
        .map_err(ApiError::from)
    }

    #[allow(clippy::too_many_arguments)]
    async fn write_profile(
        &self,
        user_id: &str,
        update: &ProfileUpdate,
        fields: &UserFields,
        still: Option<&StillMatches<'_>>,
        seen: Option<User>,
        session: Option<&Session>,
        now: i64,
    ) -> Result<User, ProfileFailure> {
        let not_found = || ProfileFailure::Error(ApiError::UserNotFound(user_id.to_string()));
        let deadline = Deadline::current();
        // The user as last seen (a batch's listing, a read, a failed condition), if needed.
        let mut known = seen;
        if known.is_none() && update.updates.iter().any(needs_read) {
            let read = match session {
                Some(session) => self.get_as::<User>(session, user_id).await?,
                None => self.get::<User>(user_id).await?,
            };
            known = Some(read.ok_or_else(not_found)?);
        }
        let touches_custom = update.updates.iter().any(|u| u.kind == FieldKind::Custom);
        let mut custom_map_made = false;
        let mut attempt = 0;
        loop {
            let mut e = profile_expression(update, fields, known.as_ref(), still, now)?;
            token_still_valid(&mut e, session.map(Session::issued_at_ms));
            match self.send_profile_update(user_id, &e).await {
                Ok(user) => return Ok(user),
                Err(Failed::Store(err)) => return Err(err.into()),
                Err(Failed::Condition(None)) => return Err(not_found()),
                Err(Failed::Condition(Some(item)))
                    if let Some(Err(refused)) =
                        session.map(|s| s.check(item_revocation(&item))) =>
                {
                    return Err(refused.into());
                }
                Err(Failed::Condition(Some(item)))
                    if touches_custom && !item.contains_key(attr::CUSTOM) =>
                {
                    // A user written before custom fields existed (the write is conditioned
                    // on the map): give it the map, once, and write again.
                    if custom_map_made {
                        return Err(ApiError::Internal(
                            "the custom fields map is still missing after creating it".into(),
                        )
                        .into());
                    }
                    self.create_custom_map(user_id).await?;
                    custom_map_made = true;
                    continue;
                }
                Err(Failed::Condition(Some(item)))
                    if known.is_none()
                        && missing_directory(&from_item::<StoredUser>(item.clone())?).is_some() =>
                {
                    // A user written before the directory index: decided again from the item
                    // handed back, the write now gives it its directory attributes.
                    known = Some(read_view(item)?);
                    continue;
                }
                Err(Failed::Condition(Some(item))) => {
                    let now_stored: User = read_view(item)?;
                    let object = MinAppUser::new(&now_stored, fields);
                    if let Some(still) = still
                        && !still.filter.matches(object.as_value())
                    {
                        return Err(ProfileFailure::NoLongerMatches);
                    }
                    // The update on the user as it now is: a bound it passes is a 400.
                    let mut next = match object.0 {
                        Value::Object(map) => map,
                        _ => Map::new(),
                    };
                    update.apply(&mut next, fields)?;
                    if known.as_ref() == Some(&now_stored) {
                        return Err(ApiError::Internal(
                            "a profile update's condition failed on the state it was decided from"
                                .into(),
                        )
                        .into());
                    }
                    known = Some(now_stored);
                }
            }
            deadline
                .pause_before_retry(
                    &mut attempt,
                    PROFILE_ATTEMPTS,
                    "concurrent updates of the same fields",
                )
                .await?;
        }
    }

    async fn send_profile_update(&self, user_id: &str, e: &Expr) -> Result<User, Failed> {
        let item = self
            .send_update_item(user_id, e, ReturnValue::AllNew)
            .await?
            .ok_or_else(|| Failed::Store(ApiError::Internal("update returned no item".into())))?;
        read_view(item).map_err(Failed::Store)
    }

    /// `SET custom = {}` on an existing user without the map.
    async fn create_custom_map(&self, user_id: &str) -> ApiResult<()> {
        let mut e = Expr::new();
        let pk = e.name(attr::PK);
        let custom = e.name(attr::CUSTOM);
        e.condition(format!("{} AND {}", exists(&pk), not_exists(&custom)));
        let empty = e.value(AttributeValue::M(HashMap::new()));
        e.set(&custom, &empty);
        match self.send_update_item(user_id, &e, ReturnValue::None).await {
            Ok(_) | Err(Failed::Condition(_)) => Ok(()),
            Err(Failed::Store(err)) => Err(err),
        }
    }
}

/// The revocation marks of an item a failed condition handed back.
fn item_revocation(item: &HashMap<String, AttributeValue>) -> auth::token::Revocation {
    let mark = |name: &str| match item.get(name) {
        Some(AttributeValue::N(n)) => n.parse().ok(),
        _ => None,
    };
    auth::token::Revocation {
        valid_after: mark(attr::TOKENS_VALID_AFTER),
        kept: mark(attr::TOKENS_KEPT),
        disabled_until: mark(attr::DISABLED_UNTIL),
    }
}

/// The one UpdateItem of `update`, decided from `known` (the user as read) where an operation
/// needs it.
fn profile_expression(
    update: &ProfileUpdate,
    fields: &UserFields,
    known: Option<&User>,
    still: Option<&StillMatches<'_>>,
    now: i64,
) -> Result<Expr, ProfileFailure> {
    let mut e = user_write(now);
    if update.updates.iter().any(|u| u.kind == FieldKind::Custom) {
        // `SET custom.f` fails on an item without the map (a ValidationException that only its
        // message tells apart): conditioned on the map, a user without one comes back as a
        // failed condition with the item, and the map is made (UserTable::update_profile).
        let custom = e.name(attr::CUSTOM);
        e.condition(exists(&custom));
    }
    // What the update makes of the object read: the reference, and its bounds checked.
    let (before, after) = match known {
        Some(user) => {
            let before = match MinAppUser::new(user, fields).0 {
                Value::Object(map) => map,
                _ => Map::new(),
            };
            let mut after = before.clone();
            update.apply(&mut after, fields)?;
            (before, after)
        }
        None => (Map::new(), Map::new()),
    };
    for u in &update.updates {
        let stored = stored_path(&u.field, fields)
            .ok_or_else(|| ApiError::Internal(format!("{} has no stored path", u.field)))?;
        let p = e.dotted(&stored);
        match &u.op {
            FieldOp::Set(v) => {
                let v = e.json(v)?;
                e.set(&p, &v);
            }
            FieldOp::Unset => match u.kind {
                FieldKind::Builtin(b) if b.always_present() => {
                    let empty = e.string("");
                    e.set(&p, &empty);
                }
                _ => e.remove(&p),
            },
            FieldOp::IncrBy(n) => {
                let zero = e.number(0);
                let by = e.number(n);
                e.set(&p, &format!("{} + {by}", if_not_exists(&p, &zero)));
                if u.ty == FieldType::Integer {
                    // The sum stays within ±INTEGER_MAX.
                    let by = n.as_i64().unwrap_or(0);
                    let lo = e.number((-INTEGER_MAX).saturating_sub(by));
                    let hi = e.number(INTEGER_MAX.saturating_sub(by));
                    e.condition_any(&[not_exists(&p), format!("{p} BETWEEN {lo} AND {hi}")]);
                } else {
                    // The sum stays within the storable magnitude (DynamoDB's own limit is
                    // only 10x beyond it, where the write would fail); a failed condition is
                    // decided again from the value read: a 400 naming the field.
                    let (lo, hi) = number_increment_bounds(n);
                    let lo = e.number(lo);
                    let hi = e.number(hi);
                    e.condition_any(&[not_exists(&p), format!("{p} > {lo} AND {p} < {hi}")]);
                }
            }
            FieldOp::Append(values) => {
                let empty = e.value(AttributeValue::L(Vec::new()));
                let vs = e.json(&Value::Array(values.clone()))?;
                e.set(
                    &p,
                    &format!("list_append({}, {vs})", if_not_exists(&p, &empty)),
                );
                let room = ARRAY_MAX_ITEMS.saturating_sub(values.len());
                let room = e.number(room);
                e.condition_any(&[not_exists(&p), format!("size({p}) <= {room}")]);
            }
            FieldOp::AppendUnique(_)
            | FieldOp::Remove(_)
            | FieldOp::Pop(_)
            | FieldOp::Update(_) => {
                let old = before.get(&u.field);
                match after.get(&u.field).filter(|v| !v.is_null()) {
                    Some(new) => {
                        let new = e.json(new)?;
                        e.set(&p, &new);
                    }
                    None => e.remove(&p),
                }
                pin(&mut e, &p, old)?;
            }
        }
    }
    if let Some(still) = still {
        add_still_matches(&mut e, still, known)?;
    }
    // The directory attributes, where a user written before the index lacks them.
    match known {
        Some(user) => set_directory_if_missing(&mut e, user.im_userid, user.created_at),
        None => require_directory(&mut e),
    }
    Ok(e)
}

/// The batch's query as part of the write's condition. Exactly pushed: its expression.
/// Otherwise (a `$regex`, `$icontains`, a derived field): every field the query reads pinned
/// to the value it had when the user was found to match, so the user still matches.
fn add_still_matches(
    e: &mut Expr,
    still: &StillMatches<'_>,
    known: Option<&User>,
) -> ApiResult<()> {
    if !still.pushdown.residual {
        if let Some(condition) = &still.pushdown.condition {
            e.condition_of(condition)?;
        }
        return Ok(());
    }
    let Some(user) = known else {
        return Err(ApiError::Internal(
            "a residual batch condition needs the user as read".into(),
        ));
    };
    let object = MinAppUser::new(user, still.fields);
    for field in still.filter.fields() {
        let value = object.as_value().get(&field).filter(|v| !v.is_null());
        let path = match Builtin::from_name(&field) {
            Some(Builtin::EmailVerified) => Some(attr::EMAIL_VERIFIED.to_string()),
            Some(Builtin::PhoneVerified) => Some(attr::PHONE_VERIFIED.to_string()),
            Some(Builtin::Openid | Builtin::Unionid) => None,
            _ => stored_path(&field, still.fields),
        };
        let Some(path) = path else { continue };
        let p = e.dotted(&path);
        match value {
            // The flags are absent when false.
            Some(Value::Bool(false)) => {
                let f = e.value(AttributeValue::Bool(false));
                e.condition_any(&[not_exists(&p), format!("{p} = {f}")]);
            }
            other => pin(e, &p, other)?,
        }
    }
    Ok(())
}
