//! GET /userve/v2.2/miniapp/user/audit/{id}/?limit=..&cursor=..: the audit records of the user
//! with numeric id `id`, newest first, in MinApp's list shape
//! `{"meta": {limit, next, previous}, "objects": [...]}`; `next` carries the cursor of the
//! page after. Each object: `id`, `event`, `outcome`, `detail`, `at_ms`, `request_id`,
//! `client_reqid`, `source_ip`, `caller`, `caller_id`, `token_issued_at_ms`, `route`,
//! `expires_at`. Unknown id -> 404; a bad `limit` (1..100) or `cursor` -> 400 naming it.

use shared::prelude::*;
use shared::users::{AuditList, AuditQuery};

async fn user_audit_list(call: Call<Server>) -> ApiResult<AuditList> {
    let uid = call.path_number("id")?;
    let query = AuditQuery::parse(call.query_first("limit"), call.query_first("cursor"))?;
    call.users()
        .audit_trail(uid, &query, &call.origin().path)
        .await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(MinApp.server(), user_audit_list).await
}

#[cfg(test)]
mod tests;
