//! The log: one JSON object per line on stdout (CloudWatch), level from `RUST_LOG` (default
//! `info`). Each line has `timestamp`, `level`, the event's own fields (`message` among them)
//! and, for a line emitted while a request is served, that request's audit trail
//! ([`crate::audit::log_fields`]: `request_id`, `client_reqid`, `source_ip`, `route`,
//! `caller`, `caller_id`, `token_issued_at_ms`, `target` or `targets`). The trail is read when
//! the line is written, so a line from deep inside an operation carries it as the pipeline's
//! own line does, with no span to pass along.

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

use crate::audit::log_fields;

/// Installs the process's subscriber (once; later calls do nothing).
pub fn init() {
    use tracing_subscriber::util::SubscriberInitExt;
    let _ = subscriber(std::io::stdout).try_init();
}

/// The subscriber the functions log with, writing to `writer` (tests capture it).
pub fn subscriber<W>(writer: W) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    use tracing_subscriber::layer::SubscriberExt;
    let rust_log = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "info".into());
    let mut filter: tracing_subscriber::filter::Targets = rust_log
        .parse()
        .unwrap_or_else(|_| "info".parse().expect("valid default filter"));
    // The runtime's own warnings are about how it was started (under `cargo lambda watch`,
    // one per process that AWS_LAMBDA_MAX_CONCURRENCY is set): its errors only, unless
    // RUST_LOG names it.
    if !rust_log.contains("lambda_runtime") {
        filter = filter.with_target("lambda_runtime", tracing::Level::ERROR);
    }
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .event_format(JsonLine)
                .with_writer(writer),
        )
        .with(filter)
}

/// One event as one flat JSON object, with the request's trail.
struct JsonLine;

impl<S, N> FormatEvent<S, N> for JsonLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = Map::new();
        let mut timestamp = String::new();
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        line.insert("timestamp".into(), timestamp.into());
        line.insert("level".into(), event.metadata().level().as_str().into());
        if let Some(trail) = log_fields() {
            line.extend(trail);
        }
        event.record(&mut Fields(&mut line));
        writeln!(writer, "{}", Value::Object(line))
    }
}

/// Collects an event's fields as JSON values.
struct Fields<'a>(&'a mut Map<String, Value>);

impl Visit for Fields<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }
}
