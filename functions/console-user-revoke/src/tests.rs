use shared::testing::*;

use super::user_revoke;

const ROUTE: &str = "/console/users/{id}";
