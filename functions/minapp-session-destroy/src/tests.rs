use shared::testing::*;

use super::session_destroy;

const ROUTE: &str = "/hserve/v2.0/session/destroy/";
