//! DELETE /console/users/{id}/disabled (admin, X-CSRF-Token): the user is enabled again.
//! Answers `{"disabled": false}`; unknown id: 404.

use shared::prelude::*;

async fn user_enable(call: Call<Operator>) -> ApiResult<DisabledView> {
    let uid = call.path_number_before_action("id")?;
    call.console().enable(call.operator(), uid).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.console(), user_enable).await
}

#[cfg(test)]
mod tests;
