//! GET /console/session: the logged-in operator `{username, role, csrf_token, expires_in}`,
//! its cookie renewed (sliding lifetime); 401 without a valid session.

use shared::prelude::*;

async fn session_get(call: Call<Operator>) -> ApiResult<SessionView> {
    Ok(call.session_view())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.console(), session_get).await
}

#[cfg(test)]
mod tests;
