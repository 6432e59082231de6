//! `make bench`: measures every function against a baseline taken in the same run and prints
//! one report (also written to BENCHMARKS.md). Nothing here asserts a timing; it fails only
//! when a function misbehaves (a non-success answer, no poll, no answer in time).
//!
//! Inputs (environment): BENCH_BIN_DIR (host release binaries, default target/release),
//! BENCH_LAMBDA_DIR (`cargo lambda build --release --arm64 --output-format zip` output,
//! default target/lambda), BENCH_STARTS (21), BENCH_WARM (300), BENCH_ITERATIONS (500),
//! BENCH_BULK (10000), BENCH_BULK_SINGLE (1000), BENCH_OUT (BENCHMARKS.md), BENCH_FUNCTIONS
//! (a comma-separated subset of functions; default all), BENCH_MINAPP_SIZES (table sizes of
//! the MinApp rows, `1000,10000`), BENCH_MINAPP_RUNS (15), BENCH_ONLY=minapp (only the MinApp
//! rows, printed, BENCHMARKS.md left as it is: they need no release build of the functions).

mod cost;
mod inprocess;
mod minapp;
mod processes;
mod report;
mod runtime;
mod stats;

use std::path::{Path, PathBuf};

use shared::account::AccountField;
use shared::config::Config;
use shared::endpoint::App;
use shared::session::{Credentials, Sessions};
use shared::store::create_table;
use shared::testing::{dynamodb_endpoint, local_client};
use shared::user::NewUser;

use processes::{BARE, SampleEvents};

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn dir(name: &str, default: &str) -> PathBuf {
    std::env::var(name)
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join(default))
}

/// `local.env`: the development configuration the sample events are signed for.
fn local_env() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(root().join("local.env")).expect("read local.env");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn functions() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("functions"))
        .expect("functions/")
        .filter_map(Result::ok)
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    // BENCH_FUNCTIONS=a,b limits a run to some functions (for quick experiments).
    if let Ok(only) = std::env::var("BENCH_FUNCTIONS") {
        names.retain(|n| only.split(',').any(|o| o.trim() == n));
    }
    names
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // The handlers log one JSON line per request, as deployed; the bench pays for formatting
    // it, and throws the line away.
    tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::sink)
        .init();
    let bin_dir = dir("BENCH_BIN_DIR", "target/release");
    let lambda_dir = dir("BENCH_LAMBDA_DIR", "target/lambda");
    let out = dir("BENCH_OUT", "BENCHMARKS.md");
    let functions = functions();

    let minapp_sizes: Vec<usize> = std::env::var("BENCH_MINAPP_SIZES")
        .unwrap_or_else(|_| "1000,10000".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let minapp_runs = setting("BENCH_MINAPP_RUNS", 15);
    if std::env::var("BENCH_ONLY").as_deref() == Ok("moving") {
        // The import alone, with its baseline (the batch register) in the same run.
        let users = setting("BENCH_IMPORT", 5_000);
        let bulk = inprocess::bulk(users, 0).await;
        let baseline = bulk.batch_users as f64 / bulk.batch_time.as_secs_f64();
        let moving = inprocess::moving_in(users).await;
        println!("{}", report::moving_section(&moving, baseline));
        return;
    }
    if std::env::var("BENCH_ONLY").as_deref() == Ok("minapp") {
        let m = minapp::minapp(&minapp_sizes, minapp_runs).await;
        println!("{}", report::minapp_section(&m));
        return;
    }

    let endpoint = dynamodb_endpoint();
    let mut env = local_env();
    let table = env
        .iter()
        .find(|(k, _)| k == "TABLE_NAME")
        .map(|(_, v)| v.clone())
        .expect("TABLE_NAME in local.env");
    let key = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let (access_key, secret_key) = key("ACCESS_KEYS")
        .and_then(|v| {
            v.split(',')
                .next()
                .and_then(|p| p.split_once(':'))
                .map(|(a, s)| (a.to_string(), s.to_string()))
        })
        .expect("ACCESS_KEYS in local.env");
    env.extend(
        [
            ("AWS_ENDPOINT_URL_DYNAMODB", endpoint),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "local"),
            ("AWS_SECRET_ACCESS_KEY", "local"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );

    // The sample events' users: user-1 and user-2, IM ids 1 and 2 (the MinApp samples name
    // user-1 by its IM id), then the accounts the login samples sign in to.
    let client = local_client(endpoint).await;
    create_table(&client, &table)
        .await
        .expect("create the local table");
    let config =
        Config::from_lookup(|name| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
            .expect("local.env is a valid configuration");
    let app: &'static App = Box::leak(Box::new(
        App::new(&config, client).expect("an app over local.env"),
    ));
    for id in ["user-1", "user-2"] {
        let user = NewUser::from_json(&serde_json::json!({ "user_id": id }), "body").unwrap();
        app.users.register(user).await.expect("seed sample users");
    }
    let sessions = Sessions::new(&app.users, "sample-app".into(), app.tokens());
    for (field, value) in [
        (AccountField::Email, "sample@example.com"),
        (AccountField::Phone, "+8613800000000"),
        (AccountField::Username, "sample_user"),
    ] {
        let body = serde_json::json!({ field.name(): value, "password": "sample-password" });
        let credentials = Credentials::sign_up(field, &body).expect("sample credentials");
        sessions
            .sign_up(&credentials)
            .await
            .expect("seed the login samples' accounts");
    }

    let starts = setting("BENCH_STARTS", 21);
    eprintln!(
        "cold init: {} binaries x {starts} starts",
        functions.len() + 1
    );
    let mut binaries = vec![BARE.to_string()];
    binaries.extend(functions.iter().cloned());
    let cold = processes::cold_init(&bin_dir, &binaries, &env, starts).await;
    let without = processes::with_warm_up_off(&env);
    let cold_without_warm_up = processes::cold_init(&bin_dir, &functions, &without, starts).await;

    let warm = setting("BENCH_WARM", 300);
    eprintln!("first vs warm and peak memory: {warm} invocations each");
    let mut events = SampleEvents::new(
        root().join("events"),
        &access_key,
        &secret_key,
        app.tokens(),
    );
    let mut runs = Vec::new();
    for name in &functions {
        runs.push(processes::warm_run(&bin_dir, name, &env, &mut events, warm).await);
    }

    let iterations = setting("BENCH_ITERATIONS", 500);
    eprintln!("handler overhead: {iterations} iterations per endpoint");
    let overhead = inprocess::handler_overhead(iterations).await;
    let trips = inprocess::round_trips().await;
    let bulk_users = setting("BENCH_BULK", 10_000);
    let single_users = setting("BENCH_BULK_SINGLE", 1_000);
    eprintln!("bulk: {bulk_users} users by batch, {single_users} one by one");
    let bulk = inprocess::bulk(bulk_users, single_users).await;
    let moving_users = setting("BENCH_IMPORT", 5_000);
    eprintln!("moving in: {moving_users} users imported, then again");
    let moving = inprocess::moving_in(moving_users).await;
    eprintln!("minapp: list and update at {minapp_sizes:?} users");
    let minapp = minapp::minapp(&minapp_sizes, minapp_runs).await;
    eprintln!("argon2id: 21 hashes and verifications");
    let argon2 = inprocess::argon2_cost(21);
    eprintln!("login latency: 21 logins of each kind");
    let login = inprocess::login_latency(21).await;

    let report = report::Report {
        functions: &functions,
        bin_dir: &bin_dir,
        lambda_dir: &lambda_dir,
        starts,
        cold,
        cold_without_warm_up,
        runs,
        overhead,
        trips,
        bulk,
        moving,
        minapp,
        argon2,
        login,
    };
    let text = report.render();
    println!("{text}");
    std::fs::write(&out, &text).unwrap_or_else(|e| panic!("write {}: {e}", out.display()));
    eprintln!("written to {}", out.display());
}
