//! POST /hserve/v2.1/register/email/ (also /hserve/v2.0/register/email/, which older SDKs call): sign up with
//! `{"email", "password"}`. Creates a user (generated `user_id`, IM identity, the guard of
//! the email and the argon2id hash in one transaction) and answers 201 with the MinApp user
//! object plus `token` and `expires_in`. A taken or invalid email -> 400 naming it.
//! Past the source IP's sign-up limit: 429 with `Retry-After`.
//!
//! With a client token (`Authorization: Hydrogen-r1 <t>`, Bearer or bare; MinApp's SDKs send
//! the session they have stored), identity from that verified token only, never the body:
//! - it names an anonymous user (`auth.anonymousLogin()`): that user takes the email and
//!   password and stops being anonymous, keeping its id, profile and custom fields (one
//!   transaction; of concurrent registers with its token exactly one wins, the others and any
//!   later one with that anonymous session's token: 400);
//! - it names a registered user: a plain sign-up of a new user;
//! - it does not verify (bad signature, expired, revoked, another `APP_ID`): 401, nothing
//!   created.

use shared::account::AccountField;
use shared::prelude::*;
use shared::session::Credentials;

async fn register_email(call: Call<Registrant>) -> ApiResult<SignedIn> {
    let credentials = Credentials::sign_up(AccountField::Email, &call.json()?)?;
    call.sign_up(&credentials).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.register().created(), register_email).await
}

#[cfg(test)]
mod tests;
