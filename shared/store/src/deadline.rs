//! Every request answers inside the function's timeout, with its own answer.
//!
//! The pipeline runs each whole request [`within_deadline`] (one scope per request, ending
//! before the function's timeout): after it whatever still runs is dropped and the request
//! answers 503. Every store call reads that one deadline ([`Deadline::current`]); no
//! operation sets its own. Inside it:
//! - reads retry only while a whole SDK call still fits ([`Deadline::allows_retry`]);
//! - writes run each attempt under [`Deadline::bound`], which cuts it off in time to answer
//!   (its outcome unknown: a 503 for what it held, while what other attempts settled keeps
//!   its answer), and retry while [`WRITE_RETRY_ROOM`] is left. Demanding a whole SDK call
//!   there would refuse retries after a slow first attempt that a bounded one still makes.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::{ApiError, ApiResult};

pub use crate::limits::REQUEST_BUDGET;

/// The longest one SDK call may take, its retries included (`operation_timeout` in
/// `endpoint::dynamodb_client`; a test holds the two equal).
pub const SDK_OPERATION_TIMEOUT: Duration = Duration::from_secs(6);

/// What a write retry needs left to be worth starting: DynamoDB commits a transaction of
/// 100 puts in well under a second.
pub const WRITE_RETRY_ROOM: Duration = Duration::from_secs(1);

/// Kept back from the budget when a write is cut off, to compose the answer.
const ANSWER_MARGIN: Duration = Duration::from_millis(250);

tokio::task_local! {
    static DEADLINE: Instant;
}

/// When the request being served must have its answer.
#[derive(Clone, Copy, Debug)]
pub struct Deadline(Instant);

impl Deadline {
    /// The deadline of the request being served; outside one (tools, tests of the store
    /// alone), a full budget from now.
    pub fn current() -> Deadline {
        Deadline(
            DEADLINE
                .try_with(|d| *d)
                .unwrap_or_else(|_| Instant::now() + REQUEST_BUDGET),
        )
    }

    pub fn remaining(&self) -> Duration {
        self.0.saturating_duration_since(Instant::now())
    }

    /// Whether a retry after `pause` could still run a whole SDK call before the deadline.
    pub fn allows_retry(&self, pause: Duration) -> bool {
        self.remaining() >= pause + SDK_OPERATION_TIMEOUT
    }

    /// Whether a write may try again after `pause` (each attempt runs under [`bound`]).
    ///
    /// [`bound`]: Deadline::bound
    pub fn allows_write_retry(&self, pause: Duration) -> bool {
        self.remaining() >= pause + WRITE_RETRY_ROOM
    }

    /// Before another try of a contended write: counts it and waits its backoff, or answers
    /// 503 (`busy`) when `max` tries are spent or the deadline leaves no room for one more.
    pub async fn pause_before_retry(
        &self,
        attempt: &mut u32,
        max: u32,
        busy: &str,
    ) -> ApiResult<()> {
        *attempt += 1;
        let pause = backoff(*attempt);
        if *attempt >= max || !self.allows_write_retry(pause) {
            return Err(ApiError::Busy(busy.to_string()));
        }
        tokio::time::sleep(pause).await;
        Ok(())
    }

    /// Runs one call, cut off early enough to answer before the deadline; `None` if cut off.
    pub async fn bound<F: Future>(&self, call: F) -> Option<F::Output> {
        let cut_off = self
            .0
            .checked_sub(ANSWER_MARGIN)
            .unwrap_or_else(Instant::now);
        tokio::time::timeout_at(cut_off, call).await.ok()
    }
}

/// Exponential backoff with full jitter: up to 20 ms, 40 ms, ... capped at 1 s.
pub fn backoff(attempt: u32) -> Duration {
    let cap_ms = (20u64 << attempt.min(6)).min(1000);
    let mut r = [0u8; 8];
    let jitter = getrandom::fill(&mut r)
        .map(|_| u64::from_le_bytes(r))
        .unwrap_or(cap_ms / 2);
    Duration::from_millis(1 + jitter % cap_ms)
}

/// Runs `work` with `budget` from now ([`within_deadline`]).
pub async fn within_budget<T>(
    budget: Duration,
    work: impl Future<Output = ApiResult<T>>,
) -> ApiResult<T> {
    within_deadline(Instant::now() + budget, work).await
}

/// Runs one request's work until `deadline`: every store call inside reads it, and work still
/// running then is dropped and answered 503. A nested call keeps the outer (earlier-set)
/// deadline: one request has one deadline.
pub async fn within_deadline<T>(
    deadline: Instant,
    work: impl Future<Output = ApiResult<T>>,
) -> ApiResult<T> {
    // On the heap: an operation's future (SDK calls and all) is large, and a caller may
    // hold it on a small stack.
    let work = Box::pin(work);
    if DEADLINE.try_with(|_| ()).is_ok() {
        return work.await;
    }
    let budget = deadline.saturating_duration_since(Instant::now());
    DEADLINE
        .scope(deadline, async move {
            match tokio::time::timeout_at(deadline, work).await {
                Ok(answer) => answer,
                Err(_) => Err(ApiError::Busy(format!(
                    "request budget of {budget:?} spent"
                ))),
            }
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::dynamodb_client;
    use crate::config::AwsEnvironment;

    #[test]
    fn the_budget_fits_the_function_timeout_and_a_call_fits_the_budget() {
        // The function timeout as template.yaml deploys it: Globals', the only one of every
        // HTTP function. The import batch alone (Step Functions invokes it, outside any
        // request's deadline) has its own.
        let template = include_str!("../../../template.yaml");
        let mut timeouts: Vec<(u64, &str)> = Vec::new();
        let mut resource = "";
        for line in template.lines() {
            if line.starts_with("  ") && !line.starts_with("   ") && line.trim_end().ends_with(':')
            {
                resource = line.trim().trim_end_matches(':');
            }
            if let Some(t) = line.trim().strip_prefix("Timeout:") {
                let seconds = t.trim().parse().expect("Timeout is whole seconds");
                timeouts.push((seconds, resource));
            }
        }
        let [(global, "Function"), others @ ..] = &timeouts[..] else {
            panic!("Globals' Function timeout first: {timeouts:?}");
        };
        assert!(
            others.iter().all(|(_, r)| *r == "ImportBatch"),
            "one function timeout for every HTTP function: {timeouts:?}"
        );
        assert!(REQUEST_BUDGET < Duration::from_secs(*global));
        // What the deployed client allows one call is what the retry loops plan with.
        let env = AwsEnvironment::from_lookup(|name| match name {
            "AWS_REGION" => Some("us-east-1".into()),
            "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY" => Some("x".into()),
            _ => None,
        })
        .unwrap();
        let client = dynamodb_client(&env);
        let configured = client
            .config()
            .timeout_config()
            .and_then(|t| t.operation_timeout());
        assert_eq!(configured, Some(SDK_OPERATION_TIMEOUT));
        assert!(SDK_OPERATION_TIMEOUT < REQUEST_BUDGET);
    }

    #[tokio::test(start_paused = true)]
    async fn work_past_the_budget_is_cut_off_as_busy() {
        let started = Instant::now();
        let r: ApiResult<()> = within_budget(REQUEST_BUDGET, async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(())
        })
        .await;
        assert!(matches!(r, Err(ApiError::Busy(_))), "{r:?}");
        assert_eq!(started.elapsed(), REQUEST_BUDGET);
    }

    #[tokio::test(start_paused = true)]
    async fn nested_operations_share_the_outer_deadline() {
        within_budget(REQUEST_BUDGET, async {
            tokio::time::sleep(Duration::from_secs(2)).await;
            within_budget(Duration::from_secs(60), async {
                let left = Deadline::current().remaining();
                assert_eq!(left, REQUEST_BUDGET - Duration::from_secs(2));
                assert!(!Deadline::current().allows_retry(Duration::from_secs(2)));
                assert!(Deadline::current().allows_retry(Duration::from_millis(500)));
                assert!(Deadline::current().allows_write_retry(Duration::from_secs(5)));
                assert!(!Deadline::current().allows_write_retry(Duration::from_millis(6500)));
                // A write still running near the end is cut off in time to answer.
                let cut = Deadline::current()
                    .bound(tokio::time::sleep(Duration::from_secs(60)))
                    .await;
                assert!(cut.is_none());
                assert_eq!(Deadline::current().remaining(), ANSWER_MARGIN);
                Ok(())
            })
            .await
        })
        .await
        .unwrap();
    }
}
