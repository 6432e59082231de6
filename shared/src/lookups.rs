//! Deepin's lookups as one caller may run them ([`crate::users::Users::find`] and
//! [`crate::users::Users::find_all`] do the reading). An anonymous caller sees only users who
//! hold an account username (SPEC "Deepin ID dialect"): a user an app server registered never
//! chose to be found, so it is the same 404 as an unknown one; the uids are sequential, so
//! anything else would let a stranger list every user by walking them.

use crate::auth::caller::Lookup;
use crate::error::{ApiError, ApiResult};
use crate::lookup::{Identify, UsersQuery};
use crate::session::Client;
use crate::user::User;
use crate::users::Users;

/// Deepin's lookups as one caller may run them: a client's session is checked by a GetItem
/// beside the lookup (one more request, no more waiting); a server or (when lookups are
/// public) anyone needs no check.
pub struct Lookups<'a> {
    users: &'a Users,
    caller: &'a Lookup,
}

impl<'a> Lookups<'a> {
    pub fn new(users: &'a Users, caller: &'a Lookup) -> Self {
        Lookups { users, caller }
    }

    /// One user by email, uid or login name ([`Users::find`]); to an anonymous caller, a
    /// user without a username is unknown.
    pub async fn find(&self, identify: &Identify) -> ApiResult<User> {
        let user = match self.caller {
            Lookup::Client(session) => {
                let client = Client::new(self.users, session);
                client.checked_beside(self.users.find(identify)).await?
            }
            Lookup::Server(_) | Lookup::Anonymous => self.users.find(identify).await?,
        };
        if self.sees(&user) {
            Ok(user)
        } else {
            Err(ApiError::UserNotFound(identify.as_str().to_string()))
        }
    }

    /// Users matching every parameter of `query` ([`Users::find_all`]), those this caller
    /// may see; none is the same 404 as no match.
    pub async fn find_all(&self, query: &UsersQuery) -> ApiResult<Vec<User>> {
        let mut users = match self.caller {
            Lookup::Client(session) => {
                let client = Client::new(self.users, session);
                client.checked_beside(self.users.find_all(query)).await?
            }
            Lookup::Server(_) | Lookup::Anonymous => self.users.find_all(query).await?,
        };
        users.retain(|u| self.sees(u));
        if users.is_empty() {
            return Err(ApiError::UserNotFound("no user matches".into()));
        }
        Ok(users)
    }

    /// Whether this caller may see `user`: an authenticated one sees everyone, an anonymous
    /// one only users who chose a username.
    fn sees(&self, user: &User) -> bool {
        !matches!(self.caller, Lookup::Anonymous) || user.account.username.is_some()
    }
}
