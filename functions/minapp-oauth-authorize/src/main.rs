//! POST /api/oauth2/hydrogen/openapi/authorize/: `{client_id, client_secret}` (an AK/SK pair)
//! -> `{code, expires_in}`, a short-lived signed code for the access token endpoint (MinApp's
//! open-API flow, step 1). Stateless: nothing is stored.

use shared::auth::server_token::{AuthorizationCode, AuthorizeRequest};
use shared::prelude::*;

async fn oauth_authorize(call: Call<Anonymous>) -> ApiResult<AuthorizationCode> {
    let request = AuthorizeRequest::from_body(call.content_type(), call.body())?;
    call.authorize(&request)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.public(), oauth_authorize).await
}

#[cfg(test)]
mod tests;
