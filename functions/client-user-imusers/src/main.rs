//! GET /client/user/imusers?im_user_ids=1&im_user_ids=2: public views by IM id, in request order
//! (through the eventually consistent GSI on `im_userid`).

use shared::prelude::*;

async fn imusers(call: Call<Session>) -> ApiResult<Vec<UserInfo>> {
    let im_user_ids = parse_im_user_ids("im_user_ids", call.query_all("im_user_ids"))?;
    call.client().imusers(&im_user_ids).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(Qiniu.client(), imusers).await
}

#[cfg(test)]
mod tests;
