//! POST /console/users/{id}/revoke (admin, X-CSRF-Token): every client token of the user with
//! numeric id `id` is void (log out everywhere). Answers `{}`; unknown id: 404.

use shared::prelude::*;

async fn user_revoke(call: Call<Operator>) -> ApiResult<Done> {
    let uid = call.path_number_before_action("id")?;
    call.console().revoke(call.operator(), uid).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.console(), user_revoke).await
}

#[cfg(test)]
mod tests;
