//! GET /server/user/profile/{user_id}: one user with IM credentials.

use shared::prelude::*;

async fn profile(call: Call<Server>) -> ApiResult<UserProfile> {
    call.users().profile(&call.path_user_id()?).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(Qiniu.server(), profile).await
}

#[cfg(test)]
mod tests;
