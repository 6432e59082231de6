//! POST /console/session: an operator logs in to the console with `{username, password}`.
//! Answers `{username, role, csrf_token, expires_in}` and sets the `console_session` cookie
//! (HttpOnly; SameSite=Strict; Secure; Path=/). Wrong name or password: 401; past the login
//! limits: 429 with Retry-After; a foreign `Origin`: 403.

use shared::prelude::*;

async fn session_create(call: Call<Anonymous>) -> ApiResult<SessionView> {
    call.console_log_in().await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.public(), session_create).await
}

#[cfg(test)]
mod tests;
