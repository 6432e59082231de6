//! GET /hserve/v2.2/server/time/: the server's time, as MinApp answers it
//! (`BaaS.getServerDate()`): 200 `{"time": "2026-12-07T00:35:19.387067+00:00"}`. No credentials
//! and no storage: it only reads the clock.

use shared::prelude::*;
use shared::views::ServerTime;

async fn server_time(_call: Call<Anonymous>) -> ApiResult<ServerTime> {
    Ok(ServerTime::now())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.public(), server_time).await
}

#[cfg(test)]
mod tests;
