//! GET /userve/v2.2/miniapp/user_profile/: the users matching `where` (and the legacy
//! `field__op=value` shortcuts), in `order_by` order, paged by `limit` / `offset`, with
//! `total_count` when `return_total_count=1`. `{"meta": {...}, "objects": [...]}`.

use shared::prelude::*;

async fn user_profile_list(call: Call) -> ApiResult<Listing> {
    let query = call.list_query()?;
    call.users().list_profiles(&query, &call.origin()).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.server(), user_profile_list).await
}

#[cfg(test)]
mod tests;
