//! Who is calling: app servers with Qiniu AK/SK signatures, clients with short-lived tokens.

pub mod qiniu;
pub mod server_token;
pub mod token;
