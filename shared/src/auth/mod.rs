//! Who is calling: app servers with Qiniu AK/SK signatures.

pub mod qiniu;
