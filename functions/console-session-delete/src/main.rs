//! DELETE /console/session (with X-CSRF-Token): the operator logs out; its sessions are void
//! server-side and the cookie is cleared. Answers `{}`.

use shared::prelude::*;

async fn session_delete(call: Call<Operator>) -> ApiResult<Done> {
    call.log_out().await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.console(), session_delete).await
}

#[cfg(test)]
mod tests;
