//! PUT /console/users/{id}/disabled (admin, X-CSRF-Token) with `{"until": unix seconds | null}`:
//! the user cannot log in and its tokens are refused in every dialect until enabled or the
//! time passes. Answers `{"disabled": true, "until": ...}`; unknown id: 404.

use shared::prelude::*;

async fn user_disable(call: Call<Operator>) -> ApiResult<DisabledView> {
    let uid = call.path_number_before_action("id")?;
    let body = if call.has_body() {
        call.json()?
    } else {
        serde_json::Value::Null
    };
    call.console().disable(call.operator(), uid, &body).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.console(), user_disable).await
}

#[cfg(test)]
mod tests;
