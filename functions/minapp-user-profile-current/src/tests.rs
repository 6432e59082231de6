use shared::testing::*;

use super::user_profile_current;

const ROUTE: &str = "/userve/v1/user-profile/";
