//! POST /hserve/v2.0/login/anonymous/ (`auth.anonymousLogin()`, which many MinApp apps call
//! first): a new user holding no account value and no password, signed in. 201 with the MinApp
//! user object plus `token` and `expires_in`, as a sign-up answers. Counted against the source
//! IP's sign-up limit (429 past it); closed with the other sign-ups by `PUBLIC_SIGNUP=false`.

use shared::prelude::*;

async fn login_anonymous(call: Call<Anonymous>) -> ApiResult<SignedIn> {
    call.sign_up_anonymous().await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.public().created(), login_anonymous).await
}

#[cfg(test)]
mod tests;
