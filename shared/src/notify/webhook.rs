//! The Slack incoming webhook: a JSON POST. HTTPS only, except to a loopback address (the
//! tests' stand-in for Slack). The URL is a secret: it is never logged, and errors never
//! include it.

use std::time::Duration;

#[cfg(feature = "aws")]
use http_body_util::{BodyExt, Full};
#[cfg(feature = "aws")]
use hyper::body::Bytes;
#[cfg(feature = "aws")]
use hyper_util::client::legacy::Client;
#[cfg(feature = "aws")]
use hyper_util::rt::TokioExecutor;
use thiserror::Error;

/// Why a post failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PostError {
    /// 429: try again after this long (Slack's `Retry-After`, in seconds).
    #[error("Slack is rate limiting (retry after {0:?})")]
    RateLimited(Duration),
    /// 5xx: Slack's trouble, worth a retry later.
    #[error("Slack answered {0}")]
    Server(u16),
    /// 4xx other than 429: the payload or the webhook is wrong; retrying will not help.
    #[error("Slack refused the message ({status}: {body})")]
    Refused { status: u16, body: String },
    /// The connection failed or timed out.
    #[error("cannot reach Slack: {0}")]
    Network(String),
}

/// Port: post one message.
#[allow(async_fn_in_trait)]
pub trait SlackSink {
    async fn post(&self, payload: &serde_json::Value) -> Result<(), PostError>;
}

/// Why the webhook cannot be set up from its secret (`VpceGuard.InvalidSecret`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the secret is neither a URL nor JSON")]
    NotUrlOrJson,
    #[error("the secret's JSON has no `webhook_url`")]
    NoUrlInJson,
    #[error("the webhook URL must be https:// (http:// only to a loopback address)")]
    NotHttps,
    #[error("cannot load the system's TLS roots: {0}")]
    TlsRoots(String),
}

impl crate::FunctionError for WebhookError {
    fn error_type(&self) -> &'static str {
        "VpceGuard.InvalidSecret"
    }
}

/// Is this URL acceptable for a webhook? `https://`, or `http://` to a loopback host.
pub(crate) fn check_url(url: &str) -> Result<(), WebhookError> {
    let lower = url.trim().to_ascii_lowercase();
    if lower.starts_with("https://") {
        return Ok(());
    }
    if let Some(rest) = lower.strip_prefix("http://") {
        let host = rest.split(['/', '?']).next().unwrap_or_default();
        let host = host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host);
        if matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
            return Ok(());
        }
    }
    Err(WebhookError::NotHttps)
}

/// The webhook URL from the secret's value: the URL itself, or JSON with `webhook_url` (or
/// `url`).
pub fn url_from_secret(secret: &str) -> Result<String, WebhookError> {
    let s = secret.trim();
    let url = if s.starts_with('{') {
        let v: serde_json::Value =
            serde_json::from_str(s).map_err(|_| WebhookError::NotUrlOrJson)?;
        v.get("webhook_url")
            .or_else(|| v.get("url"))
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
            .ok_or(WebhookError::NoUrlInJson)?
    } else {
        s.to_string()
    };
    check_url(&url)?;
    Ok(url)
}

#[cfg(feature = "aws")]
type HttpsClient = Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Full<Bytes>,
>;

/// The webhook over HTTPS (rustls with the system's roots, the TLS stack the AWS SDK uses).
#[cfg(feature = "aws")]
pub struct Webhook {
    url: String,
    client: HttpsClient,
    timeout: Duration,
}

#[cfg(feature = "aws")]
impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook").field("url", &"<secret>").finish()
    }
}

#[cfg(feature = "aws")]
impl Webhook {
    pub fn new(url: String) -> Result<Webhook, WebhookError> {
        check_url(&url)?;
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| WebhookError::TlsRoots(e.to_string()))?
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new()).build(https);
        Ok(Webhook {
            url,
            client,
            timeout: Duration::from_secs(10),
        })
    }
}

/// Slack's `Retry-After` (seconds); one second when absent or unreadable.
#[cfg_attr(not(feature = "aws"), allow(dead_code))]
pub(crate) fn retry_after(header: Option<&str>) -> Duration {
    header
        .and_then(|h| h.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(1))
}

#[cfg(feature = "aws")]
impl SlackSink for Webhook {
    async fn post(&self, payload: &serde_json::Value) -> Result<(), PostError> {
        let body = serde_json::to_vec(payload).map_err(|e| PostError::Refused {
            status: 0,
            body: e.to_string(),
        })?;
        let req = hyper::Request::post(&self.url)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|_| PostError::Network("cannot build the request".into()))?;
        let resp = tokio::time::timeout(self.timeout, self.client.request(req))
            .await
            .map_err(|_| PostError::Network("timed out".into()))?
            // The error's text can carry the URL: keep only its kind.
            .map_err(|e| {
                PostError::Network(if e.is_connect() {
                    "connection failed".into()
                } else {
                    "the request failed".into()
                })
            })?;
        let status = resp.status().as_u16();
        let after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = match tokio::time::timeout(self.timeout, resp.into_body().collect()).await {
            Ok(Ok(b)) => String::from_utf8_lossy(&b.to_bytes()).into_owned(),
            _ => String::new(),
        };
        match status {
            200..=299 => Ok(()),
            429 => Err(PostError::RateLimited(retry_after(after.as_deref()))),
            500..=599 => Err(PostError::Server(status)),
            _ => Err(PostError::Refused {
                status,
                body: crate::rules::truncate(&text, 200),
            }),
        }
    }
}
