//! POST /api/oauth2/hydrogen/openapi/authorize/: A short-lived code for an AK/SK pair.

use shared::prelude::*;

async fn oauth_authorize(call: Call) -> ApiResult<serde_json::Value> {
    todo!(
        "parse the input, call one domain operation, return its view: {:?}",
        call.request_id
    )
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.public(), oauth_authorize).await
}

#[cfg(test)]
mod tests;
