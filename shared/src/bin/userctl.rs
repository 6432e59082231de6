//! Operator tool: call the API from a shell (local or deployed) and prepare the local table.
//!
//! ```text
//! userctl call METHOD URL [JSON_BODY] [--token AUTHORIZATION] [--access-token TOKEN]
//!                                    sign as an app server (or send `Authorization: AUTHORIZATION`,
//!                                    or Deepin's `Access-Token: TOKEN`), send, print the response
//! userctl --help                    this list (exit 0)
//! userctl sign METHOD URL [JSON_BODY]  print an Authorization value for curl
//! userctl token BASE_URL USER_ID [APP_ID]
//!                                    print a client token for USER_ID (any dialect accepts it)
//! userctl minapp-token BASE_URL      MinApp's open-API flow with the first AK/SK pair (authorize,
//!                                    then access_token with the code); print the server token
//! userctl login BASE_URL username|email|phone VALUE
//!                                    MinApp's login (POST /hserve/v2.1/login/<field>/); the password
//!                                    is read from USERCTL_PASSWORD or the first line of stdin (never
//!                                    argv); print the client token (any dialect accepts it)
//! userctl signup BASE_URL username|email|phone VALUE
//!                                    the same through MinApp's sign-up; print the token
//! userctl create-table               create TABLE_NAME if missing (DynamoDB Local)
//! userctl operator add NAME --role viewer|editor|admin
//!                                    add a console operator to TABLE_NAME; the password is read
//!                                    from USERCTL_PASSWORD or the first line of stdin (never argv)
//! userctl operator list               the operators: name, role, created_at (never a hash)
//! userctl operator dev                add DEV_OPERATOR=<name>:<password> (./local.env) as an
//!                                    admin unless it exists (`make dev` runs it: idempotent)
//! userctl backfill-directory [--segments N] [--page-size N] [--resume TOKEN]
//!                                    give every user of TABLE_NAME written before the directory
//!                                    index its `dir`/`dir_order` (MinApp lists and batch updates
//!                                    find only users that have them); see below
//! userctl import BASE_URL --from minapp|qnlivekit|jsonl FILE [--dry-run]
//!                                    move users in with their ids, times, account values and
//!                                    password hashes; a per-row report on stdout, a progress bar
//!                                    on stderr, then `imported N, unchanged N, failed N`
//! userctl import BASE_URL --from minapp|qnlivekit|jsonl --s3 s3://BUCKET/KEY
//!                                    the same on AWS: start the import state machine over the
//!                                    file in S3 (IMPORT_STATE_MACHINE_ARN) and follow its progress
//! userctl export BASE_URL [--where JSON] --format minapp-csv|jsonl [--with-password-hashes]
//!                                    every user matching the MinApp `where` (all without) to
//!                                    stdout, a scan page at a time, with a progress bar
//! userctl rekey-guards [--page-size N]
//!                                    move every user's username, email and phone guards of a
//!                                    table written before issue 18 to the look-alike keys (one
//!                                    transaction per user); report values that now collide
//! ```
//!
//! `backfill-directory` scans the whole table in N parallel segments (default 4), a page of
//! at most `--page-size` items (default 500) of each segment per round, and sets both
//! attributes on each user item that lacks them, conditioned on `attribute_not_exists(dir)`:
//! it never overwrites and touches nothing else, so it is safe while traffic flows, and a
//! second run updates nothing. A progress bar goes to stderr (its length is DynamoDB's
//! approximate item count), the summary to stdout. Resuming: when it stops on an error or
//! Ctrl-C it prints a `--resume TOKEN` that holds where every segment stood after the last
//! completed round (and their number: `--segments` is then ignored); a run given it goes on
//! from there. Rerunning from the start is also safe, only slower.
//! `rekey-guards` scans the whole table (`PHONE_DEFAULT_REGION` from the environment or
//! `./local.env` must be the deployment's) and is safe while traffic flows and to rerun; it
//! exits non-zero when a collision is reported (see README "Moving a deployed table to the
//! look-alike keys").
//! `import` and `export` read and write TABLE_NAME directly (transactions of up to 100 writes,
//! scans of 1 MB pages: much faster than a request per user), under the deployment's
//! `USER_FIELDS`, `IM_USERNAME_PREFIX` and `PHONE_DEFAULT_REGION` (environment, else
//! `./local.env`); BASE_URL is the deployment they are meant for: the import reads its first
//! imported user back through it (the Qiniu server API, signed), which catches a TABLE_NAME
//! that is not that deployment's. Exit status 1 when a row failed.
//! Keys come from the environment (`ACCESS_KEYS`: the first pair signs), else `./local.env`.
//! A body is sent as `application/json`. Nothing secret is printed except what was asked for.

use std::process::ExitCode;

use shared::account::AccountRules;
use shared::auth::qiniu::{SignedParts, format_qiniu_date, sign};
use shared::config::AccessKey;
use shared::store::backfill::{BackfillCounts, BackfillPosition};
use shared::store::{UserTable, create_table};

const USAGE: &str =
    "usage: userctl call METHOD URL [JSON_BODY] [--token AUTHORIZATION] [--access-token TOKEN]
       userctl sign METHOD URL [JSON_BODY]
       userctl token BASE_URL USER_ID [APP_ID]
       userctl minapp-token BASE_URL
       userctl login BASE_URL username|email|phone VALUE   (password: USERCTL_PASSWORD or stdin)
       userctl signup BASE_URL username|email|phone VALUE  (password: USERCTL_PASSWORD or stdin)
       userctl create-table
       userctl operator add NAME --role viewer|editor|admin   (password: USERCTL_PASSWORD or stdin)
       userctl operator list
       userctl operator dev
       userctl backfill-directory [--segments N] [--page-size N] [--resume TOKEN]
       userctl rekey-guards [--page-size N]
       userctl import BASE_URL --from minapp|qnlivekit|jsonl FILE [--dry-run]
       userctl import BASE_URL --from minapp|qnlivekit|jsonl --s3 s3://BUCKET/KEY
       userctl export BASE_URL [--where JSON] --format minapp-csv|jsonl [--with-password-hashes]";

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let credential = match (
        take_flag(&mut args, "--token"),
        take_flag(&mut args, "--access-token"),
    ) {
        (Some(authorization), _) => Credential::Header("Authorization", authorization),
        (None, Some(token)) => Credential::Header("Access-Token", token),
        (None, None) => Credential::Signature,
    };
    let result = match (args.first().map(String::as_str), args.len()) {
        (Some("call"), 3 | 4) => call(
            &args[1],
            &args[2],
            args.get(3).map(String::as_str),
            &credential,
        ),
        (Some("sign"), 3 | 4) => signed(&args[1], &args[2], args.get(3).map(String::as_str), false)
            .map(|(a, _)| println!("{a}")),
        (Some("token"), 3 | 4) => client_token(
            &args[1],
            &args[2],
            args.get(3).map_or("userctl", String::as_str),
        ),
        (Some("minapp-token"), 2) => minapp_token(&args[1]),
        (Some(kind @ ("login" | "signup")), 4) => hserve(kind, &args[1], &args[2], &args[3]),
        (Some("create-table"), 1) => create(),
        (Some("operator"), _) => operator(args[1..].to_vec()),
        (Some("backfill-directory"), _) => backfill_directory(args[1..].to_vec()),
        (Some("rekey-guards"), _) => rekey_guards(args[1..].to_vec()),
        (Some("import"), _) => import(args[1..].to_vec()),
        (Some("export"), _) => export(args[1..].to_vec()),
        // Asked for, the usage is an answer (stdout, exit 0); otherwise it is the error.
        (Some("--help" | "-h" | "help"), 1) => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("userctl: {e}");
            ExitCode::FAILURE
        }
    }
}

fn take_flag(args: &mut Vec<String>, flag: &str) -> Option<String> {
    let i = args.iter().position(|a| a == flag)?;
    args.remove(i);
    (i < args.len()).then(|| args.remove(i))
}

/// A variable from the environment, else from `./local.env` (development values).
fn setting(name: &str) -> Option<String> {
    std::env::var(name).ok().or_else(|| {
        let file = std::fs::read_to_string("local.env").ok()?;
        file.lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .find(|(k, _)| k.trim() == name)
            .map(|(_, v)| v.trim().trim_matches('"').to_string())
    })
}

fn signing_key() -> Result<AccessKey, String> {
    let raw =
        setting("ACCESS_KEYS").ok_or("ACCESS_KEYS is not set (environment or ./local.env)")?;
    let (ak, sk) = raw
        .split(',')
        .next()
        .and_then(|p| p.trim().split_once(':'))
        .ok_or("ACCESS_KEYS must be ak:sk[,ak:sk...]")?;
    Ok(AccessKey {
        access_key: ak.to_string(),
        secret_key: shared::config::Secret::new(sk.as_bytes()),
    })
}

/// `Qiniu <AK>:<sign>` over the request as the SDKs build it; with `dated`, the signature
/// covers a fresh `X-Qiniu-Date`, returned for the caller to send.
fn signed(
    method: &str,
    url: &str,
    body: Option<&str>,
    dated: bool,
) -> Result<(String, Option<String>), String> {
    let key = signing_key()?;
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
    let date = dated.then(|| format_qiniu_date(shared::users::now()));
    if let Some(d) = &date {
        headers.insert("x-qiniu-date", d.parse().expect("ascii date"));
    }
    let method = method.to_ascii_uppercase();
    let parts = SignedParts::new(
        &method,
        path,
        query,
        &headers,
        body.unwrap_or("").as_bytes(),
    );
    let signature = sign(key.secret_key.expose(), &parts.v2_data(path));
    Ok((format!("Qiniu {}:{signature}", key.access_key), date))
}

/// How a request is authorised.
enum Credential {
    /// A Qiniu signature with the first AK/SK pair, over a fresh `X-Qiniu-Date`.
    Signature,
    /// A header sent as given (a client token, `Bearer <server token>`, Deepin's `Access-Token`).
    Header(&'static str, String),
    /// Nothing (public endpoints).
    None,
}

/// Sends the request; prints the HTTP status on stderr and the body on stdout.
fn call(
    method: &str,
    url: &str,
    body: Option<&str>,
    credential: &Credential,
) -> Result<(), String> {
    let (status, text) = send(method, url, body, credential)?;
    eprintln!("HTTP {status}");
    println!("{text}");
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(format!("request failed with HTTP {status}"))
    }
}

fn send(
    method: &str,
    url: &str,
    body: Option<&str>,
    credential: &Credential,
) -> Result<(u16, String), String> {
    let method = method.to_ascii_uppercase();
    let mut request = ureq::http::Request::builder()
        .method(method.as_str())
        .uri(url);
    match credential {
        Credential::Signature => {
            let (authorization, date) = signed(&method, url, body, true)?;
            request = request.header("Authorization", authorization);
            if let Some(d) = date {
                request = request.header("X-Qiniu-Date", d);
            }
        }
        Credential::Header(name, value) => request = request.header(*name, value),
        Credential::None => {}
    }
    if body.is_some() {
        request = request.header("Content-Type", "application/json");
    }
    let request = request
        .body(body.unwrap_or("").to_string())
        .map_err(|e| format!("bad request: {e}"))?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .allow_non_standard_methods(true)
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .into();
    let mut response = agent.run(request).map_err(|e| format!("{url}: {e}"))?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("reading the response: {e}"))?;
    Ok((status, text))
}

/// Asks the token endpoint for a client token and prints only the token.
fn client_token(base: &str, user_id: &str, app_id: &str) -> Result<(), String> {
    let enc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let url = format!(
        "{}/server/auth/token?app_id={}&user_id={}",
        base.trim_end_matches('/'),
        enc(app_id),
        enc(user_id)
    );
    let (status, text) = send("GET", &url, None, &Credential::Signature)?;
    let envelope: serde_json::Value =
        serde_json::from_str(&text).map_err(|_| format!("HTTP {status}: {text}"))?;
    match envelope["data"]["access_token"].as_str() {
        Some(token) => {
            println!("{token}");
            Ok(())
        }
        None => Err(format!("HTTP {status}: {text}")),
    }
}

/// MinApp's two steps, as its open-API clients take them: a code for the AK/SK pair, then a
/// server access token for the code. Prints only the token (send it as `Bearer <token>`).
fn minapp_token(base: &str) -> Result<(), String> {
    let key = signing_key()?;
    let secret = String::from_utf8_lossy(key.secret_key.expose()).into_owned();
    let base = base.trim_end_matches('/');
    let post = |path: &str, body: serde_json::Value| -> Result<serde_json::Value, String> {
        let url = format!("{base}{path}");
        let (status, text) = send("POST", &url, Some(&body.to_string()), &Credential::None)?;
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|_| format!("HTTP {status}: {text}"))?;
        if (200..300).contains(&status) {
            Ok(json)
        } else {
            Err(format!("HTTP {status}: {text}"))
        }
    };
    let credentials = serde_json::json!({"client_id": key.access_key, "client_secret": secret});
    let code = post(
        "/api/oauth2/hydrogen/openapi/authorize/",
        credentials.clone(),
    )?;
    let mut grant = credentials;
    grant["grant_type"] = "authorization_code".into();
    grant["code"] = code["code"].clone();
    let token = post("/api/oauth2/access_token/", grant)?;
    match token["access_token"].as_str() {
        Some(t) => {
            println!("{t}");
            Ok(())
        }
        None => Err(format!("no access_token in {token}")),
    }
}

/// MinApp's sign-up or login with a password from `USERCTL_PASSWORD` or stdin; prints only
/// the token (send it as `Hydrogen-r1 <token>`, `Bearer <token>`, `Access-Token: <token>`...).
fn hserve(kind: &str, base: &str, field: &str, value: &str) -> Result<(), String> {
    if !["username", "email", "phone"].contains(&field) {
        return Err("the login field is username, email or phone".into());
    }
    let password = read_password()?;
    let path = if kind == "login" { "login" } else { "register" };
    let url = format!("{}/hserve/v2.1/{path}/{field}/", base.trim_end_matches('/'));
    let body = serde_json::json!({ field: value, "password": password }).to_string();
    let (status, text) = send("POST", &url, Some(&body), &Credential::None)?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|_| format!("HTTP {status}: {text}"))?;
    match json["token"].as_str() {
        Some(token) if status == 201 => {
            println!("{token}");
            Ok(())
        }
        _ => Err(format!("HTTP {status}: {text}")),
    }
}

/// A password from `USERCTL_PASSWORD`, else the first line of stdin: never from argv, where
/// every user of the machine can read it.
fn read_password() -> Result<String, String> {
    match std::env::var("USERCTL_PASSWORD") {
        Ok(p) if !p.is_empty() => Ok(p),
        _ => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .map_err(|e| format!("reading the password from stdin: {e}"))?;
            Ok(line.trim_end_matches(['\r', '\n']).to_string())
        }
    }
}

/// `operator add|list|dev`: console operators, straight in TABLE_NAME.
fn operator(mut args: Vec<String>) -> Result<(), String> {
    use shared::auth::console::Role;
    let role = take_flag(&mut args, "--role");
    let (table, runtime) = table_and_runtime()?;
    let add = |name: &str, role: Role, password: &str, exists_ok: bool| {
        let name = shared::console::operator_name("name", Some(&serde_json::json!(name)))
            .map_err(|e| e.to_string())?;
        let password =
            shared::account::Password::named("password", password).map_err(|e| e.to_string())?;
        let stored =
            shared::console::new_operator(&name, role, &password).map_err(|e| e.to_string())?;
        runtime.block_on(async {
            let added = operators_table(&table)
                .await
                .add_operator(&stored, exists_ok)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "operator {name} ({}) {}",
                role.as_str(),
                if added { "added" } else { "already exists" }
            );
            Ok::<_, String>(())
        })
    };
    match (args.first().map(String::as_str), args.len()) {
        (Some("add"), 2) => {
            let role = role.ok_or("operator add needs --role viewer|editor|admin")?;
            let role = Role::parse("--role", &role).map_err(|e| e.to_string())?;
            add(&args[1], role, &read_password()?, false)
        }
        (Some("list"), 1) => runtime.block_on(async {
            let all = operators_table(&table)
                .await
                .operators()
                .await
                .map_err(|e| e.to_string())?;
            for o in all {
                println!("{}\t{}\t{}", o.operator_name, o.role.as_str(), o.created_at);
            }
            Ok(())
        }),
        (Some("dev"), 1) => match setting("DEV_OPERATOR") {
            None => Ok(()),
            Some(value) => {
                let (name, password) = value
                    .split_once(':')
                    .ok_or("DEV_OPERATOR must be <name>:<password>")?;
                add(name, Role::Admin, password, true)
            }
        },
        _ => Err(USAGE.to_string()),
    }
}

async fn operators_table(table: &str) -> UserTable {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    UserTable::new(aws_sdk_dynamodb::Client::new(&sdk), table)
}

fn create() -> Result<(), String> {
    let (table, runtime) = table_and_runtime()?;
    runtime.block_on(async {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        let client = aws_sdk_dynamodb::Client::new(&sdk);
        create_table(&client, &table)
            .await
            .map_err(|e| format!("{e}: {}", e.detail().unwrap_or("")))
    })?;
    println!("table {table} ready");
    Ok(())
}

/// `backfill-directory`: the library's rounds ([`UserTable::backfill_directory_round`]) until
/// every segment is done, with a progress bar; the summary on stdout.
fn backfill_directory(mut args: Vec<String>) -> Result<(), String> {
    let mut number = |flag: &str, default: i32| -> Result<i32, String> {
        match take_flag(&mut args, flag) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| format!("{flag} takes a number from 1 to 1000")),
        }
    };
    let segments = number("--segments", 4)?;
    let page_size = number("--page-size", 500)?;
    let resume = take_flag(&mut args, "--resume");
    if !args.is_empty() {
        return Err(USAGE.to_string());
    }
    let mut position = match resume {
        Some(token) => BackfillPosition::from_token(&token).map_err(|e| e.to_string())?,
        None => BackfillPosition::start(segments.unsigned_abs()),
    };
    let (table, runtime) = table_and_runtime()?;
    let total = runtime.block_on(async {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        let client = aws_sdk_dynamodb::Client::new(&sdk);
        // DynamoDB's item count is approximate (refreshed about every six hours): the bar's
        // length, stretched if the scan passes it.
        let approximate = client
            .describe_table()
            .table_name(&table)
            .send()
            .await
            .ok()
            .and_then(|t| t.table().and_then(|t| t.item_count()))
            .unwrap_or(0);
        let bar = indicatif::ProgressBar::new(u64::try_from(approximate).unwrap_or(0));
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30}] {pos}/~{len} items scanned ({per_sec}) {msg}",
            )
            .map_err(|e| e.to_string())?
            .progress_chars("=> "),
        );
        let users = UserTable::new(client, &table);
        let mut total = BackfillCounts::default();
        let interrupted = tokio::signal::ctrl_c();
        tokio::pin!(interrupted);
        let resume = |position: &BackfillPosition| {
            format!(
                "resume with: userctl backfill-directory --resume {}",
                position.token()
            )
        };
        while !position.is_done() {
            let mut next = position.clone();
            let round = tokio::select! {
                round = users.backfill_directory_round(&mut next, page_size) => round,
                _ = &mut interrupted => {
                    bar.abandon();
                    return Err(format!("interrupted; {}", resume(&position)));
                }
            };
            match round {
                Ok(counts) => {
                    total += counts;
                    position = next;
                    bar.inc(counts.scanned);
                    if bar.position() > bar.length().unwrap_or(0) {
                        bar.set_length(bar.position());
                    }
                    bar.set_message(format!(
                        "{} updated, {} had it",
                        total.updated, total.already
                    ));
                }
                Err(e) => {
                    bar.abandon();
                    return Err(format!(
                        "{e}: {}; {}",
                        e.detail().unwrap_or(""),
                        resume(&position)
                    ));
                }
            }
        }
        // Left as drawn (`finish` would fill the bar to the approximate length).
        bar.abandon();
        Ok(total)
    })?;
    println!(
        "scanned {} items: {} users updated, {} users already had their directory attributes, \
         {} other items (guards, the IM id counter, users without an IM id)",
        total.scanned, total.updated, total.already, total.other
    );
    Ok(())
}

/// `rekey-guards`: [`UserTable::rekey_guards`] under the deployment's phone region; the
/// summary and every collision on stdout.
fn rekey_guards(mut args: Vec<String>) -> Result<(), String> {
    let page_size = match take_flag(&mut args, "--page-size") {
        None => 500,
        Some(v) => v
            .parse()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or("--page-size takes a number from 1 to 1000")?,
    };
    if !args.is_empty() {
        return Err(USAGE.to_string());
    }
    let region = setting("PHONE_DEFAULT_REGION").unwrap_or_else(|| "CN".into());
    AccountRules::new(&region)
        .and_then(AccountRules::install)
        .map_err(|e| e.to_string())?;
    let (table, runtime) = table_and_runtime()?;
    let report = runtime.block_on(async {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        let users = UserTable::new(aws_sdk_dynamodb::Client::new(&sdk), &table);
        users
            .rekey_guards(page_size)
            .await
            .map_err(|e| format!("{e}: {} (rerun to go on)", e.detail().unwrap_or("")))
    })?;
    for c in &report.collisions {
        println!(
            "collision: user {} {} {:?} reads like the {} user {} holds; left under its old key",
            c.user_id,
            c.field.name(),
            c.value,
            c.field.name(),
            c.holder
        );
    }
    println!(
        "scanned {} items (phone region {region}): {} users moved, {} users already under the \
         new keys, {} collisions",
        report.scanned,
        report.moved,
        report.already,
        report.collisions.len()
    );
    if report.collisions.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} values collide: resolve each by hand (README)",
            report.collisions.len()
        ))
    }
}

/// The table `TABLE_NAME` names, and a runtime to reach it on.
fn table_and_runtime() -> Result<(String, tokio::runtime::Runtime), String> {
    let table =
        setting("TABLE_NAME").ok_or("TABLE_NAME is not set (environment or ./local.env)")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    Ok((table, runtime))
}

/// The operations over TABLE_NAME under the deployment's settings (environment, else
/// `./local.env`): what `import` and `export` run on.
async fn deployment_users(table: &str) -> Result<shared::users::Users, String> {
    let fields = shared::profile::UserFields::parse(&setting("USER_FIELDS").unwrap_or_default())?;
    let region = setting("PHONE_DEFAULT_REGION").unwrap_or_else(|| "CN".into());
    AccountRules::new(&region)
        .and_then(AccountRules::install)
        .map_err(|e| e.to_string())?;
    let prefix = setting("IM_USERNAME_PREFIX").unwrap_or_else(|| "ql".into());
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let table = UserTable::new(aws_sdk_dynamodb::Client::new(&sdk), table);
    Ok(shared::users::Users::new(table, prefix).with_minapp(fields, usize::MAX))
}

fn progress_bar(len: u64, what: &str) -> Result<indicatif::ProgressBar, String> {
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{{elapsed_precise}} [{{bar:30}}] {{pos}}/{{len}} {what} ({{per_sec}}) {{msg}}"
        ))
        .map_err(|e| e.to_string())?
        .progress_chars("=> "),
    );
    Ok(bar)
}

/// `import`: the file read whole ([`shared::moving::read`]), then written by
/// [`shared::moving::import`]; one JSON line per row on stdout, the totals last.
fn import(mut args: Vec<String>) -> Result<(), String> {
    let from =
        take_flag(&mut args, "--from").ok_or("import needs --from minapp|qnlivekit|jsonl")?;
    let source = shared::moving::Source::from_name(&from)
        .ok_or_else(|| format!("--from {from:?}: one of minapp, qnlivekit, jsonl"))?;
    let dry_run = match args.iter().position(|a| a == "--dry-run") {
        Some(i) => {
            args.remove(i);
            true
        }
        None => false,
    };
    if let Some(url) = take_flag(&mut args, "--s3") {
        let [base] = <[String; 1]>::try_from(args).map_err(|_| USAGE.to_string())?;
        return import_s3(&base, &from, &url);
    }
    let [base, file] = <[String; 2]>::try_from(args).map_err(|_| USAGE.to_string())?;
    let (table, runtime) = table_and_runtime()?;
    let report = runtime.block_on(async {
        let users = deployment_users(&table).await?;
        let input = std::fs::File::open(&file).map_err(|e| format!("{file}: {e}"))?;
        let rows =
            shared::moving::read(source, std::io::BufReader::new(input), users.user_fields())
                .map_err(|e| format!("{file}: {e}"))?;
        let bar = progress_bar(rows.len() as u64, "rows")?;
        let tick = |n: usize| bar.inc(n as u64);
        let report = shared::moving::import(&users, rows, dry_run, &tick).await;
        bar.abandon();
        Ok::<_, String>(report)
    })?;
    let cost = (report.transactions, report.write_units);
    let reports = report.rows;
    for r in &reports {
        println!("{}", serde_json::to_string(r).map_err(|e| e.to_string())?);
    }
    let totals = shared::moving::Totals::of(&reports);
    if totals.imported > 0 && !dry_run {
        eprintln!(
            "written in {} transactions, {} write units ({:.1} a user imported)",
            cost.0,
            cost.1,
            cost.1 / totals.imported as f64
        );
    }
    println!(
        "{totals}{}",
        if dry_run {
            " (dry run: nothing written)"
        } else {
            ""
        }
    );
    if !dry_run {
        // The first imported user, read back through the deployment.
        if let Some(r) = reports
            .iter()
            .find(|r| r.outcome == shared::moving::Outcome::Imported)
        {
            let user_id = r.user_id.as_deref().unwrap_or_default();
            let url = format!("{}/server/user/info/{user_id}", base.trim_end_matches('/'));
            match send("GET", &url, None, &Credential::Signature) {
                Ok((200, _)) => {}
                Ok((status, _)) => eprintln!(
                    "warning: {url} answered {status}: is TABLE_NAME ({table}) the table of {base}?"
                ),
                Err(e) => eprintln!("warning: could not read the user back through {base}: {e}"),
            }
        }
    }
    if totals.failed > 0 {
        return Err(format!(
            "{} rows failed (see their lines above)",
            totals.failed
        ));
    }
    Ok(())
}

/// `export`: [`shared::moving::export`] to stdout, page by page.
fn export(mut args: Vec<String>) -> Result<(), String> {
    use std::io::Write;
    let format =
        take_flag(&mut args, "--format").ok_or("export needs --format minapp-csv|jsonl")?;
    let filter = take_flag(&mut args, "--where");
    let with_password_hashes = match args.iter().position(|a| a == "--with-password-hashes") {
        Some(i) => {
            args.remove(i);
            true
        }
        None => false,
    };
    let [_base] = <[String; 1]>::try_from(args).map_err(|_| USAGE.to_string())?;
    if !matches!(format.as_str(), "minapp-csv" | "jsonl") {
        return Err(format!("--format {format:?}: one of minapp-csv, jsonl"));
    }
    let (table, runtime) = table_and_runtime()?;
    let total = runtime.block_on(async {
        let users = deployment_users(&table).await?;
        let fields = users.user_fields().clone();
        let filter = match filter {
            Some(text) => Some(
                shared::query::Filter::from_where(&text, &fields)
                    .map_err(|e| format!("--where: {e}"))?,
            ),
            None => None,
        };
        let options = shared::moving::ExportOptions {
            filter,
            with_password_hashes,
        };
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        if format == "minapp-csv" {
            let header = shared::moving::minapp_csv_header(&fields);
            out.write_all(shared::moving::csv_line(&header).as_bytes())
                .map_err(|e| e.to_string())?;
        }
        let bar = progress_bar(0, "items scanned")?;
        let total = shared::moving::export(&users, &options, |page, scanned| {
            bar.inc_length(scanned as u64);
            bar.inc(scanned as u64);
            for e in &page {
                let line = if format == "jsonl" {
                    shared::moving::jsonl_line(&e.user, &e.secrets(), &fields) + "\n"
                } else {
                    let record = shared::moving::minapp_csv_record(&e.user, &e.secrets(), &fields);
                    shared::moving::csv_line(&record)
                };
                out.write_all(line.as_bytes())
                    .map_err(|e| shared::error::ApiError::Internal(format!("stdout: {e}")))?;
            }
            bar.set_message(format!("{} users", page.len()));
            Ok(())
        })
        .await
        .map_err(|e| format!("{e}: {}", e.detail().unwrap_or("")))?;
        out.flush().map_err(|e| e.to_string())?;
        bar.abandon();
        Ok::<_, String>(total)
    })?;
    eprintln!("exported {total} users");
    Ok(())
}

/// `import --s3`: starts the import state machine (`IMPORT_STATE_MACHINE_ARN`, the stack's
/// output) over `s3://BUCKET/KEY` and follows its map run until it ends.
fn import_s3(base: &str, source: &str, url: &str) -> Result<(), String> {
    let (bucket, key) = url
        .strip_prefix("s3://")
        .and_then(|rest| rest.split_once('/'))
        .ok_or_else(|| format!("--s3 {url:?}: s3://BUCKET/KEY"))?;
    let arn = setting("IMPORT_STATE_MACHINE_ARN")
        .ok_or("IMPORT_STATE_MACHINE_ARN is not set: the stack's ImportStateMachineArn output (deploy with ImportBucket set)")?;
    let format = if key.ends_with(".jsonl") || key.ends_with(".json") {
        "JSONL"
    } else {
        "CSV"
    };
    let input =
        serde_json::json!({"key": key, "source": source, "format": format, "dry_run": false});
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        let sfn = aws_sdk_sfn::Client::new(&sdk);
        let started = sfn
            .start_execution()
            .state_machine_arn(&arn)
            .input(input.to_string())
            .send()
            .await
            .map_err(|e| {
                format!(
                    "start the import: {}",
                    aws_sdk_sfn::error::DisplayErrorContext(&e)
                )
            })?;
        let execution = started.execution_arn().to_string();
        eprintln!("started {execution} over s3://{bucket}/{key} for {base}");
        let bar = progress_bar(0, "rows")?;
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            let runs = sfn.list_map_runs().execution_arn(&execution).send().await;
            if let Some(run) = runs.ok().and_then(|r| r.map_runs().first().cloned()) {
                let described = sfn
                    .describe_map_run()
                    .map_run_arn(run.map_run_arn())
                    .send()
                    .await;
                if let Some(counts) = described.ok().and_then(|d| d.item_counts().cloned()) {
                    bar.set_length(u64::try_from(counts.total()).unwrap_or(0));
                    bar.set_position(
                        u64::try_from(counts.succeeded() + counts.failed()).unwrap_or(0),
                    );
                    bar.set_message(format!("{} batches' rows failed", counts.failed()));
                }
            }
            let status = sfn
                .describe_execution()
                .execution_arn(&execution)
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "follow the import: {}",
                        aws_sdk_sfn::error::DisplayErrorContext(&e)
                    )
                })?;
            match status.status() {
                aws_sdk_sfn::types::ExecutionStatus::Running => continue,
                aws_sdk_sfn::types::ExecutionStatus::Succeeded => {
                    bar.abandon();
                    println!("import done: per-batch reports in s3://{bucket}/import-reports/");
                    return Ok(());
                }
                other => {
                    bar.abandon();
                    return Err(format!(
                        "import {other:?}: {}",
                        status.cause().unwrap_or("")
                    ));
                }
            }
        }
    })
}
