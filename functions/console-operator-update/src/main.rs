//! PUT /console/operators/{name} (admin, X-CSRF-Token) with `{role}`: the operator's new role,
//! in force on its next request. The last admin cannot be demoted (400). Answers `{}`.

use shared::prelude::*;

async fn operator_update(call: Call<Operator>) -> ApiResult<Done> {
    let name = call.path_param("name")?;
    let body = call.json()?;
    call.console().set_role(call.operator(), &name, &body).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.console(), operator_update).await
}

#[cfg(test)]
mod tests;
