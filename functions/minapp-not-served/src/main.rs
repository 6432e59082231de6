//! ANY /hserve/{proxy+}: the calls of MinApp's SDKs this service does not serve (email
//! verification, password reset mail, SMS codes, third-party login, ...): 404 in MinApp's
//! form, `{"status": "error", "error_msg": "POST /hserve/... is not served by this service"}`.
//! The routes it serves are matched first; no storage.

use shared::endpoint::not_served;
use shared::prelude::*;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.public(), not_served::<Anonymous>).await
}

#[cfg(test)]
mod tests;
