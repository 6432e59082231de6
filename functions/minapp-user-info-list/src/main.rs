//! GET /hserve/v2.2/user/info/ (MinApp's SDK: `new BaaS.User().setQuery(q).orderBy(..)
//! .limit(n).offset(m).find({withCount})` and `.count()`): the `user_profile` query language
//! over what a client may see of other users. `where` (JSON), `order_by`, `limit` (default 20,
//! 1..1000), `offset`, `return_total_count`; `keys` / `expand` are accepted and ignored.
//! Objects are `id`, `nickname`, `avatar` and the custom fields not declared `:private`; a
//! filter or `order_by` on any other field is a 400 naming it. `next` / `previous` links stay
//! under `/hserve/v2.2/user/info/`.

use shared::prelude::*;

async fn user_info_list(call: Call<Session>) -> ApiResult<Listing> {
    call.client()
        .list_users(&call.query_pairs(), &call.origin())
        .await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.client(), user_info_list).await
}

#[cfg(test)]
mod tests;
