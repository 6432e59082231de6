//! A fake Lambda Runtime API, enough for `lambda_runtime`: it hands out queued events on
//! `GET .../invocation/next` and takes the answers, timing both ends, so a function's real
//! binary can be started and invoked here exactly as Lambda would.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Mutex as AsyncMutex, mpsc, oneshot};

const API: &str = "/2018-06-01/runtime";
/// No single start or invocation may take longer than this; the bench fails rather than hangs.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(20);

/// An invocation waiting to be handed out, and where its answer goes.
struct Pending {
    event: Bytes,
    answer: oneshot::Sender<Answer>,
}

/// What the function sent back for one event.
pub struct Answer {
    /// From handing the event out to receiving the response: what Lambda bills.
    pub latency: Duration,
    pub body: Bytes,
    pub error: bool,
}

struct State {
    polls: mpsc::UnboundedSender<Instant>,
    queue: AsyncMutex<mpsc::Receiver<Pending>>,
    in_flight: Mutex<HashMap<String, (Instant, oneshot::Sender<Answer>)>>,
    next_id: Mutex<u64>,
}

/// One Runtime API endpoint for one function process.
pub struct FakeRuntime {
    pub addr: SocketAddr,
    polls: mpsc::UnboundedReceiver<Instant>,
    events: mpsc::Sender<Pending>,
}

impl FakeRuntime {
    pub async fn start() -> FakeRuntime {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind runtime API");
        let addr = listener.local_addr().expect("runtime API address");
        let (polls_tx, polls) = mpsc::unbounded_channel();
        let (events, queue) = mpsc::channel(1);
        let state = Arc::new(State {
            polls: polls_tx,
            queue: AsyncMutex::new(queue),
            in_flight: Mutex::new(HashMap::new()),
            next_id: Mutex::new(0),
        });
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = state.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| serve(state.clone(), req));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        FakeRuntime {
            addr,
            polls,
            events,
        }
    }

    /// Waits for the function's next poll of `invocation/next`; returns when it arrived.
    pub async fn next_poll(&mut self) -> Instant {
        tokio::time::timeout(STEP_TIMEOUT, self.polls.recv())
            .await
            .expect("the function polls the Runtime API in time")
            .expect("runtime API running")
    }

    /// Hands `event` to the function and waits for its answer.
    pub async fn invoke(&mut self, event: Bytes) -> Answer {
        let (answer, answered) = oneshot::channel();
        self.events
            .send(Pending { event, answer })
            .await
            .expect("runtime API running");
        tokio::time::timeout(STEP_TIMEOUT, answered)
            .await
            .expect("the function answers in time")
            .expect("answer delivered")
    }
}

async fn serve(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    if path == format!("{API}/invocation/next") {
        let _ = state.polls.send(Instant::now());
        let Some(pending) = state.queue.lock().await.recv().await else {
            return Ok(status(410));
        };
        let id = {
            let mut next = state.next_id.lock().expect("id counter");
            *next += 1;
            format!("bench-{next}")
        };
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() + 30_000)
            .unwrap_or_default();
        state
            .in_flight
            .lock()
            .expect("in flight")
            .insert(id.clone(), (Instant::now(), pending.answer));
        let response = Response::builder()
            .header("lambda-runtime-aws-request-id", id)
            .header("lambda-runtime-deadline-ms", deadline.to_string())
            .header(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:bench",
            )
            .header(
                "lambda-runtime-trace-id",
                "Root=1-00000000-000000000000000000000000",
            )
            .body(Full::new(pending.event))
            .expect("valid runtime response");
        return Ok(response);
    }
    let rest = path
        .strip_prefix(&format!("{API}/invocation/"))
        .unwrap_or("");
    if let Some((id, outcome)) = rest.split_once('/') {
        let arrived = Instant::now();
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        if let Some((handed_out, answer)) = state.in_flight.lock().expect("in flight").remove(id) {
            let _ = answer.send(Answer {
                latency: arrived - handed_out,
                body,
                error: outcome != "response",
            });
        }
        return Ok(status(202));
    }
    // `init/error` and anything else: accepted, and the function is counted as failed later.
    Ok(status(202))
}

fn status(code: u16) -> Response<Full<Bytes>> {
    Response::builder()
        .status(code)
        .body(Full::new(Bytes::new()))
        .expect("valid status response")
}

/// A function binary running against a [`FakeRuntime`]; killed when dropped.
pub struct Process {
    child: Child,
    pub started: Instant,
}

impl Process {
    /// Starts `binary` the way Lambda does: a clean environment plus `env`.
    pub fn start(binary: &Path, runtime: &FakeRuntime, env: &[(String, String)]) -> Process {
        let name = binary
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut command = Command::new(binary);
        command
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("AWS_LAMBDA_RUNTIME_API", runtime.addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", &name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let started = Instant::now();
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
        Process { child, started }
    }

    /// Peak resident memory so far (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
