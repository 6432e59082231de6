use shared::testing::*;

use super::user_account_update;

const ROUTE: &str = "/userve/v2.2/miniapp/user/account/{id}/";
