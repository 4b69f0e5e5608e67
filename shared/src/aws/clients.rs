//! One `SdkConfig` loaded once (environment, profiles, `AWS_ENDPOINT_URL*`), adaptive retries,
//! and per-region clients built from it on first use.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

use super::ApiCalls;

/// Every client the project uses, built from one configuration.
#[derive(Debug, Clone)]
pub struct AwsClients {
    pub sdk: SdkConfig,
    /// A custom endpoint is in use (moto, LocalStack): S3 needs path-style addressing and S3
    /// Control the plain URL.
    pub(crate) custom_endpoint: Option<String>,
    pub calls: Arc<ApiCalls>,
    s3: Arc<Mutex<HashMap<String, aws_sdk_s3::Client>>>,
    ec2: Arc<Mutex<HashMap<String, aws_sdk_ec2::Client>>>,
    /// The organization-policy source: a role to assume (`OrganizationPolicyRoleArn`);
    /// `None`: no RCP layer.
    pub(crate) org_policy_role: Option<String>,
    /// The Organizations client with that role's credentials, built on first use.
    pub(crate) organizations: Arc<tokio::sync::OnceCell<aws_sdk_organizations::Client>>,
    /// The SSM parameter holding the mute list (`MUTED_RESOURCES_PARAMETER`); `None`: none.
    pub(crate) mute_parameter: Option<String>,
    /// Findings go to Security Hub too (`SECURITY_HUB_FINDINGS` `Enabled`).
    pub(crate) security_hub: bool,
}

/// The endpoint URL configured for a service: the explicit one, else
/// `AWS_ENDPOINT_URL_<SERVICE>`, else `AWS_ENDPOINT_URL` (unless ignored).
pub(crate) fn configured_endpoint(explicit: Option<&str>, service_env: &str) -> Option<String> {
    if let Some(e) = explicit {
        return Some(e.to_string());
    }
    let ignore = std::env::var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .map(|v| v.eq_ignore_ascii_case("true"))
        .unwrap_or(false);
    if ignore {
        return None;
    }
    for var in [
        format!("AWS_ENDPOINT_URL_{service_env}"),
        "AWS_ENDPOINT_URL".to_string(),
    ] {
        if let Ok(v) = std::env::var(&var) {
            if !v.trim().is_empty() {
                return Some(v);
            }
        }
    }
    None
}

impl super::CallCounter for AwsClients {
    fn api_calls(&self) -> std::collections::BTreeMap<String, u64> {
        self.calls.snapshot()
    }
}

impl AwsClients {
    /// Load the configuration as the AWS CLI would: environment, shared config and
    /// credentials files, `AWS_PROFILE`, `AWS_ENDPOINT_URL*`. Retries: the standard mode, five
    /// attempts with jittered exponential backoff, for throttling, 5xx and connection errors
    /// (`AWS_RETRY_MODE` and `AWS_MAX_ATTEMPTS` change it, as for any SDK).
    /// Not the adaptive mode: after one throttled call its client-side rate limiter slowed a
    /// whole scan from 0.6 s to 9–20 s (docs/RELIABILITY.md). `endpoint_url` overrides every
    /// service's endpoint.
    pub async fn load(endpoint_url: Option<&str>, region: Option<&str>) -> AwsClients {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        // `AWS_RETRY_MODE` / `AWS_MAX_ATTEMPTS`, when set, are the SDK's to read.
        let env_retry = ["AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS"]
            .iter()
            .any(|k| std::env::var_os(k).is_some());
        if !env_retry {
            loader = loader.retry_config(RetryConfig::standard().with_max_attempts(5));
        }
        if let Some(e) = endpoint_url {
            loader = loader.endpoint_url(e);
        }
        if let Some(r) = region {
            loader = loader.region(Region::new(r.to_string()));
        }
        let sdk = loader.load().await;
        Self::from_sdk(sdk, endpoint_url)
    }

    /// Wrap an already loaded configuration.
    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) fn from_sdk(sdk: SdkConfig, endpoint_url: Option<&str>) -> AwsClients {
        let custom_endpoint = configured_endpoint(endpoint_url, "S3")
            .or_else(|| sdk.endpoint_url().map(str::to_string));
        AwsClients {
            sdk,
            custom_endpoint,
            calls: Arc::new(ApiCalls::default()),
            s3: Arc::default(),
            ec2: Arc::default(),
            org_policy_role: None,
            organizations: Arc::default(),
            mute_parameter: None,
            security_hub: false,
        }
    }

    /// Read the organization layer through this role (`ORGANIZATION_POLICY_ROLE_ARN`; empty
    /// or `None`: no organization-policy source).
    pub fn with_org_policy_role(mut self, role: Option<String>) -> AwsClients {
        self.org_policy_role = role.filter(|r| !r.trim().is_empty());
        self
    }

    /// Read the mute list from this SSM parameter at each invocation
    /// (`MUTED_RESOURCES_PARAMETER`; empty or `None`: nothing is muted).
    pub fn with_mute_parameter(mut self, name: Option<String>) -> AwsClients {
        self.mute_parameter = name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
        self
    }

    /// Keep Security Hub in step with the verdicts (`SECURITY_HUB_FINDINGS`: `Enabled`; anything
    /// else, or `None`: off).
    pub fn with_security_hub(mut self, setting: Option<String>) -> AwsClients {
        self.security_hub = setting.is_some_and(|s| s.trim().eq_ignore_ascii_case("enabled"));
        self
    }

    /// The same clients with the credentials of `role_arn` (assumed on first use), counting
    /// their calls with these.
    pub(crate) async fn assumed(&self, role_arn: &str, session: &str) -> AwsClients {
        let provider = aws_config::sts::AssumeRoleProvider::builder(role_arn)
            .session_name(session)
            .configure(&self.sdk)
            .build()
            .await;
        let sdk = self
            .sdk
            .to_builder()
            .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(
                provider,
            ))
            .build();
        let mut c = AwsClients::from_sdk(sdk, self.custom_endpoint.as_deref());
        c.calls = self.calls.clone();
        c
    }

    /// The region of the loaded configuration.
    pub fn default_region(&self) -> Option<String> {
        self.sdk.region().map(|r| r.to_string())
    }

    /// The S3 client of a region (bucket calls must go to the bucket's region).
    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        let mut map = match self.s3.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        map.entry(region.to_string())
            .or_insert_with(|| {
                let conf = aws_sdk_s3::config::Builder::from(&self.sdk)
                    .region(Region::new(region.to_string()))
                    .force_path_style(self.custom_endpoint.is_some())
                    .build();
                aws_sdk_s3::Client::from_conf(conf)
            })
            .clone()
    }

    /// The EC2 client of a region.
    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) fn ec2(&self, region: &str) -> aws_sdk_ec2::Client {
        let mut map = match self.ec2.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        map.entry(region.to_string())
            .or_insert_with(|| {
                let conf = aws_sdk_ec2::config::Builder::from(&self.sdk)
                    .region(Region::new(region.to_string()))
                    .build();
                aws_sdk_ec2::Client::from_conf(conf)
            })
            .clone()
    }

    /// S3 Control (account-level Block Public Access). With a custom endpoint the URL is used
    /// as given: the default rules would prefix the host with the account id.
    pub(crate) fn s3control(&self) -> aws_sdk_s3control::Client {
        let mut b = aws_sdk_s3control::config::Builder::from(&self.sdk);
        if let Some(url) =
            configured_endpoint(None, "S3_CONTROL").or_else(|| self.custom_endpoint.clone())
        {
            b = b.endpoint_resolver(FixedEndpoint(url));
        }
        aws_sdk_s3control::Client::from_conf(b.build())
    }

    pub(crate) fn sts(&self) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::new(&self.sdk)
    }

    pub(crate) fn config_service(&self) -> aws_sdk_config::Client {
        aws_sdk_config::Client::new(&self.sdk)
    }

    /// AWS Config in a region (`None`: the configuration's own region). Config's inventory is
    /// regional: a bucket is recorded in its own region.
    pub(crate) fn config_service_in(&self, region: Option<&str>) -> aws_sdk_config::Client {
        match region {
            None => self.config_service(),
            Some(r) => aws_sdk_config::Client::from_conf(
                aws_sdk_config::config::Builder::from(&self.sdk)
                    .region(Region::new(r.to_string()))
                    .build(),
            ),
        }
    }

    pub(crate) fn eventbridge(&self) -> aws_sdk_eventbridge::Client {
        aws_sdk_eventbridge::Client::new(&self.sdk)
    }

    pub(crate) fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.sdk)
    }

    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) fn ssm(&self) -> aws_sdk_ssm::Client {
        aws_sdk_ssm::Client::new(&self.sdk)
    }

    pub(crate) fn securityhub(&self) -> aws_sdk_securityhub::Client {
        aws_sdk_securityhub::Client::new(&self.sdk)
    }

    pub(crate) fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk)
    }

    pub(crate) fn secrets_manager(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.sdk)
    }
}

/// An endpoint resolver that always answers one URL.
#[derive(Debug, Clone)]
struct FixedEndpoint(String);

impl aws_sdk_s3control::config::endpoint::ResolveEndpoint for FixedEndpoint {
    fn resolve_endpoint<'a>(
        &'a self,
        _params: &'a aws_sdk_s3control::config::endpoint::Params,
    ) -> aws_sdk_s3control::config::endpoint::EndpointFuture<'a> {
        aws_sdk_s3control::config::endpoint::EndpointFuture::ready(Ok(
            aws_sdk_s3control::config::endpoint::Endpoint::builder()
                .url(self.0.clone())
                .build(),
        ))
    }
}
