//! Measurements of the real release binaries, started as Lambda starts them against the fake
//! Runtime API: cold init, first invocation against warm ones, peak memory.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hyper::body::Bytes;
use lambda_http::http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};
use shared::auth::qiniu::{SignedParts, sign};

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

/// A benchmark of failures measures nothing: every answer must be a 200, and in the Qiniu
/// dialect a code 0 envelope (Deepin and MinApp answer plain JSON).
fn check_success(name: &str, body: &Bytes) {
    let response: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let body: Value = response["body"]
        .as_str()
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    let enveloped = !name.starts_with("deepin-") && !name.starts_with("minapp-");
    assert!(
        response["statusCode"] == 200 && (!enveloped || body["code"] == 0),
        "{name} answered {response}"
    );
}

/// The `events/` samples, with the writes made repeatable: each register gets a new
/// `user_id` and is signed again with the key the samples are signed with.
pub struct SampleEvents {
    dir: PathBuf,
    access_key: String,
    secret_key: String,
    serial: u64,
}

impl SampleEvents {
    pub fn new(dir: PathBuf, access_key: &str, secret_key: &str) -> Self {
        SampleEvents {
            dir,
            access_key: access_key.into(),
            secret_key: secret_key.into(),
            serial: 0,
        }
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
            _ => None,
        };
        if let Some(body) = body {
            let body = body.to_string();
            event["headers"]["authorization"] = json!(self.authorization(&event, &body));
            event["body"] = json!(body);
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
