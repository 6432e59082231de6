//! Operator tool for the local stack and for calling a deployed API from a shell.
//!
//! ```text
//! userctl create-table                      create TABLE_NAME (idempotent) at AWS_ENDPOINT_URL_DYNAMODB
//! userctl sign METHOD URL [BODY]            print an Authorization header value for curl
//! ```
//! Keys come from `ACCESS_KEYS` (the first pair signs), else from `./local.env`.

use std::process::ExitCode;

use shared::auth::qiniu::{SignedParts, sign};
use shared::config::Config;
use shared::store::create_table;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("create-table") => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
            .and_then(|rt| rt.block_on(create())),
        Some("sign") if args.len() == 3 || args.len() == 4 => {
            sign_request(&args[1], &args[2], args.get(3).map(String::as_str))
        }
        _ => Err("usage: userctl create-table | userctl sign METHOD URL [JSON_BODY]".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("userctl: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The environment, with `./local.env` filling in what it lacks.
fn config() -> Result<Config, String> {
    let file = std::fs::read_to_string("local.env").unwrap_or_default();
    let from_file = |name: &str| {
        file.lines()
            .filter_map(|l| l.trim().split_once('='))
            .find(|(k, _)| k.trim() == name)
            .map(|(_, v)| v.trim().trim_matches('"').to_string())
    };
    Config::from_lookup(|name| std::env::var(name).ok().or_else(|| from_file(name)))
        .map_err(|e| e.to_string())
}

async fn create() -> Result<(), String> {
    let config = config()?;
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    create_table(&client, &config.table_name)
        .await
        .map_err(|e| format!("{e}: {}", e.detail().unwrap_or("")))?;
    println!("table {} ready", config.table_name);
    Ok(())
}

/// Signs as the official SDKs do (Qiniu v2); a body is sent as `application/json`.
fn sign_request(method: &str, url: &str, body: Option<&str>) -> Result<(), String> {
    let config = config()?;
    let key = &config.access_keys[0];
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let (host, path_and_query) = rest
        .find('/')
        .map_or((rest, "/"), |i| (&rest[..i], &rest[i..]));
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut headers = lambda_http::http::HeaderMap::new();
    headers.insert("host", host.parse().map_err(|_| "bad host in URL")?);
    if body.is_some() {
        headers.insert(
            "content-type",
            "application/json".parse().expect("static header"),
        );
    }
    let body = body.unwrap_or("").as_bytes();
    let method = method.to_ascii_uppercase();
    let parts = SignedParts::new(&method, path, query, &headers, body);
    let signature = sign(key.secret_key.expose(), &parts.v2_data(path));
    println!("Qiniu {}:{signature}", key.access_key);
    Ok(())
}
