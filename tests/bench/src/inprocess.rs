//! In-process measurements against DynamoDB Local: each endpoint's handler (through
//! `shared::endpoint::respond`, the code the function runs per request) against the raw SDK
//! calls its operation needs, round trips per operation, and bulk registration.

use std::future::Future;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem};
use futures_util::future::join_all;
use serde::Serialize;
use serde_json::json;
use shared::dialect::{Endpoint, Qiniu};
use shared::endpoint::{Authenticate, Call, respond};
use shared::prelude::*;
use shared::testing::{Caller, Method, RoundTrips, TestApp, TestRequest};
use shared::users::IM_ID_BLOCK;

/// Users every read finds; reads cycle through them.
const SEEDED: usize = 200;
const WARMUP: usize = 20;

/// The handlers of `functions/*/src/main.rs`, one line each, as the bench cannot link binaries.
mod handlers {
    use shared::prelude::*;

    pub async fn register(call: Call<Server>) -> ApiResult<()> {
        call.users()
            .register(NewUser::from_json(&call.json()?, "body")?)
            .await
    }
    pub async fn register_batch(call: Call<Server>) -> ApiResult<BatchFailures> {
        call.users().register_batch(&call.json()?).await
    }
    pub async fn update(call: Call<Server>) -> ApiResult<()> {
        let user_id = call.path_user_id()?;
        call.users()
            .update(&user_id, UserUpdate::from_json(&call.json()?)?)
            .await
    }
    pub async fn info(call: Call<Server>) -> ApiResult<UserInfo> {
        call.users().info(&call.path_user_id()?).await
    }
    pub async fn infos(call: Call<Server>) -> ApiResult<Vec<UserInfo>> {
        let ids = parse_user_ids("user_ids", call.query_all("user_ids"))?;
        call.users().infos(&ids).await
    }
    pub async fn profile(call: Call<Server>) -> ApiResult<UserProfile> {
        call.users().profile(&call.path_user_id()?).await
    }
    pub async fn profiles(call: Call<Server>) -> ApiResult<Vec<UserProfile>> {
        let ids = parse_user_ids("user_ids", call.query_all("user_ids"))?;
        call.users().profiles(&ids).await
    }
    pub async fn token(call: Call<Server>) -> ApiResult<IssuedToken> {
        let request = call.token_request()?;
        call.users().ensure(&request.user_id).await?;
        call.tokens().issue(&request)
    }
    pub async fn client_profile(call: Call<Session>) -> ApiResult<UserProfile> {
        call.client().own().await
    }
    pub async fn client_user(call: Call<Session>) -> ApiResult<UserInfo> {
        call.client().info(&call.path_user_id()?).await
    }
    pub async fn client_users(call: Call<Session>) -> ApiResult<Vec<UserInfo>> {
        let ids = parse_user_ids("user_ids", call.query_all("user_ids"))?;
        call.client().infos(&ids).await
    }
    pub async fn client_update(call: Call<Session>) -> ApiResult<()> {
        let update = UserUpdate::from_json(&call.json()?)?;
        call.client().update(update).await
    }
    pub async fn imusers(call: Call<Session>) -> ApiResult<Vec<UserInfo>> {
        let ids = parse_im_user_ids("im_user_ids", call.query_all("im_user_ids"))?;
        call.client().imusers(&ids).await
    }
}

/// Latencies of one endpoint's handler and of the raw SDK calls it needs, same iterations.
pub struct Overhead {
    pub function: &'static str,
    pub handler: Vec<Duration>,
    pub raw: Vec<Duration>,
}

/// The raw SDK calls each operation needs, made directly on the client.
#[derive(Clone)]
struct Raw {
    client: Client,
    table: String,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn key(user_id: &str) -> std::collections::HashMap<String, AttributeValue> {
    [
        ("pk".into(), s(format!("USER#{user_id}"))),
        ("sk".into(), s("USER")),
    ]
    .into()
}

fn item(user_id: &str, im_userid: i64) -> std::collections::HashMap<String, AttributeValue> {
    let mut item = key(user_id);
    item.extend([
        ("user_id".into(), s(user_id)),
        ("nick".into(), s("")),
        ("avatar".into(), s("")),
        ("extends".into(), AttributeValue::M(Default::default())),
        ("extends_bytes".into(), AttributeValue::N("0".into())),
        ("im_userid".into(), AttributeValue::N(im_userid.to_string())),
        ("im_username".into(), s(format!("ql{user_id}"))),
        ("im_password".into(), s("p".repeat(24))),
        ("created_at".into(), AttributeValue::N("0".into())),
        ("updated_at".into(), AttributeValue::N("0".into())),
    ]);
    item
}

impl Raw {
    async fn get(self, user_id: String) {
        self.client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(&user_id)))
            .consistent_read(true)
            .projection_expression("user_id, nick, avatar, #e, im_userid")
            .expression_attribute_names("#e", "extends")
            .send()
            .await
            .expect("raw GetItem");
    }

    async fn batch_get(self, user_ids: Vec<String>) {
        let keys = aws_sdk_dynamodb::types::KeysAndAttributes::builder()
            .set_keys(Some(user_ids.iter().map(|id| key(id)).collect()))
            .consistent_read(true)
            .projection_expression("user_id, nick, avatar, #e, im_userid")
            .expression_attribute_names("#e", "extends")
            .build()
            .expect("keys set");
        self.client
            .batch_get_item()
            .request_items(&self.table, keys)
            .send()
            .await
            .expect("raw BatchGetItem");
    }

    /// What an update of `extends` needs: a consistent read of the map, then one
    /// conditional UpdateItem that keeps the byte total.
    async fn update(self, user_id: String, n: usize) {
        self.client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(&user_id)))
            .consistent_read(true)
            .projection_expression("user_id, #e, extends_bytes")
            .expression_attribute_names("#e", "extends")
            .send()
            .await
            .expect("raw GetItem");
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&user_id)))
            .update_expression("SET updated_at = :now, nick = :n, #e.#k = :v, #eb = #eb + :d")
            .condition_expression(
                "attribute_exists(pk) AND size(#e) <= :room AND #eb <= :bytes_room",
            )
            .expression_attribute_names("#e", "extends")
            .expression_attribute_names("#eb", "extends_bytes")
            .expression_attribute_names("#k", "k")
            .expression_attribute_values(":n", s(format!("n{n}")))
            .expression_attribute_values(":v", s(format!("v{n}")))
            // Same key each time: the total does not move.
            .expression_attribute_values(":d", AttributeValue::N("0".into()))
            .expression_attribute_values(":now", AttributeValue::N(n.to_string()))
            .expression_attribute_values(":room", AttributeValue::N("63".into()))
            .expression_attribute_values(":bytes_room", AttributeValue::N("8183".into()))
            .send()
            .await
            .expect("raw UpdateItem");
    }

    async fn reserve(&self, n: usize) -> i64 {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s("COUNTER#raw"))
            .key("sk", s("COUNTER"))
            .update_expression("ADD #v :n")
            .expression_attribute_names("#v", "value")
            .expression_attribute_values(":n", AttributeValue::N(n.to_string()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .expect("raw counter");
        out.attributes()
            .and_then(|a| a.get("value"))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .expect("counter value")
    }

    /// Like the domain operation, one counter call per block of IM ids, then the put.
    async fn register(self, user_id: String, n: usize) {
        if n.is_multiple_of(IM_ID_BLOCK + 1) {
            self.reserve(IM_ID_BLOCK + 1).await;
        }
        let id = n as i64;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(&user_id, id)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .expect("raw PutItem");
    }

    async fn register_many(self, user_ids: Vec<String>, n: usize) {
        let per_block = IM_ID_BLOCK / user_ids.len() + 1;
        if n.is_multiple_of(per_block) {
            self.reserve(IM_ID_BLOCK + user_ids.len()).await;
        }
        let first = (n * user_ids.len()) as i64;
        let puts = user_ids.iter().zip(first..).map(|(id, im)| {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item(id, im)))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .expect("put set");
            TransactWriteItem::builder().put(put).build()
        });
        self.client
            .transact_write_items()
            .set_transact_items(Some(puts.collect()))
            .send()
            .await
            .expect("raw TransactWriteItems");
    }

    async fn query(self, im_ids: Vec<i64>) {
        join_all(im_ids.into_iter().map(|id| {
            self.client
                .query()
                .table_name(&self.table)
                .index_name(shared::store::IM_INDEX)
                .key_condition_expression("im_userid = :id")
                .projection_expression("user_id, nick, avatar, #e, im_userid")
                .expression_attribute_names("#e", "extends")
                .expression_attribute_values(":id", AttributeValue::N(id.to_string()))
                .limit(1)
                .send()
        }))
        .await
        .into_iter()
        .for_each(|r| {
            r.expect("raw Query");
        });
    }
}

/// Runs `handler` on `request(i)` and `raw(i)` alternately (which goes first alternates
/// too), timing each; requests are built and signed outside the timing.
async fn compare<C, F, Fut, T, R, RFut>(
    t: &TestApp,
    function: &'static str,
    iterations: usize,
    auth: Endpoint<C>,
    request: impl Fn(&TestApp, usize) -> TestRequest<C>,
    handler: F,
    raw: R,
) -> Overhead
where
    C: Authenticate + Caller,
    F: Fn(Call<C>) -> Fut + Copy,
    Fut: Future<Output = ApiResult<T>>,
    T: Serialize,
    R: Fn(usize) -> RFut,
    RFut: Future<Output = ()>,
{
    let mut result = Overhead {
        function,
        handler: Vec::with_capacity(iterations),
        raw: Vec::with_capacity(iterations),
    };
    for i in 0..WARMUP + iterations {
        let req = request(t, i).build();
        let (h, r) = if i % 2 == 0 {
            let h = time(respond(t.app, auth, handler, req)).await;
            (h, time(raw(i)).await)
        } else {
            let r = time(raw(i)).await;
            (time(respond(t.app, auth, handler, req)).await, r)
        };
        let (took, response) = h;
        assert_eq!(
            response.status(),
            200,
            "{function}: {:?}",
            std::str::from_utf8(response.body().as_ref())
        );
        if i >= WARMUP {
            result.handler.push(took);
            result.raw.push(r.0);
        }
    }
    result
}

async fn time<T>(f: impl Future<Output = T>) -> (Duration, T) {
    let started = Instant::now();
    let out = f.await;
    (started.elapsed(), out)
}

/// `user_ids=<i>&user_ids=<i+1>`: two ids, like the samples in `events/`.
trait TwoIds {
    fn two_ids(self, i: usize) -> Self;
}

impl<C: Caller> TwoIds for TestRequest<C> {
    fn two_ids(self, i: usize) -> Self {
        self.query("user_ids", &seeded(i))
            .query("user_ids", &seeded(i + 1))
    }
}

fn seeded(i: usize) -> String {
    format!("u{}", i % SEEDED)
}

async fn seed(t: &TestApp) {
    let users: Vec<_> = (0..SEEDED).map(|i| json!({"user_id": seeded(i)})).collect();
    assert_eq!(
        t.app.users.register_batch(&json!(users)).await.unwrap(),
        None
    );
}

/// Every endpoint, handler against raw SDK calls, `iterations` each.
pub async fn handler_overhead(iterations: usize) -> Vec<Overhead> {
    let t = TestApp::new().await;
    seed(&t).await;
    let raw = Raw {
        client: t.client.clone(),
        table: t.table.clone(),
    };
    let two = |i: usize| vec![seeded(i), seeded(i + 1)];
    let im_two = |i: usize| vec![(i % SEEDED) as i64 + 1, ((i + 1) % SEEDED) as i64 + 1];
    let n = iterations;
    const C: Endpoint<Session> = Qiniu.client();
    const S: Endpoint<Server> = Qiniu.server();
    let post = Method::POST;
    vec![
        compare(
            &t,
            "server-user-register",
            n,
            S,
            |t, i| {
                t.server(post.clone(), "/server/user/register")
                    .json(&json!({"user_id": format!("h{i}")}))
            },
            handlers::register,
            |i| raw.clone().register(format!("r{i}"), i),
        )
        .await,
        compare(
            &t,
            "server-user-register-batch",
            n,
            S,
            |t, i| {
                t.server(post.clone(), "/server/user/register/batch")
                    .json(&json!([{"user_id": format!("hb{i}a")}, {"user_id": format!("hb{i}b")}]))
            },
            handlers::register_batch,
            |i| {
                raw.clone()
                    .register_many(vec![format!("rb{i}a"), format!("rb{i}b")], i)
            },
        )
        .await,
        compare(
            &t,
            "server-user-update",
            n,
            S,
            |t, i| {
                t.server(Method::PUT, "/server/user/{user_id}")
                    .param("user_id", &seeded(i))
                    .json(&json!({"nick": format!("n{i}"), "extends": {"k": format!("v{i}")}}))
            },
            handlers::update,
            |i| raw.clone().update(seeded(i + 7), i),
        )
        .await,
        compare(
            &t,
            "server-user-info",
            n,
            S,
            |t, i| {
                t.server(Method::GET, "/server/user/info/{user_id}")
                    .param("user_id", &seeded(i))
            },
            handlers::info,
            |i| raw.clone().get(seeded(i)),
        )
        .await,
        compare(
            &t,
            "server-user-infos",
            n,
            S,
            |t, i| t.server(Method::GET, "/server/user/infos").two_ids(i),
            handlers::infos,
            |i| raw.clone().batch_get(two(i)),
        )
        .await,
        compare(
            &t,
            "server-user-profile",
            n,
            S,
            |t, i| {
                t.server(Method::GET, "/server/user/profile/{user_id}")
                    .param("user_id", &seeded(i))
            },
            handlers::profile,
            |i| raw.clone().get(seeded(i)),
        )
        .await,
        compare(
            &t,
            "server-user-profiles",
            n,
            S,
            |t, i| t.server(Method::GET, "/server/user/profiles").two_ids(i),
            handlers::profiles,
            |i| raw.clone().batch_get(two(i)),
        )
        .await,
        compare(
            &t,
            "server-auth-token",
            n,
            S,
            |t, i| {
                t.server(Method::GET, "/server/auth/token")
                    .query("app_id", "bench")
                    .query("user_id", &seeded(i))
            },
            handlers::token,
            |i| raw.clone().get(seeded(i)),
        )
        .await,
        compare(
            &t,
            "client-user-profile",
            n,
            C,
            |t, i| t.client(Method::GET, "/client/user/profile", &seeded(i)),
            handlers::client_profile,
            |i| raw.clone().get(seeded(i)),
        )
        .await,
        compare(
            &t,
            "client-user-user",
            n,
            C,
            |t, i| {
                t.client(Method::GET, "/client/user/user/{user_id}", &seeded(i))
                    .param("user_id", &seeded(i + 1))
            },
            handlers::client_user,
            |i| raw.clone().get(seeded(i + 1)),
        )
        .await,
        compare(
            &t,
            "client-user-users",
            n,
            C,
            |t, i| {
                t.client(Method::GET, "/client/user/users", &seeded(i))
                    .two_ids(i)
            },
            handlers::client_users,
            |i| raw.clone().batch_get(two(i)),
        )
        .await,
        compare(
            &t,
            "client-user-update",
            n,
            C,
            |t, i| {
                t.client(Method::PUT, "/client/user/user", &seeded(i))
                    .json(&json!({"nick": format!("n{i}"), "extends": {"k": format!("v{i}")}}))
            },
            handlers::client_update,
            |i| raw.clone().update(seeded(i + 7), i),
        )
        .await,
        compare(
            &t,
            "client-user-imusers",
            n,
            C,
            |t, i| {
                let ids = im_two(i);
                t.client(Method::GET, "/client/user/imusers", &seeded(i))
                    .query("im_user_ids", &ids[0].to_string())
                    .query("im_user_ids", &ids[1].to_string())
            },
            handlers::imusers,
            |i| raw.clone().query(im_two(i)),
        )
        .await,
    ]
}

/// DynamoDB calls per operation, as the SDK interceptor of `make test` counts them.
pub async fn round_trips() -> Vec<(String, Vec<String>)> {
    let (t, trips) = TestApp::counting_round_trips().await;
    seed(&t).await;
    trips.take();
    let users = &t.app.users;
    let ids = |n: usize| (0..n).map(seeded).collect::<Vec<_>>();
    let mut rows = Vec::new();
    let mut record = |name: String, trips: &RoundTrips| rows.push((name, trips.take()));
    users.info("u1").await.unwrap();
    record("info / profile / client user".into(), &trips);
    for n in [1, 100, 101, 200] {
        users.infos(&ids(n)).await.unwrap();
        record(format!("infos / profiles / users of {n}"), &trips);
    }
    let update = UserUpdate::from_json(&json!({"nick": "n", "extends": {"a": "1"}})).unwrap();
    users.update("u1", update).await.unwrap();
    record("update".into(), &trips);
    // A process's first registration reserves the IM id block: a fresh app shows it.
    let (fresh, fresh_trips) = TestApp::counting_round_trips().await;
    fresh
        .app
        .users
        .register(NewUser::from_json(&json!({"user_id": "rt-solo"}), "body").unwrap())
        .await
        .unwrap();
    record(
        "register, first of a process (reserves IM ids)".into(),
        &fresh_trips,
    );
    users
        .register(NewUser::from_json(&json!({"user_id": "rt-second"}), "body").unwrap())
        .await
        .unwrap();
    record(
        format!("register, from the reserve (the next {IM_ID_BLOCK})"),
        &trips,
    );
    for n in [2, 100, 200] {
        let body: Vec<_> = (0..n)
            .map(|i| json!({"user_id": format!("rt{n}-{i}")}))
            .collect();
        users.register_batch(&json!(body)).await.unwrap();
        record(format!("batch register of {n}"), &trips);
    }
    users.ensure("u1").await.unwrap();
    record("token, existing user".into(), &trips);
    users.ensure("rt-new").await.unwrap();
    record("token, new user".into(), &trips);
    users.imusers(&[1, 2]).await.unwrap();
    record("imusers of 2".into(), &trips);
    // The Deepin and MinApp operations over the same users.
    let account = shared::account::AccountUpdate::from_json(
        &json!({"username": "Bench", "email": "bench@example.org"}),
    )
    .unwrap();
    users.change_account(1, &account).await.unwrap();
    record(
        "MinApp account change (index, read, transaction)".into(),
        &trips,
    );
    for (name, identify) in [
        ("Deepin lookup by email", "bench@example.org"),
        ("Deepin lookup by uid", "1"),
        ("Deepin lookup by login name", "BENCH"),
    ] {
        let identify = shared::lookup::Identify::parse(identify).unwrap();
        users.find(&identify).await.unwrap();
        record(name.into(), &trips);
    }
    let query = shared::lookup::UsersQuery::parse(["1", "2"], ["bench"], []).unwrap();
    users.find_all(&query).await.unwrap();
    record("Deepin /v1/users, 2 ids and a login name".into(), &trips);

    // Sign-in, and every client endpoint before and after its caller's logout: the
    // revocation check rides in the same calls (a refused call costs what an accepted one does).
    use shared::account::AccountField;
    use shared::clock::now_ms;
    use shared::session::Credentials;
    t.given_sign_up(AccountField::Username, "bench_rt", "bench password")
        .await;
    record(
        "MinApp sign-up (IP limit, then user + guard in one transaction)".into(),
        &trips,
    );
    let login = |password: &str| {
        Credentials::log_in(
            AccountField::Username,
            &json!({"username": "bench_rt", "password": password}),
        )
        .unwrap()
    };
    let sessions = shared::session::Sessions::new(users, "bench".into(), t.app.tokens());
    sessions.log_in(&login("bench password")).await.unwrap();
    record(
        "MinApp login (IP and identifier limits, guard, user, give-back)".into(),
        &trips,
    );
    let _ = sessions.log_in(&login("wrong password")).await;
    record(
        "MinApp login, wrong password = unknown user (limits, guard, user)".into(),
        &trips,
    );
    let caller = seeded(0);
    let session = t.session(&caller, now_ms());
    let client = shared::session::Client::new(users, &session);
    for phase in ["before", "after"] {
        if phase == "after" {
            client.log_out().await.unwrap();
            record("MinApp logout".into(), &trips);
        }
        let ok = |r: bool| if r { "200" } else { "401" };
        let r = client.own::<UserProfile>().await.is_ok();
        record(
            format!(
                "client profile / Deepin /v1/user / MinApp current user, {phase} logout ({})",
                ok(r)
            ),
            &trips,
        );
        let r = client.info(&seeded(1)).await.is_ok();
        record(
            format!("client user (another), {phase} logout ({})", ok(r)),
            &trips,
        );
        let r = client.infos(&ids(100)).await.is_ok();
        record(
            format!(
                "client users of 100 incl. the caller, {phase} logout ({})",
                ok(r)
            ),
            &trips,
        );
        let r = client.imusers(&[1, 2]).await.is_ok();
        record(
            format!(
                "client imusers of 2 (+ the caller, concurrent), {phase} logout ({})",
                ok(r)
            ),
            &trips,
        );
        let update = UserUpdate::from_json(&json!({"nick": "n"})).unwrap();
        let r = client.update(update).await.is_ok();
        record(
            format!("client update of nick, {phase} logout ({})", ok(r)),
            &trips,
        );
    }
    rows
}

/// Login latency in process against DynamoDB Local (release build; argon2 dominates):
/// medians of `n` successful logins, `n` with a wrong password and `n` for an unknown user.
/// The login limits are lifted so that no 429 interferes.
pub async fn login_latency(n: usize) -> [Duration; 3] {
    use shared::account::AccountField;
    use shared::session::Credentials;
    let t = TestApp::with_config(|c| {
        c.limits.login = shared::limits::Limit::new(i64::MAX, 60);
        c.limits.login_ip = shared::limits::Limit::new(i64::MAX, 60);
    })
    .await;
    t.given_sign_up(AccountField::Username, "bench_login", "bench password")
        .await;
    let sessions = t.sessions();
    let body = |name: &str, password: &str| {
        Credentials::log_in(
            AccountField::Username,
            &json!({"username": name, "password": password}),
        )
        .unwrap()
    };
    let cases = [
        body("bench_login", "bench password"),
        body("bench_login", "wrong password"),
        body("nobody_here", "bench password"),
    ];
    let mut samples: [Vec<Duration>; 3] = Default::default();
    for _ in 0..n {
        for (i, case) in cases.iter().enumerate() {
            let started = std::time::Instant::now();
            let r = sessions.log_in(case).await;
            samples[i].push(started.elapsed());
            assert_eq!(r.is_ok(), i == 0);
        }
    }
    samples.map(|mut s| crate::stats::median(&mut s))
}

/// argon2id as the account and login functions run it: medians of `n` hashes and of `n`
/// verifications, the second against the dummy hash an unknown user is checked with.
pub fn argon2_cost(n: usize) -> [Duration; 2] {
    use shared::account::{hash_password, verify_password, verify_password_or_dummy};
    let mut hashes = Vec::with_capacity(n);
    let mut verifies = Vec::with_capacity(n);
    let phc = hash_password("bench password").unwrap();
    for _ in 0..n {
        let started = std::time::Instant::now();
        hash_password("bench password").unwrap();
        hashes.push(started.elapsed());
        let started = std::time::Instant::now();
        assert!(!verify_password_or_dummy(None, "bench password"));
        verifies.push(started.elapsed());
    }
    assert!(verify_password(&phc, "bench password"));
    hashes.sort();
    verifies.sort();
    [hashes[n / 2], verifies[n / 2]]
}

/// Bulk registration: `batch_users` through the batch endpoint (200 a request) against
/// `single_users` through the single one, both through `respond` as deployed.
pub struct Bulk {
    pub batch_users: usize,
    pub batch_requests: usize,
    pub batch_time: Duration,
    pub batch_calls: Vec<String>,
    pub single_users: usize,
    pub single_time: Duration,
    pub single_calls: Vec<String>,
}

pub async fn bulk(batch_users: usize, single_users: usize) -> Bulk {
    let (t, trips) = TestApp::counting_round_trips().await;
    let mut batch_time = Duration::ZERO;
    let mut batch_requests = 0;
    for chunk in (0..batch_users).collect::<Vec<_>>().chunks(200) {
        let body: Vec<_> = chunk
            .iter()
            .map(|i| json!({"user_id": format!("bulk-{i}"), "nick": format!("user {i}")}))
            .collect();
        let req = t
            .server(Method::POST, "/server/user/register/batch")
            .json(&body)
            .build();
        let (took, response) = time(respond(
            t.app,
            Qiniu.server(),
            handlers::register_batch,
            req,
        ))
        .await;
        assert_eq!(response.status(), 200);
        assert!(
            !std::str::from_utf8(response.body().as_ref())
                .unwrap()
                .contains("\"data\""),
            "every user of the batch is created"
        );
        batch_time += took;
        batch_requests += 1;
    }
    let batch_calls = trips.take();
    let mut single_time = Duration::ZERO;
    for i in 0..single_users {
        let req = t
            .server(Method::POST, "/server/user/register")
            .json(&json!({"user_id": format!("single-{i}"), "nick": format!("user {i}")}))
            .build();
        let (took, response) = time(respond(t.app, Qiniu.server(), handlers::register, req)).await;
        assert_eq!(response.status(), 200);
        single_time += took;
    }
    Bulk {
        batch_users,
        batch_requests,
        batch_time,
        batch_calls,
        single_users,
        single_time,
        single_calls: trips.take(),
    }
}

/// Moving in (issue 22): `users` MinApp rows (account value and every custom type) through
/// `shared::moving::import`, the code `userctl import` and the import batch run, in process.
pub struct MovingIn {
    pub users: usize,
    pub time: Duration,
    pub calls: Vec<String>,
    pub transactions: usize,
    pub write_units: f64,
    pub imported: usize,
    /// The same rows again: every user found unchanged.
    pub rerun_time: Duration,
    pub rerun_write_units: f64,
}

pub async fn moving_in(users: usize) -> MovingIn {
    let (t, trips) = TestApp::counting_round_trips().await;
    let mut csv = String::from(
        "id,nickname,created_at,updated_at,_username,level,score,vip,tags,bio,prefs,birthday\n",
    );
    for i in 0..users {
        let id = 90_000_000_000_000_i64 + i as i64;
        csv.push_str(&format!(
            "{id},Moved {i},1600000000,1600000001,moved_{i},{},{}.5,true,\"[\"\"a\"\"]\",bio {i},\"{{\"\"k\"\": {i}}}\",2020-01-02\n",
            i % 10,
            i
        ));
    }
    let read = |text: &str| {
        shared::moving::read(
            shared::moving::Source::MinApp,
            text.as_bytes(),
            t.app.users.user_fields(),
        )
        .expect("the bench's file reads")
    };
    let rows = read(&csv);
    trips.take();
    let (took, report) = time(shared::moving::import(&t.app.users, rows, false, &|_| {})).await;
    let calls = trips.take();
    let imported = report
        .rows
        .iter()
        .filter(|r| r.outcome == shared::moving::Outcome::Imported)
        .count();
    assert_eq!(
        imported,
        users,
        "every bench user is imported: {:?}",
        report
            .rows
            .iter()
            .find(|r| r.outcome != shared::moving::Outcome::Imported)
    );
    let (rerun_time, rerun) = time(shared::moving::import(
        &t.app.users,
        read(&csv),
        false,
        &|_| {},
    ))
    .await;
    assert!(
        rerun
            .rows
            .iter()
            .all(|r| r.outcome == shared::moving::Outcome::Unchanged)
    );
    MovingIn {
        users,
        time: took,
        calls,
        transactions: report.transactions,
        write_units: report.write_units,
        imported,
        rerun_time,
        rerun_write_units: rerun.write_units,
    }
}
