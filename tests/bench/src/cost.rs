//! The cost model: dollars per million requests from measured durations and the DynamoDB
//! capacity units each request consumes, against an always-on Go + MySQL server.

/// List prices, us-east-1, as of the date in BENCHMARKS.md (check the AWS pricing pages).
pub const LAMBDA_ARM_GB_SECOND: f64 = 0.000_013_333_4;
pub const LAMBDA_PER_MILLION_REQUESTS: f64 = 0.20;
pub const HTTP_API_PER_MILLION: f64 = 1.00;
pub const DDB_PER_MILLION_WRU: f64 = 0.625;
pub const DDB_PER_MILLION_RRU: f64 = 0.125;
/// `MemorySize` in template.yaml.
pub const MEMORY_MB: f64 = 128.0;
/// Always-on alternative: one EC2 t4g.small running the Go server and MySQL ($0.0168/h),
/// 20 GB gp3 ($0.08/GB-month), 730 h a month. No load balancer, no replica, no backups.
pub const VM_MONTHLY: f64 = 0.0168 * 730.0 + 20.0 * 0.08;

/// Capacity units one request of the sample size consumes (items under 1 KB, so one write
/// unit per item written; strongly consistent reads of items under 4 KB, one read unit per
/// item; GSI queries are eventually consistent, half a unit; transactional writes count twice).
pub fn capacity_units(function: &str) -> (f64, f64) {
    match function {
        // counter ADD + conditional put
        "server-user-register" => (0.0, 2.0),
        // counter ADD + a transaction of 2 puts (2 units each)
        "server-user-register-batch" => (0.0, 5.0),
        "server-user-update" | "client-user-update" => (0.0, 1.0),
        // two users read in one BatchGetItem
        "server-user-infos" | "server-user-profiles" | "client-user-users" => (2.0, 0.0),
        // two GSI queries
        "client-user-imusers" => (1.0, 0.0),
        // one GetItem: info, profile, client user/profile, token for an existing user
        _ => (1.0, 0.0),
    }
}

/// Dollars per million requests: (Lambda, API Gateway, DynamoDB).
pub fn per_million(function: &str, billed_ms: f64) -> (f64, f64, f64) {
    let gb_seconds = MEMORY_MB / 1024.0 * billed_ms / 1000.0;
    let lambda = LAMBDA_PER_MILLION_REQUESTS + gb_seconds * LAMBDA_ARM_GB_SECOND * 1e6;
    let (rru, wru) = capacity_units(function);
    let dynamodb = rru * DDB_PER_MILLION_RRU + wru * DDB_PER_MILLION_WRU;
    (lambda, HTTP_API_PER_MILLION, dynamodb)
}

/// Dollars per user registered: one request per user, or one per `batch` users.
pub fn per_user_registration(
    billed_ms_per_request: f64,
    users_per_request: f64,
    wru_per_user: f64,
) -> f64 {
    let gb_seconds = MEMORY_MB / 1024.0 * billed_ms_per_request / 1000.0;
    let per_request = (LAMBDA_PER_MILLION_REQUESTS + HTTP_API_PER_MILLION) / 1e6
        + gb_seconds * LAMBDA_ARM_GB_SECOND;
    per_request / users_per_request + wru_per_user * DDB_PER_MILLION_WRU / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_one_millisecond_read_costs_requests_plus_one_read_unit() {
        let (lambda, api, ddb) = per_million("server-user-info", 1.0);
        assert!(
            (lambda - (0.20 + 0.125 * 0.001 * 13.3334)).abs() < 1e-6,
            "{lambda}"
        );
        assert_eq!(api, 1.00);
        assert!((ddb - 0.125).abs() < 1e-9);
    }

    #[test]
    fn batching_divides_the_request_charges_but_not_the_write_units() {
        let single = per_user_registration(10.0, 1.0, 2.0);
        let batch = per_user_registration(200.0, 200.0, 2.0);
        assert!(batch < single);
        // The write units are a floor no batching removes.
        assert!(batch > 2.0 * DDB_PER_MILLION_WRU / 1e6);
    }
}
