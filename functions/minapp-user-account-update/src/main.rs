//! PUT /userve/v2.2/miniapp/user/account/{id}/: set or clear the login name, email and phone
//! of the user with numeric id `id`, or set its password (stored as an argon2id hash only).
//! Answers `{email, email_verified, username, phone, phone_verified}`. Taken or invalid values
//! -> 400 naming the field; unknown id -> 404.

use shared::account::{Account, AccountUpdate};
use shared::prelude::*;

async fn account_update(call: Call<Server>) -> ApiResult<Account> {
    let uid = call.path_number("id")?;
    let update = AccountUpdate::from_json(&call.json()?)?;
    call.users().change_account(uid, &update).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.server(), account_update).await
}

#[cfg(test)]
mod tests;
