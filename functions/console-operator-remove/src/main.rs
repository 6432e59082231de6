//! DELETE /console/operators/{name} (admin, X-CSRF-Token): the operator is removed and its
//! sessions stop at once. The last admin cannot be removed (400). Answers `{}`.

use shared::prelude::*;

async fn operator_remove(call: Call<Operator>) -> ApiResult<Done> {
    let name = call.path_param("name")?;
    call.console().remove(call.operator(), &name).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.console(), operator_remove).await
}

#[cfg(test)]
mod tests;
