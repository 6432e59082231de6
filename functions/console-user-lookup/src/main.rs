//! GET /console/users/lookup?username=|email=|phone= (any role): the user holding that
//! account value, found through its guard as sign-up and login find it (another case, a
//! phone without its country code), as the user's own page shows it; 404 when nobody does.
//! The console's search by account value asks here: MinApp's `where` keeps its own meaning,
//! exact text.

use shared::account::AccountField;
use shared::prelude::*;

async fn user_lookup(call: Call<Operator>) -> ApiResult<MinAppUser> {
    let given: Vec<(AccountField, &str)> = AccountField::ALL
        .into_iter()
        .flat_map(|f| call.query_all(f.name()).into_iter().map(move |v| (f, v)))
        .collect();
    let [(field, value)] = given[..] else {
        return Err(ApiError::invalid(
            "username, email, phone",
            "give exactly one of them, once",
        ));
    };
    call.console().lookup(call.operator(), field, value).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.console(), user_lookup).await
}

#[cfg(test)]
mod tests;
