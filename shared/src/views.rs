//! How each dialect shows the one user (SPEC "One user, three dialects", the mapping table).
//! Views are built from [`User`], which holds no secret: no view can leak one.

use serde::Serialize;

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
            // The login name when there is one, else the string id.
            username: user
                .account
                .username
                .clone()
                .unwrap_or_else(|| user.user_id.clone()),
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
