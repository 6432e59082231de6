use shared::testing::*;

use super::user_disable;

const ROUTE: &str = "/console/users/{id}";
