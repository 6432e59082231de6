//! The bounds every request lives within, in one place (each is explained where it is used).

use std::time::Duration;

/// The function timeout (`template.yaml`, Globals: `Timeout: 10`) less 1 s for
/// authentication, the response and the runtime's own work: one request's whole deadline.
pub const REQUEST_BUDGET: Duration = Duration::from_secs(9);

/// Largest request body accepted (API Gateway would take 10 MB; no valid request needs 1).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Lambda's response limit; a page stops before its objects would pass it, with room for the
/// rest of the body and the runtime's own wrapping.
pub const RESPONSE_MAX_BYTES: usize = 6 * 1024 * 1024 - 64 * 1024;
