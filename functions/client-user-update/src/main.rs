//! PUT /client/user/user: the caller updates itself (same body and merge rules as the server update).

use shared::prelude::*;

async fn update(call: Call) -> ApiResult<()> {
    let update = UserUpdate::from_json(&call.json()?)?;
    call.users().update_as(&call.session()?, update).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(Qiniu.client(), update).await
}

#[cfg(test)]
mod tests;
