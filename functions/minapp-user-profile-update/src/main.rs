//! PUT /userve/v2.6/miniapp/user_profile/{id}/: change only the fields sent (custom fields,
//! nickname, avatar, gender, country, province, city, language), with the atomic operators
//! (`$incr_by`, `$append`, `$append_unique`, `$remove`, `$update`, `$pop`) and `$unset`.
//! Answers the whole updated object. Type errors, read-only or unknown fields -> 400 naming
//! the field; unknown id -> 404, nothing created.

use shared::prelude::*;

async fn user_profile_update(call: Call<Server>) -> ApiResult<MinAppUser> {
    let id = call.path_number("id")?;
    call.user_profiles().update(id, &call.json()?).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.server(), user_profile_update).await
}

#[cfg(test)]
mod tests;
