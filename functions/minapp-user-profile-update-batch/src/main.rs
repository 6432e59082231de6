//! PUT /userve/v2.6/miniapp/user_profile/?where=..&limit=..&offset=..: the same update applied
//! to each user the query selects, each on its own and only while it still matches.
//! `{"operation_result": [...], "succeed", "offset", "limit", "next", "total_count"?}`.

use shared::prelude::*;

async fn user_profile_update_batch(call: Call<Server>) -> ApiResult<BatchUpdate> {
    let profiles = call.user_profiles();
    let query = profiles.list_query(&call.query_pairs())?;
    profiles
        .update_batch(&query, &call.json()?, &call.origin())
        .await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.server(), user_profile_update_batch).await
}

#[cfg(test)]
mod tests;
