use shared::testing::*;

use super::oauth_access_token;

const ROUTE: &str = "/api/oauth2/access_token/";
