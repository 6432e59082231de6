//! The DynamoDB client: built once per process, by every function and tool alike.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};

use crate::config::AwsEnvironment;

/// Amazon Trust Services roots: every AWS endpoint's certificate chains to one of them.
const AMAZON_ROOTS: &[u8] = include_bytes!("amazon-roots.pem");

/// The DynamoDB client, built once per process. Against AWS it trusts Amazon's roots only, so
/// no system certificate bundle is read and parsed on the first connection; an `https://`
/// custom endpoint (LocalStack, a proxy) keeps the system roots, an `http://` one (DynamoDB
/// Local) gets no TLS at all. Standard retries (3 attempts) inside bounded timeouts, so a
/// request never outlives the function's own timeout.
pub fn dynamodb_client(aws: &AwsEnvironment) -> Client {
    let endpoint = aws.endpoint_url.as_deref();
    let http = if endpoint.is_some_and(|url| url.starts_with("http://")) {
        // DynamoDB Local: plain HTTP, no TLS set-up at all.
        aws_smithy_http_client::Builder::new().build_http()
    } else {
        let trust = match endpoint {
            None => TrustStore::empty()
                .with_native_roots(false)
                .with_pem_certificate(AMAZON_ROOTS),
            Some(_) => TrustStore::default(),
        };
        let tls = TlsContext::builder()
            .with_trust_store(trust)
            .build()
            .expect("a trust store without extra server names is valid");
        aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::AwsLc,
            ))
            .tls_context(tls)
            .build_https()
    };
    let credentials = Credentials::new(
        &aws.access_key_id,
        String::from_utf8_lossy(aws.secret_access_key.expose()),
        aws.session_token
            .as_ref()
            .map(|t| String::from_utf8_lossy(t.expose()).into_owned()),
        None,
        "lambda-environment",
    );
    let mut config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(aws.region.clone()))
        .credentials_provider(credentials)
        .http_client(http)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(2))
                .operation_timeout(Duration::from_secs(6))
                .build(),
        );
    if let Some(url) = &aws.endpoint_url {
        config = config.endpoint_url(url);
    }
    Client::from_conf(config.build())
}
