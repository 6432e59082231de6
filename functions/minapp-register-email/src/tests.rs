use shared::testing::*;

use super::register_email;

const ROUTE: &str = "/hserve/v2.1/register/email/";
