use shared::testing::*;

use super::user_audit_list;

const ROUTE: &str = "/userve/v2.2/miniapp/user/audit/{id}/";
