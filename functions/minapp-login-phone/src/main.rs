//! POST /hserve/v2.1/login/phone/: log in with
//! `{"phone", "password"}`. 201 with the MinApp user object plus `token` and
//! `expires_in`. Wrong password or unknown phone: the same 400 after the same argon2 work;
//! past the login limits (per identifier, per source IP) 429 with `Retry-After`, the same for
//! every name; a failed login never voids a token.

use shared::account::AccountField;
use shared::prelude::*;
use shared::session::Credentials;

async fn login_phone(call: Call<Anonymous>) -> ApiResult<SignedIn> {
    let credentials = Credentials::log_in(AccountField::Phone, &call.json()?)?;
    call.log_in(&credentials).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.public().created(), login_phone).await
}

#[cfg(test)]
mod tests;
