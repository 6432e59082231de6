//! The pipeline: everything every function does around its one domain operation, written
//! once for every dialect: request id, one deadline for the whole request, authentication,
//! body limits, the response shape and error mapping (both per [`Dialect`]), the audit trail
//! and the log line.
//!
//! Every request runs inside its audit trail ([`crate::audit::within`]): API Gateway's
//! request id, the client's `X-Reqid` beside it, the source IP from the request context, the
//! route, and, once authenticated, the caller as its type names itself
//! ([`crate::audit::Audited`]); the store adds each user the request touches. Every log line
//! the request emits carries them ([`crate::logging`]), the pipeline's own line adds
//! `dialect`, `status`, `code`, `latency_ms` (and `error`, `detail` on failure).
//!
//! A handler states which verified caller it serves by the type it takes, as an axum handler
//! states its extractors: `Call<Server>`, `Call<Session>`, `Call<Anonymous>`,
//! `Call<Registrant>`, `Call<Lookup>` or `Call<Operator>`. Only this module makes a `Call`, and only after [`Authenticate`] made its
//! caller, so a client handler always holds a verified [`Session`] and can reach only the
//! operations that check it ([`Client`]): there is no client read that skips revocation.
//!
//! ```
//! use shared::prelude::*;
//! async fn profile(call: Call<Session>) -> ApiResult<UserProfile> {
//!     call.client().own().await
//! }
//! # let _ = run(Qiniu.client(), profile);
//! ```
//!
//! A client handler that tries to read users without its session does not compile:
//!
//! ```compile_fail
//! use shared::prelude::*;
//! async fn profile(call: Call<Session>) -> ApiResult<UserProfile> {
//!     call.users().profile(call.session().user_id()).await
//! }
//! # let _ = run(Qiniu.client(), profile);
//! ```
//!
//! and neither does a handler whose caller disagrees with its endpoint:
//!
//! ```compile_fail
//! use shared::prelude::*;
//! async fn info(call: Call<Server>) -> ApiResult<UserInfo> {
//!     call.users().info("u").await
//! }
//! # let _ = run(Qiniu.client(), info);
//! ```

use std::future::Future;
use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_dynamodb::Client as DynamoDb;
use lambda_http::http::{HeaderValue, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response, service_fn};
use serde::Serialize;
use serde_json::Value;

pub use crate::dialect::{Dialect, Endpoint};

use crate::account::AccountRules;
use crate::audit::{self, Audited};
use crate::auth::caller::{Anonymous, Lookup, Operator, Registrant, Server, Session};
use crate::auth::console::{self as console_session, ConsoleKeys, ConsoleSession, Role};
use crate::auth::qiniu::{QiniuVerifier, SignedParts};
use crate::auth::server_token::{
    AuthorizationCode, AuthorizeRequest, ServerToken, ServerTokens, TokenGrant,
};
use crate::auth::token::{TokenKeys, TokenRequest};
use crate::clock::now;
use crate::config::{AllowedOrigins, AwsEnvironment, Config, ConfigError};
use crate::console::Console;
use crate::cors;
use crate::error::{ApiError, ApiResult};
use crate::limits::MAX_BODY_BYTES;
use crate::lookups::Lookups;
use crate::profile::UserFields;
use crate::query::Origin;
use crate::session::{Client, Credentials, Sessions, SignedIn};
use crate::store::client::dynamodb_client;
use crate::store::{UserTable, within_deadline};
use crate::user::validate_user_id;
use crate::user_profile::UserProfiles;
use crate::users::Users;

/// What the runtime keeps back from the function's own deadline: time to compose and send
/// the answer after the request's work is cut off.
const ANSWER_ROOM: Duration = Duration::from_secs(1);

/// What a function needs for its whole life, built once per process.
#[derive(Debug)]
pub struct App {
    pub users: Users,
    qiniu: QiniuVerifier,
    server_tokens: ServerTokens,
    tokens: TokenKeys,
    /// Console session keys (derived from `TOKEN_SECRETS` for the console alone).
    console: ConsoleKeys,
    token_max_ttl_seconds: i64,
    deepin_public_lookup: bool,
    /// The `AppId` of the tokens sign-up and login issue, never a header's.
    app_id: String,
    public_signup: bool,
    /// The web origins whose pages may call the API (`CORS_ALLOW_ORIGINS`).
    cors: AllowedOrigins,
}

impl App {
    /// Everything the configuration decides; `USER_FIELDS` is checked here, and the account
    /// rules (`PHONE_DEFAULT_REGION`) become the process's.
    pub fn new(config: &Config, client: DynamoDb) -> Result<Self, ConfigError> {
        let fields = UserFields::parse(&config.user_fields).map_err(ConfigError)?;
        AccountRules::new(&config.phone_default_region)?.install()?;
        Ok(App {
            users: Users::new(
                UserTable::new(client, &config.table_name)
                    .with_audit_ttl_days(config.audit_ttl_days),
                &config.im_username_prefix,
            )
            .with_minapp(fields, config.list_max_examined)
            .with_limits(config.limits),
            qiniu: QiniuVerifier::new(
                config.access_keys.clone(),
                config.date_skew_seconds,
                config.require_qiniu_date,
            ),
            server_tokens: ServerTokens::new(&config.access_keys),
            tokens: TokenKeys::new(&config.token_secrets),
            console: ConsoleKeys::new(&config.token_secrets),
            token_max_ttl_seconds: config.token_max_ttl_seconds,
            deepin_public_lookup: config.deepin_public_lookup,
            app_id: config.app_id.clone(),
            public_signup: config.public_signup,
            cors: config.cors_allow_origins.clone(),
        })
    }

    /// MinApp's open-API codes and server tokens.
    pub fn server_tokens(&self) -> &ServerTokens {
        &self.server_tokens
    }

    /// Client token signing and verification keys.
    pub fn tokens(&self) -> &TokenKeys {
        &self.tokens
    }

    /// Console session keys.
    pub fn console_keys(&self) -> &ConsoleKeys {
        &self.console
    }

    /// Configuration from the environment and one SDK client for the process, warmed up
    /// unless `WARM_UP_ON_INIT=false`: the first request then finds the connection open (see
    /// [`UserTable::warm_up`] and BENCHMARKS.md for what it costs and saves).
    pub async fn from_env() -> Result<Self, lambda_http::Error> {
        let config = Config::from_env()?;
        let app = App::new(&config, dynamodb_client(&AwsEnvironment::from_env()?))?;
        if config.warm_up_on_init {
            app.users.table().warm_up().await;
        }
        Ok(app)
    }
}

/// A verified caller, made from a request by the pipeline alone; it names itself in the
/// audit trail.
pub trait Authenticate: Sized + Send + Audited {
    fn authenticate(app: &App, dialect: Dialect, request: &Request) -> ApiResult<Self>;

    /// What the pipeline calls: [`Authenticate::authenticate`], unless the caller needs the
    /// table to be verified (a console session: its operator's item).
    fn verify(
        app: &'static App,
        dialect: Dialect,
        request: &Request,
    ) -> impl Future<Output = ApiResult<Self>> + Send {
        std::future::ready(Self::authenticate(app, dialect, request))
    }

    /// The console session this caller came with, renewed on every answer (sliding lifetime).
    fn console_session(&self) -> Option<&ConsoleSession> {
        None
    }
}

/// A console session from the request's cookie, checked for what the request does before any
/// work: a write (any method but GET and HEAD) needs the session's `X-CSRF-Token` and, when
/// the browser sends `Origin`, the request's own origin. The returned future confirms it
/// against the operator's item (one GetItem) and requires `role`.
fn console_operator(
    app: &'static App,
    request: &Request,
    role: Role,
) -> impl Future<Output = ApiResult<Operator>> + Send + use<> {
    let checked = console_session_of(app, request);
    let source_ip = source_ip(request);
    async move {
        let session = checked?;
        let console = Console::new(&app.users, &app.console, source_ip);
        let operator = console.confirm(session).await?;
        operator.require(role)?;
        Ok(operator)
    }
}

/// The cookie's session, with a write's CSRF token and `Origin` checked.
fn console_session_of(app: &App, request: &Request) -> ApiResult<ConsoleSession> {
    let cookie = header(request, "cookie")
        .and_then(console_session::cookie_value)
        .ok_or(ApiError::Unauthorized(console_session::NO_SESSION))?;
    let session = app.console.verify(cookie)?;
    if is_write(request) {
        let csrf = header(request, "x-csrf-token").unwrap_or("");
        if !app.console.csrf_matches(&session, csrf) {
            return Err(ApiError::Forbidden(
                "X-CSRF-Token: missing or not this console session's",
            ));
        }
        same_origin(request)?;
    }
    Ok(session)
}

/// What a method other than GET, HEAD and OPTIONS is: a write.
fn is_write(request: &Request) -> bool {
    !matches!(request.method().as_str(), "GET" | "HEAD" | "OPTIONS")
}

/// 403 unless `Origin`, when the browser sends it, is the request's own origin: the `Host`
/// the request was sent to (and the scheme of `X-Forwarded-Proto`, when a proxy says it).
fn same_origin(request: &Request) -> ApiResult<()> {
    let Some(origin) = request.headers().get("origin") else {
        return Ok(());
    };
    const FOREIGN: ApiError = ApiError::Forbidden("Origin: not this console's own origin");
    let origin = origin.to_str().map_err(|_| FOREIGN)?;
    let (scheme, host) = origin.split_once("://").ok_or(FOREIGN)?;
    let own_host = header(request, "host").ok_or(FOREIGN)?;
    let scheme_ok =
        header(request, "x-forwarded-proto").is_none_or(|proto| proto.eq_ignore_ascii_case(scheme));
    if scheme_ok && host.eq_ignore_ascii_case(own_host) {
        Ok(())
    } else {
        Err(FOREIGN)
    }
}

/// The role a `userve` request needs from an operator: reads any, account changes admin,
/// every other write (profile updates, batch updates) editor.
fn role_for(request: &Request) -> Role {
    if !is_write(request) {
        Role::Viewer
    } else if signed_path(request).contains("/user/account/") {
        Role::Admin
    } else {
        Role::Editor
    }
}

impl Authenticate for Operator {
    /// Never called: an operator is confirmed against its item ([`Self::verify`]).
    fn authenticate(_: &App, _: Dialect, _: &Request) -> ApiResult<Self> {
        Err(ApiError::Internal(
            "an operator is verified asynchronously".into(),
        ))
    }

    fn verify(
        app: &'static App,
        _dialect: Dialect,
        request: &Request,
    ) -> impl Future<Output = ApiResult<Self>> + Send {
        console_operator(app, request, Role::Viewer)
    }

    fn console_session(&self) -> Option<&ConsoleSession> {
        Some(self.session())
    }
}

impl Authenticate for Server {
    /// MinApp's `userve` endpoints also take an operator's console cookie (when no
    /// `Authorization` is sent), within the operator's role ([`role_for`]): the operator is
    /// the caller in the trail and the records. A signature or server token stays what it is.
    fn verify(
        app: &'static App,
        dialect: Dialect,
        request: &Request,
    ) -> impl Future<Output = ApiResult<Self>> + Send {
        let console = dialect == Dialect::MinApp
            && !request.headers().contains_key("authorization")
            && header(request, "cookie")
                .is_some_and(|c| console_session::cookie_value(c).is_some())
            && signed_path(request).contains("/userve/");
        let (by_operator, by_key) = if console {
            (
                Some(console_operator(app, request, role_for(request))),
                None,
            )
        } else {
            (None, Some(Self::authenticate(app, dialect, request)))
        };
        async move {
            match (by_operator, by_key) {
                (Some(operator), _) => operator.await.map(Server::by_operator),
                (None, Some(verified)) => verified,
                (None, None) => Err(ApiError::Internal("no credential checked".into())),
            }
        }
    }

    fn console_session(&self) -> Option<&ConsoleSession> {
        self.operator().map(Operator::session)
    }

    /// A Qiniu signature over the request as sent; MinApp's admin endpoints also take its
    /// open-API server token.
    fn authenticate(app: &App, dialect: Dialect, request: &Request) -> ApiResult<Self> {
        let authorization = header(request, "authorization");
        if dialect == Dialect::MinApp && is_bearer(request) {
            return app.server_tokens.server(authorization, now());
        }
        let path = signed_path(request);
        let query = request.uri().query().unwrap_or("");
        let parts = SignedParts::new(
            request.method().as_str(),
            &path,
            query,
            request.headers(),
            request.body().as_ref(),
        );
        app.qiniu.server(authorization, &parts, now())
    }
}

impl Authenticate for Session {
    /// A client token, read where the dialect's clients send it.
    fn authenticate(app: &App, dialect: Dialect, request: &Request) -> ApiResult<Self> {
        let token = dialect
            .client_token(request)
            .ok_or(ApiError::Unauthorized(match dialect {
                Dialect::Deepin => "missing Access-Token header",
                _ => "missing Authorization header",
            }))?;
        app.tokens.session(&token)
    }
}

impl Authenticate for Anonymous {
    /// Anyone; but a MinApp client that names its app (`X-Hydrogen-Client-ID`, which every
    /// MinApp SDK sends) must name this deployment's, so a client built for another app fails
    /// loudly instead of getting tokens it would take for that app's.
    fn authenticate(app: &App, dialect: Dialect, request: &Request) -> ApiResult<Self> {
        match dialect.client_id(request) {
            Some(id) if id != app.app_id => Err(ApiError::Unauthorized(
                "X-Hydrogen-Client-ID: not this app's client ID",
            )),
            _ => Ok(Anonymous),
        }
    }
}

impl Authenticate for Registrant {
    /// Anyone, as [`Anonymous`]; but a client token, when the request presents one (MinApp's
    /// SDKs send the session they have stored), must verify (signature, expiry) and be this
    /// app's (`APP_ID`), else 401 before any work: a register never falls back to a plain
    /// sign-up for a token it cannot trust. Revocation is checked by the sign-up's own read.
    fn authenticate(app: &App, dialect: Dialect, request: &Request) -> ApiResult<Self> {
        Anonymous::authenticate(app, dialect, request)?;
        let Some(token) = dialect.client_token(request) else {
            return Ok(Registrant::new(None));
        };
        let session = app.tokens.session(&token)?;
        if session.claims().app_id != app.app_id {
            return Err(ApiError::Unauthorized("token: not this app's (APP_ID)"));
        }
        Ok(Registrant::new(Some(session)))
    }
}

impl Authenticate for Lookup {
    /// A signature (which names its scheme) or a client token when one is presented, and it
    /// must be valid: an authenticated caller sees every user. Without credentials: an
    /// anonymous caller while lookups are public, else 401.
    fn authenticate(app: &App, dialect: Dialect, request: &Request) -> ApiResult<Self> {
        if is_signature(request) {
            Server::authenticate(app, dialect, request).map(Lookup::Server)
        } else if dialect.client_token(request).is_some() || !app.deepin_public_lookup {
            Session::authenticate(app, dialect, request).map(Lookup::Client)
        } else {
            Ok(Lookup::Anonymous)
        }
    }
}

/// One authenticated request, as a handler sees it: the caller `C` verified, the request's
/// parts to read its input from.
pub struct Call<C> {
    app: &'static App,
    dialect: Dialect,
    /// API Gateway's request id (else Lambda's), never the client's `X-Reqid`.
    pub request_id: String,
    caller: C,
    request: Request,
    /// The `Set-Cookie` of the answer, when the handler sets one (console login and logout);
    /// else a console caller's renewed session.
    set_cookie: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

impl Call<Server> {
    /// Every operation, for an app server.
    pub fn users(&self) -> &'static Users {
        &self.app.users
    }

    /// MinApp's `user_profile` operations.
    pub fn user_profiles(&self) -> UserProfiles<'static> {
        UserProfiles::new(&self.app.users)
    }

    /// The token request in the query (`app_id`, `user_id`, `device_id`, `expires_at`).
    pub fn token_request(&self) -> ApiResult<TokenRequest> {
        TokenRequest::from_query(
            |name| self.query_first(name),
            now(),
            self.app.token_max_ttl_seconds,
        )
    }

    /// Client token signing keys.
    pub fn tokens(&self) -> &'static TokenKeys {
        &self.app.tokens
    }
}

impl Call<Session> {
    /// The caller's verified (not yet revocation-checked) session.
    pub fn session(&self) -> &Session {
        &self.caller
    }

    /// The operations a client may run: each checks that the session was not revoked.
    pub fn client(&self) -> Client<'_> {
        Client::new(&self.app.users, &self.caller)
    }
}

impl Call<Anonymous> {
    /// MinApp's open-API step 1: a code for a right AK/SK pair, whose holder the trail then
    /// names as the caller.
    pub fn authorize(&self, request: &AuthorizeRequest) -> ApiResult<AuthorizationCode> {
        let code = self.app.server_tokens.authorize(request, now())?;
        audit::set_actor(audit::Actor::client_credentials(&request.client_id));
        Ok(code)
    }

    /// MinApp's open-API step 2: a server token for a right pair (and code). Its issue is
    /// an audit line, not a stored record: the flow stays stateless, with no table access.
    pub async fn server_token(&self, grant: &TokenGrant) -> ApiResult<ServerToken> {
        let token = self.app.server_tokens.access_token(grant, now())?;
        let (TokenGrant::AuthorizationCode { client_id, .. }
        | TokenGrant::ClientCredentials { client_id, .. }) = grant;
        audit::set_actor(audit::Actor::client_credentials(client_id));
        let issued = audit::Event::ServerTokenIssued;
        self.app
            .users
            .table()
            .audit(audit::Subject::Nobody, issued)
            .await;
        Ok(token)
    }

    /// Signs a new anonymous user up (MinApp's anonymous login), under the same switch and
    /// source IP limit as any sign-up.
    pub async fn sign_up_anonymous(&self) -> ApiResult<SignedIn> {
        self.sign_up_open()?;
        self.sessions().sign_up_anonymous().await
    }

    /// Logs `credentials` in, within the login limits of its identifier and its source IP.
    pub async fn log_in(&self, credentials: &Credentials) -> ApiResult<SignedIn> {
        self.sessions().log_in(credentials).await
    }
}

impl Call<Registrant> {
    /// Signs `credentials` up (MinApp's `register`), within its source IP's sign-up limit,
    /// unless public sign-up is switched off (`PUBLIC_SIGNUP`): 403. With the verified session
    /// of a presented token ([`Sessions::register`]): an anonymous user's registers that user
    /// (same id), any other user's signs a new user up, a revoked one is a 401.
    pub async fn sign_up(&self, credentials: &Credentials) -> ApiResult<SignedIn> {
        self.sign_up_open()?;
        let session = self.caller.session();
        self.sessions().register(credentials, session).await
    }
}

/// Sign-up and login, for the public callers.
impl<C> Call<C> {
    /// Self sign-up is open unless `PUBLIC_SIGNUP=false`: then 403 before any work.
    fn sign_up_open(&self) -> ApiResult<()> {
        if self.app.public_signup {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "sign-up is closed: this app creates its users itself",
            ))
        }
    }

    fn console_ops(&self) -> Console<'static> {
        Console::new(&self.app.users, &self.app.console, self.source_ip())
    }

    /// The answer's `Set-Cookie`.
    fn set_cookie(&self, value: String) {
        if let Ok(mut cookie) = self.set_cookie.lock() {
            *cookie = Some(value);
        }
    }

    fn sessions(&self) -> Sessions<'_> {
        Sessions::new(&self.app.users, self.app.app_id.clone(), &self.app.tokens)
            .from_ip(self.source_ip())
    }
}

impl Call<Anonymous> {
    /// `POST /console/session`: an operator's login (from the console's own origin), under
    /// the login limits; the answer sets the session cookie.
    pub async fn console_log_in(&self) -> ApiResult<crate::console::SessionView> {
        same_origin(&self.request)?;
        let body = self.json()?;
        let (view, token) = self.console_ops().log_in(&body).await?;
        let operator = audit::Actor {
            caller_id: Some(view.username.clone()),
            ..audit::Actor::operator()
        };
        audit::set_actor(operator);
        self.set_cookie(console_session::set_cookie(&token, view.expires_in));
        Ok(view)
    }
}

impl Call<Operator> {
    /// The logged-in operator (its role confirmed against its item).
    pub fn operator(&self) -> &Operator {
        &self.caller
    }

    /// The console's operations, for this operator.
    pub fn console(&self) -> Console<'static> {
        self.console_ops()
    }

    /// `GET /console/session`: who is logged in, with the session's CSRF token (the cookie is
    /// renewed like on every console request).
    pub fn session_view(&self) -> crate::console::SessionView {
        let operator = &self.caller;
        self.console().view(operator.session(), operator.role())
    }

    /// `DELETE /console/session`: the session (and every other of the operator) is void and
    /// the cookie cleared.
    pub async fn log_out(&self) -> ApiResult<crate::console::Done> {
        let done = self.console().log_out(&self.caller).await?;
        self.set_cookie(console_session::set_cookie("", 0));
        Ok(done)
    }
}

impl Call<Lookup> {
    /// Deepin's lookups, with a client caller's session checked beside them, an anonymous
    /// caller's source IP limited.
    pub fn lookup(&self) -> Lookups<'_> {
        Lookups::new(&self.app.users, &self.caller).from_ip(self.source_ip())
    }
}

impl<C> Call<C> {
    /// The dialect this endpoint speaks.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The caller's address, from API Gateway's request context (never a header); `None`
    /// only in process.
    pub fn source_ip(&self) -> Option<IpAddr> {
        source_ip(&self.request)
    }

    /// A request header as text (absent or not visible ASCII: `None`).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.request, name)
    }

    /// The raw body (API Gateway's base64 already decoded).
    pub fn body(&self) -> &[u8] {
        self.request.body().as_ref()
    }

    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
    }

    /// A numeric path parameter (MinApp's `{id}`): a positive integer, else a 400 naming it.
    pub fn path_number(&self, name: &str) -> ApiResult<i64> {
        self.path_param(name)?
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| ApiError::invalid(name, "must be a positive integer"))
    }

    /// A numeric path parameter followed by one fixed segment (the console's
    /// `/console/users/{id}/revoke`): a positive integer, else a 400 naming it.
    pub fn path_number_before_action(&self, name: &str) -> ApiResult<i64> {
        let routed = self
            .request
            .path_parameters_ref()
            .and_then(|p| p.first(name))
            .is_some();
        let raw_path = signed_path(&self.request);
        let mut segments = raw_path.trim_end_matches('/').rsplit('/');
        segments
            .nth(1)
            .filter(|_| routed)
            .and_then(|s| s.parse::<i64>().ok())
            .filter(|n| *n > 0)
            .ok_or_else(|| ApiError::invalid(name, "must be a positive integer"))
    }

    /// The query string as received, without `?` (for links that repeat it).
    pub fn raw_query(&self) -> &str {
        self.request.uri().query().unwrap_or("")
    }

    /// Every query parameter, decoded, in the order sent.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        crate::query::query_pairs(self.raw_query())
    }

    /// The path and query of this request, for paging links.
    pub fn origin(&self) -> Origin {
        Origin {
            path: signed_path(&self.request),
            raw_query: self.raw_query().to_string(),
        }
    }

    /// The first value of a query parameter.
    pub fn query_first(&self, name: &str) -> Option<&str> {
        self.request
            .query_string_parameters_ref()
            .and_then(|q| q.first(name))
    }

    /// The `{user_id}` path parameter, validated like any user id.
    pub fn path_user_id(&self) -> ApiResult<String> {
        let id = self.path_param("user_id")?;
        validate_user_id("user_id", &id)
    }

    /// A path parameter, decoded exactly once. API Gateway hands parameters already decoded
    /// and `cargo lambda watch` hands them encoded, so neither form can be trusted to decode;
    /// the raw path is always as the client encoded it. Every route's parameter is its last
    /// segment (a wiring test keeps it so), which is where it is read from.
    pub fn path_param(&self, name: &str) -> ApiResult<String> {
        let routed = self
            .request
            .path_parameters_ref()
            .and_then(|p| p.first(name))
            .is_some();
        let raw_path = signed_path(&self.request);
        let segment = raw_path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .filter(|s| routed && !s.is_empty())
            .ok_or_else(|| ApiError::invalid(name, "path parameter is required"))?;
        percent_encoding::percent_decode_str(segment)
            .decode_utf8()
            .map(|decoded| decoded.into_owned())
            .map_err(|_| ApiError::invalid(name, "must be UTF-8"))
    }

    /// Every value of a repeated query parameter (`user_ids=a&user_ids=b`).
    pub fn query_all(&self, name: &str) -> Vec<&str> {
        self.request
            .query_string_parameters_ref()
            .and_then(|q| q.all(name))
            .unwrap_or_default()
    }

    pub fn has_body(&self) -> bool {
        !self.request.body().iter().all(u8::is_ascii_whitespace)
    }

    /// The body as JSON; empty or malformed bodies, or a body not sent as JSON, are a 400
    /// naming `body` (or `Content-Type`).
    pub fn json(&self) -> ApiResult<Value> {
        let body = self.request.body().as_ref();
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::invalid("body", "a JSON body is required"));
        }
        if !self.content_type().is_some_and(is_json_media_type) {
            return Err(ApiError::invalid(
                "Content-Type",
                "must be application/json for a JSON body",
            ));
        }
        serde_json::from_slice(body)
            .map_err(|e| ApiError::invalid("body", format!("malformed JSON: {e}")))
    }
}

/// The source address from the request context API Gateway sets (HTTP API v2
/// `requestContext.http.sourceIp`, REST v1 `requestContext.identity.sourceIp`; `cargo lambda
/// watch` sets the v2 one too). Never a header: `X-Forwarded-For` is the caller's to write.
fn source_ip(request: &Request) -> Option<IpAddr> {
    let ip = match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(c) => c.http.source_ip.as_deref(),
        RequestContext::ApiGatewayV1(c) => c.identity.source_ip.as_deref(),
        #[allow(unreachable_patterns)]
        _ => None,
    };
    ip?.trim().parse().ok()
}

fn header<'r>(request: &'r Request, name: &str) -> Option<&'r str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}

/// `application/json`, with or without parameters (`; charset=utf-8`), any case.
fn is_json_media_type(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

/// A body sent as it is rather than in the dialect's JSON form (the operator console's page
/// and assets): 200 with its content type and headers. Errors stay the dialect's.
#[derive(Debug, Clone)]
pub struct Page {
    pub content_type: &'static str,
    pub body: &'static [u8],
    /// Further headers, such as `Cache-Control` and `Content-Security-Policy`.
    pub headers: &'static [(&'static str, &'static str)],
}

/// What a handler may answer: any serialisable value (sent as JSON in the dialect's form) or
/// a [`Page`] (sent as is).
pub trait Reply {
    fn into_answer(self) -> ApiResult<Answer>;
}

#[doc(hidden)]
pub enum Answer {
    Json(Value),
    Page(Page),
}

impl<T: Serialize> Reply for T {
    fn into_answer(self) -> ApiResult<Answer> {
        serde_json::to_value(self)
            .map(Answer::Json)
            .map_err(|e| ApiError::Internal(format!("serialise response: {e}")))
    }
}

impl Reply for Page {
    fn into_answer(self) -> ApiResult<Answer> {
        Ok(Answer::Page(self))
    }
}

/// Runs a function: builds the [`App`] once, then serves `handler` until the runtime stops.
pub async fn run<C, F, Fut, T>(endpoint: Endpoint<C>, handler: F) -> Result<(), lambda_http::Error>
where
    C: Authenticate + Send + 'static,
    F: Fn(Call<C>) -> Fut + Copy + Send + 'static,
    Fut: Future<Output = ApiResult<T>> + Send,
    T: Reply,
{
    crate::logging::init();
    let app: &'static App = Box::leak(Box::new(App::from_env().await?));
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, std::convert::Infallible>(respond(app, endpoint, handler, request).await)
    }))
    .await
}

/// Runs a function that Step Functions invokes (not an HTTP route) with one event of type
/// `E`: the same configuration, client and logging as every endpoint, the handler given the
/// operations. Its error fails the invocation (the state machine retries it, then reports).
pub async fn run_event<E, F, Fut, T>(handler: F) -> Result<(), lambda_http::Error>
where
    E: serde::de::DeserializeOwned + Send + 'static,
    F: Fn(&'static Users, E) -> Fut + Copy + Send + 'static,
    Fut: Future<Output = ApiResult<T>> + Send,
    T: Serialize,
{
    use lambda_http::lambda_runtime::{LambdaEvent, run, service_fn};
    crate::logging::init();
    let app: &'static App = Box::leak(Box::new(App::from_env().await?));
    run(service_fn(move |event: LambdaEvent<E>| async move {
        tracing::info!(request_id = %event.context.request_id, "event");
        handler(&app.users, event.payload)
            .await
            .map_err(|e| format!("{e}: {}", e.detail().unwrap_or("")))
    }))
    .await
}

/// Handles one request end to end; never fails, never panics on input. The whole request,
/// authentication and every store call of the handler, runs within one deadline
/// ([`request_deadline`]), so it answers in its dialect's own form before the function times
/// out.
pub async fn respond<C, F, Fut, T>(
    app: &'static App,
    endpoint: Endpoint<C>,
    handler: F,
    request: Request,
) -> Response<Body>
where
    C: Authenticate,
    F: Fn(Call<C>) -> Fut,
    Fut: Future<Output = ApiResult<T>>,
    T: Reply,
{
    let started = Instant::now();
    let request_id = request_id(&request);
    let client_reqid = client_reqid(&request);
    // Echoed as before: the client's own id when it sent one, else the gateway's.
    let echoed = client_reqid.clone().unwrap_or_else(|| request_id.clone());
    let context = audit::Context {
        request_id: request_id.clone(),
        client_reqid,
        source_ip: source_ip(&request),
        route: route(&request),
    };
    let dialect = endpoint.dialect;
    let deadline = request_deadline(&request, app.users.budget());
    let origin = header(&request, "origin").map(str::to_string);
    audit::within(context, async move {
        if cors::is_preflight(&request) {
            let response = cors::preflight(&app.cors, origin.as_deref());
            let allowed = response
                .headers()
                .contains_key("access-control-allow-origin");
            tracing::info!(status = 204, preflight = true, allowed);
            return response;
        }
        let set_cookie = std::sync::Arc::new(std::sync::Mutex::new(None));
        let cookie = set_cookie.clone();
        let result = within_deadline(deadline, async move {
            check_body(&request)?;
            // On the heap too: a console caller's confirmation is a store call.
            let caller = Box::pin(C::verify(app, dialect, &request)).await?;
            audit::set_actor(caller.actor());
            if let Some(session) = caller.console_session() {
                let (token, _) = app.console.renew(session, now())?;
                *cookie
                    .lock()
                    .map_err(|_| ApiError::Internal("cookie lock".into()))? = Some(
                    console_session::set_cookie(&token, console_session::SESSION_SECONDS),
                );
            }
            let call = Call {
                app,
                dialect,
                request_id,
                caller,
                request,
                set_cookie: cookie,
            };
            // On the heap: a handler future is large in debug builds, and tests poll it on a
            // 2 MiB thread stack.
            Box::pin(handler(call)).await?.into_answer()
        })
        .await;
        let (status, body) = match &result {
            Ok(Answer::Json(data)) => dialect.success(&echoed, endpoint.success_status(), data),
            Ok(Answer::Page(_)) => (200, String::new()),
            Err(e) => dialect.error(&echoed, e),
        };
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        let dialect = dialect.name();
        // The trail's fields (ids, source IP, route, caller, target) come with every line.
        match &result {
            Ok(_) => tracing::info!(dialect, status, code = 0, latency_ms),
            Err(e) => {
                let (code, error) = (e.code(), e.kind());
                if let Some(detail) = e.detail() {
                    tracing::error!(dialect, status, code, latency_ms, error, detail);
                } else {
                    tracing::info!(dialect, status, code, latency_ms, error);
                }
            }
        }
        let mut response = match &result {
            Ok(Answer::Page(page)) => page_response(&echoed, page),
            _ => json_response(&echoed, status, body),
        };
        // A limit's 429 says when its window frees, in every dialect.
        if let Some(seconds) = result.as_ref().err().and_then(ApiError::retry_after) {
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from(seconds.max(1)));
        }
        let set_cookie = set_cookie.lock().ok().and_then(|mut c| c.take());
        if let Some(value) = set_cookie.and_then(|v| HeaderValue::from_str(&v).ok()) {
            response.headers_mut().insert("set-cookie", value);
        }
        cors::mark(&app.cors, origin.as_deref(), &mut response);
        response
    })
    .await
}

/// The handler of paths and methods this service does not serve (calls of a client SDK that
/// are outside the product, such as MinApp's email verification or SMS): a 404 in the
/// dialect's own form naming the route, after the caller checks every handler gets.
pub async fn not_served<C>(call: Call<C>) -> ApiResult<()> {
    let path = call.request.uri().path().to_string();
    Err(ApiError::NotServed(format!(
        "{} {path} is not served by this service",
        call.request.method()
    )))
}

/// When the request must have its answer: `budget` from now, and never later than the
/// invocation's own deadline (Lambda's, from the runtime) less [`ANSWER_ROOM`]. A deadline
/// that leaves no room at all is not a real invocation's (emulators such as `cargo lambda
/// watch` send one already past): the budget alone decides then.
pub fn request_deadline(request: &Request, budget: Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    let by_budget = now + budget;
    let left = request
        .lambda_context_ref()
        .map(|c| c.deadline)
        .map(|ms| SystemTime::UNIX_EPOCH + Duration::from_millis(ms))
        .and_then(|deadline| deadline.duration_since(SystemTime::now()).ok())
        .filter(|left| *left > ANSWER_ROOM);
    match left {
        Some(left) => by_budget.min(now + (left - ANSWER_ROOM)),
        None => by_budget,
    }
}

fn check_body(request: &Request) -> ApiResult<()> {
    let body: &[u8] = request.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::invalid(
            "body",
            format!("must be at most {MAX_BODY_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// Whether `Authorization` names the Bearer scheme (any case, as RFC 9110 allows).
fn is_bearer(request: &Request) -> bool {
    request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.trim_start().get(..7))
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("bearer "))
}

/// Whether `Authorization` holds a Qiniu signature rather than a token.
fn is_signature(request: &Request) -> bool {
    request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.starts_with("Qiniu ") || a.starts_with("QBox "))
}

/// The path as the client sent it: the event's raw path when there is one (the URI that
/// lambda_http rebuilds is normalised), with the stage prefix the client also sent.
fn signed_path(request: &Request) -> String {
    let uri_path = request.uri().path();
    let raw = request.raw_http_path();
    let stage_prefixed = uri_path.len() > raw.len() && uri_path.ends_with(raw);
    if raw.is_empty() || stage_prefixed {
        uri_path.to_string()
    } else {
        raw.to_string()
    }
}

/// 1..64 printable ASCII, no spaces: what may be echoed and logged as an id.
fn sane_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_graphic())
}

/// API Gateway's request id, else Lambda's: never the client's `X-Reqid`, which anyone can
/// forge; this one joins the log line to API Gateway's access log.
fn request_id(request: &Request) -> String {
    let gateway = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(c)) => c.request_id.clone(),
        Some(RequestContext::ApiGatewayV1(c)) => c.request_id.clone(),
        _ => None,
    };
    gateway
        .filter(|id| sane_id(id))
        .or_else(|| {
            request
                .lambda_context_ref()
                .map(|c| c.request_id.clone())
                .filter(|id| sane_id(id))
        })
        .unwrap_or_else(|| "-".to_string())
}

/// The client's `X-Reqid` when sane, logged in its own field and echoed.
fn client_reqid(request: &Request) -> Option<String> {
    header(request, "x-reqid")
        .filter(|id| sane_id(id))
        .map(str::to_string)
}

/// The route template for logs (`GET /server/user/info/{user_id}`), never the raw path.
fn route(request: &Request) -> String {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(c))
            if c.route_key.as_deref().is_some_and(|k| k != "$default") =>
        {
            c.route_key.clone().unwrap_or_default()
        }
        Some(RequestContext::ApiGatewayV1(c)) if c.resource_path.is_some() => {
            format!(
                "{} {}",
                request.method(),
                c.resource_path.clone().unwrap_or_default()
            )
        }
        // cargo lambda watch sends no route key: the function names the route.
        _ => format!(
            "{} {}",
            request.method(),
            std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default()
        ),
    }
}

/// The response every dialect sends: JSON, with the request id echoed in `X-Reqid`.
fn json_response(request_id: &str, status: u16, body: String) -> Response<Body> {
    let mut response = Response::new(Body::Text(body));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("x-reqid", v);
    }
    response
}

/// A [`Page`] as is: text as text, anything else as binary (API Gateway base64-encodes it).
fn page_response(request_id: &str, page: &Page) -> Response<Body> {
    let body = match std::str::from_utf8(page.body) {
        Ok(text) if page.content_type.starts_with("text/") => Body::Text(text.to_string()),
        _ => Body::Binary(page.body.to_vec()),
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static(page.content_type));
    for (name, value) in page.headers {
        headers.insert(*name, HeaderValue::from_static(value));
    }
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("x-reqid", v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::Context;

    fn invoked_with(deadline: Option<SystemTime>) -> Request {
        let request = Request::default();
        match deadline {
            None => request,
            Some(at) => {
                let mut context = Context::default();
                context.deadline = at
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
                    .unwrap_or(0);
                request.with_lambda_context(context)
            }
        }
    }

    fn left(request: &Request, budget: Duration) -> Duration {
        request_deadline(request, budget).saturating_duration_since(tokio::time::Instant::now())
    }

    #[tokio::test]
    async fn the_request_ends_before_the_invocation_does() {
        let budget = Duration::from_secs(9);
        // Lambda's deadline 5 s ahead: the request ends 1 s before it.
        let soon = invoked_with(Some(SystemTime::now() + Duration::from_secs(5)));
        let l = left(&soon, budget);
        assert!(
            l <= Duration::from_secs(4) && l > Duration::from_millis(3900),
            "{l:?}"
        );
        // A later invocation deadline leaves the budget in charge.
        let late = invoked_with(Some(SystemTime::now() + Duration::from_secs(60)));
        assert!(left(&late, budget) > Duration::from_millis(8900));
        // No context, or an emulator's deadline already past: the budget alone.
        for request in [
            invoked_with(None),
            invoked_with(Some(SystemTime::now() - Duration::from_secs(1))),
        ] {
            assert!(left(&request, budget) > Duration::from_millis(8900));
        }
    }
}
