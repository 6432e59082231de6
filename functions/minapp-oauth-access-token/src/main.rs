//! POST /api/oauth2/access_token/: A server access token for a code or client credentials.

use shared::prelude::*;

async fn oauth_access_token(call: Call) -> ApiResult<serde_json::Value> {
    todo!(
        "parse the input, call one domain operation, return its view: {:?}",
        call.request_id
    )
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.public(), oauth_access_token).await
}

#[cfg(test)]
mod tests;
