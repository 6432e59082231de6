//! GET /userve/v1/user-profile/: the client token's user as seed 004 shows it,
//! `{avatar_link, email, nickname, user_id}` (`user_id` is the numeric id). A revoked token
//! -> 401 (checked in the same GetItem).

use shared::prelude::*;

async fn user_profile_current(call: Call<Session>) -> ApiResult<CurrentUser> {
    let user: User = call.client().own().await?;
    Ok(CurrentUser::from(&user))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.client(), user_profile_current).await
}

#[cfg(test)]
mod tests;
