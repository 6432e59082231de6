//! POST /hserve/v2.1/register/email/ (also /hserve/v2.0/register/email/, which older SDKs call): sign up with
//! `{"email", "password"}`. Creates a user (generated `user_id`, IM identity, the guard of
//! the email and the argon2id hash in one transaction) and answers 201 with the MinApp user
//! object plus `token` and `expires_in`. A taken or invalid email -> 400 naming it.
//! Past the source IP's sign-up limit: 429 with `Retry-After`.

use shared::account::AccountField;
use shared::prelude::*;
use shared::session::Credentials;

async fn register_email(call: Call<Anonymous>) -> ApiResult<SignedIn> {
    let credentials = Credentials::sign_up(AccountField::Email, &call.json()?)?;
    call.sign_up(&credentials).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.public().created(), register_email).await
}

#[cfg(test)]
mod tests;
