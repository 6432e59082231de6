use shared::testing::*;

use super::register_phone;

const ROUTE: &str = "/hserve/v2.1/register/phone/";
