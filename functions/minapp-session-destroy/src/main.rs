//! POST /hserve/v2.0/session/destroy/: log out. The token (`Authorization: Hydrogen-r1 <t>`,
//! `Bearer <t>` or bare) and every other token of its user issued so far stop working on every
//! client endpoint of every dialect. 201 `{"message": "Destroy succeed.", "status": "ok"}`.

use shared::prelude::*;

async fn session_destroy(call: Call<Session>) -> ApiResult<Destroyed> {
    call.client().log_out().await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.client().created(), session_destroy).await
}

#[cfg(test)]
mod tests;
