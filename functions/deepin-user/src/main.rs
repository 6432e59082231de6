//! GET /v1/user: the client token's user with its email and scope (Deepin ID). The token comes
//! as `Access-Token`, the `access_token` query parameter or `Authorization: Bearer`.

use shared::prelude::*;

async fn user(call: Call<Session>) -> ApiResult<DeepinMe> {
    let user: User = call.client().own().await?;
    Ok(DeepinMe::from(&user))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(Deepin.client(), user).await
}

#[cfg(test)]
mod tests;
