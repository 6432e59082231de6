//! PUT /userve/v2.6/miniapp/user_profile/?where=..&limit=..&offset=..: the same update applied
//! to each user the query selects, each on its own and only while it still matches.
//! `{"operation_result": [...], "succeed", "offset", "limit", "next", "total_count"?}`.

use shared::prelude::*;

async fn user_profile_update_batch(call: Call) -> ApiResult<BatchUpdate> {
    let query = call.list_query()?;
    call.users()
        .update_profiles(&query, &call.json()?, &call.origin())
        .await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.server(), user_profile_update_batch).await
}

#[cfg(test)]
mod tests;
