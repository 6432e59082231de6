//! Measurements of the real release binaries, started as Lambda starts them against the fake
//! Runtime API: cold init, first invocation against warm ones, peak memory.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hyper::body::Bytes;
use lambda_http::http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};
use shared::auth::qiniu::{SignedParts, sign};
use shared::auth::token::{Claims, TokenKeys, USER_ROLE};
use shared::clock::{now, now_ms};

use crate::runtime::{FakeRuntime, Process};
use crate::stats::median;

pub const BARE: &str = "bare-lambda";

/// Cold init of every binary: spawn to first poll of `invocation/next`, `starts` times each,
/// interleaved so that machine noise falls on all of them alike. Returns the medians.
pub async fn cold_init(
    bin_dir: &Path,
    names: &[String],
    env: &[(String, String)],
    starts: usize,
) -> Vec<Duration> {
    let mut samples = vec![Vec::with_capacity(starts); names.len()];
    for round in 0..starts {
        // Each round starts at another binary, so no one always follows the same neighbour.
        for i in (0..names.len()).map(|k| (k + round) % names.len()) {
            let name = &names[i];
            let mut runtime = FakeRuntime::start().await;
            let process = Process::start(&bin_dir.join(name), &runtime, env);
            let polled = runtime.next_poll().await;
            samples[i].push(polled - process.started);
        }
    }
    samples.iter_mut().map(|s| median(s)).collect()
}

/// One function's life: its first invocation after init (median over several starts, with
/// and without the init warm-up), its warm invocations, and its peak RSS.
pub struct WarmRun {
    pub first: Duration,
    pub first_without_warm_up: Duration,
    pub warm: Vec<Duration>,
    pub peak_rss_kib: u64,
}

/// Starts per first-request median: one sample per process start.
const FIRST_STARTS: usize = 7;

pub async fn warm_run(
    bin_dir: &Path,
    name: &str,
    env: &[(String, String)],
    events: &mut SampleEvents,
    warm: usize,
) -> WarmRun {
    // Untimed: DynamoDB Local's JVM compiles its own code for each kind of call the first
    // time; that is the engine warming up, not the function, and must not count as "first".
    invocations(bin_dir, name, env, events, 20).await;
    let without = with_warm_up_off(env);
    let mut first = Vec::with_capacity(FIRST_STARTS);
    let mut first_without = Vec::with_capacity(FIRST_STARTS);
    for _ in 1..FIRST_STARTS {
        first.push(invocations(bin_dir, name, env, events, 1).await.0[0]);
        first_without.push(invocations(bin_dir, name, &without, events, 1).await.0[0]);
    }
    first_without.push(invocations(bin_dir, name, &without, events, 1).await.0[0]);
    let (mut latencies, peak_rss_kib) = invocations(bin_dir, name, env, events, warm + 1).await;
    first.push(latencies.remove(0));
    WarmRun {
        first: median(&mut first),
        first_without_warm_up: median(&mut first_without),
        warm: latencies,
        peak_rss_kib,
    }
}

/// The same environment with the init warm-up read switched off.
pub fn with_warm_up_off(env: &[(String, String)]) -> Vec<(String, String)> {
    let mut env = env.to_vec();
    env.push(("WARM_UP_ON_INIT".into(), "false".into()));
    env
}

/// Starts the function, invokes it `n` times; the latencies and the peak RSS after them.
async fn invocations(
    bin_dir: &Path,
    name: &str,
    env: &[(String, String)],
    events: &mut SampleEvents,
    n: usize,
) -> (Vec<Duration>, u64) {
    let mut runtime = FakeRuntime::start().await;
    let process = Process::start(&bin_dir.join(name), &runtime, env);
    runtime.next_poll().await;
    let mut latencies = Vec::with_capacity(n);
    for _ in 0..n {
        let answer = runtime.invoke(events.next(name)).await;
        assert!(!answer.error, "{name} reported an error to the Runtime API");
        check_success(name, &answer.body);
        latencies.push(answer.latency);
    }
    (latencies, process.peak_rss_kib())
}

/// A benchmark of failures measures nothing: every answer must be a success (200, or the 201
/// of MinApp's sign-up, login and logout), and in the Qiniu dialect a code 0 envelope (Deepin
/// and MinApp answer plain JSON).
fn check_success(name: &str, body: &Bytes) {
    let response: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let body: Value = response["body"]
        .as_str()
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    let enveloped = !name.starts_with("deepin-") && !name.starts_with("minapp-");
    let status = response["statusCode"].as_u64().unwrap_or(0);
    assert!(
        (200..300).contains(&status) && (!enveloped || body["code"] == 0),
        "{name} answered {response}"
    );
}

/// The `events/` samples of every function, made repeatable: each register (Qiniu's, and
/// MinApp's sign-ups) gets a new identity, a signed one is signed again with the key the
/// samples are signed with, and every client token (`Authorization: Bearer` / `Hydrogen-r1`,
/// Deepin's `access-token`) is replaced by a token for the same user issued now, so that a
/// sample logout (`minapp-session-destroy` voids the user's tokens issued up to then) does
/// not void the tokens of the samples that follow it.
pub struct SampleEvents {
    dir: PathBuf,
    access_key: String,
    secret_key: String,
    tokens: &'static TokenKeys,
    serial: u64,
}

impl SampleEvents {
    pub fn new(
        dir: PathBuf,
        access_key: &str,
        secret_key: &str,
        tokens: &'static TokenKeys,
    ) -> Self {
        SampleEvents {
            dir,
            access_key: access_key.into(),
            secret_key: secret_key.into(),
            tokens,
            serial: 0,
        }
    }

    /// A client token as the samples carry (app `sample-app`, user `user-1`), issued now.
    fn fresh_token(&self) -> String {
        let claims = Claims {
            app_id: "sample-app".into(),
            user_id: "user-1".into(),
            device_id: "sample-device".into(),
            role: USER_ROLE.into(),
            exp: now() + 3600,
            iat: now(),
            iat_ms: now_ms(),
        };
        self.tokens.sign(&claims).expect("sign a sample token")
    }

    pub fn next(&mut self, function: &str) -> Bytes {
        let path = self.dir.join(format!("{function}.json"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let mut event: Value = serde_json::from_str(&text).expect("sample events are JSON");
        self.serial += 1;
        let n = self.serial;
        let body = match function {
            "server-user-register" => Some(json!({"user_id": format!("bench-{n}"), "nick": "b"})),
            "server-user-register-batch" => Some(json!([
                {"user_id": format!("bench-{n}-a")},
                {"user_id": format!("bench-{n}-b"), "extends": {"vip": "1"}},
            ])),
            // MinApp sign-ups: a new identity each time (the password is hashed, as deployed).
            "minapp-register-email" => Some(
                json!({"email": format!("bench-{n}@example.com"), "password": "sample-password"}),
            ),
            "minapp-register-phone" => {
                Some(json!({"phone": format!("+86139{n:08}"), "password": "sample-password"}))
            }
            "minapp-register-username" => {
                Some(json!({"username": format!("bench_{n}"), "password": "sample-password"}))
            }
            _ => None,
        };
        if let Some(body) = body {
            let body = body.to_string();
            let signed = event["headers"]["authorization"]
                .as_str()
                .is_some_and(|a| a.starts_with("Qiniu "));
            if signed {
                event["headers"]["authorization"] = json!(self.authorization(&event, &body));
            }
            event["body"] = json!(body);
        }
        if function == "minapp-session-destroy" {
            // A logout voids its user's tokens issued up to max(its clock, its token's issue
            // time + 1 ms): the next token must be issued 2 ms later (not timed: the event is
            // built before it is handed out).
            std::thread::sleep(Duration::from_millis(2));
        }
        if let Some(headers) = event["headers"].as_object_mut() {
            for value in headers.values_mut() {
                if let Some(text) = value.as_str()
                    && let Some(old) = text.split(' ').find(|w| is_jwt(w))
                {
                    *value = json!(text.replace(old, &self.fresh_token()));
                }
            }
        }
        Bytes::from(event.to_string())
    }

    /// `Qiniu <ak>:<sign>` over the event as the function will see it.
    fn authorization(&self, event: &Value, body: &str) -> String {
        let mut headers = HeaderMap::new();
        for (k, v) in event["headers"].as_object().into_iter().flatten() {
            if let (Ok(k), Some(Ok(v))) = (
                HeaderName::from_bytes(k.as_bytes()),
                v.as_str().map(HeaderValue::from_str),
            ) {
                headers.insert(k, v);
            }
        }
        let method = event["requestContext"]["http"]["method"]
            .as_str()
            .unwrap_or("POST");
        let path = event["rawPath"].as_str().unwrap_or("/");
        let query = event["rawQueryString"].as_str().unwrap_or("");
        let parts = SignedParts::new(method, path, query, &headers, body.as_bytes());
        format!(
            "Qiniu {}:{}",
            self.access_key,
            sign(self.secret_key.as_bytes(), &parts.v2_data(path))
        )
    }
}

/// A JSON web token: three base64url parts, the header a JSON object (`eyJ` is `{"`).
fn is_jwt(word: &str) -> bool {
    word.starts_with("eyJ") && word.split('.').count() == 3
}
