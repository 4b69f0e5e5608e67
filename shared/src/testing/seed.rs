//! Seeding an account through the SDK: VPCs, S3 gateway endpoints, NAT routes and buckets, and
//! the demo account that `vpce-guard demo-account` and `scripts/demo` put into any
//! AWS-compatible endpoint (moto, LocalStack). Every failure is an [`AwsError`] naming the call.

use aws_sdk_ec2::types::{AttributeBooleanValue, DomainType, VpcEndpointType};
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, ObjectOwnership, OwnershipControls,
    OwnershipControlsRule, PublicAccessBlockConfiguration,
};
use serde_json::json;

pub use super::policies::{locked_endpoint_policy, private_bucket_policy};
use crate::aws::map_sdk_error;
use crate::aws::AwsClients;
use crate::ports::{AwsError, ErrorKind};

/// A seeded VPC: one subnet with its own route table.
#[derive(Debug, Clone)]
pub struct SeededVpc {
    pub region: String,
    pub vpc_id: String,
    pub subnet_id: String,
    /// The route table explicitly associated with the subnet.
    pub route_table_id: String,
}

/// What the demo account's story needs to know.
#[derive(Debug, Clone)]
pub struct DemoAccount {
    /// The us-east-1 reference VPC and its S3 gateway endpoint.
    pub vpc: String,
    pub vpce: String,
    pub buckets: Vec<(String, String)>,
}

/// The private bucket of the demo whose deny a user removes (and the remediator restores).
pub const DEMO_PRIVATE: &str = "acme-prod-data";
/// The demo's bucket in a region without any S3 gateway endpoint.
pub const DEMO_NO_ENDPOINT: &str = "acme-sydney-media";
pub const DEMO_NO_ENDPOINT_REGION: &str = "ap-southeast-2";

fn sent<T, E, R>(
    call: &'static str,
    r: Result<T, aws_sdk_s3::error::SdkError<E, R>>,
) -> Result<T, AwsError>
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    r.map_err(|e| map_sdk_error(call, &e))
}

fn built<T, E: std::fmt::Display>(call: &'static str, r: Result<T, E>) -> Result<T, AwsError> {
    r.map_err(|e| AwsError {
        call,
        kind: ErrorKind::Other,
        code: None,
        message: e.to_string(),
    })
}

/// Seeds through one set of clients.
#[derive(Debug, Clone)]
pub struct Seeder {
    pub c: AwsClients,
}

impl Seeder {
    /// A VPC with one subnet whose own route table is associated with it.
    pub async fn vpc(
        &self,
        region: &str,
        cidr: &str,
        dns_support: bool,
        dns_hostnames: bool,
    ) -> Result<SeededVpc, AwsError> {
        let ec2 = self.c.ec2(region);
        let vpc = sent(
            "ec2:CreateVpc",
            ec2.create_vpc().cidr_block(cidr).send().await,
        )?;
        let vpc_id = vpc
            .vpc()
            .and_then(|v| v.vpc_id())
            .unwrap_or_default()
            .to_string();
        for (support, on) in [(true, dns_support), (false, dns_hostnames)] {
            let v = AttributeBooleanValue::builder().value(on).build();
            let req = ec2.modify_vpc_attribute().vpc_id(&vpc_id);
            let req = if support {
                req.enable_dns_support(v)
            } else {
                req.enable_dns_hostnames(v)
            };
            sent("ec2:ModifyVpcAttribute", req.send().await)?;
        }
        let subnet_cidr = cidr.replace(".0.0/16", ".1.0/24");
        let subnet = sent(
            "ec2:CreateSubnet",
            ec2.create_subnet()
                .vpc_id(&vpc_id)
                .cidr_block(subnet_cidr)
                .send()
                .await,
        )?;
        let subnet_id = subnet
            .subnet()
            .and_then(|s| s.subnet_id())
            .unwrap_or_default()
            .to_string();
        let rt = sent(
            "ec2:CreateRouteTable",
            ec2.create_route_table().vpc_id(&vpc_id).send().await,
        )?;
        let route_table_id = rt
            .route_table()
            .and_then(|r| r.route_table_id())
            .unwrap_or_default()
            .to_string();
        sent(
            "ec2:AssociateRouteTable",
            ec2.associate_route_table()
                .route_table_id(&route_table_id)
                .subnet_id(&subnet_id)
                .send()
                .await,
        )?;
        Ok(SeededVpc {
            region: region.to_string(),
            vpc_id,
            subnet_id,
            route_table_id,
        })
    }

    /// An S3 gateway endpoint on the given route tables, with a policy (None: AWS's default).
    pub async fn gateway_endpoint(
        &self,
        v: &SeededVpc,
        route_tables: &[&str],
        policy: Option<&str>,
    ) -> Result<String, AwsError> {
        let ec2 = self.c.ec2(&v.region);
        let mut req = ec2
            .create_vpc_endpoint()
            .vpc_id(&v.vpc_id)
            .service_name(format!("com.amazonaws.{}.s3", v.region))
            .vpc_endpoint_type(VpcEndpointType::Gateway);
        for rt in route_tables {
            req = req.route_table_ids(*rt);
        }
        if let Some(p) = policy {
            req = req.policy_document(p);
        }
        let out = sent("ec2:CreateVpcEndpoint", req.send().await)?;
        Ok(out
            .vpc_endpoint()
            .and_then(|e| e.vpc_endpoint_id())
            .unwrap_or_default()
            .to_string())
    }

    /// An S3 interface endpoint in the VPC's subnet (on-premises and Direct Connect traffic).
    pub async fn interface_endpoint(&self, v: &SeededVpc) -> Result<String, AwsError> {
        let ec2 = self.c.ec2(&v.region);
        let out = sent(
            "ec2:CreateVpcEndpoint",
            ec2.create_vpc_endpoint()
                .vpc_id(&v.vpc_id)
                .service_name(format!("com.amazonaws.{}.s3", v.region))
                .vpc_endpoint_type(VpcEndpointType::Interface)
                .subnet_ids(&v.subnet_id)
                .send()
                .await,
        )?;
        Ok(out
            .vpc_endpoint()
            .and_then(|e| e.vpc_endpoint_id())
            .unwrap_or_default()
            .to_string())
    }

    /// A NAT gateway in the subnet and a default route through it on the subnet's table.
    pub async fn nat_default_route(&self, v: &SeededVpc) -> Result<String, AwsError> {
        let ec2 = self.c.ec2(&v.region);
        let eip = sent(
            "ec2:AllocateAddress",
            ec2.allocate_address().domain(DomainType::Vpc).send().await,
        )?;
        let nat = sent(
            "ec2:CreateNatGateway",
            ec2.create_nat_gateway()
                .subnet_id(&v.subnet_id)
                .allocation_id(eip.allocation_id().unwrap_or_default())
                .send()
                .await,
        )?;
        let nat_id = nat
            .nat_gateway()
            .and_then(|n| n.nat_gateway_id())
            .unwrap_or_default()
            .to_string();
        sent(
            "ec2:CreateRoute",
            ec2.create_route()
                .route_table_id(&v.route_table_id)
                .destination_cidr_block("0.0.0.0/0")
                .nat_gateway_id(&nat_id)
                .send()
                .await,
        )?;
        Ok(nat_id)
    }

    /// A bucket in `region` with optional policy, Block Public Access (all four on, or none)
    /// and Object Ownership.
    pub async fn bucket(
        &self,
        name: &str,
        region: &str,
        policy: Option<&str>,
        block_public_access: bool,
        ownership: Option<ObjectOwnership>,
    ) -> Result<(), AwsError> {
        let s3 = self.c.s3(region);
        let mut req = s3.create_bucket().bucket(name);
        if region != "us-east-1" {
            req = req.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region))
                    .build(),
            );
        }
        sent("s3:CreateBucket", req.send().await)?;
        if let Some(p) = policy {
            sent(
                "s3:PutBucketPolicy",
                s3.put_bucket_policy().bucket(name).policy(p).send().await,
            )?;
        }
        if block_public_access {
            let all_on = PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build();
            sent(
                "s3:PutPublicAccessBlock",
                s3.put_public_access_block()
                    .bucket(name)
                    .public_access_block_configuration(all_on)
                    .send()
                    .await,
            )?;
        }
        if let Some(o) = ownership {
            let rule = built(
                "s3:PutBucketOwnershipControls",
                OwnershipControlsRule::builder().object_ownership(o).build(),
            )?;
            let controls = built(
                "s3:PutBucketOwnershipControls",
                OwnershipControls::builder().rules(rule).build(),
            )?;
            sent(
                "s3:PutBucketOwnershipControls",
                s3.put_bucket_ownership_controls()
                    .bucket(name)
                    .ownership_controls(controls)
                    .send()
                    .await,
            )?;
        }
        Ok(())
    }

    /// The demo account: us-east-1 with the reference setup, eu-west-1 with an allow-all
    /// endpoint and a NAT path, ap-southeast-2 with no endpoint; six buckets from private to
    /// public. `account` is the account the endpoint policy admits.
    pub async fn demo_account(&self, account: &str) -> Result<DemoAccount, AwsError> {
        let enforced = || Some(ObjectOwnership::BucketOwnerEnforced);
        let mut buckets = Vec::new();
        // us-east-1: the reference setup.
        let prod = self.vpc("us-east-1", "10.0.0.0/16", true, true).await?;
        let locked = locked_endpoint_policy(account);
        let vpce = self
            .gateway_endpoint(&prod, &[&prod.route_table_id], Some(&locked))
            .await?;
        let private = private_bucket_policy(DEMO_PRIVATE, &vpce);
        self.bucket(DEMO_PRIVATE, "us-east-1", Some(&private), true, enforced())
            .await?;
        buckets.push((DEMO_PRIVATE.to_string(), "us-east-1".to_string()));
        // A deny that lists some action prefixes only: multipart uploads and restores slip
        // through.
        let partial = json!({"Version": "2012-10-17", "Statement": [{
            "Sid": "DenyOutsideVpce", "Effect": "Deny", "Principal": "*",
            "Action": ["s3:Get*", "s3:Put*", "s3:List*", "s3:Delete*"],
            "Resource": ["arn:aws:s3:::acme-analytics", "arn:aws:s3:::acme-analytics/*"],
            "Condition": {"StringNotEquals": {"aws:SourceVpce": vpce}}}]})
        .to_string();
        self.bucket(
            "acme-analytics",
            "us-east-1",
            Some(&partial),
            true,
            enforced(),
        )
        .await?;
        buckets.push(("acme-analytics".into(), "us-east-1".into()));
        self.bucket(
            "acme-build-logs",
            "us-east-1",
            None,
            false,
            Some(ObjectOwnership::ObjectWriter),
        )
        .await?;
        buckets.push(("acme-build-logs".into(), "us-east-1".into()));
        let public = json!({"Version": "2012-10-17", "Statement": [{
            "Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::acme-public-site/*"}]})
        .to_string();
        self.bucket("acme-public-site", "us-east-1", Some(&public), false, None)
            .await?;
        buckets.push(("acme-public-site".into(), "us-east-1".into()));
        // eu-west-1: an endpoint with the default allow-all policy and a NAT path.
        let eu = self.vpc("eu-west-1", "10.1.0.0/16", true, false).await?;
        self.gateway_endpoint(&eu, &[&eu.route_table_id], None)
            .await?;
        self.nat_default_route(&eu).await?;
        // Its policy names the us-east-1 endpoint: gateway endpoints serve only their region.
        let archive = private_bucket_policy("acme-eu-archive", &vpce);
        self.bucket(
            "acme-eu-archive",
            "eu-west-1",
            Some(&archive),
            true,
            enforced(),
        )
        .await?;
        buckets.push(("acme-eu-archive".into(), "eu-west-1".into()));
        // ap-southeast-2: no VPC endpoint at all.
        self.bucket(
            DEMO_NO_ENDPOINT,
            DEMO_NO_ENDPOINT_REGION,
            None,
            true,
            enforced(),
        )
        .await?;
        buckets.push((DEMO_NO_ENDPOINT.into(), DEMO_NO_ENDPOINT_REGION.into()));
        Ok(DemoAccount {
            vpc: prod.vpc_id,
            vpce,
            buckets,
        })
    }
}
