use shared::testing::*;

use super::oauth_authorize;

const ROUTE: &str = "/api/oauth2/hydrogen/openapi/authorize/";
