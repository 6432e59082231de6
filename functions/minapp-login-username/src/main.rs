//! POST /hserve/v2.1/login/username/ (also /hserve/v2.0/login/username/, which older SDKs call): log in with
//! `{"username" (any case), "password"}`. 201 with the MinApp user object plus `token` and
//! `expires_in`. Wrong password or unknown username: the same 400 after the same argon2 work;
//! past the login limits (per identifier, per source IP) 429 with `Retry-After`, the same for
//! every name; a failed login never voids a token.

use shared::account::AccountField;
use shared::prelude::*;
use shared::session::Credentials;

async fn login_username(call: Call<Anonymous>) -> ApiResult<SignedIn> {
    let credentials = Credentials::log_in(AccountField::Username, &call.json()?)?;
    call.log_in(&credentials).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.public().created(), login_username).await
}

#[cfg(test)]
mod tests;
