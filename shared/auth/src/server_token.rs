//! MinApp's open-API server tokens (SPEC "MinApp dialect", who may call): an AK/SK pair
//! (`client_id`/`client_secret`) gets a short-lived code, the code (or the pair alone, with
//! `client_credentials`) gets a Bearer access token for the admin endpoints.
//!
//! Stateless: codes and tokens are HS256 JWTs naming the AK in `kid` and `sub`, signed with
//! a key derived from that AK's SK, so nothing is stored and rotating an SK (or removing
//! its AK) revokes everything it issued. A code can be exchanged more than once within its
//! minute; that gives nothing more than `client_credentials`, which needs the same secret.
//!
//! Never a client token, nor the reverse, by three independent walls: the keys differ
//! (client tokens use `TOKEN_SECRETS` as is, these use HMAC-SHA256(SK, purpose), so even an
//! SK equal to a token secret signs differently), the claims differ (these lack the
//! `UserId`/`AppId` client tokens require, and carry an `aud` the client verifier refuses),
//! and this verifier wants a `kid`, `typ`, `aud` and `sub` no client token has. Codes and
//! access tokens are kept apart the same way (own derived key, `typ` and `aud`).

use std::collections::HashMap;
use std::fmt;

use futures_util::FutureExt;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::{AccessKey, Secret};
use crate::error::{ApiError, ApiResult};

/// How long a code from `authorize` may be exchanged.
pub const CODE_TTL_SECONDS: i64 = 60;
/// How long an access token works. Without a refresh token or revocation list, a short
/// life bounds a leaked token; clients get a new one with `client_credentials`.
pub const TOKEN_TTL_SECONDS: i64 = 2 * 3600;
/// The `scope` of every access token: the admin (open) API, all of it.
pub const SCOPE: &str = "openapi";
pub const TOKEN_TYPE: &str = "Bearer";

/// One kind of JWT this module issues: its `typ` claim (also the label its key is derived
/// with) and its `aud` claim.
#[derive(Clone, Copy)]
struct Kind {
    typ: &'static str,
    aud: &'static str,
}

const CODE: Kind = Kind {
    typ: "minapp-code",
    aud: "minapp-access-token",
};
const ACCESS: Kind = Kind {
    typ: "minapp-server",
    aud: "minapp-admin",
};

#[derive(Debug, Serialize, Deserialize)]
struct ServerClaims {
    typ: String,
    aud: String,
    /// The AK.
    sub: String,
    iat: i64,
    exp: i64,
}

/// The answer of `POST /api/oauth2/hydrogen/openapi/authorize/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthorizationCode {
    pub code: String,
    pub expires_in: i64,
}

/// The answer of `POST /api/oauth2/access_token/`. MinApp's also has a `refresh_token`;
/// stateless tokens have none (SPEC lists these four fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerToken {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: &'static str,
}

/// A validated body of the authorize endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeRequest {
    pub client_id: String,
    pub client_secret: Secret,
}

impl AuthorizeRequest {
    /// From a JSON, urlencoded or multipart body; 400 names a missing field.
    pub fn from_body(content_type: Option<&str>, body: &[u8]) -> ApiResult<Self> {
        let fields = Fields::parse(content_type, body)?;
        Ok(AuthorizeRequest {
            client_id: fields.required("client_id")?,
            client_secret: Secret::new(fields.required("client_secret")?),
        })
    }
}

/// A validated body of the access token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenGrant {
    AuthorizationCode {
        client_id: String,
        client_secret: Secret,
        code: String,
    },
    ClientCredentials {
        client_id: String,
        client_secret: Secret,
    },
}

impl TokenGrant {
    /// From a JSON, urlencoded or multipart body (MinApp's docs send multipart); 400 names
    /// a missing field or an unknown `grant_type`. Other fields are ignored, as OAuth
    /// clients add their own (`redirect_uri`, `scope`).
    pub fn from_body(content_type: Option<&str>, body: &[u8]) -> ApiResult<Self> {
        let fields = Fields::parse(content_type, body)?;
        let grant_type = fields.required("grant_type")?;
        let client_id = fields.required("client_id")?;
        let client_secret = Secret::new(fields.required("client_secret")?);
        match grant_type.as_str() {
            "authorization_code" => Ok(TokenGrant::AuthorizationCode {
                client_id,
                client_secret,
                code: fields.required("code")?,
            }),
            "client_credentials" => Ok(TokenGrant::ClientCredentials {
                client_id,
                client_secret,
            }),
            _ => Err(ApiError::invalid(
                "grant_type",
                "must be authorization_code or client_credentials",
            )),
        }
    }
}

/// A form's fields by name. `None` marks a JSON value that is not a string; a repeated
/// name keeps every value so that `required` can refuse it rather than pick one.
struct Fields(HashMap<String, Vec<Option<String>>>);

impl Fields {
    fn parse(content_type: Option<&str>, body: &[u8]) -> ApiResult<Self> {
        let media_type = content_type
            .and_then(|c| c.split(';').next())
            .map(|m| m.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let mut fields: HashMap<String, Vec<Option<String>>> = HashMap::new();
        let mut add = |name: String, value: Option<String>| {
            fields.entry(name).or_default().push(value);
        };
        match media_type.as_str() {
            // No Content-Type: MinApp's own example posts JSON, so read it as JSON.
            "" | "application/json" => {
                let value: Value = serde_json::from_slice(body)
                    .map_err(|_| ApiError::invalid("body", "must be a JSON object"))?;
                let Value::Object(map) = value else {
                    return Err(ApiError::invalid("body", "must be a JSON object"));
                };
                for (name, value) in map {
                    match value {
                        Value::Null => {}
                        Value::String(s) => add(name, Some(s)),
                        _ => add(name, None),
                    }
                }
            }
            "application/x-www-form-urlencoded" => {
                for (name, value) in form_urlencoded::parse(body) {
                    add(name.into_owned(), Some(value.into_owned()));
                }
            }
            "multipart/form-data" => {
                for (name, value) in multipart_fields(content_type.unwrap_or_default(), body)? {
                    add(name, Some(value));
                }
            }
            _ => {
                return Err(ApiError::invalid(
                    "Content-Type",
                    "must be application/json, application/x-www-form-urlencoded or \
                     multipart/form-data",
                ));
            }
        }
        Ok(Fields(fields))
    }

    fn required(&self, name: &str) -> ApiResult<String> {
        match self.0.get(name).map(Vec::as_slice) {
            None | Some([]) => Err(ApiError::invalid(name, "is required")),
            Some([Some(v)]) if v.is_empty() => Err(ApiError::invalid(name, "is required")),
            Some([Some(v)]) => Ok(v.clone()),
            Some([None]) => Err(ApiError::invalid(name, "must be a string")),
            Some(_) => Err(ApiError::invalid(name, "must be given once")),
        }
    }
}

/// The text fields of a multipart body. The body is already in memory, so multer's
/// stream never waits and each future completes on its first poll.
fn multipart_fields(content_type: &str, body: &[u8]) -> ApiResult<Vec<(String, String)>> {
    let malformed = || ApiError::invalid("body", "is not valid multipart/form-data");
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| ApiError::invalid("Content-Type", "multipart/form-data needs a boundary"))?;
    let chunk: Result<Vec<u8>, std::convert::Infallible> = Ok(body.to_vec());
    let mut multipart = multer::Multipart::new(
        futures_util::stream::once(std::future::ready(chunk)),
        boundary,
    );
    let mut out = Vec::new();
    loop {
        let field = multipart
            .next_field()
            .now_or_never()
            .ok_or_else(malformed)?
            .map_err(|_| malformed())?;
        let Some(field) = field else {
            return Ok(out);
        };
        let name = field.name().unwrap_or_default().to_string();
        let text = field
            .text()
            .now_or_never()
            .ok_or_else(malformed)?
            .map_err(|_| malformed())?;
        out.push((name, text));
    }
}

/// The keys of one AK/SK pair.
struct Client {
    access_key: String,
    /// SHA-256 of the SK: compared in constant time, and of one length whatever is sent.
    secret_digest: [u8; 32],
    code: (EncodingKey, DecodingKey),
    access: (EncodingKey, DecodingKey),
}

impl Client {
    fn keys(&self, kind: Kind) -> &(EncodingKey, DecodingKey) {
        if kind.typ == CODE.typ {
            &self.code
        } else {
            &self.access
        }
    }
}

/// Issues and checks codes and access tokens for the configured AK/SK pairs.
pub struct ServerTokens {
    clients: Vec<Client>,
}

impl fmt::Debug for ServerTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let aks: Vec<&str> = self.clients.iter().map(|c| c.access_key.as_str()).collect();
        write!(f, "ServerTokens({aks:?})")
    }
}

/// HMAC-SHA256(SK, purpose): a key per SK and purpose, never the SK itself.
fn derive_key(secret_key: &[u8], kind: Kind) -> [u8; 32] {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret_key).expect("HMAC takes keys of any length");
    mac.update(b"userve server token key\0");
    mac.update(kind.typ.as_bytes());
    mac.finalize().into_bytes().into()
}

fn keys(secret_key: &[u8], kind: Kind) -> (EncodingKey, DecodingKey) {
    let key = derive_key(secret_key, kind);
    (
        EncodingKey::from_secret(&key),
        DecodingKey::from_secret(&key),
    )
}

impl ServerTokens {
    pub fn new(access_keys: &[AccessKey]) -> Self {
        ServerTokens {
            clients: access_keys
                .iter()
                .map(|k| Client {
                    access_key: k.access_key.clone(),
                    secret_digest: Sha256::digest(k.secret_key.expose()).into(),
                    code: keys(k.secret_key.expose(), CODE),
                    access: keys(k.secret_key.expose(), ACCESS),
                })
                .collect(),
        }
    }

    fn client(&self, access_key: &str) -> Option<&Client> {
        self.clients.iter().find(|c| c.access_key == access_key)
    }

    /// The pair is right: the AK is configured and the secret matches its SK.
    fn authenticate(&self, client_id: &str, client_secret: &Secret) -> ApiResult<&Client> {
        let offered: [u8; 32] = Sha256::digest(client_secret.expose()).into();
        match self.client(client_id) {
            Some(c) if bool::from(c.secret_digest.ct_eq(&offered)) => Ok(c),
            // One answer for an unknown AK and a wrong SK, as OAuth's `invalid_client`.
            _ => Err(ApiError::Unauthorized(
                "client_id or client_secret is wrong",
            )),
        }
    }

    fn sign(client: &Client, kind: Kind, now: i64, ttl: i64) -> ApiResult<String> {
        let (key, _) = client.keys(kind);
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(client.access_key.clone());
        let claims = ServerClaims {
            typ: kind.typ.into(),
            aud: kind.aud.into(),
            sub: client.access_key.clone(),
            iat: now,
            exp: now + ttl,
        };
        jsonwebtoken::encode(&header, &claims, key)
            .map_err(|e| ApiError::Internal(format!("sign server token: {e}")))
    }

    /// Checks a JWT of `kind` issued to `client` and unexpired at `now`; `errors` word
    /// the 401s for that kind.
    fn check(client: &Client, kind: Kind, token: &str, now: i64, errors: &Errors) -> ApiResult<()> {
        let (_, key) = client.keys(kind);
        // Pinned to HS256 (`alg: none` and others refused); `exp` is checked against `now`
        // below, so tests need not sleep. Every claim is required by `ServerClaims` itself.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[kind.aud]);
        validation.validate_exp = false;
        let claims = jsonwebtoken::decode::<ServerClaims>(token, key, &validation)
            .map_err(|_| ApiError::Unauthorized(errors.invalid))?
            .claims;
        if claims.typ != kind.typ || claims.sub != client.access_key {
            return Err(ApiError::Unauthorized(errors.invalid));
        }
        if claims.exp <= now {
            return Err(ApiError::Unauthorized(errors.expired));
        }
        Ok(())
    }

    /// `POST /api/oauth2/hydrogen/openapi/authorize/`: a code for a right pair.
    pub fn authorize(&self, request: &AuthorizeRequest, now: i64) -> ApiResult<AuthorizationCode> {
        let client = self.authenticate(&request.client_id, &request.client_secret)?;
        Ok(AuthorizationCode {
            code: Self::sign(client, CODE, now, CODE_TTL_SECONDS)?,
            expires_in: CODE_TTL_SECONDS,
        })
    }

    /// `POST /api/oauth2/access_token/`: an access token for a right pair, and with
    /// `authorization_code` a code that pair got and that has not expired.
    pub fn access_token(&self, grant: &TokenGrant, now: i64) -> ApiResult<ServerToken> {
        let client = match grant {
            TokenGrant::ClientCredentials {
                client_id,
                client_secret,
            } => self.authenticate(client_id, client_secret)?,
            TokenGrant::AuthorizationCode {
                client_id,
                client_secret,
                code,
            } => {
                let client = self.authenticate(client_id, client_secret)?;
                match jsonwebtoken::decode_header(code).map(|h| h.kid) {
                    Ok(Some(kid)) if kid == client.access_key => {}
                    Ok(Some(_)) => {
                        return Err(ApiError::Unauthorized(
                            "code was issued to another client_id",
                        ));
                    }
                    _ => return Err(ApiError::Unauthorized(CODE_ERRORS.invalid)),
                }
                Self::check(client, CODE, code, now, &CODE_ERRORS)?;
                client
            }
        };
        Ok(ServerToken {
            access_token: Self::sign(client, ACCESS, now, TOKEN_TTL_SECONDS)?,
            token_type: TOKEN_TYPE,
            expires_in: TOKEN_TTL_SECONDS,
            scope: SCOPE,
        })
    }

    /// The AK of `Authorization: Bearer <server access token>`, valid at `now`.
    /// The app server whose server token `Authorization: Bearer <token>` carries.
    pub fn server(
        &self,
        authorization: Option<&str>,
        now: i64,
    ) -> ApiResult<crate::caller::Server> {
        self.verify_bearer(authorization, now)
            .map(crate::caller::Server::by_token)
    }

    pub fn verify_bearer(&self, authorization: Option<&str>, now: i64) -> ApiResult<String> {
        let value = authorization
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or(ApiError::Unauthorized("missing Authorization header"))?;
        let token = match value.split_once(' ') {
            // The scheme is case-insensitive (RFC 9110).
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => {
                return Err(ApiError::Unauthorized(
                    "expected Authorization: Bearer <server access token>",
                ));
            }
        };
        // Only picks the key; the algorithm is pinned by `check`. A client token has no
        // `kid`: it is not a server token whatever it says.
        let kid = jsonwebtoken::decode_header(token)
            .map_err(|_| ApiError::Unauthorized(ACCESS_ERRORS.invalid))?
            .kid;
        let client = kid
            .as_deref()
            .and_then(|ak| self.client(ak))
            .ok_or(ApiError::Unauthorized(ACCESS_ERRORS.invalid))?;
        Self::check(client, ACCESS, token, now, &ACCESS_ERRORS)?;
        Ok(client.access_key.clone())
    }
}

struct Errors {
    invalid: &'static str,
    expired: &'static str,
}

const CODE_ERRORS: Errors = Errors {
    invalid: "code is invalid",
    expired: "code has expired",
};
const ACCESS_ERRORS: Errors = Errors {
    invalid: "not a valid server access token",
    expired: "server access token has expired",
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::{Claims, TokenKeys, USER_ROLE};
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    const NOW: i64 = 1_800_000_000;
    const SK1: &str = "sk-one-0123456789abcdef";

    fn tokens() -> ServerTokens {
        ServerTokens::new(&[
            AccessKey {
                access_key: "ak1".into(),
                secret_key: Secret::new(SK1),
            },
            AccessKey {
                access_key: "ak2".into(),
                secret_key: Secret::new("sk-two"),
            },
        ])
    }

    fn authorize(ak: &str, sk: &str) -> ApiResult<AuthorizationCode> {
        tokens().authorize(
            &AuthorizeRequest {
                client_id: ak.into(),
                client_secret: Secret::new(sk),
            },
            NOW,
        )
    }

    fn by_code(ak: &str, sk: &str, code: &str, now: i64) -> ApiResult<ServerToken> {
        tokens().access_token(
            &TokenGrant::AuthorizationCode {
                client_id: ak.into(),
                client_secret: Secret::new(sk),
                code: code.into(),
            },
            now,
        )
    }

    fn by_credentials(ak: &str, sk: &str) -> ApiResult<ServerToken> {
        tokens().access_token(
            &TokenGrant::ClientCredentials {
                client_id: ak.into(),
                client_secret: Secret::new(sk),
            },
            NOW,
        )
    }

    fn unauthorized<T: fmt::Debug>(result: ApiResult<T>) -> &'static str {
        match result {
            Err(ApiError::Unauthorized(m)) => m,
            other => panic!("expected 401, got {other:?}"),
        }
    }

    fn bearer(token: &str) -> String {
        format!("Bearer {token}")
    }

    /// A JWT signed by hand, for shapes this module refuses to produce.
    fn forge(header: &Value, claims: &Value, key: &[u8]) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        mac.update(input.as_bytes());
        format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }

    fn server_claims(kind: Kind, ak: &str, exp: i64) -> Value {
        serde_json::json!({"typ": kind.typ, "aud": kind.aud, "sub": ak, "iat": NOW, "exp": exp})
    }

    #[test]
    fn both_grants_issue_bearer_tokens_that_name_their_ak() {
        let code = authorize("ak1", SK1).unwrap();
        assert_eq!(code.expires_in, 60);
        let token = by_code("ak1", SK1, &code.code, NOW + 59).unwrap();
        assert_eq!(
            (token.token_type, token.expires_in, token.scope),
            ("Bearer", 7200, "openapi")
        );
        let t = tokens();
        assert_eq!(
            t.verify_bearer(Some(&bearer(&token.access_token)), NOW)
                .unwrap(),
            "ak1"
        );
        let token = by_credentials("ak2", "sk-two").unwrap();
        assert_eq!(
            t.verify_bearer(Some(&format!("bearer  {} ", token.access_token)), NOW)
                .unwrap(),
            "ak2"
        );
        assert_eq!(
            serde_json::to_value(&token)
                .unwrap()
                .as_object()
                .unwrap()
                .len(),
            4
        );
    }

    #[test]
    fn a_wrong_pair_gets_neither_a_code_nor_a_token() {
        let wrong = "client_id or client_secret is wrong";
        assert_eq!(unauthorized(authorize("ak1", "sk-two")), wrong);
        assert_eq!(unauthorized(authorize("ak1", "")), wrong);
        assert_eq!(unauthorized(authorize("ak1", &format!("{SK1}x"))), wrong);
        assert_eq!(unauthorized(authorize("nobody", SK1)), wrong);
        assert_eq!(unauthorized(by_credentials("ak2", SK1)), wrong);
        let code = authorize("ak1", SK1).unwrap().code;
        assert_eq!(unauthorized(by_code("ak1", "sk-two", &code, NOW)), wrong);
    }

    #[test]
    fn codes_expire_cannot_be_tampered_with_and_stay_with_their_ak() {
        let code = authorize("ak1", SK1).unwrap().code;
        assert_eq!(
            unauthorized(by_code("ak1", SK1, &code, NOW + 60)),
            "code has expired"
        );
        // Another AK, with its own right secret, cannot use ak1's code.
        assert_eq!(
            unauthorized(by_code("ak2", "sk-two", &code, NOW)),
            "code was issued to another client_id"
        );
        // A code re-labelled for ak2 no longer matches any key.
        let mut parts: Vec<String> = code.split('.').map(String::from).collect();
        let mut header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[0]).unwrap()).unwrap();
        header["kid"] = "ak2".into();
        parts[0] = URL_SAFE_NO_PAD.encode(header.to_string());
        assert_eq!(
            unauthorized(by_code("ak2", "sk-two", &parts.join("."), NOW)),
            "code is invalid"
        );
        // A later expiry written into the payload breaks the signature.
        let mut parts: Vec<String> = code.split('.').map(String::from).collect();
        let mut claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        claims["exp"] = (NOW + 3600).into();
        parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
        assert_eq!(
            unauthorized(by_code("ak1", SK1, &parts.join("."), NOW + 120)),
            "code is invalid"
        );
        for garbage in ["", "abc", "a.b.c"] {
            assert_eq!(
                unauthorized(by_code("ak1", SK1, garbage, NOW)),
                "code is invalid"
            );
        }
    }

    #[test]
    fn codes_and_access_tokens_are_not_interchangeable() {
        let t = tokens();
        let code = authorize("ak1", SK1).unwrap().code;
        assert_eq!(
            unauthorized(t.verify_bearer(Some(&bearer(&code)), NOW)),
            "not a valid server access token"
        );
        let token = by_credentials("ak1", SK1).unwrap().access_token;
        assert_eq!(
            unauthorized(by_code("ak1", SK1, &token, NOW)),
            "code is invalid"
        );
        // Each wall holds alone. Keys: the right claims signed with the other purpose's
        // key (or the SK itself) are refused.
        let header = serde_json::json!({"alg": "HS256", "typ": "JWT", "kid": "ak1"});
        let access_key = derive_key(SK1.as_bytes(), ACCESS);
        let code_key = derive_key(SK1.as_bytes(), CODE);
        let access_claims = server_claims(ACCESS, "ak1", NOW + 60);
        let code_claims = server_claims(CODE, "ak1", NOW + 60);
        for key in [&code_key[..], SK1.as_bytes()] {
            let token = forge(&header, &access_claims, key);
            assert!(t.verify_bearer(Some(&bearer(&token)), NOW).is_err());
        }
        for key in [&access_key[..], SK1.as_bytes()] {
            let code = forge(&header, &code_claims, key);
            assert!(by_code("ak1", SK1, &code, NOW).is_err());
        }
        // The forging helper is right: the matching claims and key pass.
        let good = forge(&header, &access_claims, &access_key);
        assert_eq!(t.verify_bearer(Some(&bearer(&good)), NOW).unwrap(), "ak1");
        let good = forge(&header, &code_claims, &code_key);
        assert!(by_code("ak1", SK1, &good, NOW).is_ok());
    }

    #[test]
    fn every_claim_is_checked_on_its_own() {
        let t = tokens();
        let header = serde_json::json!({"alg": "HS256", "typ": "JWT", "kid": "ak1"});
        let key = derive_key(SK1.as_bytes(), ACCESS);
        let verify =
            |claims: Value| t.verify_bearer(Some(&bearer(&forge(&header, &claims, &key))), NOW);
        let good = server_claims(ACCESS, "ak1", NOW + 60);
        assert!(verify(good.clone()).is_ok());
        let changed = |name: &str, value: Value| {
            let mut claims = good.clone();
            claims[name] = value;
            claims
        };
        let removed = |name: &str| {
            let mut claims = good.clone();
            claims.as_object_mut().unwrap().remove(name);
            claims
        };
        for claims in [
            changed("typ", CODE.typ.into()),
            changed("aud", CODE.aud.into()),
            changed("sub", "ak2".into()),
            changed("exp", NOW.into()),
            changed("exp", "later".into()),
            removed("typ"),
            removed("aud"),
            removed("sub"),
            removed("exp"),
        ] {
            assert!(verify(claims.clone()).is_err(), "{claims}");
        }
    }

    #[test]
    fn keys_are_derived_per_purpose_and_never_the_sk() {
        let code = derive_key(SK1.as_bytes(), CODE);
        let access = derive_key(SK1.as_bytes(), ACCESS);
        assert_ne!(code, access);
        // HMAC pads a key shorter than its block with zero bytes, so the 23-byte SK and the
        // SK zero-padded to 32 bytes are one and the same HMAC key: compare like with like.
        let sk_as_key = |sk: &[u8]| {
            let mut key = [0u8; 32];
            key[..sk.len()].copy_from_slice(sk);
            key
        };
        for derived in [code, access] {
            assert_ne!(derived, sk_as_key(SK1.as_bytes()));
        }
        let sk32 = [b'k'; 32];
        assert_ne!(derive_key(&sk32, ACCESS), sk32);
        assert_ne!(access, derive_key(b"sk-two", ACCESS));
    }

    #[test]
    fn access_tokens_expire_and_refuse_other_schemes_algorithms_and_aks() {
        let t = tokens();
        let token = by_credentials("ak1", SK1).unwrap().access_token;
        assert_eq!(
            unauthorized(t.verify_bearer(Some(&bearer(&token)), NOW + TOKEN_TTL_SECONDS)),
            "server access token has expired"
        );
        assert!(
            t.verify_bearer(Some(&bearer(&token)), NOW + TOKEN_TTL_SECONDS - 1)
                .is_ok()
        );
        assert_eq!(
            unauthorized(t.verify_bearer(None, NOW)),
            "missing Authorization header"
        );
        for scheme in [
            token.clone(),
            format!("Qiniu {token}"),
            format!("Hydrogen-r1 {token}"),
        ] {
            assert_eq!(
                unauthorized(t.verify_bearer(Some(&scheme), NOW)),
                "expected Authorization: Bearer <server access token>"
            );
        }
        // After rotation drops ak1, its tokens stop working.
        let rotated = ServerTokens::new(&[AccessKey {
            access_key: "ak2".into(),
            secret_key: Secret::new("sk-two"),
        }]);
        assert!(rotated.verify_bearer(Some(&bearer(&token)), NOW).is_err());
        // A changed SK under the same AK revokes too.
        let new_sk = ServerTokens::new(&[AccessKey {
            access_key: "ak1".into(),
            secret_key: Secret::new("sk-one-rotated"),
        }]);
        assert!(new_sk.verify_bearer(Some(&bearer(&token)), NOW).is_err());
        // `alg: none` and HS512 with the right key material are refused.
        let claims = server_claims(ACCESS, "ak1", NOW + 60);
        let key = derive_key(SK1.as_bytes(), ACCESS);
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"ak1"}"#),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        // A real HS512 signature with the right key: only the algorithm is wrong.
        let mut header = Header::new(Algorithm::HS512);
        header.kid = Some("ak1".into());
        let hs512 =
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&key)).unwrap();
        for bad in [none, hs512, "a.b.c".into(), "garbage".into()] {
            assert_eq!(
                unauthorized(t.verify_bearer(Some(&bearer(&bad)), NOW)),
                "not a valid server access token",
                "{bad}"
            );
        }
    }

    /// An operator configured one string as both an SK and a client token secret.
    fn shared_secret_setup() -> (ServerTokens, TokenKeys) {
        let server = ServerTokens::new(&[AccessKey {
            access_key: "ak1".into(),
            secret_key: Secret::new(SK1),
        }]);
        let client = TokenKeys::new(&[Secret::new(SK1)]);
        (server, client)
    }

    #[test]
    fn a_server_token_never_passes_as_a_client_token() {
        let (server, client) = shared_secret_setup();
        let now = crate::clock::now();
        let grant = TokenGrant::ClientCredentials {
            client_id: "ak1".into(),
            client_secret: Secret::new(SK1),
        };
        let token = server.access_token(&grant, now).unwrap().access_token;
        let code = server
            .authorize(
                &AuthorizeRequest {
                    client_id: "ak1".into(),
                    client_secret: Secret::new(SK1),
                },
                now,
            )
            .unwrap()
            .code;
        for t in [&token, &code] {
            assert!(client.verify(Some(t)).is_err());
            assert!(client.verify(Some(&bearer(t))).is_err());
        }
        // Even signed with the raw shared secret, server claims lack UserId/AppId and
        // carry an `aud`.
        let forged = forge(
            &serde_json::json!({"alg": "HS256", "typ": "JWT", "kid": "ak1"}),
            &server_claims(ACCESS, "ak1", now + 600),
            SK1.as_bytes(),
        );
        assert!(matches!(
            client.verify(Some(&forged)),
            Err(ApiError::Unauthorized(_))
        ));
    }

    #[test]
    fn a_client_token_never_passes_as_a_server_token() {
        let (server, client) = shared_secret_setup();
        let now = crate::clock::now();
        let claims = Claims {
            app_id: "app".into(),
            user_id: "u1".into(),
            device_id: String::new(),
            role: USER_ROLE.into(),
            exp: now + 600,
            iat: now,
            iat_ms: now * 1000,
        };
        let token = client.sign(&claims).unwrap();
        assert_eq!(
            unauthorized(server.verify_bearer(Some(&bearer(&token)), now)),
            "not a valid server access token"
        );
        // With a `kid` naming the AK and signed with the derived access key, the client
        // claims (no typ/aud/sub) are still refused.
        let forged = forge(
            &serde_json::json!({"alg": "HS256", "typ": "JWT", "kid": "ak1"}),
            &serde_json::to_value(&claims).unwrap(),
            &derive_key(SK1.as_bytes(), ACCESS),
        );
        assert_eq!(
            unauthorized(server.verify_bearer(Some(&bearer(&forged)), now)),
            "not a valid server access token"
        );
        // Nor as a code.
        let grant = TokenGrant::AuthorizationCode {
            client_id: "ak1".into(),
            client_secret: Secret::new(SK1),
            code: token,
        };
        assert!(server.access_token(&grant, now).is_err());
    }

    #[test]
    fn debug_output_hides_secrets() {
        let t = tokens();
        assert_eq!(format!("{t:?}"), r#"ServerTokens(["ak1", "ak2"])"#);
        let grant = TokenGrant::from_body(
            None,
            br#"{"grant_type":"client_credentials","client_id":"ak1","client_secret":"hush-hush"}"#,
        )
        .unwrap();
        assert!(!format!("{grant:?}").contains("hush-hush"));
    }

    fn grant(content_type: Option<&str>, body: &str) -> ApiResult<TokenGrant> {
        TokenGrant::from_body(content_type, body.as_bytes())
    }

    fn invalid<T: fmt::Debug>(result: ApiResult<T>) -> String {
        match result {
            Err(ApiError::Invalid(m)) => m,
            other => panic!("expected 400, got {other:?}"),
        }
    }

    #[test]
    fn token_requests_parse_from_json_form_and_multipart() {
        let expected = TokenGrant::AuthorizationCode {
            client_id: "ak1".into(),
            client_secret: Secret::new("s e+cret"),
            code: "c.o.de".into(),
        };
        let json = r#"{"grant_type":"authorization_code","client_id":"ak1","client_secret":"s e+cret","code":"c.o.de","scope":7}"#;
        assert_eq!(grant(None, json).unwrap(), expected);
        assert_eq!(
            grant(Some("application/json; charset=utf-8"), json).unwrap(),
            expected
        );
        let form = "grant_type=authorization_code&client_id=ak1&client_secret=s+e%2Bcret&code=c.o.de&redirect_uri=x";
        assert_eq!(
            grant(Some("application/x-www-form-urlencoded"), form).unwrap(),
            expected
        );
        // As MinApp's docs send it (Node's `formData`, PHP's array POSTFIELDS).
        let multipart = "--XyZ\r\n\
            Content-Disposition: form-data; name=\"client_id\"\r\n\r\nak1\r\n\
            --XyZ\r\n\
            Content-Disposition: form-data; name=\"client_secret\"\r\n\r\ns e+cret\r\n\
            --XyZ\r\n\
            Content-Disposition: form-data; name=\"grant_type\"\r\n\r\nauthorization_code\r\n\
            --XyZ\r\n\
            Content-Disposition: form-data; name=\"code\"\r\n\r\nc.o.de\r\n\
            --XyZ--\r\n";
        assert_eq!(
            grant(Some("multipart/form-data; boundary=XyZ"), multipart).unwrap(),
            expected
        );
        assert_eq!(
            grant(
                Some("application/x-www-form-urlencoded"),
                "grant_type=client_credentials&client_id=ak1&client_secret=s"
            )
            .unwrap(),
            TokenGrant::ClientCredentials {
                client_id: "ak1".into(),
                client_secret: Secret::new("s")
            }
        );
        let authorize = AuthorizeRequest::from_body(
            Some("application/json"),
            br#"{"client_id":"ak1","client_secret":"sk"}"#,
        )
        .unwrap();
        assert_eq!(authorize.client_id, "ak1");
        assert_eq!(authorize.client_secret.expose(), b"sk");
    }

    #[test]
    fn bad_token_requests_are_400s_naming_the_field() {
        let form = Some("application/x-www-form-urlencoded");
        let cases = [
            (
                form,
                "client_id=a&client_secret=s",
                "grant_type: is required",
            ),
            (
                form,
                "grant_type=password&client_id=a&client_secret=s",
                "grant_type: must be authorization_code or client_credentials",
            ),
            (
                form,
                "grant_type=client_credentials&client_secret=s",
                "client_id: is required",
            ),
            (
                form,
                "grant_type=client_credentials&client_id=&client_secret=s",
                "client_id: is required",
            ),
            (
                form,
                "grant_type=client_credentials&client_id=a",
                "client_secret: is required",
            ),
            (
                form,
                "grant_type=authorization_code&client_id=a&client_secret=s",
                "code: is required",
            ),
            (
                form,
                "grant_type=client_credentials&client_id=a&client_id=b&client_secret=s",
                "client_id: must be given once",
            ),
            (
                None,
                r#"{"grant_type":"client_credentials","client_id":1,"client_secret":"s"}"#,
                "client_id: must be a string",
            ),
            (
                None,
                r#"{"grant_type":"client_credentials","client_id":null,"client_secret":"s"}"#,
                "client_id: is required",
            ),
            (None, r#"["grant_type"]"#, "body: must be a JSON object"),
            (
                None,
                "grant_type=client_credentials",
                "body: must be a JSON object",
            ),
            (
                Some("text/plain"),
                "{}",
                "Content-Type: must be application/json, application/x-www-form-urlencoded or multipart/form-data",
            ),
            (
                Some("multipart/form-data"),
                "--x--",
                "Content-Type: multipart/form-data needs a boundary",
            ),
            (
                Some("multipart/form-data; boundary=XyZ"),
                "not multipart at all",
                "body: is not valid multipart/form-data",
            ),
        ];
        for (content_type, body, message) in cases {
            assert_eq!(invalid(grant(content_type, body)), message, "{body}");
        }
        assert_eq!(
            invalid(AuthorizeRequest::from_body(None, br#"{"client_id":"a"}"#)),
            "client_secret: is required"
        );
    }
}
