//! GET /server/user/info/{user_id}: the public view of one user.

use shared::prelude::*;

async fn info(call: Call<Server>) -> ApiResult<UserInfo> {
    call.users().info(&call.path_user_id()?).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(Qiniu.server(), info).await
}

#[cfg(test)]
mod tests;
