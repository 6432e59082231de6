//! Who is calling, decided from the request's own bytes: Qiniu request signatures
//! ([`qiniu`]), client tokens and the [`token::Session`] only a verified token yields
//! ([`token`]), MinApp's open-API codes and server tokens ([`server_token`]). Pure: no I/O.
//!
//! Operator console sessions, their CSRF tokens and roles: [`console`].
//!
//! Layers: [`token`] -> [`console`] -> [`caller`] -> [`qiniu`], [`server_token`] (`tests/layers.rs` checks).

// Ground and domain modules, reachable as `crate::…` like this crate's own.
use domain::{clock, config, error, user};

pub mod caller;
pub mod console;
pub mod qiniu;
pub mod server_token;
pub mod token;
