//! How each dialect shows the one user (SPEC "One user, three dialects", the mapping table).
//! Views are built from [`User`], which holds no secret: no view can leak one.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::profile::{Builtin, UserFields};
use crate::user::User;

/// Deepin ID's public user: `GET /v1/users/{identify}` and each entry of `GET /v1/users`.
/// It never shows an email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeepinUser {
    pub uid: i64,
    pub username: String,
    pub nickname: String,
    pub avatar: String,
    pub profile_image: String,
    pub website: String,
    pub signature: String,
}

/// Deepin ID's `GET /v1/user`: the caller, with its email and the token's scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeepinMe {
    #[serde(flatten)]
    pub user: DeepinUser,
    pub email: String,
    pub scope: &'static str,
}

/// The scope every Deepin `/v1/user` answer names: client tokens may read the user.
pub const DEEPIN_SCOPE: &str = "base,user:read";

impl From<&User> for DeepinUser {
    fn from(user: &User) -> Self {
        let extend = |key: &str| user.extends.get(key).cloned().unwrap_or_default();
        DeepinUser {
            uid: user.im_userid,
            // The login name, or "": the string id is the Qiniu dialect's key, never shown here
            // (often a phone number or an email the user never chose to publish).
            username: user.account.username.clone().unwrap_or_default(),
            nickname: user.nick.clone(),
            avatar: user.avatar.clone(),
            profile_image: user.avatar.clone(),
            website: extend("website"),
            signature: extend("signature"),
        }
    }
}

impl From<&User> for DeepinMe {
    fn from(user: &User) -> Self {
        DeepinMe {
            user: DeepinUser::from(user),
            email: user.account.email.clone().unwrap_or_default(),
            scope: DEEPIN_SCOPE,
        }
    }
}

/// The key of [`MinAppUser::own`]'s anonymous flag, as MinApp's SDKs read it.
pub const ANONYMOUS: &str = "_anonymous";
/// Whether an admin has the user disabled now (server and operator views only).
pub const DISABLED: &str = "_disabled";
/// Until when (unix seconds; `null`: until enabled or not disabled).
pub const DISABLED_UNTIL: &str = "_disabled_until";

/// MinApp's user object (`user_profile` list, get, update): the mapped built-ins of SPEC's
/// table and every declared custom field at the top level (`null` when unset). The query
/// language ([`crate::query`]) is evaluated on exactly this object.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct MinAppUser(pub Value);

impl MinAppUser {
    pub fn new(user: &User, fields: &UserFields) -> MinAppUser {
        let text = |v: &Option<String>| v.clone().map_or(Value::Null, Value::String);
        let mut object = Map::new();
        for b in Builtin::ALL {
            let value = match b {
                Builtin::Id | Builtin::UserId | Builtin::CreatedBy => Value::from(user.im_userid),
                Builtin::StringId => Value::from(user.user_id.clone()),
                Builtin::CreatedAt => Value::from(user.created_at),
                Builtin::UpdatedAt => Value::from(user.updated_at),
                Builtin::Nickname => Value::from(user.nick.clone()),
                Builtin::Avatar => Value::from(user.avatar.clone()),
                Builtin::Gender => user.profile.gender.map_or(Value::Null, Value::from),
                Builtin::Country => text(&user.profile.country),
                Builtin::Province => text(&user.profile.province),
                Builtin::City => text(&user.profile.city),
                Builtin::Language => text(&user.profile.language),
                Builtin::Username => text(&user.account.username),
                Builtin::Email => text(&user.account.email),
                Builtin::Phone => text(&user.account.phone),
                Builtin::EmailVerified => Value::from(user.account.email_verified),
                Builtin::PhoneVerified => Value::from(user.account.phone_verified),
                Builtin::Openid | Builtin::Unionid => Value::Null,
            };
            object.insert(b.name().to_string(), value);
        }
        for (name, _) in fields.custom() {
            let value = user.custom.get(name).cloned().unwrap_or(Value::Null);
            object.insert(name.to_string(), value);
        }
        MinAppUser(Value::Object(object))
    }

    /// The caller's own user object (`hserve` user info of itself, the sign-in answer): the
    /// whole object plus `_disabled` and `_disabled_until` (unix seconds, `null`: until
    /// enabled), for the app's server and operators: a user's own page
    /// (`GET /userve/v2.2/miniapp/user_profile/{id}/`).
    pub fn with_disabled(user: &User, fields: &UserFields) -> MinAppUser {
        let mut object = MinAppUser::new(user, fields);
        let now_ms = crate::clock::now_ms();
        let until = user.disabled_until.filter(|until| *until > now_ms);
        if let Value::Object(o) = &mut object.0 {
            o.insert(DISABLED.to_string(), Value::from(until.is_some()));
            let seconds = until
                .filter(|u| *u != i64::MAX)
                .map_or(Value::Null, |u| Value::from(u / 1000));
            o.insert(DISABLED_UNTIL.to_string(), seconds);
        }
        object
    }

    /// The user's own object (`hserve` current user, login, sign-up and own update): the
    /// whole object plus `_anonymous`, which MinApp's SDKs read to refuse an anonymous user's
    /// account calls (`true` only for a user of the anonymous login not registered since).
    /// Never shown to others, nor in the server API's views.
    pub fn own(user: &User, fields: &UserFields) -> MinAppUser {
        let mut own = MinAppUser::new(user, fields);
        if let Value::Object(object) = &mut own.0 {
            object.insert(ANONYMOUS.to_string(), Value::from(user.anonymous));
        }
        own
    }

    /// The built-ins [`MinAppUser::for_others`] shows.
    pub const SHOWN_TO_OTHERS: [Builtin; 3] = [Builtin::Id, Builtin::Nickname, Builtin::Avatar];

    /// Whether [`MinAppUser::for_others`] shows the field `name` (a built-in or a declared
    /// custom field): what a client may filter or sort other users by.
    pub fn shown_to_others(name: &str, fields: &UserFields) -> bool {
        match Builtin::from_name(name) {
            Some(b) => MinAppUser::SHOWN_TO_OTHERS.contains(&b),
            None => fields.readable_by_others(name),
        }
    }

    /// Another user as a client sees it (`GET /hserve/v2.5/user/info/{id}/` of someone else):
    /// `id`, `nickname`, `avatar` and the custom fields other users may read; never an account
    /// value, the string id or a private field.
    pub fn for_others(user: &User, fields: &UserFields) -> MinAppUser {
        let mut object = Map::new();
        object.insert(Builtin::Id.name().to_string(), Value::from(user.im_userid));
        object.insert(
            Builtin::Nickname.name().to_string(),
            Value::from(user.nick.clone()),
        );
        object.insert(
            Builtin::Avatar.name().to_string(),
            Value::from(user.avatar.clone()),
        );
        for (name, _) in fields
            .custom()
            .filter(|(n, _)| fields.readable_by_others(n))
        {
            let value = user.custom.get(name).cloned().unwrap_or(Value::Null);
            object.insert(name.to_string(), value);
        }
        MinAppUser(Value::Object(object))
    }

    pub fn id(&self) -> i64 {
        self.0.get("id").and_then(Value::as_i64).unwrap_or_default()
    }

    pub fn as_value(&self) -> &Value {
        &self.0
    }
}

/// MinApp's `GET /hserve/v2.2/server/time/`: the server's clock as ISO 8601 with microseconds
/// and an explicit offset (MinApp answers `2019-11-25T15:05:19.387067+08:00`; ours is UTC, which
/// `new Date(time)` and every ISO 8601 parser read the same way).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerTime {
    pub time: String,
}

impl ServerTime {
    pub fn now() -> ServerTime {
        ServerTime::at(time::OffsetDateTime::now_utc())
    }

    pub fn at(at: time::OffsetDateTime) -> ServerTime {
        let at = at.to_offset(time::UtcOffset::UTC);
        ServerTime {
            time: format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}+00:00",
                at.year(),
                u8::from(at.month()),
                at.day(),
                at.hour(),
                at.minute(),
                at.second(),
                at.microsecond()
            ),
        }
    }
}

#[cfg(test)]
mod server_time_tests {
    use super::ServerTime;

    #[test]
    fn the_server_time_is_iso_8601_with_microseconds_and_an_offset() {
        let at =
            time::OffsetDateTime::from_unix_timestamp_nanos(1_574_665_519_387_067_000).unwrap();
        assert_eq!(ServerTime::at(at).time, "2019-11-25T07:05:19.387067+00:00");
    }
}

#[cfg(test)]
mod for_others_tests {
    use super::MinAppUser;
    use crate::profile::{Builtin, UserFields};
    use crate::user::User;

    /// What a client may query others by is exactly what it is shown of them.
    #[test]
    fn the_fields_shown_to_others_are_the_keys_of_their_view() {
        let fields = UserFields::parse("level:integer,diary:string:private").unwrap();
        let shown = MinAppUser::for_others(&User::default(), &fields);
        let names = Builtin::ALL
            .iter()
            .map(|b| b.name())
            .chain(["level", "diary"]);
        for name in names {
            assert_eq!(
                MinAppUser::shown_to_others(name, &fields),
                shown.as_value().get(name).is_some(),
                "{name}"
            );
        }
    }
}
