//! Deepin's lookups as one caller may run them ([`crate::users::Users::find`] and
//! [`crate::users::Users::find_all`] do the reading).

use std::future::Future;
use std::net::IpAddr;

use crate::auth::caller::Lookup;
use crate::clock::now;
use crate::error::ApiResult;
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

    /// One user by email, uid, login name or string id ([`Users::find`]).
    pub async fn find(&self, identify: &Identify) -> ApiResult<User> {
        self.as_caller(self.users.find(identify)).await
    }

    /// Users matching every parameter of `query` ([`Users::find_all`]).
    pub async fn find_all(&self, query: &UsersQuery) -> ApiResult<Vec<User>> {
        self.as_caller(self.users.find_all(query)).await
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
}
