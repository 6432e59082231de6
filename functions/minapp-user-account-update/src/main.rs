//! PUT /userve/v2.2/miniapp/user/account/{id}/: Set or clear username, email, phone and password.

use shared::prelude::*;

async fn user_account_update(call: Call) -> ApiResult<serde_json::Value> {
    todo!(
        "parse the input, call one domain operation, return its view: {:?}",
        call.request_id
    )
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.server(), user_account_update).await
}

#[cfg(test)]
mod tests;
