//! POST /hserve/v2.1/login/email/ (also /hserve/v2.0/login/email/, which older SDKs call): log in with
//! `{"email" (any case), "password"}`. 201 with the MinApp user object plus `token` and
//! `expires_in`. Wrong password or unknown email: the same 400 after the same argon2 work;
//! past the login limits (per identifier, per source IP) 429 with `Retry-After`, the same for
//! every name; a failed login never voids a token.

use shared::account::AccountField;
use shared::prelude::*;
use shared::session::Credentials;

async fn login_email(call: Call<Anonymous>) -> ApiResult<SignedIn> {
    let credentials = Credentials::log_in(AccountField::Email, &call.json()?)?;
    call.log_in(&credentials).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.public().created(), login_email).await
}

#[cfg(test)]
mod tests;
