//! The library every endpoint function runs on. It is the top of four crates, each a layer
//! that imports only from those below it (the compiler enforces the crate boundaries;
//! `tests/layers.rs` checks the modules inside each crate):
//!
//! 1. `domain`: ground (errors, clock, limits, configuration) and the pure user domain;
//! 2. `auth`: signatures, tokens and the verified callers only they make;
//! 3. `store`: the DynamoDB adapter and the request deadline;
//! 4. this crate: dialect-neutral operations ([`users`], [`user_profile`], [`session`],
//!    [`console`], [`lookups`], [`moving`]),
//!    the three dialect shapes ([`dialect`]) and the pipeline ([`endpoint`]) on top.
//!
//! A function's `main.rs` states which caller it serves (`Call<Server>`, `Call<Session>`,
//! `Call<Anonymous>`, `Call<Lookup>`), parses its input, calls one operation and returns a
//! value; [`endpoint::run`] does the rest.

// The layers below, under the names every function and test already uses.
pub use domain::{account, clock, config, error, limits, lookup, profile, query, user, views};
/// The request's audit trail and the audit records ([`store::audit`]).
pub use store::audit;
pub use {auth, store};

// Operations (dialect-neutral), bottom up.
pub mod console;
pub mod lookups;
pub mod moving;
pub mod session;
pub mod user_profile;
pub mod users;
// Dialects, then the pipeline.
pub mod cors;
pub mod dialect;
pub mod endpoint;
pub mod logging;

#[cfg(feature = "testing")]
pub mod testing;
/// Random MinApp users and queries, and their oracle, for the property tests.
#[cfg(feature = "testing")]
pub use domain::testing as testing_gen;

/// What a function's `main.rs` needs.
pub mod prelude {
    pub use crate::auth::caller::{Anonymous, Lookup, Operator, Registrant, Server, Session};
    pub use crate::auth::token::IssuedToken;
    pub use crate::clock::now;
    pub use crate::console::{DisabledView, Done, OperatorView, Operators, SessionView};
    pub use crate::dialect::{Deepin, MinApp, Qiniu};
    pub use crate::endpoint::{Call, Page, run};
    pub use crate::error::{ApiError, ApiResult};
    pub use crate::lookup::{Identify, UsersQuery};
    pub use crate::session::{CurrentUser, Destroyed, SignedIn};
    pub use crate::user::{
        NewUser, User, UserInfo, UserProfile, UserUpdate, parse_im_user_ids, parse_user_ids,
    };
    pub use crate::user_profile::{BatchUpdate, Listing};
    pub use crate::users::BatchFailures;
    pub use crate::views::{DeepinMe, DeepinUser, MinAppUser};
    pub use lambda_http::Error;
}
