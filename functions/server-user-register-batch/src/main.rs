//! POST /server/user/register/batch: create every valid new user of a JSON array of 1..200;
//! `data` maps each user not created to `{code, message}`, and is absent when all were.

use shared::prelude::*;

async fn register_batch(call: Call<Server>) -> ApiResult<BatchFailures> {
    call.users().register_batch(&call.json()?).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(Qiniu.server(), register_batch).await
}

#[cfg(test)]
mod tests;
