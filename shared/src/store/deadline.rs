//! Every request answers inside the function's timeout, with its own answer.
//!
//! Each operation of [`Users`](crate::users::Users) runs [`within_budget`]: the store work
//! of one request gets [`REQUEST_BUDGET`], after which whatever still runs is dropped and the
//! request answers 503. Retry loops inside ask [`Deadline::allows_retry`] before they start
//! another call, so a retry never begins unless a whole SDK call still fits.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::{ApiError, ApiResult};

/// The function timeout (`template.yaml`, Globals: `Timeout: 10`) less 1 s for
/// authentication, the response and the runtime's own work.
pub const REQUEST_BUDGET: Duration = Duration::from_secs(9);

/// The longest one SDK call may take, its retries included (`operation_timeout` in
/// `endpoint::dynamodb_client`; a test holds the two equal).
pub const SDK_OPERATION_TIMEOUT: Duration = Duration::from_secs(6);

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
}

/// Runs one request's store work within [`REQUEST_BUDGET`]. Nested calls (an operation
/// built from others) share the outermost budget.
pub async fn within_budget<T>(work: impl Future<Output = ApiResult<T>>) -> ApiResult<T> {
    if DEADLINE.try_with(|_| ()).is_ok() {
        return work.await;
    }
    let deadline = Instant::now() + REQUEST_BUDGET;
    DEADLINE
        .scope(deadline, async move {
            match tokio::time::timeout_at(deadline, work).await {
                Ok(answer) => answer,
                Err(_) => Err(ApiError::Busy(format!(
                    "request budget of {REQUEST_BUDGET:?} spent"
                ))),
            }
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AwsEnvironment;
    use crate::endpoint::dynamodb_client;

    #[test]
    fn the_budget_fits_the_function_timeout_and_a_call_fits_the_budget() {
        // The function timeout as template.yaml deploys it (Globals, the only Timeout).
        let template = include_str!("../../../template.yaml");
        let timeouts: Vec<u64> = template
            .lines()
            .filter_map(|l| l.trim().strip_prefix("Timeout:"))
            .map(|t| t.trim().parse().expect("Timeout is whole seconds"))
            .collect();
        assert_eq!(
            timeouts.len(),
            1,
            "one function timeout for all: {timeouts:?}"
        );
        assert!(REQUEST_BUDGET < Duration::from_secs(timeouts[0]));
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
        let r: ApiResult<()> = within_budget(async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(())
        })
        .await;
        assert!(matches!(r, Err(ApiError::Busy(_))), "{r:?}");
        assert_eq!(started.elapsed(), REQUEST_BUDGET);
    }

    #[tokio::test(start_paused = true)]
    async fn nested_operations_share_the_outer_deadline() {
        within_budget(async {
            tokio::time::sleep(Duration::from_secs(2)).await;
            within_budget(async {
                let left = Deadline::current().remaining();
                assert_eq!(left, REQUEST_BUDGET - Duration::from_secs(2));
                assert!(!Deadline::current().allows_retry(Duration::from_secs(2)));
                assert!(Deadline::current().allows_retry(Duration::from_millis(500)));
                Ok(())
            })
            .await
        })
        .await
        .unwrap();
    }
}
