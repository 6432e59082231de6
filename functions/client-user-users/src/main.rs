//! GET /client/user/users?user_ids=a&user_ids=b: public views in request order.

use shared::prelude::*;

async fn users(call: Call<Session>) -> ApiResult<Vec<UserInfo>> {
    let user_ids = parse_user_ids("user_ids", call.query_all("user_ids"))?;
    call.client().infos(&user_ids).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(Qiniu.client(), users).await
}

#[cfg(test)]
mod tests;
