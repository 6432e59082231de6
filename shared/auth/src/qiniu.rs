//! Server authentication: the Qiniu management credential `Qiniu <AK>:<sign>` (v2) and the
//! legacy `QBox <AK>:<sign>`, exactly as the official SDKs compute them.

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha1::Sha1;

use crate::config::AccessKey;
use crate::error::ApiError;

/// URL-safe base64 that accepts the signature with or without `=` padding.
const SIGNATURE_B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

const OCTET_STREAM: &str = "application/octet-stream";
const FORM: &str = "application/x-www-form-urlencoded";

/// The parts of a request that a Qiniu signature covers.
#[derive(Debug, Clone)]
pub struct SignedParts<'a> {
    pub method: &'a str,
    /// The path as sent (percent-encoded).
    pub path: &'a str,
    /// The raw query, without `?`; empty when there is none.
    pub query: &'a str,
    pub host: &'a str,
    pub content_type: Option<&'a str>,
    /// `X-Qiniu-*` headers: canonical name and first value, sorted by name.
    pub qiniu_headers: Vec<(String, &'a [u8])>,
    pub body: &'a [u8],
}

impl<'a> SignedParts<'a> {
    pub fn new(
        method: &'a str,
        path: &'a str,
        query: &'a str,
        headers: &'a HeaderMap,
        body: &'a [u8],
    ) -> Self {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let mut qiniu_headers: Vec<(String, &[u8])> = Vec::new();
        for name in headers.keys() {
            let lower = name.as_str();
            if lower.len() > "x-qiniu-".len()
                && lower.starts_with("x-qiniu-")
                && let Some(value) = headers.get(name)
            {
                qiniu_headers.push((canonical_header_name(lower), value.as_bytes()));
            }
        }
        qiniu_headers.sort();
        SignedParts {
            method,
            path,
            query,
            host: text("host").unwrap_or(""),
            content_type: text("content-type"),
            qiniu_headers,
            body,
        }
    }

    fn qiniu_header(&self, canonical: &str) -> Option<&'a [u8]> {
        self.qiniu_headers
            .iter()
            .find(|(n, _)| n == canonical)
            .map(|(_, v)| *v)
    }

    /// The v2 signing string: request line, Host, Content-Type, X-Qiniu-* headers, blank
    /// line, then the body unless it is empty, untyped or `application/octet-stream`.
    pub fn v2_data(&self, path: &str) -> Vec<u8> {
        let mut data = Vec::with_capacity(256 + self.body.len());
        data.extend_from_slice(self.method.as_bytes());
        data.push(b' ');
        push_path_and_query(&mut data, path, self.query);
        data.extend_from_slice(b"\nHost: ");
        data.extend_from_slice(self.host.as_bytes());
        if let Some(ct) = self.content_type {
            data.extend_from_slice(b"\nContent-Type: ");
            data.extend_from_slice(ct.as_bytes());
        }
        for (name, value) in &self.qiniu_headers {
            data.push(b'\n');
            data.extend_from_slice(name.as_bytes());
            data.extend_from_slice(b": ");
            data.extend_from_slice(value);
        }
        data.extend_from_slice(b"\n\n");
        if self.body_is_signed(Scheme::Qiniu) {
            data.extend_from_slice(self.body);
        }
        data
    }

    /// Whether the body is part of what `scheme` signs: v2 signs it unless it is untyped or
    /// `application/octet-stream`, QBox only for form-encoded requests.
    fn body_is_signed(&self, scheme: Scheme) -> bool {
        match scheme {
            Scheme::Qiniu => matches!(self.content_type, Some(ct) if ct != OCTET_STREAM),
            Scheme::QBox => self.content_type == Some(FORM),
        }
    }

    /// The legacy QBox signing string: path and query, newline, and the body only for
    /// form-encoded requests.
    pub fn qbox_data(&self, path: &str) -> Vec<u8> {
        let mut data = Vec::with_capacity(128 + self.body.len());
        push_path_and_query(&mut data, path, self.query);
        data.push(b'\n');
        if self.body_is_signed(Scheme::QBox) {
            data.extend_from_slice(self.body);
        }
        data
    }
}

fn push_path_and_query(data: &mut Vec<u8>, path: &str, query: &str) {
    data.extend_from_slice(path.as_bytes());
    if !query.is_empty() {
        data.push(b'?');
        data.extend_from_slice(query.as_bytes());
    }
}

/// `x-qiniu-meta-app` -> `X-Qiniu-Meta-App`, as Go's `CanonicalHeaderKey` and the Python SDK do.
pub fn canonical_header_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper {
            c.to_ascii_uppercase()
        } else {
            c.to_ascii_lowercase()
        });
        upper = c == '-';
    }
    out
}

/// `urlsafe_b64(hmac_sha1(sk, data))`, padded, as the SDKs send it.
pub fn sign(secret_key: &[u8], data: &[u8]) -> String {
    SIGNATURE_B64.encode(mac(secret_key, data).finalize().into_bytes())
}

fn mac(secret_key: &[u8], data: &[u8]) -> Hmac<Sha1> {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret_key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac
}

/// Constant-time comparison of the expected MAC with the presented one.
fn signature_matches(secret_key: &[u8], data: &[u8], presented: &[u8]) -> bool {
    mac(secret_key, data).verify_slice(presented).is_ok()
}

/// Which form the caller used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Qiniu,
    QBox,
}

/// Checks `Authorization` against the active keys and `X-Qiniu-Date` against the clock.
#[derive(Debug, Clone)]
pub struct QiniuVerifier {
    keys: Vec<AccessKey>,
    date_skew_seconds: i64,
    require_date: bool,
}

impl QiniuVerifier {
    pub fn new(keys: Vec<AccessKey>, date_skew_seconds: i64, require_date: bool) -> Self {
        QiniuVerifier {
            keys,
            date_skew_seconds,
            require_date,
        }
    }

    /// The app server whose key signed the request.
    pub fn server(
        &self,
        authorization: Option<&str>,
        parts: &SignedParts<'_>,
        now_unix: i64,
    ) -> Result<crate::caller::Server, ApiError> {
        self.verify(authorization, parts, now_unix)
            .map(crate::caller::Server::new)
    }

    /// Returns the access key that signed the request.
    pub fn verify(
        &self,
        authorization: Option<&str>,
        parts: &SignedParts<'_>,
        now_unix: i64,
    ) -> Result<&str, ApiError> {
        let authorization = authorization
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .ok_or(ApiError::Unauthorized("missing Authorization header"))?;
        let (scheme, credential) = if let Some(rest) = authorization.strip_prefix("Qiniu ") {
            (Scheme::Qiniu, rest)
        } else if let Some(rest) = authorization.strip_prefix("QBox ") {
            (Scheme::QBox, rest)
        } else {
            return Err(ApiError::Unauthorized(
                "Authorization must be a Qiniu signature: Qiniu <AK>:<sign>",
            ));
        };
        let (ak, encoded) = credential
            .trim()
            .split_once(':')
            .filter(|(ak, sig)| !ak.is_empty() && !sig.is_empty())
            .ok_or(ApiError::Unauthorized(
                "malformed credential: expected <AK>:<sign>",
            ))?;
        let presented = SIGNATURE_B64
            .decode(encoded)
            .map_err(|_| ApiError::Unauthorized("malformed signature: not URL-safe base64"))?;
        let key = self
            .keys
            .iter()
            .find(|k| k.access_key == ak)
            .ok_or(ApiError::Unauthorized("unknown access key"))?;

        let data_for = |path: &str| match scheme {
            Scheme::Qiniu => parts.v2_data(path),
            Scheme::QBox => parts.qbox_data(path),
        };
        let secret = key.secret_key.expose();
        let mut ok = signature_matches(secret, &data_for(parts.path), &presented);
        if !ok {
            // The Go SDK signs the percent-decoded path.
            if let Ok(decoded) = percent_encoding::percent_decode_str(parts.path).decode_utf8()
                && decoded != parts.path
            {
                ok = signature_matches(secret, &data_for(&decoded), &presented);
            }
        }
        if !ok {
            return Err(ApiError::Unauthorized(
                "signature does not match the request",
            ));
        }
        // A valid signature over the rest proves nothing about a body it left out: such a
        // request could be a captured one with another body, so nothing of it is acted on.
        if !parts.body.is_empty() && !parts.body_is_signed(scheme) {
            return Err(ApiError::Unauthorized(match scheme {
                Scheme::Qiniu => {
                    "the signature does not cover the body: send it with Content-Type: application/json"
                }
                Scheme::QBox => {
                    "a QBox signature does not cover a JSON body: use the Qiniu form (Authorization: Qiniu <AK>:<sign>)"
                }
            }));
        }
        self.check_date(scheme, parts, now_unix)?;
        Ok(&key.access_key)
    }

    /// Runs after the signature check, so only a signed date can be judged.
    fn check_date(
        &self,
        scheme: Scheme,
        parts: &SignedParts<'_>,
        now: i64,
    ) -> Result<(), ApiError> {
        if scheme == Scheme::QBox {
            // QBox does not sign headers: an X-Qiniu-Date there proves nothing.
            return if self.require_date {
                Err(ApiError::Unauthorized(
                    "this deployment requires a signed X-Qiniu-Date; use the Qiniu form",
                ))
            } else {
                Ok(())
            };
        }
        match parts.qiniu_header("X-Qiniu-Date") {
            None if self.require_date => {
                Err(ApiError::Unauthorized("X-Qiniu-Date header is required"))
            }
            None => Ok(()),
            Some(raw) => {
                let at = std::str::from_utf8(raw)
                    .ok()
                    .and_then(parse_qiniu_date)
                    .ok_or(ApiError::Unauthorized(
                        "X-Qiniu-Date must be yyyyMMddTHHmmssZ",
                    ))?;
                if (now - at).abs() > self.date_skew_seconds {
                    Err(ApiError::TimeSkew)
                } else {
                    Ok(())
                }
            }
        }
    }
}

/// `20261122T101500Z` -> unix seconds.
pub fn parse_qiniu_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (year, month, day) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hour, minute, second) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Formats unix seconds as `X-Qiniu-Date` (used by clients and tests that sign).
pub fn format_qiniu_date(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Inverse of days_from_civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;
    use http::HeaderValue;

    const SK: &str = "test-secret-key";

    fn keys() -> Vec<AccessKey> {
        vec![
            AccessKey {
                access_key: "old".into(),
                secret_key: Secret::new("old-secret"),
            },
            AccessKey {
                access_key: "ak".into(),
                secret_key: Secret::new(SK),
            },
        ]
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    // Known answers computed with Python's hmac/base64 modules and the official Python SDK
    // (qiniu 7.18, QiniuMacAuth.token_of_request / Auth.token_of_request) over the same inputs.
    #[test]
    fn qnlivekit_vector_signs_to_the_known_answer() {
        let data = "GET /path/to/api?param=value\nHost: example.com\nContent-Type: application/json\nX-Qiniu-Meta-App: value\n\n";
        assert_eq!(
            sign(SK.as_bytes(), data.as_bytes()),
            "-0tQQzqiYb-IkToR6r3cPbNSUaI="
        );

        let h = headers(&[
            ("host", "example.com"),
            ("content-type", "application/json"),
            ("x-qiniu-meta-app", "value"),
        ]);
        let parts = SignedParts::new("GET", "/path/to/api", "param=value", &h, b"");
        assert_eq!(parts.v2_data("/path/to/api"), data.as_bytes());
    }

    #[test]
    fn python_sdk_post_with_json_body_and_date_is_accepted() {
        let h = headers(&[
            ("host", "localhost:9000"),
            ("content-type", "application/json"),
            ("x-qiniu-date", "20261122T101500Z"),
        ]);
        let body = br#"{"user_id":"u1"}"#;
        let parts = SignedParts::new("POST", "/server/user/register", "", &h, body);
        let now = parse_qiniu_date("20261122T101500Z").unwrap();
        let v = QiniuVerifier::new(keys(), 900, false);
        let auth = "Qiniu ak:6TOPoXsyiaN7ZDjd4H8USClW9aY=";
        assert_eq!(v.verify(Some(auth), &parts, now), Ok("ak"));
        // Unpadded form of the same signature.
        let auth = "Qiniu ak:6TOPoXsyiaN7ZDjd4H8USClW9aY";
        assert_eq!(v.verify(Some(auth), &parts, now), Ok("ak"));
    }

    #[test]
    fn python_sdk_get_with_default_form_content_type_is_accepted() {
        let h = headers(&[
            ("host", "localhost:9000"),
            ("content-type", "application/x-www-form-urlencoded"),
            ("x-qiniu-date", "20261122T101500Z"),
        ]);
        let parts = SignedParts::new(
            "GET",
            "/server/user/infos",
            "user_ids=a&user_ids=b",
            &h,
            b"",
        );
        let now = parse_qiniu_date("20261122T101500Z").unwrap() + 60;
        let v = QiniuVerifier::new(keys(), 900, false);
        let auth = "Qiniu ak:DShRdGEewry44Kh5tO88XaXVN9g=";
        assert_eq!(v.verify(Some(auth), &parts, now), Ok("ak"));
    }

    #[test]
    fn go_sdk_signature_over_the_decoded_path_is_accepted() {
        // The Go SDK signs URL.Path (decoded) and always sends a Content-Type.
        let h = headers(&[
            ("host", "api.example.com"),
            ("content-type", "application/x-www-form-urlencoded"),
            ("x-qiniu-date", "20261122T101500Z"),
        ]);
        let parts = SignedParts::new("GET", "/server/user/info/user%201", "", &h, b"");
        let now = parse_qiniu_date("20261122T101500Z").unwrap();
        let v = QiniuVerifier::new(keys(), 900, false);
        let auth = "Qiniu ak:alaY9cnshiYCi1Xn5VtsImYkflc=";
        assert_eq!(v.verify(Some(auth), &parts, now), Ok("ak"));
    }

    #[test]
    fn qbox_form_is_accepted_with_body_only_for_form_requests() {
        let v = QiniuVerifier::new(keys(), 900, false);
        let h = headers(&[("host", "localhost:9000")]);
        let parts = SignedParts::new("GET", "/server/user/info/u1", "x=1", &h, b"");
        let auth = "QBox ak:gt6vfNI84O5k_-zb2i3Ikwhi9XA=";
        assert_eq!(v.verify(Some(auth), &parts, 0), Ok("ak"));

        let h = headers(&[("content-type", "application/x-www-form-urlencoded")]);
        let parts = SignedParts::new("POST", "/server/user/register", "", &h, b"a=1&b=2");
        let auth = "QBox ak:aYSFGZtif--_ZuAbyjl651CZmmY=";
        assert_eq!(v.verify(Some(auth), &parts, 0), Ok("ak"));
        // Requiring a signed date rules QBox out: it cannot sign one.
        let strict = QiniuVerifier::new(keys(), 900, true);
        assert!(matches!(
            strict.verify(Some(auth), &parts, 0),
            Err(ApiError::Unauthorized(_))
        ));
    }

    fn signed(
        method: &str,
        path: &str,
        ct: Option<&str>,
        body: &[u8],
        date: Option<&str>,
    ) -> (HeaderMap, String) {
        let mut pairs = vec![("host", "h.example")];
        if let Some(ct) = ct {
            pairs.push(("content-type", ct));
        }
        if let Some(d) = date {
            pairs.push(("x-qiniu-date", d));
        }
        let h = headers(&pairs);
        let data = SignedParts::new(method, path, "", &h, body).v2_data(path);
        let auth = format!("Qiniu ak:{}", sign(SK.as_bytes(), &data));
        (h, auth)
    }

    #[test]
    fn rejections_say_what_failed() {
        let v = QiniuVerifier::new(keys(), 900, false);
        let body = br#"{"user_id":"u1"}"#;
        let (h, auth) = signed("POST", "/p", Some("application/json"), body, None);
        let parts = SignedParts::new("POST", "/p", "", &h, body);
        assert_eq!(v.verify(Some(&auth), &parts, 0), Ok("ak"));

        let unauthorized = |a: Option<&str>, p: &SignedParts| match v.verify(a, p, 0) {
            Err(ApiError::Unauthorized(m)) => m,
            other => panic!("expected 401, got {other:?}"),
        };
        assert!(unauthorized(None, &parts).contains("missing"));
        assert!(unauthorized(Some("Bearer abc"), &parts).contains("Qiniu <AK>:<sign>"));
        assert!(unauthorized(Some("Qiniu nocolon"), &parts).contains("<AK>:<sign>"));
        assert!(unauthorized(Some("Qiniu ak:***"), &parts).contains("base64"));
        let wrong_ak = auth.replace("Qiniu ak:", "Qiniu nobody:");
        assert!(unauthorized(Some(&wrong_ak), &parts).contains("unknown access key"));
        // Body changed after signing.
        let tampered = SignedParts::new("POST", "/p", "", &h, br#"{"user_id":"u2"}"#);
        assert!(unauthorized(Some(&auth), &tampered).contains("does not match"));
        // Signed with another secret.
        let data = parts.v2_data("/p");
        let forged = format!("Qiniu ak:{}", sign(b"wrong-secret", &data));
        assert!(unauthorized(Some(&forged), &parts).contains("does not match"));
        // Method is covered.
        let as_put = SignedParts::new("PUT", "/p", "", &h, body);
        assert!(unauthorized(Some(&auth), &as_put).contains("does not match"));
    }

    #[test]
    fn bodies_the_signature_left_out_are_refused() {
        let v = QiniuVerifier::new(keys(), 900, false);
        let unsigned_body = |auth: &str, h: &HeaderMap, body: &[u8]| {
            let parts = SignedParts::new("POST", "/p", "", h, body);
            match v.verify(Some(auth), &parts, 0) {
                Err(ApiError::Unauthorized(m)) => m,
                other => panic!("expected 401, got {other:?}"),
            }
        };
        // v2 with application/octet-stream or no Content-Type: the body is not in the
        // signing string, so the signature would fit any body.
        for ct in [Some(OCTET_STREAM), None] {
            let (h, auth) = signed("POST", "/p", ct, b"", None);
            let m = unsigned_body(&auth, &h, br#"{"user_id":"evil"}"#);
            assert!(m.contains("does not cover the body"), "{ct:?}: {m}");
            // Without a body the same signature is fine.
            let parts = SignedParts::new("POST", "/p", "", &h, b"");
            assert_eq!(v.verify(Some(&auth), &parts, 0), Ok("ak"));
        }
        // QBox signs only path and query for a JSON request: its body could be anything.
        let h = headers(&[("content-type", "application/json")]);
        let qbox = SignedParts::new("PUT", "/server/user/u1", "", &h, b"");
        let auth = format!(
            "QBox ak:{}",
            sign(SK.as_bytes(), &qbox.qbox_data("/server/user/u1"))
        );
        assert_eq!(v.verify(Some(&auth), &qbox, 0), Ok("ak"));
        let with_body = SignedParts::new("PUT", "/server/user/u1", "", &h, br#"{"nick":"x"}"#);
        assert!(matches!(
            v.verify(Some(&auth), &with_body, 0),
            Err(ApiError::Unauthorized(m)) if m.contains("QBox")
        ));
    }

    #[test]
    fn signed_date_an_hour_old_is_403_and_within_skew_passes() {
        let now = parse_qiniu_date("20261122T101500Z").unwrap();
        let v = QiniuVerifier::new(keys(), 900, false);
        let (h, auth) = signed("GET", "/p", None, b"", Some("20261122T091500Z"));
        let parts = SignedParts::new("GET", "/p", "", &h, b"");
        assert_eq!(v.verify(Some(&auth), &parts, now), Err(ApiError::TimeSkew));
        assert_eq!(v.verify(Some(&auth), &parts, now - 3600 + 899), Ok("ak"));
        // A date in the future is judged the same way.
        assert_eq!(
            v.verify(Some(&auth), &parts, now - 7200),
            Err(ApiError::TimeSkew)
        );
    }

    #[test]
    fn required_date_must_be_present() {
        let v = QiniuVerifier::new(keys(), 900, true);
        let (h, auth) = signed("GET", "/p", None, b"", None);
        let parts = SignedParts::new("GET", "/p", "", &h, b"");
        assert!(
            matches!(v.verify(Some(&auth), &parts, 0), Err(ApiError::Unauthorized(m)) if m.contains("X-Qiniu-Date"))
        );
    }

    #[test]
    fn the_second_active_key_verifies_too() {
        let h = headers(&[("host", "h")]);
        let parts = SignedParts::new("GET", "/p", "", &h, b"");
        let auth = format!("Qiniu old:{}", sign(b"old-secret", &parts.v2_data("/p")));
        let v = QiniuVerifier::new(keys(), 900, false);
        assert_eq!(v.verify(Some(&auth), &parts, 0), Ok("old"));
    }

    #[test]
    fn x_qiniu_headers_are_canonical_and_sorted() {
        let h = headers(&[
            ("x-qiniu-zeta", "z"),
            ("x-qiniu-meta-app", "m"),
            ("x-qiniu-", "empty-name"),
        ]);
        let parts = SignedParts::new("GET", "/p", "", &h, b"");
        let names: Vec<_> = parts
            .qiniu_headers
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(names, ["X-Qiniu-Meta-App", "X-Qiniu-Zeta"]);
    }

    #[test]
    fn qiniu_dates_round_trip_and_garbage_is_refused() {
        assert_eq!(parse_qiniu_date("19700101T000000Z"), Some(0));
        assert_eq!(parse_qiniu_date("20000301T000000Z"), Some(951_868_800));
        for t in [0, 951_868_800, 1_795_000_000, 4_102_444_799] {
            assert_eq!(parse_qiniu_date(&format_qiniu_date(t)), Some(t));
        }
        for bad in [
            "",
            "2026-11-22T10:15:00Z",
            "20261322T101500Z",
            "2026112xT101500Z",
            "20261122T101500",
            "+0261122T101500Z",
        ] {
            assert_eq!(parse_qiniu_date(bad), None, "{bad}");
        }
    }
}
