//! GET /client/user/user/{user_id}: the public view of another user.

use shared::prelude::*;

async fn user(call: Call<Session>) -> ApiResult<UserInfo> {
    call.client().info(&call.path_user_id()?).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(Qiniu.client(), user).await
}

#[cfg(test)]
mod tests;
