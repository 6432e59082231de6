//! PUT /server/user/{user_id}: update nick, avatar and extends (merged key by key).

use shared::prelude::*;

async fn update(call: Call<Server>) -> ApiResult<()> {
    let user_id = call.path_user_id()?;
    let update = UserUpdate::from_json(&call.json()?)?;
    call.users().update(&user_id, update).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(Qiniu.server(), update).await
}

#[cfg(test)]
mod tests;
