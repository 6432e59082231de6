//! Deepin's lookups as one caller may run them ([`crate::users::Users::find`] and
//! [`crate::users::Users::find_all`] do the reading).

use crate::auth::caller::Lookup;
use crate::error::ApiResult;
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

    /// One user by email, uid, login name or string id ([`Users::find`]).
    pub async fn find(&self, identify: &Identify) -> ApiResult<User> {
        match self.caller {
            Lookup::Client(session) => {
                let client = Client::new(self.users, session);
                client.checked_beside(self.users.find(identify)).await
            }
            Lookup::Server(_) | Lookup::Anonymous => self.users.find(identify).await,
        }
    }

    /// Users matching every parameter of `query` ([`Users::find_all`]).
    pub async fn find_all(&self, query: &UsersQuery) -> ApiResult<Vec<User>> {
        match self.caller {
            Lookup::Client(session) => {
                let client = Client::new(self.users, session);
                client.checked_beside(self.users.find_all(query)).await
            }
            Lookup::Server(_) | Lookup::Anonymous => self.users.find_all(query).await,
        }
    }
}
