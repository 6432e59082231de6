//! The import state machine's batch (Step Functions Distributed Map over a file in S3, not
//! an HTTP route): one batch of rows through the same import as `userctl import`.

use shared::endpoint::run_event;
use shared::moving::import_batch;
use shared::prelude::*;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run_event(import_batch).await
}
