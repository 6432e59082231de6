//! GET /server/user/profiles: users with IM credentials; ids from a JSON array body (as
//! documented) or `user_ids` query parameters (as the Qiniu server takes them).

use shared::prelude::*;
use shared::user::parse_user_id_array;

async fn profiles(call: Call<Server>) -> ApiResult<Vec<UserProfile>> {
    let from_query = call.query_all("user_ids");
    let user_ids = match (call.has_body(), from_query.is_empty()) {
        (true, true) => parse_user_id_array(&call.json()?)?,
        (false, _) => parse_user_ids("user_ids", from_query)?,
        (true, false) => {
            return Err(ApiError::invalid(
                "user_ids",
                "send ids in the body or the query, not both",
            ));
        }
    };
    call.users().profiles(&user_ids).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(Qiniu.server(), profiles).await
}

#[cfg(test)]
mod tests;
