//! GET /console/operators (admin): `{"objects": [{username, role, created_at}]}`, never a hash.

use shared::prelude::*;

async fn operators_list(call: Call<Operator>) -> ApiResult<Operators> {
    call.console().operators(call.operator()).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.console(), operators_list).await
}

#[cfg(test)]
mod tests;
