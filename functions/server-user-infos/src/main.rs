//! GET /server/user/infos?user_ids=a&user_ids=b: public views in request order.

use shared::prelude::*;

async fn infos(call: Call<Server>) -> ApiResult<Vec<UserInfo>> {
    let user_ids = parse_user_ids("user_ids", call.query_all("user_ids"))?;
    call.users().infos(&user_ids).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(Qiniu.server(), infos).await
}

#[cfg(test)]
mod tests;
