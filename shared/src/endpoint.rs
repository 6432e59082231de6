//! Everything every function does around its one domain operation, written once for every
//! dialect: request id, authentication, body limits, the response shape and error mapping
//! (both per [`Dialect`]) and the log line.

use std::future::Future;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use lambda_http::http::{HeaderValue, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response, service_fn};
use serde::Serialize;
use serde_json::Value;

pub use crate::dialect::{Auth, Dialect, Endpoint};

use crate::auth::qiniu::{QiniuVerifier, SignedParts};
use crate::auth::server_token::ServerTokens;
use crate::auth::token::{Claims, TokenKeys, TokenRequest};
use crate::config::{AwsEnvironment, Config, LoginPolicy};
use crate::error::{ApiError, ApiResult};
use crate::store::UserTable;
use crate::user::validate_user_id;
use crate::users::{Users, now};

/// Largest request body accepted (API Gateway would take 10 MB; no valid request needs 1).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What a function needs for its whole life, built once per process.
#[derive(Debug)]
pub struct App {
    pub users: Users,
    qiniu: QiniuVerifier,
    server_tokens: ServerTokens,
    tokens: TokenKeys,
    token_max_ttl_seconds: i64,
    deepin_public_lookup: bool,
    login: LoginPolicy,
}

impl App {
    pub fn new(config: &Config, client: Client) -> Self {
        App {
            users: Users::new(
                UserTable::new(client, &config.table_name),
                &config.im_username_prefix,
            )
            .with_minapp(config.user_fields.clone(), config.list_max_examined),
            qiniu: QiniuVerifier::new(
                config.access_keys.clone(),
                config.date_skew_seconds,
                config.require_qiniu_date,
            ),
            server_tokens: ServerTokens::new(&config.access_keys),
            tokens: TokenKeys::new(&config.token_secrets),
            token_max_ttl_seconds: config.token_max_ttl_seconds,
            deepin_public_lookup: config.deepin_public_lookup,
            login: config.login,
        }
    }

    /// MinApp's open-API codes and server tokens.
    pub fn server_tokens(&self) -> &ServerTokens {
        &self.server_tokens
    }

    /// Client token signing and verification keys.
    pub fn tokens(&self) -> &TokenKeys {
        &self.tokens
    }

    /// The brute-force policy of the logins.
    pub fn login_policy(&self) -> LoginPolicy {
        self.login
    }

    /// Configuration from the environment and one SDK client for the process, warmed up
    /// unless `WARM_UP_ON_INIT=false`: the first request then finds the connection open (see
    /// [`UserTable::warm_up`] and BENCHMARKS.md for what it costs and saves).
    pub async fn from_env() -> Result<Self, lambda_http::Error> {
        let config = Config::from_env()?;
        let app = App::new(&config, dynamodb_client(&AwsEnvironment::from_env()?));
        if config.warm_up_on_init {
            app.users.table().warm_up().await;
        }
        Ok(app)
    }
}

/// Amazon Trust Services roots: every AWS endpoint's certificate chains to one of them.
const AMAZON_ROOTS: &[u8] = include_bytes!("amazon-roots.pem");

/// The DynamoDB client, built once per process. Against AWS it trusts Amazon's roots only, so
/// no system certificate bundle is read and parsed on the first connection; an `https://`
/// custom endpoint (LocalStack, a proxy) keeps the system roots, an `http://` one (DynamoDB
/// Local) gets no TLS at all. Standard retries (3 attempts) inside bounded timeouts, so a
/// request never outlives the function's own timeout.
pub fn dynamodb_client(aws: &AwsEnvironment) -> Client {
    let endpoint = aws.endpoint_url.as_deref();
    let http = if endpoint.is_some_and(|url| url.starts_with("http://")) {
        // DynamoDB Local: plain HTTP, no TLS set-up at all.
        aws_smithy_http_client::Builder::new().build_http()
    } else {
        let trust = match endpoint {
            None => TrustStore::empty()
                .with_native_roots(false)
                .with_pem_certificate(AMAZON_ROOTS),
            Some(_) => TrustStore::default(),
        };
        let tls = TlsContext::builder()
            .with_trust_store(trust)
            .build()
            .expect("a trust store without extra server names is valid");
        aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::AwsLc,
            ))
            .tls_context(tls)
            .build_https()
    };
    let credentials = Credentials::new(
        &aws.access_key_id,
        String::from_utf8_lossy(aws.secret_access_key.expose()),
        aws.session_token
            .as_ref()
            .map(|t| String::from_utf8_lossy(t.expose()).into_owned()),
        None,
        "lambda-environment",
    );
    let mut config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(aws.region.clone()))
        .credentials_provider(credentials)
        .http_client(http)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(2))
                .operation_timeout(Duration::from_secs(6))
                .build(),
        );
    if let Some(url) = &aws.endpoint_url {
        config = config.endpoint_url(url);
    }
    Client::from_conf(config.build())
}

/// The verified caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Server {
        access_key: String,
    },
    Client(Claims),
    /// A public endpoint's caller: nothing was verified.
    Anonymous,
}

/// One authenticated request, as a handler sees it.
pub struct Call {
    app: &'static App,
    pub request_id: String,
    pub caller: Caller,
    request: Request,
}

impl Call {
    pub fn users(&self) -> &'static Users {
        &self.app.users
    }

    /// The user a client token speaks for.
    pub fn client_user_id(&self) -> ApiResult<&str> {
        match &self.caller {
            Caller::Client(claims) => Ok(&claims.user_id),
            _ => Err(ApiError::Internal(
                "client endpoint served a caller without a client token".into(),
            )),
        }
    }

    /// The token request in the query (`app_id`, `user_id`, `device_id`, `expires_at`).
    pub fn token_request(&self) -> ApiResult<TokenRequest> {
        TokenRequest::from_query(
            |name| self.query_first(name),
            now(),
            self.app.token_max_ttl_seconds,
        )
    }

    /// Client token signing and verification keys.
    pub fn tokens(&self) -> &'static TokenKeys {
        &self.app.tokens
    }

    /// MinApp's open-API codes and server tokens.
    pub fn server_tokens(&self) -> &'static ServerTokens {
        &self.app.server_tokens
    }

    /// The brute-force policy of the logins.
    pub fn login_policy(&self) -> LoginPolicy {
        self.app.login
    }

    /// A request header as text (absent or not visible ASCII: `None`).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
    }

    /// The raw body (API Gateway's base64 already decoded).
    pub fn body(&self) -> &[u8] {
        self.request.body().as_ref()
    }

    pub fn content_type(&self) -> Option<&str> {
        self.request
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
    }

    /// A numeric path parameter (MinApp's `{id}`): a positive integer, else a 400 naming it.
    pub fn path_number(&self, name: &str) -> ApiResult<i64> {
        self.path_param(name)?
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| ApiError::invalid(name, "must be a positive integer"))
    }

    /// The query string as received, without `?` (for links that repeat it).
    pub fn raw_query(&self) -> &str {
        self.request.uri().query().unwrap_or("")
    }

    /// Every query parameter, decoded, in the order sent.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        crate::user_profile::query_pairs(self.raw_query())
    }

    /// The path and query of this request, for paging links.
    pub fn origin(&self) -> crate::user_profile::Origin {
        crate::user_profile::Origin {
            path: signed_path(&self.request),
            raw_query: self.raw_query().to_string(),
        }
    }

    /// A MinApp `user_profile` query from this request's parameters.
    pub fn list_query(&self) -> ApiResult<crate::user_profile::ListQuery> {
        crate::user_profile::ListQuery::parse(&self.query_pairs(), self.users().user_fields())
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
        let content_type = self
            .request
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok());
        if !content_type.is_some_and(is_json_media_type) {
            return Err(ApiError::invalid(
                "Content-Type",
                "must be application/json for a JSON body",
            ));
        }
        serde_json::from_slice(body)
            .map_err(|e| ApiError::invalid("body", format!("malformed JSON: {e}")))
    }
}

/// `application/json`, with or without parameters (`; charset=utf-8`), any case.
fn is_json_media_type(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

/// Runs a function: builds the [`App`] once, then serves `handler` until the runtime stops.
pub async fn run<F, Fut, T>(endpoint: Endpoint, handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(Call) -> Fut + Copy + Send + 'static,
    Fut: Future<Output = ApiResult<T>> + Send,
    T: Serialize,
{
    init_logging();
    let app: &'static App = Box::leak(Box::new(App::from_env().await?));
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, std::convert::Infallible>(respond(app, endpoint, handler, request).await)
    }))
    .await
}

/// Handles one request end to end; never fails, never panics on input.
pub async fn respond<F, Fut, T>(
    app: &'static App,
    endpoint: Endpoint,
    handler: F,
    request: Request,
) -> Response<Body>
where
    F: Fn(Call) -> Fut,
    Fut: Future<Output = ApiResult<T>>,
    T: Serialize,
{
    let started = Instant::now();
    let request_id = request_id(&request);
    let route = route(&request);
    let dialect = endpoint.dialect;
    let result = match authenticate(app, endpoint, &request) {
        Ok(caller) => {
            let call = Call {
                app,
                request_id: request_id.clone(),
                caller,
                request,
            };
            handler(call).await.and_then(|data| {
                serde_json::to_value(data)
                    .map_err(|e| ApiError::Internal(format!("serialise response: {e}")))
            })
        }
        Err(e) => Err(e),
    };
    let (status, body) = match &result {
        Ok(data) => dialect.success(&request_id, endpoint.success_status(), data),
        Err(e) => dialect.error(&request_id, e),
    };
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let dialect = dialect.name();
    match &result {
        Ok(_) => tracing::info!(request_id, dialect, route, status, code = 0, latency_ms),
        Err(e) => {
            let (code, error) = (e.code(), e.kind());
            if let Some(detail) = e.detail() {
                tracing::error!(
                    request_id, dialect, route, status, code, latency_ms, error, detail
                );
            } else {
                tracing::info!(request_id, dialect, route, status, code, latency_ms, error);
            }
        }
    }
    json_response(&request_id, status, body)
}

fn authenticate(app: &App, endpoint: Endpoint, request: &Request) -> ApiResult<Caller> {
    let body: &[u8] = request.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::invalid(
            "body",
            format!("must be at most {MAX_BODY_BYTES} bytes"),
        ));
    }
    let client = || -> ApiResult<Caller> {
        let token = endpoint
            .dialect
            .client_token(request)
            .ok_or(ApiError::Unauthorized(match endpoint.dialect {
                Dialect::Deepin => "missing Access-Token header",
                _ => "missing Authorization header",
            }))?;
        Ok(Caller::Client(app.tokens.verify_token(&token)?))
    };
    match endpoint.auth {
        Auth::Server if endpoint.dialect == Dialect::MinApp && is_bearer(request) => {
            // MinApp's admin endpoints also take its open-API server token.
            let authorization = request
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok());
            let access_key = app.server_tokens.verify_bearer(authorization, now())?;
            Ok(Caller::Server { access_key })
        }
        Auth::Server => server(app, request),
        Auth::Client => client(),
        Auth::Public => Ok(Caller::Anonymous),
        Auth::Lookup if app.deepin_public_lookup => Ok(Caller::Anonymous),
        // Closed lookups take either credential: a signature names its scheme.
        Auth::Lookup if is_signature(request) => server(app, request),
        Auth::Lookup => client(),
    }
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

/// An app server: a Qiniu signature over the request as sent.
fn server(app: &App, request: &Request) -> ApiResult<Caller> {
    let authorization = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    let path = signed_path(request);
    let query = request.uri().query().unwrap_or("");
    let parts = SignedParts::new(
        request.method().as_str(),
        &path,
        query,
        request.headers(),
        request.body().as_ref(),
    );
    let access_key = app.qiniu.verify(authorization, &parts, now())?;
    Ok(Caller::Server {
        access_key: access_key.to_string(),
    })
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

/// `X-Reqid` when sane (1..64 printable ASCII, no spaces), else API Gateway's id, else Lambda's.
fn request_id(request: &Request) -> String {
    let sane = |s: &str| !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_graphic());
    if let Some(id) = request
        .headers()
        .get("x-reqid")
        .and_then(|v| v.to_str().ok())
        && sane(id)
    {
        return id.to_string();
    }
    let gateway = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(c)) => c.request_id.clone(),
        Some(RequestContext::ApiGatewayV1(c)) => c.request_id.clone(),
        _ => None,
    };
    gateway
        .filter(|id| sane(id))
        .or_else(|| {
            request
                .lambda_context_ref()
                .map(|c| c.request_id.clone())
                .filter(|id| sane(id))
        })
        .unwrap_or_else(|| "-".to_string())
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

/// JSON lines on stdout (CloudWatch), level from `RUST_LOG` (default `info`).
fn init_logging() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter: tracing_subscriber::filter::Targets = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| "info".parse().expect("valid default filter"));
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .with_span_list(false)
                .with_target(false),
        )
        .with(filter)
        .try_init();
}
