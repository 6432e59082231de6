//! GET /v1/users?id=..&username=..&email=..: users matching any value of each parameter and
//! every parameter given, sorted by uid (Deepin ID). None -> 404. Never shows an email.
//! Anonymous callers: past their source IP's lookup limit, 429 with `Retry-After`.

use shared::prelude::*;

async fn users_list(call: Call<Lookup>) -> ApiResult<Vec<DeepinUser>> {
    let query = UsersQuery::parse(
        call.query_all("id"),
        call.query_all("username"),
        call.query_all("email"),
    )?;
    let users = call.lookup().find_all(&query).await?;
    Ok(users.iter().map(DeepinUser::from).collect())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(Deepin.lookup(), users_list).await
}

#[cfg(test)]
mod tests;
