use shared::testing::*;

use super::register_username;

const ROUTE: &str = "/hserve/v2.1/register/username/";
