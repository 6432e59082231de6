use shared::testing::*;

use super::login_email;

const ROUTE: &str = "/hserve/v2.1/login/email/";
