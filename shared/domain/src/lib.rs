//! The ground and the pure domain of the user store: no I/O, no AWS SDK, so its tests build
//! and run in seconds.
//!
//! Layers, bottom up (a module imports only from layers below it; `tests/layers.rs` checks):
//! - ground: [`error`], [`clock`], [`limits`], [`config`];
//! - domain: [`account`] (login values; [`account::password`], our password hashes and
//!   imported ones) -> [`user`] (Qiniu users, IM identity)
//!   and [`lookup`] (Deepin's lookups) -> [`profile`] (typed MinApp fields and updates) ->
//!   [`query`] (MinApp's query language) -> [`views`] (every dialect's user objects) ->
//!   [`moving`] (import files read into users, users written as export lines).

pub mod clock;
pub mod config;
pub mod error;
pub mod limits;

pub mod account;
pub mod lookup;
pub mod moving;
pub mod profile;
pub mod query;
pub mod user;
pub mod views;

#[cfg(any(test, feature = "testing"))]
pub mod testing;
