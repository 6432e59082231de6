//! Faults on the wire: a small TCP proxy between the SDK and DynamoDB Local drops
//! connections (before the request, or after it with the answer lost) and adds latency.
//! A create whose answer was lost and which the SDK retried is a success, never 10001 for the
//! test's own write. After the faults stop: every acknowledged user is there (single and
//! batch), every user has its whole IM identity, and no IM id belongs to two users.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;
use shared::endpoint::App;
use shared::error::ApiError;
use shared::store::create_table;
use shared::testing::{dynamodb_endpoint, join_all, local_client, test_config};
use shared::user::NewUser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A proxy whose faults can be switched off. Fault choice is a cheap deterministic sequence,
/// so a run is reproducible in kind if not in timing.
struct FaultyProxy {
    faults_on: Arc<AtomicBool>,
    addr: std::net::SocketAddr,
}

impl FaultyProxy {
    async fn start(upstream: String) -> FaultyProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let faults_on = Arc::new(AtomicBool::new(true));
        let on = faults_on.clone();
        let counter = Arc::new(AtomicU64::new(0));
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (on, counter, upstream) = (on.clone(), counter.clone(), upstream.clone());
                tokio::spawn(async move {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let _ = relay(
                        client,
                        &upstream,
                        on.load(Ordering::Relaxed).then_some(n % 5),
                    )
                    .await;
                });
            }
        });
        FaultyProxy { faults_on, addr }
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Relays one connection. Fault 0: reset at once. Fault 1: forward the first request, then
/// drop the connection so its answer is lost. Fault 2: 30 ms of latency each way. Else clean.
// Zero linger makes close send RST at once; it cannot block.
#[allow(deprecated)]
async fn relay(mut client: TcpStream, upstream: &str, fault: Option<u64>) -> std::io::Result<()> {
    if fault == Some(0) {
        client.set_linger(Some(Duration::ZERO))?;
        return Ok(());
    }
    let mut server = TcpStream::connect(upstream).await?;
    if fault == Some(1) {
        let mut buf = vec![0u8; 64 * 1024];
        let n = client.read(&mut buf).await?;
        server.write_all(&buf[..n]).await?;
        // Let DynamoDB Local act on the request, then lose its answer.
        tokio::time::sleep(Duration::from_millis(50)).await;
        client.set_linger(Some(Duration::ZERO))?;
        return Ok(());
    }
    if fault == Some(2) {
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    tokio::io::copy_bidirectional(&mut client, &mut server)
        .await
        .map(|_| ())
}

fn new_user(id: &str) -> NewUser {
    NewUser {
        user_id: id.to_string(),
        nick: String::new(),
        avatar: String::new(),
        extends: Default::default(),
    }
}

#[tokio::test]
async fn acknowledged_writes_survive_resets_lost_answers_and_latency() {
    let upstream = dynamodb_endpoint()
        .trim_start_matches("http://")
        .to_string();
    let proxy = FaultyProxy::start(upstream).await;
    let table = format!("wire-{}", std::process::id());
    let direct = local_client(dynamodb_endpoint()).await;
    create_table(&direct, &table).await.unwrap();
    let app: &'static App = Box::leak(Box::new(
        App::new(&test_config(&table), local_client(&proxy.endpoint()).await)
            .expect("valid test config"),
    ));

    // 60 single registrations and 3 batches of 20, all under faults.
    let singles = (0..60).map(|i| {
        let id = format!("s{i}");
        async move {
            (
                vec![id.clone()],
                app.users.register(new_user(&id)).await.map(|()| None),
            )
        }
    });
    let batches = (0..3).map(|b| {
        let ids: Vec<String> = (0..20).map(|i| format!("b{b}-{i}")).collect();
        let body = json!(
            ids.iter()
                .map(|id| json!({"user_id": id}))
                .collect::<Vec<_>>()
        );
        async move { (ids, app.users.register_batch(&body).await) }
    });
    let single_results = join_all(singles).await;
    let batch_results = join_all(batches).await;

    // Every id is this test's own and new: the only acceptable failures are 5xx (the SDK
    // gave up under the faults). A 10001 would be a create calling its own write a conflict.
    let mut acknowledged = HashSet::new();
    let mut acknowledged_in_batches = HashSet::new();
    let mut refused = 0;
    let batch_ids: HashSet<String> = batch_results
        .iter()
        .flat_map(|(ids, _)| ids.iter().cloned())
        .collect();
    for (ids, result) in single_results.into_iter().chain(batch_results) {
        match result {
            Ok(failures) => {
                let failures = failures.unwrap_or_default();
                for id in ids {
                    match failures.get(&id) {
                        None => {
                            if batch_ids.contains(&id) {
                                acknowledged_in_batches.insert(id.clone());
                            }
                            acknowledged.insert(id);
                        }
                        Some(f) => assert!([503, 500].contains(&f.code), "{id}: {f:?}"),
                    }
                }
            }
            Err(ApiError::Busy(_) | ApiError::Internal(_)) => refused += 1,
            Err(other) => panic!("{ids:?}: unexpected {other:?}"),
        }
    }
    assert!(
        !acknowledged.is_empty(),
        "some writes must get through the faults"
    );

    // Faults off: audit the table directly (a Scan is fine in a test, never on a request path).
    proxy.faults_on.store(false, Ordering::Relaxed);
    let items = direct
        .scan()
        .table_name(&table)
        .send()
        .await
        .unwrap()
        .items()
        .to_vec();
    let users: Vec<&HashMap<String, AttributeValue>> = items
        .iter()
        .filter(|i| i["sk"].as_s().is_ok_and(|s| s == "USER"))
        .collect();
    let mut stored_ids = HashSet::new();
    let mut im_owner: HashMap<String, String> = HashMap::new();
    for user in &users {
        let id = user["user_id"].as_s().unwrap().clone();
        for attr in [
            "im_userid",
            "im_username",
            "im_password",
            "extends",
            "extends_bytes",
        ] {
            assert!(user.contains_key(attr), "user {id} lacks {attr}");
        }
        assert_eq!(user["im_username"].as_s().unwrap(), &format!("ql{id}"));
        let im = user["im_userid"].as_n().unwrap().clone();
        if let Some(other) = im_owner.insert(im.clone(), id.clone()) {
            panic!("im_userid {im} belongs to both {other} and {id}");
        }
        stored_ids.insert(id);
    }
    for id in &acknowledged {
        assert!(stored_ids.contains(id), "acknowledged {id} is missing");
    }
    assert!(
        acknowledged_in_batches
            .iter()
            .all(|id| stored_ids.contains(id)),
        "every acknowledged batch user is stored"
    );
    // And the service works normally once the wire is clean.
    app.users.register(new_user("after-faults")).await.unwrap();
    println!(
        "acknowledged {} of 120 ({} in batches), {refused} requests refused with a 5xx",
        acknowledged.len(),
        acknowledged_in_batches.len()
    );
}
