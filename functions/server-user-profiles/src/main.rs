//! GET /server/user/profiles: users with IM credentials; ids from a JSON array body (as
//! documented) or `user_ids` query parameters (as the Qiniu server takes them).

use shared::prelude::*;
use shared::user::parse_user_id_array;

async fn profiles(call: Call) -> ApiResult<Vec<UserProfile>> {
    let user_ids = if call.has_body() {
        parse_user_id_array(&call.json()?)?
    } else {
        parse_user_ids("user_ids", call.query_all("user_ids"))?
    };
    call.users().profiles(&user_ids).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(Auth::Server, profiles).await
}

#[cfg(test)]
mod tests;
