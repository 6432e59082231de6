//! The verified callers a handler can ask for: each is made only by this crate's verifiers,
//! so a value of one is proof that its check ran.
//!
//! | caller | made by | asked for by |
//! |---|---|---|
//! | [`Server`] | a Qiniu signature ([`crate::qiniu::QiniuVerifier::server`]), a MinApp server token ([`crate::server_token::ServerTokens::server`]) or a confirmed console session ([`Server::by_operator`]) | app-server endpoints |
//! | [`Operator`] | a console session confirmed against its operator's item ([`crate::console::ConsoleSession::confirm`]) | console endpoints |
//! | [`Session`] | a client token ([`crate::token::TokenKeys::session`]) | client endpoints |
//! | [`Anonymous`] | nothing: nobody was verified | public endpoints |
//! | [`Registrant`] | nothing, or a client token when one is presented (it must verify) | MinApp's register |
//! | [`Lookup`] | whichever of the three the request carries | Deepin's lookups |

pub use crate::console::Operator;
pub use crate::token::Session;

/// An app server whose request (or MinApp server token) verified under an access key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    access_key: String,
    via: ServerCredential,
    /// The operator whose console session made this caller (MinApp's dashboard cookie).
    operator: Option<Operator>,
}

/// How an app server proved its access key (the audit trail says which).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerCredential {
    /// A Qiniu AK/SK signature over the request.
    Signature,
    /// MinApp's open-API server token (issued for the access key).
    ServerToken,
    /// An operator's console session cookie (the operator's name stands for the access key).
    Console,
}

impl Server {
    pub(crate) fn new(access_key: impl Into<String>) -> Server {
        Server {
            access_key: access_key.into(),
            via: ServerCredential::Signature,
            operator: None,
        }
    }

    pub(crate) fn by_token(access_key: impl Into<String>) -> Server {
        Server {
            access_key: access_key.into(),
            via: ServerCredential::ServerToken,
            operator: None,
        }
    }

    /// An app server's powers, within `operator`'s role (the pipeline enforces it per route).
    pub fn by_operator(operator: Operator) -> Server {
        Server {
            access_key: operator.name().to_string(),
            via: ServerCredential::Console,
            operator: Some(operator),
        }
    }

    /// The operator, when a console session made this caller.
    pub fn operator(&self) -> Option<&Operator> {
        self.operator.as_ref()
    }

    pub fn via(&self) -> ServerCredential {
        self.via
    }

    /// The access key id (never its secret); an operator's name for a console session.
    pub fn access_key(&self) -> &str {
        &self.access_key
    }
}

/// A public endpoint's caller: nothing was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Anonymous;

/// A sign-up's caller (MinApp's `register`): anyone, with the verified [`Session`] of the
/// client token it presented, if it presented one (MinApp's SDKs send the session they have
/// stored: an anonymous user's makes the sign-up that user's registration). Only a verified
/// session goes in, so a register handler never sees an unverified identity.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Registrant {
    session: Option<Session>,
}

impl Registrant {
    pub fn new(session: Option<Session>) -> Registrant {
        Registrant { session }
    }

    /// The presented client token's session: verified, not yet revocation-checked.
    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }
}

/// The caller of a lookup, which takes a server, a client or (when public) anyone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Anonymous,
    Server(Server),
    Client(Session),
}
