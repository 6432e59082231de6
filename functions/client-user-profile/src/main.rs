//! GET /client/user/profile: the caller's own profile, with IM credentials (a revoked token
//! -> 401, read in the same GetItem).

use shared::prelude::*;

async fn profile(call: Call<Session>) -> ApiResult<UserProfile> {
    call.client().own().await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(Qiniu.client(), profile).await
}

#[cfg(test)]
mod tests;
