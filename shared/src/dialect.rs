//! The three client dialects over one user store. A function names its dialect and who may
//! call it (`run(Qiniu.server(), info)`, where `info` takes a `Call<Server>`: the two must
//! agree, or it does not compile); the dialect decides, once for all its functions, where
//! a client token is read from, how a success is shaped and how the one domain error
//! ([`ApiError`]) becomes its status and body.
//!
//! | dialect | success | error |
//! |---|---|---|
//! | Qiniu | `{"request_id", "code": 0, "message": "success", "data"}` | the same envelope, `code` per SPEC |
//! | Deepin ID | the value itself | `{"message": "..."}` |
//! | MinApp | the value itself | `{"status": "error", "error_msg": "..."}` |

use lambda_http::{Request, RequestExt};
use serde::Serialize;
use serde_json::Value;

use std::marker::PhantomData;

use crate::auth::caller::{Anonymous, Lookup, Registrant, Server, Session};
use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Qiniu low-code live: server (AK/SK) and client (token) APIs.
    Qiniu,
    /// Deepin ID v1 user info.
    Deepin,
    /// MinApp (知晓云) `userve` user module and `hserve` auth.
    MinApp,
}

pub use Dialect::{Deepin, MinApp, Qiniu};

/// One endpoint's dialect, the verified caller its handler takes (`C`: [`Server`],
/// [`Session`], [`Anonymous`], [`Registrant`] or [`Lookup`]) and its success status.
#[derive(Debug, PartialEq, Eq)]
pub struct Endpoint<C> {
    pub dialect: Dialect,
    /// 201 instead of 200 (MinApp's sign-up and login answer so).
    pub created: bool,
    caller: PhantomData<fn() -> C>,
}

impl<C> Clone for Endpoint<C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C> Copy for Endpoint<C> {}

impl<C> Endpoint<C> {
    /// The same endpoint answering a success with 201.
    pub const fn created(self) -> Self {
        Endpoint {
            created: true,
            ..self
        }
    }

    pub fn success_status(&self) -> u16 {
        if self.created { 201 } else { 200 }
    }
}

impl Dialect {
    /// App servers: a Qiniu AK/SK signature (MinApp also takes its server Bearer token).
    pub const fn server(self) -> Endpoint<Server> {
        self.endpoint()
    }

    /// Mobile and web clients: a client token, read where the dialect's clients send it.
    pub const fn client(self) -> Endpoint<Session> {
        self.endpoint()
    }

    /// Anyone.
    pub const fn public(self) -> Endpoint<Anonymous> {
        self.endpoint()
    }

    /// Sign-up (MinApp's `register`): anyone, and a client token when one is presented,
    /// which must verify as this app's ([`Registrant`]).
    pub const fn register(self) -> Endpoint<Registrant> {
        self.endpoint()
    }

    /// Public lookups (Deepin `/v1/users`): anyone while `DEEPIN_PUBLIC_LOOKUP` is true,
    /// else a client token or a server signature.
    pub const fn lookup(self) -> Endpoint<Lookup> {
        self.endpoint()
    }

    /// The operator console: a console session cookie (writes: with its CSRF token, from the
    /// console's own origin), confirmed against the operator's item ([`Operator`]).
    pub const fn console(self) -> Endpoint<crate::auth::caller::Operator> {
        self.endpoint()
    }

    const fn endpoint<C>(self) -> Endpoint<C> {
        Endpoint {
            dialect: self,
            created: false,
            caller: PhantomData,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Qiniu => "qiniu",
            Deepin => "deepin",
            MinApp => "minapp",
        }
    }

    /// The client token as this dialect's clients send it, without its scheme word.
    /// Qiniu: `Authorization: <token>` or `Bearer <token>`. Deepin: `Access-Token: <token>`,
    /// the `access_token` query parameter, or `Authorization: Bearer <token>`. MinApp:
    /// `Authorization: Hydrogen-r1 <token>`, `Bearer <token>` or the bare token.
    pub fn client_token(self, request: &Request) -> Option<String> {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let authorization = header("authorization");
        let token = match self {
            Qiniu => authorization.map(|a| strip_scheme(a, &["Bearer"])),
            Deepin => header("access-token")
                .or_else(|| {
                    request
                        .query_string_parameters_ref()
                        .and_then(|q| q.first("access_token"))
                        .filter(|t| !t.is_empty())
                })
                .or_else(|| authorization.and_then(|a| a.strip_prefix("Bearer ")))
                .map(str::trim),
            MinApp => authorization.map(|a| strip_scheme(a, &["Hydrogen-r1", "Bearer"])),
        };
        token.map(str::to_string)
    }

    /// The app a MinApp client names (`X-Hydrogen-Client-ID`, as its SDKs send it); other
    /// dialects name none. Never an identity by itself: the pipeline checks it against
    /// configuration.
    pub fn client_id(self, request: &Request) -> Option<&str> {
        request
            .headers()
            .get("x-hydrogen-client-id")
            .filter(|_| self == MinApp)
            .map(|v| v.to_str().unwrap_or("\u{fffd}").trim())
    }

    /// Status and body of a success.
    pub fn success(self, request_id: &str, status: u16, data: &Value) -> (u16, String) {
        let body = match self {
            Qiniu => to_json(&Envelope {
                request_id,
                code: 0,
                message: "success",
                data: Some(data).filter(|d| !d.is_null()),
            }),
            Deepin | MinApp => to_json(data),
        };
        (status, body)
    }

    /// Status and body of an error: the domain error mapped once per dialect.
    pub fn error(self, request_id: &str, error: &ApiError) -> (u16, String) {
        let message = error.to_string();
        let body = match self {
            Qiniu => to_json(&Envelope {
                request_id,
                code: error.code(),
                message: &message,
                data: None,
            }),
            Deepin => {
                let message = match error {
                    // The documented text, typo included: clients may match on it.
                    ApiError::UserNotFound(_) => "Invaild User Name",
                    _ => &message,
                };
                to_json(&serde_json::json!({ "message": message }))
            }
            MinApp => to_json(&serde_json::json!({ "status": "error", "error_msg": message })),
        };
        (error.status(), body)
    }
}

/// `Bearer abc` -> `abc` for each scheme word given; anything else is the bare token.
fn strip_scheme<'a>(value: &'a str, schemes: &[&str]) -> &'a str {
    schemes
        .iter()
        .find_map(|scheme| {
            value
                .strip_prefix(scheme)
                .filter(|rest| rest.starts_with(' '))
        })
        .map_or(value, str::trim)
}

#[derive(Serialize)]
struct Envelope<'a> {
    request_id: &'a str,
    code: u32,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a Value>,
}

fn to_json(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| {
        // A Value or a struct of strings always serialises; this is only a last resort.
        r#"{"message":"internal error"}"#.to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_dialect_shapes_its_errors_in_its_own_form() {
        let missing = ApiError::UserNotFound("u1".into());
        let (status, body) = Qiniu.error("r1", &missing);
        assert_eq!(status, 404);
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap(),
            json!({"request_id": "r1", "code": 404, "message": "user not found: u1"})
        );
        let (status, body) = Deepin.error("r1", &missing);
        assert_eq!(
            (status, body.as_str()),
            (404, r#"{"message":"Invaild User Name"}"#)
        );
        let invalid = ApiError::invalid("username", "is taken");
        let (status, body) = MinApp.error("r1", &invalid);
        assert_eq!(status, 400);
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap(),
            json!({"status": "error", "error_msg": "username: is taken"})
        );
        let (status, body) = Deepin.error("r1", &ApiError::TokenExpired);
        assert_eq!(
            (status, body.as_str()),
            (401, r#"{"message":"token expired"}"#)
        );
    }

    #[test]
    fn successes_are_enveloped_only_in_qiniu() {
        let data = json!({"uid": 7});
        let (_, body) = Qiniu.success("r1", 200, &data);
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap(),
            json!({"request_id": "r1", "code": 0, "message": "success", "data": {"uid": 7}})
        );
        let (_, body) = Qiniu.success("r1", 200, &Value::Null);
        assert!(!body.contains("data"));
        assert_eq!(Deepin.success("r1", 200, &data).1, r#"{"uid":7}"#);
        assert_eq!(
            MinApp.success("r1", 201, &data),
            (201, r#"{"uid":7}"#.into())
        );
    }

    fn request(headers: &[(&str, &str)], query: &str) -> Request {
        let mut b = lambda_http::http::Request::builder().uri(format!("/p?{query}"));
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let q: std::collections::HashMap<String, String> = query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        b.body(lambda_http::Body::Empty)
            .unwrap()
            .with_query_string_parameters(q)
    }

    #[test]
    fn each_dialect_reads_client_tokens_where_its_clients_send_them() {
        let auth = |v: &str| request(&[("authorization", v)], "");
        assert_eq!(Qiniu.client_token(&auth("t1")).as_deref(), Some("t1"));
        assert_eq!(
            Qiniu.client_token(&auth("Bearer t1")).as_deref(),
            Some("t1")
        );
        assert_eq!(
            MinApp.client_token(&auth("Hydrogen-r1 t1")).as_deref(),
            Some("t1")
        );
        assert_eq!(
            MinApp.client_token(&auth("Bearer t1")).as_deref(),
            Some("t1")
        );
        assert_eq!(MinApp.client_token(&auth("t1")).as_deref(), Some("t1"));
        let deepin = |h: &[(&str, &str)], q: &str| Deepin.client_token(&request(h, q));
        assert_eq!(deepin(&[("access-token", "t1")], "").as_deref(), Some("t1"));
        assert_eq!(deepin(&[], "access_token=t2").as_deref(), Some("t2"));
        assert_eq!(
            deepin(&[("authorization", "Bearer t3")], "").as_deref(),
            Some("t3")
        );
        // The header wins over the query, and a bare Authorization is no Deepin token.
        assert_eq!(
            deepin(&[("access-token", "t1")], "access_token=t2").as_deref(),
            Some("t1")
        );
        assert_eq!(deepin(&[("authorization", "t3")], ""), None);
        assert_eq!(Qiniu.client_token(&request(&[], "")), None);
    }
}
