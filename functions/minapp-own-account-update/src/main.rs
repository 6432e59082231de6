//! PUT /hserve/v2.2/user/account/ (MinApp's SDK: `setUsername`, `setEmail`, `setMobilePhone`,
//! `updatePassword`, `setAccount`): the caller sets or clears (`null`) its own `username`,
//! `email` and `phone` and sets a `new_password`, with the `userve` account update's rules.
//! `new_password` needs `password` (the current one) when the user has a password; a user
//! without one (made by the app server, or anonymous) sets one with its token alone. A wrong
//! or missing current password is a 400 naming `password` and counts toward the login
//! limits. A new password voids every other token of the user; this session keeps working.
//! Answers the caller's whole own object. Taken or invalid values -> 400 naming the field.

use shared::prelude::*;

async fn own_account_update(call: Call<Session>) -> ApiResult<MinAppUser> {
    let client = call.client().from_ip(call.source_ip());
    client.update_account(&call.json()?).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.client(), own_account_update).await
}

#[cfg(test)]
mod tests;
