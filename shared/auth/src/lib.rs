//! Who is calling, decided from the request's own bytes: Qiniu request signatures
//! ([`qiniu`]), client tokens and the [`token::Session`] only a verified token yields
//! ([`token`]), MinApp's open-API codes and server tokens ([`server_token`]). Pure: no I/O.
//!
//! Layers: [`token`] -> [`caller`] -> [`qiniu`], [`server_token`] (`tests/layers.rs` checks).

// Ground and domain modules, reachable as `crate::…` like this crate's own.
use domain::{clock, config, error, user};

pub mod caller;
pub mod qiniu;
pub mod server_token;
pub mod token;
