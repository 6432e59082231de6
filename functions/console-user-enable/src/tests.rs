use shared::testing::*;

use super::user_enable;

const ROUTE: &str = "/console/users/{id}";
