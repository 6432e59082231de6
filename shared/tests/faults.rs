//! Faults DynamoDB Local cannot produce, injected at the SDK boundary with aws-smithy-mocks.
//! They run on top of the real-engine tests of every function, never instead of them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ErrorMetadata;
use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput;
use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemOutput;
use aws_sdk_dynamodb::operation::get_item::GetItemError;
use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsError, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::operation::update_item::UpdateItemOutput;
use aws_sdk_dynamodb::types::error::{
    ConditionalCheckFailedException, InternalServerError, ProvisionedThroughputExceededException,
    TransactionCanceledException,
};
use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason, KeysAndAttributes};
use aws_smithy_mocks::{MockResponse, Rule, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, SharedHttpConnector, http_client_fn,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_types::body::SdkBody;
use serde_json::json;
use shared::account::AccountField;
use shared::auth::caller::{Anonymous, Server};
use shared::endpoint::Call;
use shared::error::{ApiError, ApiResult};
use shared::session::{Credentials, SignedIn};
use shared::store::{REQUEST_BUDGET, SDK_OPERATION_TIMEOUT};
use shared::testing::{Method, MinApp, TestApp};
use shared::user::NewUser;

type Item = HashMap<String, AttributeValue>;

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

/// The stored item of `user_id`, as the table would return it.
fn stored_user(user_id: &str, im_userid: i64) -> Item {
    HashMap::from([
        ("user_id".to_string(), s(user_id)),
        ("nick".to_string(), s(&format!("nick of {user_id}"))),
        ("avatar".to_string(), s("")),
        ("extends".to_string(), AttributeValue::M(HashMap::new())),
        (
            "im_userid".to_string(),
            AttributeValue::N(im_userid.to_string()),
        ),
    ])
}

fn user_id_of(key: &Item) -> String {
    key["pk"]
        .as_s()
        .unwrap()
        .trim_start_matches("USER#")
        .to_string()
}

/// The counter answers `ADD :n` with a growing value, as the real one does.
fn counter() -> Rule {
    let value = Arc::new(AtomicUsize::new(0));
    mock!(Client::update_item).then_compute_output(move |req| {
        // The one value of `ADD value :n`, whatever its placeholder.
        let values = req.expression_attribute_values().unwrap();
        assert_eq!(values.len(), 1);
        let n: usize = values
            .values()
            .next()
            .unwrap()
            .as_n()
            .unwrap()
            .parse()
            .unwrap();
        let last = value.fetch_add(n, Ordering::SeqCst) + n;
        UpdateItemOutput::builder()
            .attributes("value", AttributeValue::N(last.to_string()))
            .build()
    })
}

async fn register(call: Call<Server>) -> ApiResult<()> {
    let user = NewUser::from_json(&call.json()?, "body")?;
    call.users().register(user).await
}

/// An app over a scripted DynamoDB: `rule`, and an IM id counter that counts.
fn with_counter(rule: &Rule) -> TestApp {
    let counter = counter();
    let [audit_put, audit_batch] = audit_records();
    TestApp::over(mock_client!(
        aws_sdk_dynamodb,
        RuleMode::MatchAny,
        [&counter, &audit_put, &audit_batch, rule]
    ))
}

/// Audit records (a PutItem of an `AUDIT#` item, or a BatchWriteItem of them) are stored:
/// what these tests script is the write of the user before them.
fn audit_records() -> [Rule; 2] {
    let put = mock!(Client::put_item)
        .match_requests(|req| {
            req.item()
                .and_then(|item| item.get("sk"))
                .and_then(|sk| sk.as_s().ok())
                .is_some_and(|sk| sk.starts_with("AUDIT#"))
        })
        .then_output(|| PutItemOutput::builder().build());
    let batch =
        mock!(Client::batch_write_item).then_output(|| BatchWriteItemOutput::builder().build());
    [put, batch]
}

/// `POST /server/user/register` of user `u1`, signed, through the handler.
async fn register_u1(t: &TestApp) -> shared::testing::TestResponse {
    t.server(Method::POST, "/server/user/register")
        .json(&json!({"user_id": "u1"}))
        .send(register)
        .await
}

async fn info(call: Call<Server>) -> ApiResult<shared::user::UserInfo> {
    call.users().info(&call.path_user_id()?).await
}

/// `GET /server/user/info/u1`, signed, through the handler.
async fn info_u1(t: &TestApp) -> shared::testing::TestResponse {
    t.server(Method::GET, "/server/user/info/{user_id}")
        .param("user_id", "u1")
        .send(info)
        .await
}

#[tokio::test]
async fn unprocessed_keys_for_several_rounds_still_give_the_full_ordered_result() {
    // Each round answers one key and hands the rest back as UnprocessedKeys.
    let rounds = Arc::new(AtomicUsize::new(0));
    let counted = rounds.clone();
    let batch_get = mock!(Client::batch_get_item).then_compute_output(move |req| {
        counted.fetch_add(1, Ordering::SeqCst);
        let (table, wanted) = req.request_items().unwrap().iter().next().unwrap();
        let keys = wanted.keys().to_vec();
        let (first, rest) = keys.split_first().unwrap();
        let id = user_id_of(first);
        let im: i64 = id.trim_start_matches('u').parse().unwrap();
        let mut out = BatchGetItemOutput::builder().responses(table, vec![stored_user(&id, im)]);
        if !rest.is_empty() {
            let unprocessed = KeysAndAttributes::builder()
                .set_keys(Some(rest.to_vec()))
                .set_projection_expression(wanted.projection_expression().map(str::to_string))
                .set_expression_attribute_names(wanted.expression_attribute_names().cloned())
                .build()
                .unwrap();
            out = out.unprocessed_keys(table, unprocessed);
        }
        out.build()
    });
    let t = TestApp::over(mock_client!(
        aws_sdk_dynamodb,
        RuleMode::MatchAny,
        [&batch_get]
    ));
    let ids: Vec<String> = ["u4", "u2", "u3", "u1"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let users = t
        .app
        .users
        .infos(&ids)
        .await
        .expect("retries until every key is read");
    let got: Vec<&str> = users.iter().map(|u| u.user_id.as_str()).collect();
    assert_eq!(got, ["u4", "u2", "u3", "u1"]);
    assert_eq!(
        rounds.load(Ordering::SeqCst),
        4,
        "one round per unprocessed remainder"
    );
}

#[tokio::test]
async fn throttling_past_the_sdk_retries_is_503_service_busy() {
    let throttled = mock!(Client::get_item).then_error(|| {
        GetItemError::ProvisionedThroughputExceededException(
            // The SDK's parser always records the wire error code in the metadata.
            ProvisionedThroughputExceededException::builder()
                .message("Rate exceeded")
                .meta(
                    ErrorMetadata::builder()
                        .code("ProvisionedThroughputExceededException")
                        .message("Rate exceeded")
                        .build(),
                )
                .build(),
        )
    });
    let t = TestApp::over(mock_client!(
        aws_sdk_dynamodb,
        RuleMode::MatchAny,
        [&throttled]
    ));
    let r = info_u1(&t).await;
    r.assert_error(503, 503, "service busy, retry later");
    assert!(
        !r.body.to_string().contains("Rate exceeded"),
        "details stay in the logs"
    );
}

#[tokio::test]
async fn a_cancelled_transaction_reports_the_existing_user_and_creates_the_rest() {
    // First try: the second put's condition fails and cancels all three. Second try: the
    // other two go through.
    let tries = Arc::new(Mutex::new(Vec::new()));
    let seen = tries.clone();
    let transact = mock!(Client::transact_write_items).then_compute_response(move |req| {
        let items = req.transact_items();
        let ids: Vec<String> = items
            .iter()
            .map(|i| user_id_of(i.put().unwrap().item()))
            .collect();
        seen.lock().unwrap().push(ids);
        if items.len() == 3 {
            let reason = |code: &str| CancellationReason::builder().code(code).build();
            MockResponse::Error(TransactWriteItemsError::TransactionCanceledException(
                TransactionCanceledException::builder()
                    .message("Transaction cancelled")
                    .cancellation_reasons(reason("None"))
                    .cancellation_reasons(reason("ConditionalCheckFailed"))
                    .cancellation_reasons(reason("None"))
                    .build(),
            ))
        } else {
            MockResponse::Output(TransactWriteItemsOutput::builder().build())
        }
    });
    let counter = counter();
    let [_, audit_batch] = audit_records();
    let client = mock_client!(
        aws_sdk_dynamodb,
        RuleMode::MatchAny,
        [&counter, &audit_batch, &transact]
    );
    let t = TestApp::over(client);
    let failures = t
        .app
        .users
        .register_batch(&json!([{"user_id": "a"}, {"user_id": "exists"}, {"user_id": "c"}]))
        .await
        .expect("a partial success is a success")
        .expect("one user was not created");
    assert_eq!(failures.len(), 1);
    assert_eq!(failures["exists"].code, 10001);
    assert_eq!(
        *tries.lock().unwrap(),
        vec![vec!["a", "exists", "c"], vec!["a", "c"]]
    );
    assert_eq!(
        counter.num_calls(),
        1,
        "the batch's IM ids came from one counter call"
    );
}

#[tokio::test]
async fn a_timeout_in_the_middle_of_a_create_leaves_no_half_user_and_a_retry_settles_it() {
    // The counter answers, the put fails with its outcome unknown to us (DynamoDB's "request
    // timed out" InternalServerError), and the caller gets a 5xx. The item is written whole or not at all, so no user can exist
    // without its IM identity; the caller's retry is told the user exists (the write had
    // landed) or creates it.
    let attempts = Arc::new(AtomicUsize::new(0));
    let seen = attempts.clone();
    let put = mock!(Client::put_item).then_compute_response(move |req| {
        let item = req.item().unwrap();
        for name in ["im_userid", "im_username", "im_password", "extends"] {
            assert!(item.contains_key(name), "every create carries {name}");
        }
        match seen.fetch_add(1, Ordering::SeqCst) {
            0 => MockResponse::Error(PutItemError::InternalServerError(
                InternalServerError::builder()
                    .message("request timed out")
                    .meta(ErrorMetadata::builder().code("InternalServerError").build())
                    .build(),
            )),
            1 => MockResponse::Error(PutItemError::ConditionalCheckFailedException(
                ConditionalCheckFailedException::builder()
                    .message("exists")
                    .build(),
            )),
            _ => MockResponse::Output(PutItemOutput::builder().build()),
        }
    });
    let t = with_counter(&put);
    let first = register_u1(&t).await;
    assert!(matches!(first.status, 500 | 503), "{}", first.body);
    assert!(first.body.get("data").is_none());
    let retry = register_u1(&t).await;
    retry.assert_error(400, 10001, "user already exists: u1");
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn cancellations_that_settle_nothing_back_off_and_end_as_503() {
    // A cancellation naming no failed condition (conflicts, or no reasons at all) must not be
    // retried in a hot loop: it backs off and gives up at the deadline.
    let transact = mock!(Client::transact_write_items).then_error(|| {
        TransactWriteItemsError::TransactionCanceledException(
            TransactionCanceledException::builder()
                .message("Transaction cancelled")
                .build(),
        )
    });
    let t = with_counter(&transact);
    let started = tokio::time::Instant::now();
    let result = t
        .app
        .users
        .register_batch(&json!([{"user_id": "a"}, {"user_id": "b"}]))
        .await;
    assert!(matches!(result, Err(ApiError::Busy(_))), "{result:?}");
    assert!(
        transact.num_calls() < 50,
        "backed off: {} calls",
        transact.num_calls()
    );
    assert!(
        started.elapsed() <= REQUEST_BUDGET,
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_create_whose_retry_meets_its_own_write_is_a_success() {
    // The SDK retried a put whose answer was lost: the retry's condition fails on the item
    // the first attempt wrote, and DynamoDB hands that item back. It is this request's own
    // (same IM id and password), so the create succeeded. Another request for the same id
    // meets an item that is not its own: 10001.
    let written: Arc<Mutex<Option<Item>>> = Arc::default();
    let first = written.clone();
    let put = mock!(Client::put_item).then_compute_response(move |req| {
        let mut first = first.lock().unwrap();
        let stored = first
            .get_or_insert_with(|| req.item().unwrap().clone())
            .clone();
        MockResponse::Error(PutItemError::ConditionalCheckFailedException(
            ConditionalCheckFailedException::builder()
                .message("The conditional request failed")
                .set_item(Some(stored))
                .build(),
        ))
    });
    let t = with_counter(&put);
    let r = register_u1(&t).await;
    assert!(r.assert_ok().is_null());
    let again = register_u1(&t).await;
    again.assert_error(400, 10001, "user already exists: u1");
    assert_eq!(put.num_calls(), 2);
}

/// The user ids of one transaction attempt and its ClientRequestToken.
type Attempt = (Vec<String>, Option<String>);

#[tokio::test]
async fn a_transaction_that_meets_its_own_puts_counts_them_as_created() {
    // First attempt: the put of "b" fails its condition on the item this very batch wrote
    // (an earlier attempt whose outcome was unknown had landed). That is a creation, not a
    // 10001; "a" and "c" go again. Every attempt carries its own ClientRequestToken.
    let tries: Arc<Mutex<Vec<Attempt>>> = Arc::default();
    let seen = tries.clone();
    let transact = mock!(Client::transact_write_items).then_compute_response(move |req| {
        let items = req.transact_items();
        let ids = items
            .iter()
            .map(|i| user_id_of(i.put().unwrap().item()))
            .collect();
        seen.lock()
            .unwrap()
            .push((ids, req.client_request_token().map(str::to_string)));
        if items.len() < 3 {
            return MockResponse::Output(TransactWriteItemsOutput::builder().build());
        }
        let own = items[1].put().unwrap().item().clone();
        MockResponse::Error(TransactWriteItemsError::TransactionCanceledException(
            TransactionCanceledException::builder()
                .message("Transaction cancelled")
                .cancellation_reasons(CancellationReason::builder().code("None").build())
                .cancellation_reasons(
                    CancellationReason::builder()
                        .code("ConditionalCheckFailed")
                        .set_item(Some(own))
                        .build(),
                )
                .cancellation_reasons(CancellationReason::builder().code("None").build())
                .build(),
        ))
    });
    let t = with_counter(&transact);
    let failures = t
        .app
        .users
        .register_batch(&json!([{"user_id": "a"}, {"user_id": "b"}, {"user_id": "c"}]))
        .await
        .unwrap();
    assert_eq!(failures, None, "every user of the batch was created");
    let tries = tries.lock().unwrap();
    let ids: Vec<&Vec<String>> = tries.iter().map(|(ids, _)| ids).collect();
    assert_eq!(ids, [&vec!["a", "b", "c"], &vec!["a", "c"]]);
    let tokens: Vec<&str> = tries.iter().map(|(_, t)| t.as_deref().unwrap()).collect();
    assert_ne!(tokens[0], tokens[1], "a new action set is a new request");
}

#[tokio::test]
async fn a_transaction_cancelled_for_a_validation_error_is_500_and_not_retried() {
    let transact = mock!(Client::transact_write_items).then_error(|| {
        TransactWriteItemsError::TransactionCanceledException(
            TransactionCanceledException::builder()
                .message("Transaction cancelled")
                .cancellation_reasons(CancellationReason::builder().code("None").build())
                .cancellation_reasons(
                    CancellationReason::builder()
                        .code("ValidationError")
                        .message("Item size has exceeded the maximum allowed size")
                        .build(),
                )
                .build(),
        )
    });
    let t = with_counter(&transact);
    let result = t
        .app
        .users
        .register_batch(&json!([{"user_id": "a"}, {"user_id": "b"}]))
        .await;
    match result {
        // The reasons go to the logs through the error's detail.
        Err(ApiError::Internal(detail)) => {
            assert!(
                detail.contains("[1] ValidationError: Item size"),
                "{detail}"
            );
        }
        other => panic!("expected a 500, got {other:?}"),
    }
    assert_eq!(transact.num_calls(), 1, "retrying cannot help: not retried");
}

#[tokio::test(start_paused = true)]
async fn batch_reads_start_no_call_that_could_end_past_the_budget() {
    // Every round hands all keys back. The loop may only start a call while a whole SDK
    // call (its operation timeout) still fits in the request's budget, and the answer comes
    // inside the budget, before the function's timeout.
    let started = tokio::time::Instant::now();
    let calls: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let seen = calls.clone();
    let batch_get = mock!(Client::batch_get_item).then_compute_output(move |req| {
        seen.lock().unwrap().push(started.elapsed());
        let (table, wanted) = req.request_items().unwrap().iter().next().unwrap();
        BatchGetItemOutput::builder()
            .unprocessed_keys(table, wanted.clone())
            .build()
    });
    let t = TestApp::over(mock_client!(
        aws_sdk_dynamodb,
        RuleMode::MatchAny,
        [&batch_get]
    ));
    let ids = vec!["u1".to_string(), "u2".to_string()];
    let result = t.app.users.infos(&ids).await;
    assert!(matches!(result, Err(ApiError::Busy(_))), "{result:?}");
    assert!(
        started.elapsed() <= REQUEST_BUDGET,
        "{:?}",
        started.elapsed()
    );
    let calls = calls.lock().unwrap();
    assert!(calls.len() > 1, "it did retry: {calls:?}");
    let last_start = REQUEST_BUDGET - SDK_OPERATION_TIMEOUT;
    assert!(
        calls.iter().all(|at| *at <= last_start),
        "a call started after {last_start:?} could end past the budget: {calls:?}"
    );
}

/// An app whose SDK client (the harness's, with its 20 s operation timeout) talks to
/// `connector` instead of a network.
async fn over_connector(connector: impl HttpConnector + Clone + 'static) -> TestApp {
    let client = shared::testing::local_client("http://127.0.0.1:9").await;
    let config = client
        .config()
        .to_builder()
        .http_client(http_client_fn(move |_, _| {
            SharedHttpConnector::new(connector.clone())
        }))
        .build();
    TestApp::over(Client::from_conf(config))
}

/// An HTTP connection that never answers (a stalled DynamoDB).
#[derive(Debug, Clone)]
struct Silent;

impl HttpConnector for Silent {
    fn call(&self, _: HttpRequest) -> HttpConnectorFuture {
        HttpConnectorFuture::new(std::future::pending())
    }
}

#[tokio::test(start_paused = true)]
async fn a_store_that_never_answers_is_503_inside_the_function_timeout() {
    // The harness client allows 20 s per SDK operation, longer than the function may run:
    // the request budget still answers first, with the request's own 503.
    let t = over_connector(Silent).await;
    let started = tokio::time::Instant::now();
    let r = info_u1(&t).await;
    r.assert_error(503, 503, "service busy, retry later");
    assert_eq!(started.elapsed(), REQUEST_BUDGET);
    assert!(
        REQUEST_BUDGET < Duration::from_secs(10),
        "the function timeout"
    );
}

/// DynamoDB as far as a batch register needs it: the counter answers, and so does every
/// transaction but the one holding `stalled`, which never does.
#[derive(Debug, Clone)]
struct StallOne {
    stalled: &'static str,
}

impl HttpConnector for StallOne {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let target = request.headers().get("x-amz-target").unwrap_or_default();
        let body = String::from_utf8_lossy(request.body().bytes().unwrap_or_default());
        if target.ends_with("TransactWriteItems") && body.contains(self.stalled) {
            return HttpConnectorFuture::new(std::future::pending());
        }
        let json = if target.ends_with("UpdateItem") {
            r#"{"Attributes":{"value":{"N":"1000"}}}"#
        } else {
            "{}"
        };
        let status = 200u16.try_into().expect("a status");
        HttpConnectorFuture::ready(Ok(HttpResponse::new(status, SdkBody::from(json))))
    }
}

#[tokio::test(start_paused = true)]
async fn a_stalled_transaction_is_cut_off_in_time_and_the_others_keep_their_answer() {
    // 150 users: two transactions. The second never answers; it is cut off before the
    // budget ends, its users are 503 (outcome unknown), and the 100 the first created are
    // still reported as created, inside the function's timeout.
    let t = over_connector(StallOne {
        stalled: "\"b-100\"",
    })
    .await;
    let users: Vec<_> = (0..150)
        .map(|i| json!({"user_id": format!("b-{i}")}))
        .collect();
    let started = tokio::time::Instant::now();
    let failures = t
        .app
        .users
        .register_batch(&json!(users))
        .await
        .expect("a partial answer, not a 503 for everything")
        .expect("the stalled users are reported");
    assert!(
        started.elapsed() < REQUEST_BUDGET,
        "{:?}",
        started.elapsed()
    );
    assert_eq!(failures.len(), 50);
    for i in 100..150 {
        assert_eq!(failures[&format!("b-{i}")].code, 503);
    }
}

async fn log_in(call: Call<Anonymous>) -> ApiResult<SignedIn> {
    call.log_in(&Credentials::log_in(AccountField::Username, &call.json()?)?)
        .await
}

/// A wrong-password login of `erin` through MinApp's login handler.
async fn wrong_login(t: &TestApp) -> shared::testing::TestResponse {
    t.call(
        MinApp.public().created(),
        Method::POST,
        "/hserve/v2.1/login/username/",
    )
    .json(&json!({"username": "erin", "password": "not the password"}))
    .send(log_in)
    .await
}

#[tokio::test(start_paused = true)]
async fn a_login_whose_store_never_answers_is_503_inside_the_function_timeout() {
    let t = over_connector(Silent).await;
    let started = tokio::time::Instant::now();
    let r = wrong_login(&t).await;
    r.assert_minapp_error(503, "service busy");
    assert_eq!(started.elapsed(), REQUEST_BUDGET);
}

/// DynamoDB Local for every operation, each read served after a delay, but the third
/// UpdateItem never answers: a login's first phase (its two limits, the guard and the user)
/// takes a good part of its time, and its second phase (giving its attempt back after a
/// successful argon2) stalls.
#[derive(Debug, Clone)]
struct UpdatesStall(SharedHttpConnector, Arc<AtomicUsize>);

const READ_DELAY: Duration = Duration::from_millis(600);

impl HttpConnector for UpdatesStall {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let target = request.headers().get("x-amz-target").unwrap_or_default();
        if target.ends_with(".UpdateItem") {
            if self.1.fetch_add(1, Ordering::SeqCst) >= 2 {
                return HttpConnectorFuture::new(std::future::pending());
            }
            return self.0.call(request);
        }
        let served = self.0.call(request);
        HttpConnectorFuture::new(async move {
            tokio::time::sleep(READ_DELAY).await;
            served.await
        })
    }
}

#[tokio::test]
async fn both_phases_of_a_login_share_one_deadline() {
    let t = TestApp::new().await;
    t.given_sign_up(AccountField::Username, "erin", "correct horse")
        .await;
    let direct = aws_smithy_http_client::Builder::new().build_http();
    let updates = Arc::new(AtomicUsize::new(0));
    let config = t
        .client
        .config()
        .to_builder()
        .http_client(http_client_fn(move |settings, components| {
            SharedHttpConnector::new(UpdatesStall(
                direct.http_connector(settings, components),
                updates.clone(),
            ))
        }))
        .build();
    // The first phase (two reads) takes 1.2 s of the budget: a second deadline for the
    // give-back would take the request past budget + 1.2 s.
    let budget = Duration::from_secs(2);
    let stalled = t.through(Client::from_conf(config), |u| u.with_request_budget(budget));
    let started = std::time::Instant::now();
    let r = stalled
        .call(
            MinApp.public().created(),
            Method::POST,
            "/hserve/v2.1/login/username/",
        )
        .json(&json!({"username": "erin", "password": "correct horse"}))
        .send(log_in)
        .await;
    let took = started.elapsed();
    r.assert_minapp_error(503, "service busy");
    assert!(took >= budget, "{took:?}");
    assert!(
        took < budget + READ_DELAY,
        "one deadline for the whole login, not one per phase: {took:?}"
    );
}
