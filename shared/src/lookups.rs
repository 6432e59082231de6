//! Deepin's lookups as one caller may run them ([`crate::users::Users::find`] and
//! [`crate::users::Users::find_all`] do the reading). An anonymous caller sees only users who
//! hold an account username (SPEC "Deepin ID dialect"): a user an app server registered never
//! chose to be found, so it is the same 404 as an unknown one; the uids are sequential, so
//! anything else would let a stranger list every user by walking them.

use std::future::Future;
use std::net::IpAddr;

use crate::auth::caller::Lookup;
use crate::clock::now;
use crate::error::{ApiError, ApiResult};
use crate::limits::Counter;
use crate::lookup::{Identify, UsersQuery};
use crate::session::Client;
use crate::user::User;
use crate::users::Users;

/// Deepin's lookups as one caller may run them: a client's session is checked by a GetItem
/// beside the lookup (one more request, no more waiting); an anonymous caller (lookups public)
/// takes an attempt from its source IP's limit (`LOOKUP_IP_LIMIT`) by an UpdateItem beside
/// the lookup, and past it gets 429 whatever the lookup found; a server needs neither.
pub struct Lookups<'a> {
    users: &'a Users,
    caller: &'a Lookup,
    /// Where an anonymous lookup comes from; `None` counts under one fixed key.
    source_ip: Option<IpAddr>,
}

impl<'a> Lookups<'a> {
    pub fn new(users: &'a Users, caller: &'a Lookup) -> Self {
        Lookups {
            users,
            caller,
            source_ip: None,
        }
    }

    /// The same, counting anonymous lookups against `source_ip`'s limit.
    pub fn from_ip(mut self, source_ip: Option<IpAddr>) -> Self {
        self.source_ip = source_ip;
        self
    }

    /// One user by email, uid or login name ([`Users::find`]); to an anonymous caller, a
    /// user without a username is unknown.
    pub async fn find(&self, identify: &Identify) -> ApiResult<User> {
        let user = self.as_caller(self.users.find(identify)).await?;
        if self.sees(&user) {
            Ok(user)
        } else {
            Err(ApiError::UserNotFound(identify.as_str().to_string()))
        }
    }

    /// Users matching every parameter of `query` ([`Users::find_all`]), those this caller
    /// may see; none is the same 404 as no match.
    pub async fn find_all(&self, query: &UsersQuery) -> ApiResult<Vec<User>> {
        let mut users = self.as_caller(self.users.find_all(query)).await?;
        users.retain(|u| self.sees(u));
        if users.is_empty() {
            return Err(ApiError::UserNotFound("no user matches".into()));
        }
        Ok(users)
    }

    /// `lookup` with what the caller's kind asks for beside it.
    async fn as_caller<T>(&self, lookup: impl Future<Output = ApiResult<T>>) -> ApiResult<T> {
        match self.caller {
            Lookup::Client(session) => {
                let client = Client::new(self.users, session);
                client.checked_beside(lookup).await
            }
            Lookup::Anonymous => {
                let counter =
                    Counter::per_ip("lookup", self.source_ip, self.users.limits().lookup_ip);
                let reserve = self.users.table().reserve(&counter, now());
                let (found, reserved) = futures_util::future::join(lookup, reserve).await;
                reserved?;
                found
            }
            Lookup::Server(_) => lookup.await,
        }
    }

    /// Whether this caller may see `user`: an authenticated one sees everyone, an anonymous
    /// one only users who chose a username.
    fn sees(&self, user: &User) -> bool {
        !matches!(self.caller, Lookup::Anonymous) || user.account.username.is_some()
    }
}
