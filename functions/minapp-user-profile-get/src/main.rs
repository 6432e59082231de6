//! GET /userve/v2.2/miniapp/user_profile/{id}/: one user's MinApp object by its numeric id;
//! unknown -> 404.

use shared::prelude::*;

async fn user_profile_get(call: Call<Server>) -> ApiResult<MinAppUser> {
    call.user_profiles().get(call.path_number("id")?).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.server(), user_profile_get).await
}

#[cfg(test)]
mod tests;
