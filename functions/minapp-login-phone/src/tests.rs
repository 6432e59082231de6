use shared::testing::*;

use super::login_phone;

const ROUTE: &str = "/hserve/v2.1/login/phone/";
