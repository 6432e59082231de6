//! The stored user item and the names of its attributes: the one definition that items,
//! projections, update expressions and the `im_userid` index share. Items are mapped to and
//! from [`StoredUser`] by `serde_dynamo`; nothing converts attribute values by hand.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::Item;
use crate::account::Account;
use crate::error::{ApiError, ApiResult};
use crate::user::{
    Custom, Extends, ImIdentity, NewUser, Profile, User, UserInfo, UserProfile, extends_bytes,
};

/// Attribute names. [`StoredUser`]'s serde field names are these (a test holds them together).
pub mod attr {
    pub const PK: &str = "pk";
    pub const SK: &str = "sk";
    pub const USER_ID: &str = "user_id";
    pub const NICK: &str = "nick";
    pub const AVATAR: &str = "avatar";
    pub const EXTENDS: &str = "extends";
    pub const EXTENDS_BYTES: &str = "extends_bytes";
    pub const IM_USERID: &str = "im_userid";
    pub const IM_USERNAME: &str = "im_username";
    pub const IM_PASSWORD: &str = "im_password";
    pub const USERNAME: &str = "username";
    pub const EMAIL: &str = "email";
    pub const EMAIL_VERIFIED: &str = "email_verified";
    pub const PHONE: &str = "phone";
    pub const PHONE_VERIFIED: &str = "phone_verified";
    pub const PASSWORD_HASH: &str = "password_hash";
    pub const CREATED_AT: &str = "created_at";
    pub const UPDATED_AT: &str = "updated_at";
    /// MinApp profile fields, stored under their MinApp names.
    pub const GENDER: &str = "gender";
    pub const COUNTRY: &str = "country";
    pub const PROVINCE: &str = "province";
    pub const CITY: &str = "city";
    pub const LANGUAGE: &str = "language";
    /// The typed custom fields of `USER_FIELDS`: one map, values in their JSON types.
    pub const CUSTOM: &str = "custom";
    /// The directory index's key: the user's shard and its place in creation order.
    pub const DIR: &str = "dir";
    pub const DIR_ORDER: &str = "dir_order";
    /// The IM id counter item's value.
    pub const VALUE: &str = "value";
    /// A range of ids the counter skipped for an import (`store::import`): its bounds.
    pub const GAP_FIRST: &str = "first";
    pub const GAP_LAST: &str = "last";

    /// Every attribute of a user item besides its key.
    pub const USER: [&str; 24] = [
        USER_ID,
        NICK,
        AVATAR,
        EXTENDS,
        EXTENDS_BYTES,
        IM_USERID,
        IM_USERNAME,
        IM_PASSWORD,
        USERNAME,
        EMAIL,
        EMAIL_VERIFIED,
        PHONE,
        PHONE_VERIFIED,
        PASSWORD_HASH,
        CREATED_AT,
        UPDATED_AT,
        GENDER,
        COUNTRY,
        PROVINCE,
        CITY,
        LANGUAGE,
        CUSTOM,
        DIR,
        DIR_ORDER,
    ];

    // --- Sessions and sign-in (MinApp hserve auth, issue 13; see shared::session) ---
    /// Unix milliseconds: client tokens issued before it are void (logout, password change).
    /// Absent: every token of the user is valid. (Items may still carry `login_failures`,
    /// `login_failures_since` and `locked_until` from the lockout this replaced: ignored.)
    pub const TOKENS_VALID_AFTER: &str = "tokens_valid_after";
    /// The `iat_ms` of the one session a client's password change kept working although
    /// issued before `tokens_valid_after` (`auth::token::Revocation`); logout and a
    /// server-side password change remove it.
    pub const TOKENS_KEPT: &str = "tokens_kept";
    /// Unix ms until which an admin disabled the user (`i64::MAX`: until enabled): its
    /// logins are refused and its client tokens too, by the same rule as revocation
    /// (`auth::token::Revocation`). Absent: not disabled.
    pub const DISABLED_UNTIL: &str = "disabled_until";
    /// The sign-in attributes of a user item, all optional: what a revocation check reads.
    pub const SESSION: [&str; 3] = [TOKENS_VALID_AFTER, TOKENS_KEPT, DISABLED_UNTIL];

    // --- Anonymous users (issue 19; see shared::session) ---
    /// `true` only on a user made by MinApp's anonymous login, removed when it registers;
    /// absent on every other user (never inferred from "no account value": users made by the
    /// server API hold none either).
    pub const ANONYMOUS: &str = "anonymous";
    /// Unix ms when a user made by the anonymous login registered: the tokens issued before
    /// it are its anonymous sessions', which may not sign a second user up (a double submit
    /// of the register that registered it is a 400, never a new user).
    pub const ANONYMOUS_UNTIL: &str = "anonymous_until";

    // --- Operators of the console (issue 21; see store::operators) ---
    /// An operator's name (its key holds it too).
    pub const OPERATOR_NAME: &str = "operator_name";
    /// An operator's role: `viewer`, `editor` or `admin`.
    pub const ROLE: &str = "role";
    /// Unix ms: the operator's console sessions that began before it are void (logout).
    pub const SESSIONS_VALID_AFTER: &str = "sessions_valid_after";

    // --- Per-caller limits (issue 18; see store::limits) ---
    /// Attempts counted in a limit counter's window.
    pub const ATTEMPTS: &str = "attempts";
    /// Unix seconds when DynamoDB's TTL may delete the item (the table's TTL attribute).
    pub const EXPIRES_AT: &str = "expires_at";

    // --- Audit records (store::audit) ---
    pub const EVENT: &str = "event";
    pub const OUTCOME: &str = "outcome";
    pub const DETAIL: &str = "detail";
    pub const AT_MS: &str = "at_ms";
    pub const REQUEST_ID: &str = "request_id";
    pub const CLIENT_REQID: &str = "client_reqid";
    pub const SOURCE_IP: &str = "source_ip";
    pub const CALLER: &str = "caller";
    pub const CALLER_ID: &str = "caller_id";
    pub const TOKEN_ISSUED_AT_MS: &str = "token_issued_at_ms";
    pub const ROUTE: &str = "route";
    /// Every attribute of an audit record besides its key.
    pub const AUDIT: [&str; 12] = [
        EVENT,
        OUTCOME,
        DETAIL,
        AT_MS,
        REQUEST_ID,
        CLIENT_REQID,
        SOURCE_IP,
        CALLER,
        CALLER_ID,
        TOKEN_ISSUED_AT_MS,
        ROUTE,
        EXPIRES_AT,
    ];
}

/// A user item as stored (key attributes aside). Every field has a default so that any
/// projection reads into it; the views say which fields they require. A new optional field
/// is one more `Option` here (skipped when `None`, never written as NULL) and one name in
/// [`attr`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoredUser {
    pub user_id: String,
    pub nick: String,
    pub avatar: String,
    /// Always written, even empty: `SET extends.#k` needs the map to exist.
    pub extends: Extends,
    /// The exact [`extends_bytes`] of `extends`, kept by every write of the map; `None` only
    /// on items written before it existed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extends_bytes: Option<u64>,
    /// The index's key: skipped rather than NULL when absent (DynamoDB refuses a NULL key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub im_userid: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub im_username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub im_password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub email_verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub phone_verified: bool,
    /// An argon2id PHC string, never a password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gender: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Always written, even empty: `SET custom.#f` needs the map to exist.
    pub custom: Custom,
    /// Directory index key ([`super::directory`]); skipped when absent, never NULL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir_order: Option<String>,

    // --- Sessions and sign-in (MinApp hserve auth, issue 13; names in attr::SESSION) ---
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens_valid_after: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens_kept: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_until: Option<i64>,

    // --- Anonymous users (attr::ANONYMOUS) ---
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub anonymous: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anonymous_until: Option<i64>,
}

impl StoredUser {
    /// The revocation marks a client token is checked against (read with [`attr::SESSION`]).
    pub fn revocation(&self) -> auth::token::Revocation {
        auth::token::Revocation {
            valid_after: self.tokens_valid_after,
            kept: self.tokens_kept,
            disabled_until: self.disabled_until,
        }
    }

    /// A new user with its IM identity, as a create writes it.
    pub fn new(user: &NewUser, im: &ImIdentity, now: i64) -> StoredUser {
        StoredUser {
            user_id: user.user_id.clone(),
            nick: user.nick.clone(),
            avatar: user.avatar.clone(),
            extends: user.extends.clone(),
            extends_bytes: Some(extends_bytes(&user.extends)),
            im_userid: Some(im.im_userid),
            im_username: Some(im.im_username.clone()),
            im_password: Some(im.im_password.clone()),
            created_at: now,
            updated_at: now,
            dir: Some(super::directory::shard_of(im.im_userid)),
            dir_order: Some(super::directory::order_key(now, im.im_userid)),
            ..StoredUser::default()
        }
    }

    /// Whether `self` is the very item `ours` describes: the IM id comes from the atomic
    /// counter and the password from the CSPRNG, so no other create can have written both.
    /// A retried create that finds this item is meeting its own earlier attempt.
    pub fn is_same_create(&self, ours: &StoredUser) -> bool {
        self.im_userid.is_some()
            && self.im_password.is_some()
            && self.im_userid == ours.im_userid
            && self.im_password == ours.im_password
    }

    fn required<T>(value: Option<T>, name: &str) -> ApiResult<T> {
        value.ok_or_else(|| ApiError::Internal(format!("stored user lacks {name}")))
    }
}

/// The item of a value: `serde_dynamo` does the mapping.
pub fn to_item<T: Serialize>(value: &T) -> ApiResult<Item> {
    serde_dynamo::to_item(value).map_err(|e| ApiError::Internal(format!("item encoding: {e}")))
}

/// A value from its item (any projection of it).
pub fn from_item<T: DeserializeOwned>(item: Item) -> ApiResult<T> {
    serde_dynamo::from_item(item).map_err(|e| ApiError::Internal(format!("stored item: {e}")))
}

/// Read shapes a caller can ask for; the projection keeps secrets out of public reads.
pub trait UserView: Sized {
    /// The stored attributes this view reads: its projection.
    const ATTRIBUTES: &'static [&'static str];
    fn from_stored(user: StoredUser) -> ApiResult<Self>;
    fn user_id(&self) -> &str;
}

/// The public view: what the `im_userid` index also holds (its key and
/// [`IM_INDEX_ATTRIBUTES`](super::IM_INDEX_ATTRIBUTES)).
pub(super) const INFO_ATTRIBUTES: [&str; 5] = [
    attr::USER_ID,
    attr::NICK,
    attr::AVATAR,
    attr::EXTENDS,
    attr::IM_USERID,
];

impl UserView for UserInfo {
    const ATTRIBUTES: &'static [&'static str] = &INFO_ATTRIBUTES;
    fn from_stored(user: StoredUser) -> ApiResult<Self> {
        Ok(UserInfo {
            im_userid: StoredUser::required(user.im_userid, attr::IM_USERID)?,
            user_id: non_empty_id(user.user_id)?,
            nick: user.nick,
            avatar: user.avatar,
            extends: user.extends,
        })
    }
    fn user_id(&self) -> &str {
        &self.user_id
    }
}

impl UserView for UserProfile {
    const ATTRIBUTES: &'static [&'static str] = &[
        attr::USER_ID,
        attr::NICK,
        attr::AVATAR,
        attr::EXTENDS,
        attr::IM_USERID,
        attr::IM_USERNAME,
        attr::IM_PASSWORD,
    ];
    fn from_stored(mut user: StoredUser) -> ApiResult<Self> {
        let im_username = StoredUser::required(user.im_username.take(), attr::IM_USERNAME)?;
        let im_password = StoredUser::required(user.im_password.take(), attr::IM_PASSWORD)?;
        Ok(UserProfile {
            info: UserInfo::from_stored(user)?,
            im_username,
            im_password,
        })
    }
    fn user_id(&self) -> &str {
        &self.info.user_id
    }
}

impl UserView for User {
    /// Every attribute of [`User`]; never the IM password or the password hash. `pk` too:
    /// guard items read with it give their `pk` and `user_id`.
    const ATTRIBUTES: &'static [&'static str] = &[
        attr::PK,
        attr::USER_ID,
        attr::NICK,
        attr::AVATAR,
        attr::EXTENDS,
        attr::IM_USERID,
        attr::USERNAME,
        attr::EMAIL,
        attr::EMAIL_VERIFIED,
        attr::PHONE,
        attr::PHONE_VERIFIED,
        attr::CREATED_AT,
        attr::UPDATED_AT,
        attr::GENDER,
        attr::COUNTRY,
        attr::PROVINCE,
        attr::CITY,
        attr::LANGUAGE,
        attr::CUSTOM,
        attr::ANONYMOUS,
        attr::DISABLED_UNTIL,
    ];
    fn from_stored(user: StoredUser) -> ApiResult<Self> {
        Ok(User {
            anonymous: user.anonymous,
            disabled_until: user.disabled_until,
            im_userid: StoredUser::required(user.im_userid, attr::IM_USERID)?,
            user_id: non_empty_id(user.user_id)?,
            nick: user.nick,
            avatar: user.avatar,
            extends: user.extends,
            account: Account {
                username: user.username,
                email: user.email,
                email_verified: user.email_verified,
                phone: user.phone,
                phone_verified: user.phone_verified,
            },
            created_at: user.created_at,
            updated_at: user.updated_at,
            profile: Profile {
                gender: user.gender,
                country: user.country,
                province: user.province,
                city: user.city,
                language: user.language,
            },
            custom: user.custom,
        })
    }
    fn user_id(&self) -> &str {
        &self.user_id
    }
}

fn non_empty_id(user_id: String) -> ApiResult<String> {
    if user_id.is_empty() {
        return Err(ApiError::Internal("stored user lacks user_id".into()));
    }
    Ok(user_id)
}

/// Reads a view from an item of any projection that covers it.
pub fn read_view<V: UserView>(item: Item) -> ApiResult<V> {
    V::from_stored(from_item(item)?)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use aws_sdk_dynamodb::types::AttributeValue;

    use super::*;

    fn full_user() -> StoredUser {
        StoredUser {
            user_id: "u1".into(),
            nick: "n".into(),
            avatar: "a".into(),
            extends: Extends::from([("k".into(), "v".into())]),
            extends_bytes: Some(8),
            im_userid: Some(7),
            im_username: Some("qlu1".into()),
            im_password: Some("p".repeat(24)),
            username: Some("name".into()),
            email: Some("a@b.c".into()),
            email_verified: true,
            phone: Some("+861".into()),
            phone_verified: true,
            password_hash: Some("$argon2id$...".into()),
            created_at: 1,
            updated_at: 2,
            gender: Some(1),
            country: Some("China".into()),
            province: Some("Guangdong".into()),
            city: Some("Guangzhou".into()),
            language: Some("zh_CN".into()),
            custom: Custom::from_iter([("level".to_string(), serde_json::json!(3))]),
            dir: Some("DIR#3".into()),
            dir_order: Some("0000000001#0000000000000000007".into()),
            // Sessions and sign-in.
            tokens_valid_after: Some(3000),
            tokens_kept: Some(2000),
            disabled_until: Some(5000),
            anonymous: true,
            anonymous_until: Some(4000),
        }
    }

    #[test]
    fn stored_field_names_are_exactly_the_attribute_names() {
        let item = to_item(&full_user()).unwrap();
        let written: BTreeSet<&str> = item.keys().map(String::as_str).collect();
        let names = attr::USER
            .into_iter()
            .chain(attr::SESSION)
            .chain([attr::ANONYMOUS, attr::ANONYMOUS_UNTIL]);
        assert_eq!(written, names.collect::<BTreeSet<_>>());
        assert_eq!(from_item::<StoredUser>(item).unwrap(), full_user());
    }

    #[test]
    fn items_from_the_lockout_era_still_read() {
        let mut item = to_item(&full_user()).unwrap();
        for old in ["login_failures", "login_failures_since", "locked_until"] {
            item.insert(old.into(), AttributeValue::N("5".into()));
        }
        assert_eq!(from_item::<StoredUser>(item).unwrap(), full_user());
    }

    #[test]
    fn absent_options_are_skipped_never_null() {
        let item = to_item(&StoredUser {
            user_id: "u".into(),
            ..StoredUser::default()
        })
        .unwrap();
        assert!(
            !item.contains_key(attr::IM_USERID),
            "a NULL index key is refused"
        );
        assert!(item.values().all(|v| !matches!(v, AttributeValue::Null(_))));
        assert!(matches!(item.get(attr::EXTENDS), Some(AttributeValue::M(m)) if m.is_empty()));
    }

    #[test]
    fn views_read_their_projection_and_require_what_they_show() {
        let item = to_item(&full_user()).unwrap();
        let projected = |names: &[&str]| -> Item {
            item.iter()
                .filter(|(k, _)| names.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        let profile: UserProfile = read_view(projected(UserProfile::ATTRIBUTES)).unwrap();
        assert_eq!(profile.im_password, "p".repeat(24));
        let info: UserInfo = read_view(projected(UserInfo::ATTRIBUTES)).unwrap();
        assert_eq!((info.im_userid, info.extends.len()), (7, 1));
        let user: User = read_view(projected(User::ATTRIBUTES)).unwrap();
        assert_eq!(user.account.email.as_deref(), Some("a@b.c"));
        // A profile cannot be read from the public projection: it lacks the IM password.
        assert!(read_view::<UserProfile>(projected(UserInfo::ATTRIBUTES)).is_err());
        for view in [UserInfo::ATTRIBUTES, User::ATTRIBUTES] {
            assert!(!view.contains(&attr::IM_PASSWORD) && !view.contains(&attr::PASSWORD_HASH));
        }
    }

    #[test]
    fn a_create_recognises_only_its_own_item() {
        let ours = full_user();
        assert!(ours.clone().is_same_create(&ours));
        let other = StoredUser {
            im_password: Some("q".repeat(24)),
            ..full_user()
        };
        assert!(!other.is_same_create(&ours));
        assert!(!StoredUser::default().is_same_create(&StoredUser::default()));
    }
}
