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

    pub fn id(&self) -> i64 {
        self.0.get("id").and_then(Value::as_i64).unwrap_or_default()
    }

    pub fn as_value(&self) -> &Value {
        &self.0
    }
}
