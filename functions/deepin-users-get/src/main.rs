//! GET /v1/users/{identify}: one user by email, uid, login name or string id (Deepin ID).
//! Unknown -> 404 `{"message":"Invaild User Name"}`. Never shows an email.
//! Anonymous callers: past their source IP's lookup limit, 429 with `Retry-After`.

use shared::prelude::*;

async fn users_get(call: Call<Lookup>) -> ApiResult<DeepinUser> {
    let identify = Identify::parse(&call.path_param("identify")?)?;
    let user = call.lookup().find(&identify).await?;
    Ok(DeepinUser::from(&user))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(Deepin.lookup(), users_get).await
}

#[cfg(test)]
mod tests;
