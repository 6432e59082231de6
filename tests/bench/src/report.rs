//! The report: one markdown document, printed and written to BENCHMARKS.md.

use std::fmt::Write;
use std::path::Path;
use std::time::Duration;

use crate::cost;
use crate::inprocess::{Bulk, MovingIn, Overhead};
use crate::minapp::MinApp;
use crate::processes::{BARE, WarmRun};
use crate::stats::{median, ms, percentile};

pub struct Report<'a> {
    pub functions: &'a [String],
    pub bin_dir: &'a Path,
    pub lambda_dir: &'a Path,
    pub starts: usize,
    /// Medians, the bare baseline first, then `functions` in order (as deployed).
    pub cold: Vec<Duration>,
    /// Medians for `functions` with `WARM_UP_ON_INIT=false`.
    pub cold_without_warm_up: Vec<Duration>,
    pub runs: Vec<WarmRun>,
    pub overhead: Vec<Overhead>,
    pub trips: Vec<(String, Vec<String>)>,
    pub bulk: Bulk,
    pub moving: MovingIn,
    pub minapp: MinApp,
    /// Medians of an argon2id hash and of a verification against the dummy hash.
    pub argon2: [Duration; 2],
    /// Medians of a MinApp login: right password, wrong password, unknown user.
    pub login: [Duration; 3],
}

const MIB: f64 = 1024.0 * 1024.0;

fn file_mib(path: &Path) -> Option<f64> {
    std::fs::metadata(path).ok().map(|m| m.len() as f64 / MIB)
}

fn command(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kib| kib / 1024.0 / 1024.0)
        .unwrap_or(0.0);
    format!(
        "{model}, {} cores, {mem_gib:.0} GiB, {} Linux; {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        std::env::consts::ARCH,
        command("rustc", &["--version"]),
    )
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "**not met**" }
}

/// The worst (largest) value of a row set, with the function it belongs to.
fn worst<'b>(rows: impl Iterator<Item = (&'b str, f64)>) -> (&'b str, f64) {
    rows.fold(("-", f64::MIN), |w, r| if r.1 > w.1 { r } else { w })
}

impl Report<'_> {
    pub fn render(mut self) -> String {
        let mut out = String::new();
        let bare = ms(self.cold[0]);
        let cold: Vec<(&str, f64)> = self
            .functions
            .iter()
            .map(String::as_str)
            .zip(self.cold[1..].iter().map(|d| ms(*d)))
            .collect();
        let cold_without: Vec<f64> = self.cold_without_warm_up.iter().map(|d| ms(*d)).collect();
        let first_without: Vec<f64> = self
            .runs
            .iter()
            .map(|r| ms(r.first_without_warm_up))
            .collect();
        let runs: Vec<(&str, f64, f64, f64, f64)> = self
            .functions
            .iter()
            .zip(self.runs.iter_mut())
            .map(|(name, run)| {
                let p50 = ms(median(&mut run.warm));
                let p99 = ms(percentile(&mut run.warm, 99.0));
                (
                    name.as_str(),
                    ms(run.first),
                    p50,
                    p99,
                    run.peak_rss_kib as f64 / 1024.0,
                )
            })
            .collect();
        let overhead: Vec<(&str, [f64; 4])> = self
            .overhead
            .iter_mut()
            .map(|o| {
                let h50 = ms(median(&mut o.handler));
                let h99 = ms(percentile(&mut o.handler, 99.0));
                let r50 = ms(median(&mut o.raw));
                let r99 = ms(percentile(&mut o.raw, 99.0));
                (o.function, [h50, h99, r50, r99])
            })
            .collect();
        let zips: Vec<(&str, Option<f64>)> = self
            .functions
            .iter()
            .map(|f| {
                (
                    f.as_str(),
                    file_mib(&self.lambda_dir.join(f).join("bootstrap.zip")),
                )
            })
            .collect();

        let date = command("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
        let _ = writeln!(out, "# Benchmarks\n");
        let _ = writeln!(
            out,
            "Measured {date} on {}, by `make bench` (rerun it to refresh this file). Every ratio \
             is against a baseline measured in the same run; absolute numbers are for context \
             and depend on the machine. DynamoDB is DynamoDB Local on the same machine.\n",
            machine()
        );

        // Goals first.
        let (cold_fn, cold_worst) = worst(cold.iter().map(|(f, v)| (*f, v / bare)));
        let (plain_fn, plain_worst) = worst(
            cold.iter()
                .zip(&cold_without)
                .map(|((f, _), v)| (*f, v / bare)),
        );
        let (first_fn, first_worst) = worst(runs.iter().map(|r| (r.0, r.1 / r.2)));
        let (first_plain_fn, first_plain_worst) =
            worst(runs.iter().zip(&first_without).map(|(r, v)| (r.0, v / r.2)));
        let (over_fn, over_worst) = worst(overhead.iter().map(|(f, v)| (*f, v[0] / v[2])));
        let (rss_fn, rss_worst) = worst(runs.iter().map(|r| (r.0, r.4)));
        let zip_worst = worst(zips.iter().filter_map(|(f, z)| z.map(|z| (*f, z))));
        let bulk = &self.bulk;
        let single_ms_user = ms(bulk.single_time) / bulk.single_users as f64;
        let batch_ms_user = ms(bulk.batch_time) / bulk.batch_users as f64;
        let single_calls_user = bulk.single_calls.len() as f64 / bulk.single_users as f64;
        let batch_calls_user = bulk.batch_calls.len() as f64 / bulk.batch_users as f64;
        let batch_wru_user = bulk_write_units(&bulk.batch_calls, bulk.batch_users);
        let single_wru_user = bulk_write_units(&bulk.single_calls, bulk.single_users);
        let per_batch_request_ms = ms(bulk.batch_time) / bulk.batch_requests as f64;
        let users_per_batch = bulk.batch_users as f64 / bulk.batch_requests as f64;
        let single_dollars =
            cost::per_user_registration(single_ms_user.ceil(), 1.0, single_wru_user);
        let batch_dollars = cost::per_user_registration(
            per_batch_request_ms.ceil(),
            users_per_batch,
            batch_wru_user,
        );

        let _ = writeln!(out, "## Goals\n");
        let _ = writeln!(out, "| goal | measured | verdict |\n|---|---|---|");
        let _ = writeln!(
            out,
            "| cold init <= 1.5x bare lambda_http: the process, to its first poll (`WARM_UP_ON_INIT=false`) | worst {plain_worst:.2}x ({plain_fn}: {:.1} ms vs {bare:.1} ms) | {} |",
            plain_worst * bare,
            verdict(plain_worst <= 1.5)
        );
        let _ = writeln!(
            out,
            "| cold init <= 1.5x bare: as deployed, including the warm-up read | worst {cold_worst:.2}x ({cold_fn}: {:.1} ms) | {} (by choice, see Notes) |",
            cold_worst * bare,
            verdict(cold_worst <= 1.5)
        );
        let _ = writeln!(
            out,
            "| first request <= 2x warm p50: as deployed (warm-up in init) | worst {first_worst:.2}x ({first_fn}) | {} |",
            verdict(first_worst <= 2.0)
        );
        let _ = writeln!(
            out,
            "| first request <= 2x warm p50: without the warm-up | worst {first_plain_worst:.2}x ({first_plain_fn}) | {} |",
            verdict(first_plain_worst <= 2.0)
        );
        let _ = writeln!(
            out,
            "| warm handler p50 <= 1.1x raw SDK calls | worst {over_worst:.2}x ({over_fn}) | {} |",
            verdict(over_worst <= 1.1)
        );
        let _ = writeln!(
            out,
            "| round trips at the floor | see Round trips; asserted by `shared/tests/round_trips.rs` in `make test` | met |"
        );
        let _ = writeln!(
            out,
            "| bulk: batch >= 10x cheaper per user | handler time {:.1}x, DynamoDB calls {:.0}x, invocations {users_per_batch:.0}x, dollars {:.1}x | {} |",
            single_ms_user / batch_ms_user,
            single_calls_user / batch_calls_user,
            single_dollars / batch_dollars,
            verdict(single_ms_user / batch_ms_user >= 10.0)
        );
        let (units, transactions) = moving_at_floor(&self.moving);
        let _ = writeln!(
            out,
            "| moving in: each user's items written once, in as few round trips as DynamoDB allows | write units {units:.2}x and TransactWriteItems calls {transactions:.2}x the floor ({} users, see Moving in) | {} |",
            self.moving.users,
            verdict(units <= 1.0 && transactions <= 1.0)
        );
        match zip_worst {
            ("-", _) => {
                let _ = writeln!(
                    out,
                    "| zipped arm64 package <= 4 MB | not built (run `make bench`) | not measured |"
                );
            }
            (f, z) => {
                let _ = writeln!(
                    out,
                    "| zipped arm64 package <= 4 MB | largest {z:.2} MiB ({f}) | {} |",
                    verdict(z <= 4.0)
                );
            }
        }
        if let Some(row) = minapp_goal(&self.minapp) {
            out.push_str(&row);
        }
        let _ = writeln!(
            out,
            "| peak RSS <= 32 MB over a warm run | largest {rss_worst:.1} MiB ({rss_fn}) | {} |\n",
            verdict(rss_worst <= 32.0)
        );

        let _ = writeln!(out, "## Cold init\n");
        let _ = writeln!(
            out,
            "Every function of `functions/` ({}, read from the directory). Spawn of the host \
             release binary to its first `GET /runtime/invocation/next` on a fake Runtime API, \
             median of {} starts each, interleaved. Baseline: `bare-lambda` (a lambda_http \
             hello-world, same profile). As deployed, init ends with one warm-up read of \
             DynamoDB; `WARM_UP_ON_INIT=false` shows the process without it.\n",
            self.functions.len(),
            self.starts
        );
        let _ = writeln!(
            out,
            "| function | as deployed ms | x bare | without warm-up ms | x bare | binary MiB |\n|---|---:|---:|---:|---:|---:|"
        );
        let size = |name: &str| {
            file_mib(&self.bin_dir.join(name)).map_or("-".into(), |m| format!("{m:.2}"))
        };
        let _ = writeln!(
            out,
            "| {BARE} (baseline) | {bare:.2} | 1.00 | {bare:.2} | 1.00 | {} |",
            size(BARE)
        );
        for ((name, v), plain) in cold.iter().zip(&cold_without) {
            let _ = writeln!(
                out,
                "| {name} | {v:.2} | {:.2} | {plain:.2} | {:.2} | {} |",
                v / bare,
                plain / bare,
                size(name)
            );
        }

        let _ = writeln!(out, "\n## First request vs warm, and memory\n");
        let _ = writeln!(
            out,
            "The release binary invoked through the fake Runtime API with its `events/` sample \
             (registers and MinApp sign-ups get fresh identities, signed samples are signed \
             again, client tokens are issued anew for each request so that the logout sample \
             voids none that follow; the login samples sign in to accounts the bench signs up \
             first): the first invocation after init (median over 7 starts, as \
             deployed and with `WARM_UP_ON_INIT=false`), then {} warm ones. Latency is from \
             handing out the event to receiving the answer (what Lambda bills). Init + first \
             adds the cold init median above: what the first caller waits for. Peak RSS is \
             `VmHWM` after the run.\n",
            self.runs.first().map_or(0, |r| r.warm.len())
        );
        let _ = writeln!(
            out,
            "| function | first ms | first / warm | init + first ms | no warm-up: first ms | first / warm | init + first ms | warm p50 ms | warm p99 ms | peak RSS MiB |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for (i, (name, first, p50, p99, rss)) in runs.iter().enumerate() {
            let plain = first_without[i];
            let _ = writeln!(
                out,
                "| {name} | {first:.2} | {:.2} | {:.2} | {plain:.2} | {:.2} | {:.2} | {p50:.2} | {p99:.2} | {rss:.1} |",
                first / p50,
                cold[i].1 + first,
                plain / p50,
                cold_without[i] + plain,
            );
        }

        let _ = writeln!(out, "\n## Warm overhead\n");
        let _ = writeln!(
            out,
            "In process, against DynamoDB Local: the endpoint's handler through \
             `shared::endpoint::respond` (authentication, parsing, the domain operation, the \
             envelope, the log line) against the raw SDK calls the operation needs, made \
             directly on the same client, alternating, {} iterations each. This comparison \
             covers the Qiniu endpoints below; every function's warm latency through its \
             release binary is in the table above.\n",
            self.overhead.first().map_or(0, |o| o.handler.len())
        );
        let _ = writeln!(
            out,
            "| endpoint | handler p50 ms | handler p99 ms | raw SDK p50 ms | raw SDK p99 ms | p50 ratio |\n|---|---:|---:|---:|---:|---:|"
        );
        for (name, [h50, h99, r50, r99]) in &overhead {
            let _ = writeln!(
                out,
                "| {name} | {h50:.3} | {h99:.3} | {r50:.3} | {r99:.3} | {:.2} |",
                h50 / r50
            );
        }

        let _ = writeln!(out, "\n## Round trips\n");
        let _ = writeln!(
            out,
            "DynamoDB calls per operation, counted by an SDK interceptor.\n"
        );
        let _ = writeln!(out, "| operation | calls | sequence |\n|---|---:|---|");
        for (name, calls) in &self.trips {
            let _ = writeln!(out, "| {name} | {} | {} |", calls.len(), calls.join(", "));
        }

        let _ = writeln!(out, "\n## Password hashing\n");
        let [hash, verify] = self.argon2;
        let _ = writeln!(
            out,
            "argon2id with m = {} KiB, t = {}, p = {} (`shared/domain/src/account.rs`), one thread of \
             this machine, release build: a hash (set `new_password`) {:.1} ms, a verification \
             against the dummy hash (an unknown user's login) {:.1} ms (medians). Lambda gives \
             one full vCPU at 1769 MB, the hashing function's size; below that the same work \
             takes proportionally longer. The account function's warm latency above includes \
             one hash per request (its sample event sets a password).",
            shared::account::ARGON2_M_COST_KIB,
            shared::account::ARGON2_T_COST,
            shared::account::ARGON2_P_COST,
            hash.as_secs_f64() * 1000.0,
            verify.as_secs_f64() * 1000.0,
        );

        let [right, wrong, unknown] = self.login;
        let _ = writeln!(out, "\n## MinApp login\n");
        let _ = writeln!(
            out,
            "In process against DynamoDB Local, release build, one thread (about Lambda at 1769 \
             MB, the login functions' size); medians of 21 each. argon2id dominates; a wrong \
             password and an unknown user take the same work (the unknown one is verified \
             against the dummy hash) and answer the same 400.\n\n\
             | login | median ms |\n|---|---:|\n\
             | right password (201) | {:.1} |\n\
             | wrong password (400) | {:.1} |\n\
             | unknown user (400) | {:.1} |",
            right.as_secs_f64() * 1000.0,
            wrong.as_secs_f64() * 1000.0,
            unknown.as_secs_f64() * 1000.0,
        );

        let batch_users_s = bulk.batch_users as f64 / bulk.batch_time.as_secs_f64();
        out.push('\n');
        out.push_str(&moving_section(&self.moving, batch_users_s));
        let _ = writeln!(out, "\n## Bulk registration\n");
        let _ = writeln!(
            out,
            "{} users through the batch handler ({} requests) against {} users one request \
             each, both in process through `respond`.\n",
            bulk.batch_users, bulk.batch_requests, bulk.single_users
        );
        let _ = writeln!(
            out,
            "| per user | single | batch | single / batch |\n|---|---:|---:|---:|"
        );
        let _ = writeln!(
            out,
            "| handler ms | {single_ms_user:.3} | {batch_ms_user:.3} | {:.1} |",
            single_ms_user / batch_ms_user
        );
        let _ = writeln!(
            out,
            "| DynamoDB calls | {single_calls_user:.3} | {batch_calls_user:.4} | {:.0} |",
            single_calls_user / batch_calls_user
        );
        let _ = writeln!(
            out,
            "| Lambda + API Gateway requests | 1 | {:.4} | {users_per_batch:.0} |",
            1.0 / users_per_batch
        );
        let _ = writeln!(
            out,
            "| write units | {single_wru_user:.3} | {batch_wru_user:.3} | {:.2} |",
            single_wru_user / batch_wru_user
        );
        let _ = writeln!(
            out,
            "| dollars per million users (model below) | {:.3} | {:.3} | {:.1} |",
            single_dollars * 1e6,
            batch_dollars * 1e6,
            single_dollars / batch_dollars
        );

        out.push('\n');
        out.push_str(&minapp_section(&self.minapp));

        let _ = writeln!(out, "\n## Package size\n");
        let _ = writeln!(
            out,
            "`cargo lambda build --release --arm64 --output-format zip` (the deployment build).\n"
        );
        let _ = writeln!(out, "| function | bootstrap.zip MiB |\n|---|---:|");
        for (name, z) in &zips {
            let z = z.map_or("not built".into(), |z| format!("{z:.2}"));
            let _ = writeln!(out, "| {name} | {z} |");
        }

        out.push_str(&self.cost_model(&runs));
        let warm_up_ms = cold
            .iter()
            .zip(&cold_without)
            .map(|((_, with), without)| with - without)
            .sum::<f64>()
            / cold.len().max(1) as f64;
        out.push_str(&notes(warm_up_ms));
        out
    }

    fn cost_model(&self, runs: &[(&str, f64, f64, f64, f64)]) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "\n## Cost model\n");
        let _ = writeln!(
            out,
            "Dollars per million requests, us-east-1 list prices: Lambda arm64 ${}/GB-s and \
             ${:.2} per million requests at {} MB (`MemorySize`); HTTP API ${:.2} per million; \
             DynamoDB on demand ${} per million write units and ${} per million read units. \
             Duration: the warm p50 above rounded up to the next millisecond (Lambda bills per \
             ms); against real DynamoDB expect a few ms more per call. Capacity units per \
             request: items under 1 KB (one write unit per item), strongly consistent reads of \
             items under 4 KB (one read unit per item), GSI queries eventually consistent (half \
             a unit), transactional writes twice; the sample sizes of `events/`.\n",
            cost::LAMBDA_ARM_GB_SECOND,
            cost::LAMBDA_PER_MILLION_REQUESTS,
            cost::MEMORY_MB,
            cost::HTTP_API_PER_MILLION,
            cost::DDB_PER_MILLION_WRU,
            cost::DDB_PER_MILLION_RRU
        );
        let _ = writeln!(
            out,
            "| endpoint | billed ms | read / write units | Lambda $ | HTTP API $ | DynamoDB $ | total $ per million |\n|---|---:|---:|---:|---:|---:|---:|"
        );
        let mut totals = Vec::new();
        for (name, _, p50, _, _) in runs {
            let billed = p50.ceil().max(1.0);
            let (lambda, api, ddb) = cost::per_million(name, billed);
            let (rru, wru) = cost::capacity_units(name);
            let total = lambda + api + ddb;
            totals.push(total);
            let _ = writeln!(
                out,
                "| {name} | {billed:.0} | {rru} / {wru} | {lambda:.3} | {api:.2} | {ddb:.3} | {total:.3} |"
            );
        }
        let mean = totals.iter().sum::<f64>() / totals.len().max(1) as f64;
        let vm = cost::VM_MONTHLY;
        let _ = writeln!(
            out,
            "\nAgainst the Go + MySQL server on an always-on VM (one EC2 t4g.small running both, \
             $0.0168/h, 730 h, plus 20 GB gp3: ${vm:.2} a month whatever the traffic; no load \
             balancer, replica or backups, which would add to it): at the mean ${mean:.2} per \
             million requests above, this service costs less up to about {:.1} million requests a \
             month, plus DynamoDB storage ($0.25/GB-month; a user item is well under 1 KB, so a \
             million users is under a gigabyte).\n",
            vm / mean
        );
        let _ = writeln!(
            out,
            "| requests a month | this service $ | VM $ |\n|---:|---:|---:|"
        );
        for millions in [1.0, 10.0, 100.0] {
            let _ = writeln!(
                out,
                "| {millions:.0} M | {:.2} | {vm:.2} |",
                millions * mean
            );
        }
        out
    }
}

/// Read units per request of row `name` at the largest size over the smallest.
fn read_ratio(m: &MinApp, name_starts: &str) -> Option<f64> {
    let row = m.rows.iter().find(|r| r.name.starts_with(name_starts))?;
    let (first, last) = (row.by_size.first()?, row.by_size.last()?);
    (row.by_size.len() >= 2 && first.units.read > 0.0).then(|| last.units.read / first.units.read)
}

/// The Goals row of the MinApp listing: the default order costs in proportion to its page.
fn minapp_goal(m: &MinApp) -> Option<String> {
    let (small, large) = (m.sizes.first()?, m.sizes.last()?);
    let selective = read_ratio(m, "list, default order, selective")?;
    let icontains = read_ratio(m, "list, default order, $icontains")?;
    let plain = read_ratio(m, "list, default order (")?;
    let counted = read_ratio(m, "list, selective filter + return_total_count")?;
    let sorted = read_ratio(m, "list, non-index order")?;
    let worst = selective.max(icontains).max(plain);
    Some(format!(
        "| MinApp list in the default order costs in proportion to its page, not the table | read units at {large} / {small} users: no filter {plain:.2}x, selective filter {selective:.2}x, $icontains {icontains:.2}x (against total_count {counted:.1}x, order_by=nickname {sorted:.1}x) | {} |\n",
        verdict(worst <= 1.5)
    ))
}

/// The MinApp rows: latency and capacity per request at each table size.
/// The floor of an import: each user's items (its item, its id guard, its username guard,
/// its audit record) at two write units each (transactional, under 1 KB), 100 writes a
/// TransactWriteItems call.
fn moving_floor(moving: &MovingIn) -> (f64, usize) {
    (2.0 * 4.0, (moving.users * 4).div_ceil(100))
}

/// An import's write units and transactions against the floor (1.0: at it).
fn moving_at_floor(moving: &MovingIn) -> (f64, f64) {
    let (units, transactions) = moving_floor(moving);
    (
        moving.write_units / moving.imported as f64 / units,
        moving.transactions as f64 / transactions as f64,
    )
}

/// Moving in: `moving` against the batch register's users a second (`batch_users_s`), both
/// measured in the same run.
pub fn moving_section(moving: &MovingIn, batch_users_s: f64) -> String {
    let mut out = String::new();
    let import_users_s = moving.users as f64 / moving.time.as_secs_f64();
    let calls_of = |name: &str| moving.calls.iter().filter(|c| *c == name).count();
    let (floor_units, floor_transactions) = moving_floor(moving);
    let units_user = moving.write_units / moving.imported as f64;
    let _ = writeln!(out, "## Moving in\n");
    let _ = writeln!(
        out,
        "{} MinApp rows (a username and every custom type each) through \
         `shared::moving::import`, the code of `userctl import` and of the import batch, in \
         process; then the same rows again. Baseline: the batch register (Qiniu's, 200 users a \
             request: one item per user), measured in the same run.\n",
        moving.users
    );
    let _ = writeln!(
        out,
        "| measure | import | baseline / floor | ratio |\n|---|---:|---:|---:|"
    );
    let _ = writeln!(
        out,
        "| users per second | {import_users_s:.0} | {batch_users_s:.0} (batch register) | {:.2}x |",
        import_users_s / batch_users_s
    );
    let _ = writeln!(
        out,
        "| write units per user (DynamoDB's sizing rules) | {units_user:.2} | {floor_units:.0} (4 items, transactional) | {:.2}x |",
        units_user / floor_units
    );
    let _ = writeln!(
        out,
        "| TransactWriteItems calls | {} | {floor_transactions} (100 writes a call) | {:.2}x |",
        moving.transactions,
        moving.transactions as f64 / floor_transactions as f64
    );
    let _ = writeln!(
        out,
        "| other calls | BatchGetItem {}, Query {}, GetItem {}, UpdateItem {} | | |",
        calls_of("BatchGetItem"),
        calls_of("Query"),
        calls_of("GetItem"),
        calls_of("UpdateItem")
    );
    let _ = writeln!(
        out,
        "| rerun (all unchanged) | {:.1} s, {} write units | | |",
        moving.rerun_time.as_secs_f64(),
        moving.rerun_write_units
    );
    out
}

pub fn minapp_section(m: &MinApp) -> String {
    let mut out = String::new();
    let sizes: Vec<String> = m.sizes.iter().map(|n| n.to_string()).collect();
    let _ = writeln!(out, "## MinApp list and update\n");
    let _ = writeln!(
        out,
        "In process against DynamoDB Local, through the operations the MinApp functions call \
         (`UserProfiles::list`, `update`, `update_batch`), on tables of {} users \
         (created by the batch register; nickname `User <i> Team<i mod 10>`; by a profile \
         update, one user in 20 given `vip: true`, spread over the four directory shards, and \
         one in 20 `level: 2`, all in one shard). Latency: median of {} requests per row after \
         one unmeasured (the batch update: {}). Read and write units: the `ConsumedCapacity` \
         DynamoDB reports for every call the request makes, asked of each call by an SDK \
         interceptor, per request; calls: DynamoDB round trips per request. A Query is charged \
         for the items it examines before its filter, so a filter DynamoDB evaluates saves \
         transfer, not units. Every list row asks for 20 objects. The sizes run in the order \
         shown, so the first runs on a colder DynamoDB Local (a JVM still compiling): compare \
         units across sizes, latency within one.\n",
        sizes.join(" and "),
        m.runs,
        m.runs.clamp(1, 5),
    );
    let mut header = format!(
        "| operation | request | objects or users ({}) |",
        sizes.join(" / ")
    );
    let mut rule = String::from("|---|---|---:|");
    for n in &sizes {
        let _ = write!(
            header,
            " p50 ms ({n}) | read units ({n}) | write units ({n}) | calls ({n}) |"
        );
        rule.push_str("---:|---:|---:|---:|");
    }
    if sizes.len() >= 2 {
        let _ = write!(
            header,
            " read units {} / {} |",
            sizes[sizes.len() - 1],
            sizes[0]
        );
        rule.push_str("---:|");
    }
    let _ = writeln!(out, "{header}\n{rule}");
    for row in &m.rows {
        let answered: Vec<String> = row.by_size.iter().map(|m| m.results.to_string()).collect();
        let mut line = format!(
            "| {} | `{}` | {} |",
            row.name,
            row.query.replace('|', "\\|"),
            answered.join(" / ")
        );
        for measured in &row.by_size {
            let mut latencies = measured.latencies.clone();
            let _ = write!(
                line,
                " {:.2} | {:.1} | {:.1} | {} |",
                ms(median(&mut latencies)),
                measured.units.read,
                measured.units.write,
                measured.units.calls
            );
        }
        if let (true, Some(first), Some(last)) = (
            row.by_size.len() >= 2,
            row.by_size.first(),
            row.by_size.last(),
        ) {
            if first.units.read > 0.0 {
                let _ = write!(line, " {:.2}x |", last.units.read / first.units.read);
            } else {
                line.push_str(" - |");
            }
        }
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(
        out,
        "\nThe directory's own order (`-created_at`, `created_at`) reads the shards only until \
         the page is complete (with a filter, until enough users have matched: about \
         20 / selectivity of them), so its cost follows the page and the filter's selectivity, \
         not the table, even when one shard holds every match (the `level: 2` row): a shard the \
         filter leaves empty is read further only when its last evaluated key could come \
         before the best user the other shards hold. `return_total_count=1` and any other order read every match, so they \
         grow with the table, and past `LIST_MAX_EXAMINED` (default 20,000 users examined) \
         answer 400 with advice. Updates go to the user by its id (the `im_userid` index, \
         then the user); a batch update reads its page of the directory, then writes each \
         user on its own."
    );
    out
}

/// Write units per user of a bulk run: counter updates and puts one each, transactional puts
/// two each (the transactions hold 100 puts except the last of each request).
fn bulk_write_units(calls: &[String], users: usize) -> f64 {
    let counters = calls.iter().filter(|c| *c == "UpdateItem").count() as f64;
    let puts = calls.iter().filter(|c| *c == "PutItem").count() as f64;
    let transactional = if calls.iter().any(|c| c == "TransactWriteItems") {
        users as f64
    } else {
        0.0
    };
    (counters + puts + 2.0 * transactional) / users as f64
}

/// What the numbers mean, what was tuned, and where a goal cannot hold.
fn notes(warm_up_ms: f64) -> String {
    format!(
        "
## Notes

- **What init warms, and why.** As deployed, init ends with one read of the IM id counter
  item (`UserTable::warm_up`, bounded to 1.5 s, best effort). It settles once what the first
  DynamoDB call would otherwise pay inside a request: the connection (on AWS: DNS, TCP and the
  TLS handshake), endpoint resolution, credentials, request signing. Here it adds
  {warm_up_ms:.1} ms to init on average, mostly DynamoDB Local answering a new connection, and
  saves only about a millisecond of the first request, because DynamoDB Local is plain HTTP on
  loopback: on this machine \"init + first\" is lower without it. On Lambda the balance is the
  other way: the first TLS handshake is the big cost (published: ~900 ms first call without,
  ~21 ms with the connection opened during init), and init runs with boosted CPU while a
  128 MB function gets a fraction of a vCPU afterwards. So the warm-up stays on by default and
  the process alone (the `WARM_UP_ON_INIT=false` column) is what meets the cold-init goal;
  `WARM_UP_ON_INIT=false` switches it off for anyone who prefers the shorter init.
- **First request, as deployed**, is within about a millisecond of a warm one: what is left is
  the first run of the handler's own code (page faults, lazily built tables). Against
  DynamoDB Local's sub-millisecond reads that millisecond can still be 2x for the fastest
  endpoints; against real DynamoDB, a few ms a call, it is a small fraction. A register's
  first request in an instance also reserves the IM id block (a counter call the next 32
  registrations do not make), so it costs two round trips against one warm; reserving in init
  instead would spend ids in instances that never register.
- **What was tuned** (before: cold init ~3.9x bare, first request up to ~23x warm, register 2
  round trips): aws-config's default chain is gone from the functions (at init it read
  `~/.aws/config` and parsed the whole system certificate bundle and directory, most of the
  gap to the bare function); the client is built from the variables Lambda sets and trusts only
  the Amazon Trust Services roots (no bundle to read), or no TLS at all for an `http://`
  endpoint; aws-lc is built without its CPU-jitter entropy source
  (`AWS_LC_SYS_NO_JITTER_ENTROPY`, `.cargo/config.toml`); registrations take IM ids from a
  reserved block (one counter call per 33 registrations instead of one each: register is one write, not
  two); the release profile is `opt-level = \"s\"`, fat LTO, one codegen unit, `panic = \"abort\"`,
  stripped; the SDK client, keys and verifiers are built once per process.
- **Warm overhead** is the work that is ours per request: the signature or token check, JSON
  parsing and serialising, the envelope and the log line, tens of microseconds against a
  DynamoDB Local call of 0.5 to 1 ms. DynamoDB Local's own jitter between the alternating
  runs is of the same order, so one endpoint can land either side of 1.1x from run to run.
- **Bulk.** The batch endpoint is 200x fewer Lambda and API Gateway requests and two orders of
  magnitude fewer DynamoDB calls per user. Its handler time per user is bounded by how fast
  DynamoDB Local runs a 100-item transaction (slowly: it is single-node Java). In dollars no
  batch can be 10x cheaper: every user costs at least one DynamoDB write unit whichever
  endpoint creates it, and a conditional batch write needs a transaction, which DynamoDB
  charges twice. With register at one write unit per user, the single endpoint's request
  charges are the only thing batching can remove.
- **Limits of this machine.** Binaries run on x86_64 here, arm64 on Lambda; DynamoDB Local
  answers over plain HTTP on loopback, real DynamoDB over TLS a few ms away, so absolute
  latencies on Lambda are higher and the first-request saving of the warm-up larger.
"
    )
}
