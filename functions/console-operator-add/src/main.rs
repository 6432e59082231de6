//! POST /console/operators (admin, X-CSRF-Token) with `{username, password, role}`: a new
//! operator (argon2id hash). Answers 201 `{username, role, created_at}`; a taken name: 400.

use shared::prelude::*;

async fn operator_add(call: Call<Operator>) -> ApiResult<OperatorView> {
    let body = call.json()?;
    call.console().add_operator(call.operator(), &body).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.console().created(), operator_add).await
}

#[cfg(test)]
mod tests;
