//! GET /server/auth/token?app_id=..&user_id=..[&device_id=..][&expires_at=..]: a client token
//! for the user, registering the user (with its IM identity) if it is new.

use shared::prelude::*;

async fn token(call: Call<Server>) -> ApiResult<IssuedToken> {
    let request = call.token_request()?;
    // A new user gets its IM identity exactly as a register would give it.
    call.users().ensure(&request.user_id).await?;
    call.tokens().issue(&request)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(Qiniu.server(), token).await
}

#[cfg(test)]
mod tests;
