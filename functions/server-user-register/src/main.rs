//! POST /server/user/register: create one user with its IM identity; an existing id is 10001.

use shared::prelude::*;

async fn register(call: Call<Server>) -> ApiResult<()> {
    let user = NewUser::from_json(&call.json()?, "body")?;
    call.users().register(user).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(Qiniu.server(), register).await
}

#[cfg(test)]
mod tests;
