//! The bounds every request lives within, in one place (each is explained where it is used).

use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

/// The function timeout (`template.yaml`, Globals: `Timeout: 10`) less 1 s for
/// authentication, the response and the runtime's own work: one request's whole deadline.
pub const REQUEST_BUDGET: Duration = Duration::from_secs(9);

/// Largest request body accepted (API Gateway would take 10 MB; no valid request needs 1).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Lambda's response limit; a page stops before its objects would pass it, with room for the
/// rest of the body and the runtime's own wrapping.
pub const RESPONSE_MAX_BYTES: usize = 6 * 1024 * 1024 - 64 * 1024;

// --- Per-caller limits (login identifier, source IP): counters in the table, fixed windows ---

/// At most `max` attempts per fixed window of `window_seconds`, windows aligned to the unix
/// epoch (so every counter of a limit frees at the same instants, and a burst straddling a
/// window boundary can get at most `2 * max` through within one window's span).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: i64,
    pub window_seconds: i64,
}

impl Limit {
    pub const fn new(max: i64, window_seconds: i64) -> Limit {
        Limit {
            max,
            window_seconds,
        }
    }

    /// The window `now` (unix s) falls in: `[start, end)`.
    pub fn window(&self, now: i64) -> (i64, i64) {
        let start = now - now.rem_euclid(self.window_seconds);
        (start, start.saturating_add(self.window_seconds))
    }

    /// `max/window_seconds`, both positive: the form of the `*_LIMIT` variables.
    pub fn parse(text: &str) -> Option<Limit> {
        let (max, window) = text.trim().split_once('/')?;
        let max = max.trim().parse::<i64>().ok().filter(|n| *n > 0)?;
        let window = window.trim().parse::<i64>().ok().filter(|n| *n > 0)?;
        Some(Limit::new(max, window))
    }
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.max, self.window_seconds)
    }
}

/// The limits every deployment has (README, Configuration, says what each protects).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Login attempts per login identifier (`LOGIN_LIMIT`).
    pub login: Limit,
    /// Login attempts per source IP (`LOGIN_IP_LIMIT`).
    pub login_ip: Limit,
    /// Sign-ups per source IP (`SIGNUP_IP_LIMIT`).
    pub signup_ip: Limit,
    /// Anonymous Deepin lookups per source IP (`LOOKUP_IP_LIMIT`).
    pub lookup_ip: Limit,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            login: Limit::new(5, 900),
            login_ip: Limit::new(50, 900),
            signup_ip: Limit::new(10, 3600),
            lookup_ip: Limit::new(60, 60),
        }
    }
}

/// One counter of attempts: its partition key, its limit and the limit's name (what a 429
/// reports in [`crate::error::Limited`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter {
    pub key: String,
    pub limit: Limit,
    pub name: &'static str,
}

/// Where a request without a source IP (only in-process tests; API Gateway and `cargo lambda
/// watch` always set one) is counted: all of them together, never unlimited.
pub const NO_SOURCE_IP: &str = "none";

impl Counter {
    /// Login attempts for one normalized login identifier (`account::guard_key`), whether or
    /// not an account holds it.
    pub fn login(identifier: &str, limit: Limit) -> Counter {
        Counter {
            key: format!("LIMIT#login#{identifier}"),
            limit,
            name: "login",
        }
    }

    /// `action`'s attempts from one source address; IPv6 counts per /64 (one subscriber's
    /// allocation), so rotating through its addresses gains nothing.
    pub fn per_ip(action: &'static str, ip: Option<IpAddr>, limit: Limit) -> Counter {
        let source = match ip.map(canonical) {
            None => NO_SOURCE_IP.to_string(),
            Some(IpAddr::V4(v4)) => v4.to_string(),
            Some(IpAddr::V6(v6)) => {
                let s = v6.segments();
                let prefix = Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("{prefix}/64")
            }
        };
        Counter {
            key: format!("LIMIT#ip#{source}#{action}"),
            limit,
            name: match action {
                "login" => "login_ip",
                "signup" => "signup_ip",
                "lookup" => "lookup_ip",
                _ => "ip",
            },
        }
    }
}

/// An IPv4 address written as IPv6 (`::ffff:192.0.2.1`) is that IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_aligned_and_contain_now() {
        let limit = Limit::new(5, 900);
        assert_eq!(limit.window(1_800), (1_800, 2_700));
        assert_eq!(limit.window(2_699), (1_800, 2_700));
        assert_eq!(limit.window(2_700), (2_700, 3_600));
    }

    #[test]
    fn limits_parse_as_max_per_window() {
        assert_eq!(Limit::parse("5/900"), Some(Limit::new(5, 900)));
        assert_eq!(Limit::parse(" 100000 / 60 "), Some(Limit::new(100_000, 60)));
        for bad in ["", "5", "0/60", "5/0", "-1/60", "a/b", "5/60/1"] {
            assert_eq!(Limit::parse(bad), None, "{bad}");
        }
        assert_eq!(Limit::new(5, 900).to_string(), "5/900");
    }

    #[test]
    fn counters_key_by_identifier_or_source_address() {
        let l = Limit::new(1, 1);
        assert_eq!(
            Counter::login("USERNAME#bob", l).key,
            "LIMIT#login#USERNAME#bob"
        );
        let ip = |s: &str| Some(s.parse().unwrap());
        assert_eq!(
            Counter::per_ip("login", ip("192.0.2.1"), l).key,
            "LIMIT#ip#192.0.2.1#login"
        );
        assert_eq!(
            Counter::per_ip("login", ip("::ffff:192.0.2.1"), l).key,
            "LIMIT#ip#192.0.2.1#login",
            "IPv4-mapped is the IPv4 address"
        );
        assert_eq!(
            Counter::per_ip("signup", ip("2001:db8:1:2:aaaa::1"), l),
            Counter::per_ip("signup", ip("2001:db8:1:2:ffff::9"), l),
            "one IPv6 /64 is one caller"
        );
        assert_eq!(
            Counter::per_ip("lookup", ip("2001:db8:1:2::1"), l).key,
            "LIMIT#ip#2001:db8:1:2::/64#lookup"
        );
        let none = Counter::per_ip("lookup", None, l);
        assert_eq!(
            (none.key.as_str(), none.name),
            ("LIMIT#ip#none#lookup", "lookup_ip")
        );
    }
}
