//! PUT /client/user/user: the caller updates itself (same body and merge rules as the server update).

use shared::prelude::*;

async fn update(call: Call<Session>) -> ApiResult<()> {
    let update = UserUpdate::from_json(&call.json()?)?;
    call.client().update(update).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(Qiniu.client(), update).await
}

#[cfg(test)]
mod tests;
