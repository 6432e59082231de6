//! PUT /hserve/v2.5/user/info/ (MinApp's SDK: `currentUser.set(..)`, `incrementBy`, `append`,
//! `uAppend`, `remove`, `patchObject`, `pop`, `shift`, then `.update()`): the caller updates
//! its own profile. The body is the `userve` update's field map and operators; a client may
//! write `nickname`, `avatar`, `gender`, `country`, `province`, `city`, `language` and every
//! declared custom field. There is no id: the caller is the only target (`id` in the body is
//! a 400 like any read-only field). Answers the caller's whole updated MinApp object.

use shared::prelude::*;

async fn user_info_update(call: Call<Session>) -> ApiResult<MinAppUser> {
    call.client().update_info(&call.json()?).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.client(), user_info_update).await
}

#[cfg(test)]
mod tests;
