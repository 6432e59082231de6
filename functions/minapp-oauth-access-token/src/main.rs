//! POST /api/oauth2/access_token/: `grant_type=authorization_code` (with the code of step 1) or
//! `client_credentials`, as JSON, a form or multipart -> `{access_token, token_type: "Bearer",
//! expires_in, scope}`, the server token MinApp's admin endpoints take (step 2). Stateless.

use shared::auth::server_token::{ServerToken, TokenGrant};
use shared::prelude::*;

async fn oauth_access_token(call: Call<Anonymous>) -> ApiResult<ServerToken> {
    let grant = TokenGrant::from_body(call.content_type(), call.body())?;
    call.server_token(&grant).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.public(), oauth_access_token).await
}

#[cfg(test)]
mod tests;
