//! Calls from web pages on other origins (MinApp's web SDK runs on the app's own site): the
//! pipeline answers every CORS preflight and marks every answer, for the origins
//! `CORS_ALLOW_ORIGINS` names and no other.
//!
//! The functions decide, not the gateway: the HTTP API has no `CorsConfiguration`, its
//! `OPTIONS /{proxy+}` route reaches `http-preflight`, and `make dev` routes every path's
//! `OPTIONS` there too (with `cargo lambda watch --disable-cors`, so watch's own answer, which
//! allows any origin, never hides ours). One piece of code answers on AWS and locally.

use lambda_http::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, HeaderValue, VARY,
};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};

use crate::config::AllowedOrigins;

/// The methods the API serves.
pub const ALLOW_METHODS: &str = "GET, POST, PUT, PATCH, DELETE";
/// What the clients send beyond the safelisted headers: tokens (`Authorization`), JSON bodies,
/// MinApp's SDK headers (every one of its requests carries the `X-Hydrogen-Client-*` four) and
/// the caller's own request id. Cookies are never allowed across origins.
pub const ALLOW_HEADERS: &str = "authorization, content-type, x-hydrogen-client-id, \
    x-hydrogen-client-platform, x-hydrogen-client-sdk-type, x-hydrogen-client-version, \
    x-hydrogen-env-id, x-reqid";
/// Response headers a page may read: the request id to quote, when to retry after a 429.
pub const EXPOSE_HEADERS: &str = "x-reqid, retry-after";
/// How long a browser may reuse a preflight's answer (Chromium caps it at 2 hours).
pub const MAX_AGE_SECONDS: u32 = 600;

/// A preflight: `OPTIONS`, never a call of the API (no caller, no work, no body).
pub fn is_preflight(request: &Request) -> bool {
    request.method() == Method::OPTIONS
}

/// 204, with the permissions when the page's origin is allowed and none otherwise (the
/// browser then refuses the call itself: nothing tells the page why).
pub fn preflight(allowed: &AllowedOrigins, origin: Option<&str>) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    if let Some(allow) = allow_origin(allowed, origin) {
        let headers = response.headers_mut();
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, allow);
        headers.insert(
            ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOW_METHODS),
        );
        headers.insert(
            ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOW_HEADERS),
        );
        headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from(MAX_AGE_SECONDS));
    }
    vary(allowed, &mut response);
    response
}

/// Lets an allowed origin's page read `response`.
pub fn mark(allowed: &AllowedOrigins, origin: Option<&str>, response: &mut Response<Body>) {
    if let Some(allow) = allow_origin(allowed, origin) {
        let headers = response.headers_mut();
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, allow);
        headers.insert(
            ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSE_HEADERS),
        );
    }
    vary(allowed, response);
}

fn allow_origin(allowed: &AllowedOrigins, origin: Option<&str>) -> Option<HeaderValue> {
    origin
        .and_then(|o| allowed.allow(o))
        .and_then(|a| HeaderValue::from_str(&a).ok())
}

/// An answer that depends on `Origin` says so, so no cache hands one origin's answer to another
/// (added to what else it varies on, such as a console asset's `accept-encoding`).
fn vary(allowed: &AllowedOrigins, response: &mut Response<Body>) {
    if !allowed.is_empty() {
        let headers = response.headers_mut();
        let value = match headers.get(VARY).and_then(|v| v.to_str().ok()) {
            Some(other) => HeaderValue::from_str(&format!("{other}, origin")).ok(),
            None => Some(HeaderValue::from_static("origin")),
        };
        if let Some(value) = value {
            headers.insert(VARY, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "http://127.0.0.1:19531";

    fn header<'r>(r: &'r Response<Body>, name: &str) -> Option<&'r str> {
        r.headers().get(name).map(|v| v.to_str().unwrap())
    }

    #[test]
    fn an_allowed_origin_gets_the_permissions_its_sdk_needs() {
        let allowed = AllowedOrigins::parse(PAGE).unwrap();
        let r = preflight(&allowed, Some(PAGE));
        assert_eq!(r.status(), 204);
        assert_eq!(header(&r, "access-control-allow-origin"), Some(PAGE));
        let headers = header(&r, "access-control-allow-headers").unwrap();
        // Exactly what Chromium asks for on MinApp SDK calls (tests/sdk/SDK-NOTES.md).
        for asked in "authorization,content-type,x-hydrogen-client-id,x-hydrogen-client-platform,\
             x-hydrogen-client-sdk-type,x-hydrogen-client-version,x-hydrogen-env-id"
            .split(',')
        {
            assert!(headers.split(", ").any(|h| h == asked), "{asked}");
        }
        let methods = header(&r, "access-control-allow-methods").unwrap();
        for m in ["GET", "POST", "PUT"] {
            assert!(methods.split(", ").any(|h| h == m), "{m}");
        }
        assert_eq!(header(&r, "vary"), Some("origin"));
        assert_eq!(header(&r, "access-control-allow-credentials"), None);
    }

    #[test]
    fn another_origin_gets_no_permission() {
        let allowed = AllowedOrigins::parse(PAGE).unwrap();
        for origin in [Some("http://127.0.0.1:19532"), Some("null"), None] {
            let r = preflight(&allowed, origin);
            assert_eq!(r.status(), 204);
            assert_eq!(
                header(&r, "access-control-allow-origin"),
                None,
                "{origin:?}"
            );
            assert_eq!(header(&r, "access-control-allow-headers"), None);
            let mut answer = Response::new(Body::Empty);
            mark(&allowed, origin, &mut answer);
            assert_eq!(header(&answer, "access-control-allow-origin"), None);
            assert_eq!(header(&answer, "vary"), Some("origin"));
        }
        // Nothing configured: no header at all.
        let mut answer = Response::new(Body::Empty);
        mark(&AllowedOrigins::default(), Some(PAGE), &mut answer);
        assert!(answer.headers().is_empty());
    }

    #[test]
    fn answers_to_an_allowed_origin_are_readable() {
        let allowed = AllowedOrigins::parse(PAGE).unwrap();
        let mut answer = Response::new(Body::Empty);
        mark(&allowed, Some(PAGE), &mut answer);
        assert_eq!(header(&answer, "access-control-allow-origin"), Some(PAGE));
        assert_eq!(
            header(&answer, "access-control-expose-headers"),
            Some(EXPOSE_HEADERS)
        );
    }
}
