//! GET /client/user/profile: the caller's own profile, with IM credentials.

use shared::prelude::*;

async fn profile(call: Call) -> ApiResult<UserProfile> {
    call.users().profile(call.client_user_id()?).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(Qiniu.client(), profile).await
}

#[cfg(test)]
mod tests;
