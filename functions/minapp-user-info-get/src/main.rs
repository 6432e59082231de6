//! GET /hserve/v2.5/user/info/{id}/ (MinApp's SDK after every sign-up and login,
//! `auth.getCurrentUser()`, `new BaaS.User().get(id)`): a user by numeric id as the calling
//! client may see it. Itself: the whole MinApp object (built-ins, `_username`, `_email`,
//! `_email_verified`, `_phone`, `_phone_verified`, every custom field). Another user: `id`,
//! `nickname`, `avatar` and the custom fields not declared `:private`. Unknown id: 404.

use shared::prelude::*;
use shared::views::MinAppUser;

async fn user_info_get(call: Call<Session>) -> ApiResult<MinAppUser> {
    let uid = call.path_number("id")?;
    call.client().user_info(uid).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.client(), user_info_get).await
}

#[cfg(test)]
mod tests;
