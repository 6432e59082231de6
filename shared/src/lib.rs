//! The library every endpoint function shares: configuration, the typed API error and its
//! envelope, Qiniu authentication, the user domain and the DynamoDB store.
//!
//! A function's `main.rs` parses its input, calls one operation of [`users::Users`] and
//! returns a value; [`endpoint::run`] does the rest.

pub mod account;
pub mod auth;
pub mod config;
pub mod dialect;
pub mod endpoint;
pub mod error;
pub mod lookup;
pub mod profile;
pub mod query;
pub mod session;
pub mod store;
pub mod user;
pub mod user_profile;
pub mod users;
pub mod views;

#[cfg(feature = "testing")]
pub mod testing;
/// Random MinApp users and queries, and their oracle, for the property tests.
#[cfg(any(test, feature = "testing"))]
pub mod testing_gen;

/// What a function's `main.rs` needs.
pub mod prelude {
    pub use crate::auth::token::IssuedToken;
    pub use crate::dialect::{Deepin, MinApp, Qiniu};
    pub use crate::endpoint::{Auth, Call, run};
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
