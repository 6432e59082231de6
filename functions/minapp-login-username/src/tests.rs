use shared::testing::*;

use super::login_username;

const ROUTE: &str = "/hserve/v2.1/login/username/";
