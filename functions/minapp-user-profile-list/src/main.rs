//! GET /userve/v2.2/miniapp/user_profile/: the users matching `where` (and the legacy
//! `field__op=value` shortcuts), in `order_by` order, paged by `limit` / `offset`, with
//! `total_count` when `return_total_count=1`. `{"meta": {...}, "objects": [...]}`.

use shared::prelude::*;

async fn user_profile_list(call: Call<Server>) -> ApiResult<Listing> {
    let profiles = call.user_profiles();
    let query = profiles.list_query(&call.query_pairs())?;
    profiles.list(&query, &call.origin()).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.server(), user_profile_list).await
}

#[cfg(test)]
mod tests;
