//! Seeding scenarios into moto through the real Rust SDK: VPCs, subnets, route tables, S3
//! gateway endpoints, NAT routes, security groups, buckets with policies and settings.

use aws_config::{BehaviorVersion, Region};
use aws_sdk_ec2::types::{IpPermission, IpRange, PrefixListId};
use aws_sdk_s3::types::ObjectOwnership;
use vpce_guard::aws::AwsClients;
use vpce_guard::testing::seed::Seeder;
pub use vpce_guard::testing::seed::{
    locked_endpoint_policy, private_bucket_policy, DemoAccount, SeededVpc, DEMO_NO_ENDPOINT,
    DEMO_NO_ENDPOINT_REGION, DEMO_PRIVATE,
};

/// The account moto answers for.
pub const MOTO_ACCOUNT: &str = "123456789012";
/// The notifier's state table in the tests and the demo.
pub const STATE_TABLE: &str = "vpce-guard-notification-state";

/// Clients pointed at a moto endpoint with fixed test credentials.
pub async fn clients(endpoint: &str, region: &str) -> AwsClients {
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "vpce-guard-tests",
        ))
        .endpoint_url(endpoint)
        .region(Region::new(region.to_string()))
        .load()
        .await;
    AwsClients::from_sdk(sdk, Some(endpoint))
}

/// An account seeded for call budgets: moto's default VPC of the region made compliant plus
/// reference VPCs, `vpcs` in all.
#[derive(Debug, Clone)]
pub struct SeededAccount {
    pub region: String,
    /// moto's default VPC (its `route_table_id` is the main table; it has no own subnet).
    pub default_vpc: SeededVpc,
    /// The default VPC's `default` security group.
    pub default_security_group: String,
    /// Every VPC id, the default VPC first.
    pub vpc_ids: Vec<String>,
    /// The S3 gateway endpoint of each VPC, in the same order.
    pub endpoints: Vec<String>,
}

/// A seeding helper over one moto server.
#[derive(Debug, Clone)]
pub struct Seed {
    pub c: AwsClients,
}

fn ok<T, E: std::fmt::Debug>(what: &str, r: Result<T, E>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("seeding failed: {what}: {e:?}"),
    }
}

impl Seed {
    pub async fn new(endpoint: &str, region: &str) -> Seed {
        Seed {
            c: clients(endpoint, region).await,
        }
    }

    fn seeder(&self) -> Seeder {
        Seeder { c: self.c.clone() }
    }

    /// A VPC with one subnet whose own route table is associated with it.
    pub async fn vpc(
        &self,
        region: &str,
        cidr: &str,
        dns_support: bool,
        dns_hostnames: bool,
    ) -> SeededVpc {
        let v = self
            .seeder()
            .vpc(region, cidr, dns_support, dns_hostnames)
            .await;
        ok("CreateVpc", v)
    }

    /// The reference setup's VPC: DNS on, one subnet, an S3 gateway endpoint with the locked
    /// policy on the subnet's route table. Returns the VPC and the endpoint id.
    pub async fn reference_vpc(&self, region: &str, cidr: &str) -> (SeededVpc, String) {
        let v = self.vpc(region, cidr, true, true).await;
        let e = self
            .gateway_endpoint(
                &v,
                &[&v.route_table_id],
                Some(&locked_endpoint_policy(MOTO_ACCOUNT)),
            )
            .await;
        (v, e)
    }

    /// An S3 gateway endpoint on the given route tables, with a policy (None: AWS's default).
    pub async fn gateway_endpoint(
        &self,
        v: &SeededVpc,
        route_tables: &[&str],
        policy: Option<&str>,
    ) -> String {
        let e = self
            .seeder()
            .gateway_endpoint(v, route_tables, policy)
            .await;
        ok("CreateVpcEndpoint", e)
    }

    /// An S3 interface endpoint in the VPC's subnet.
    pub async fn interface_endpoint(&self, v: &SeededVpc) -> String {
        ok(
            "CreateVpcEndpoint",
            self.seeder().interface_endpoint(v).await,
        )
    }

    /// A NAT gateway in the subnet and a default route through it on the subnet's table.
    pub async fn nat_default_route(&self, v: &SeededVpc) -> String {
        ok("CreateNatGateway", self.seeder().nat_default_route(v).await)
    }

    /// A security group whose only egress is HTTPS to `cidr` (its default allow-all removed).
    pub async fn restricted_security_group(
        &self,
        v: &SeededVpc,
        name: &str,
        cidr: Option<&str>,
        prefix_list: Option<&str>,
    ) -> String {
        let ec2 = self.c.ec2(&v.region);
        let sg = ok(
            "CreateSecurityGroup",
            ec2.create_security_group()
                .group_name(name)
                .description("vpce-guard test")
                .vpc_id(&v.vpc_id)
                .send()
                .await,
        );
        let id = sg.group_id().unwrap_or_default().to_string();
        ok(
            "RevokeSecurityGroupEgress",
            ec2.revoke_security_group_egress()
                .group_id(&id)
                .ip_permissions(
                    IpPermission::builder()
                        .ip_protocol("-1")
                        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                        .build(),
                )
                .send()
                .await,
        );
        let mut perm = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(443)
            .to_port(443);
        if let Some(c) = cidr {
            perm = perm.ip_ranges(IpRange::builder().cidr_ip(c).build());
        }
        if let Some(pl) = prefix_list {
            perm = perm.prefix_list_ids(PrefixListId::builder().prefix_list_id(pl).build());
        }
        ok(
            "AuthorizeSecurityGroupEgress",
            ec2.authorize_security_group_egress()
                .group_id(&id)
                .ip_permissions(perm.build())
                .send()
                .await,
        );
        id
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
    ) {
        let b = self
            .seeder()
            .bucket(name, region, policy, block_public_access, ownership)
            .await;
        ok("CreateBucket", b)
    }

    /// The demo account (`vpce_guard::testing::seed::Seeder::demo_account`).
    pub async fn demo_account(&self) -> DemoAccount {
        ok(
            "demo account",
            self.seeder().demo_account(MOTO_ACCOUNT).await,
        )
    }

    /// The notifier's state table (key `pk`) and webhook secret (the URL as its value), as
    /// template.yaml makes them; returns the secret's ARN.
    /// The stack's remediation history table (`RemediationHistoryTable`): `bucket` + `at`.
    pub async fn history_table(&self, table: &str) {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let created = aws_sdk_dynamodb::Client::new(&self.c.sdk)
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("bucket"))
            .attribute_definitions(attr("at"))
            .key_schema(key("bucket", KeyType::Hash))
            .key_schema(key("at", KeyType::Range))
            .send()
            .await;
        if let Err(e) = created {
            panic!("CreateTable {table}: {e:?}");
        }
    }

    /// An IAM role on `path` (`/vpce-guard/`), as the template creates the guard's; its ARN.
    pub async fn role(&self, path: &str, name: &str) -> String {
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        let out = aws_sdk_iam::Client::new(&self.c.sdk)
            .create_role()
            .path(path)
            .role_name(name)
            .assume_role_policy_document(trust)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateRole {name}: {e:?}"));
        out.role()
            .map(|r| r.arn().to_string())
            .unwrap_or_else(|| panic!("CreateRole {name}: no role"))
    }

    /// An SSM parameter (`String`) holding `value`, as a user keeps a long list for the
    /// `…Parameter` template parameters.
    pub async fn ssm_parameter(&self, name: &str, value: &str) {
        let put = self
            .c
            .ssm()
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .send()
            .await;
        if let Err(e) = put {
            panic!("PutParameter {name}: {e:?}");
        }
    }

    /// An SQS queue and an EventBridge rule on the default bus that delivers the events
    /// matching `pattern` to it, as template.yaml wires its queues; returns the queue's URL.
    pub async fn rule_to_queue(
        &self,
        rule: &str,
        pattern: &serde_json::Value,
        queue: &str,
    ) -> String {
        let sqs = aws_sdk_sqs::Client::new(&self.c.sdk);
        let queue_url = ok(
            "CreateQueue",
            sqs.create_queue().queue_name(queue).send().await,
        )
        .queue_url
        .unwrap_or_default();
        let attrs = ok(
            "GetQueueAttributes",
            sqs.get_queue_attributes()
                .queue_url(&queue_url)
                .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .send()
                .await,
        );
        let queue_arn = attrs
            .attributes
            .and_then(|a| {
                a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                    .cloned()
            })
            .unwrap_or_default();
        let events = aws_sdk_eventbridge::Client::new(&self.c.sdk);
        ok(
            "PutRule",
            events
                .put_rule()
                .name(rule)
                .event_pattern(pattern.to_string())
                .send()
                .await,
        );
        let target = ok(
            "Target",
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(queue_arn)
                .build(),
        );
        ok(
            "PutTargets",
            events.put_targets().rule(rule).targets(target).send().await,
        );
        queue_url
    }

    /// Every message of a queue, received and deleted, as the SQS records Lambda's poller
    /// hands a function.
    pub async fn drain_queue(&self, queue_url: &str, region: &str) -> Vec<serde_json::Value> {
        let sqs = aws_sdk_sqs::Client::new(&self.c.sdk);
        let mut out = Vec::new();
        loop {
            let got = ok(
                "ReceiveMessage",
                sqs.receive_message()
                    .queue_url(queue_url)
                    .max_number_of_messages(10)
                    .send()
                    .await,
            );
            let msgs = got.messages.unwrap_or_default();
            if msgs.is_empty() {
                return out;
            }
            for m in msgs {
                let handle = m.receipt_handle.clone().unwrap_or_default();
                ok(
                    "DeleteMessage",
                    sqs.delete_message()
                        .queue_url(queue_url)
                        .receipt_handle(&handle)
                        .send()
                        .await,
                );
                out.push(serde_json::json!({
                    "messageId": m.message_id.unwrap_or_default(),
                    "receiptHandle": handle,
                    "body": m.body.unwrap_or_default(),
                    "eventSource": "aws:sqs",
                    "awsRegion": region
                }));
            }
        }
    }

    pub async fn notifier_resources(&self, table: &str, webhook: &str) -> String {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        let ddb = aws_sdk_dynamodb::Client::new(&self.c.sdk);
        let created = ddb
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("pk")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap_or_else(|e| panic!("{e}")),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("pk")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap_or_else(|e| panic!("{e}")),
            )
            .send()
            .await;
        if let Err(e) = created {
            panic!("CreateTable: {e:?}");
        }
        let secret = aws_sdk_secretsmanager::Client::new(&self.c.sdk)
            .create_secret()
            .name("vpce-guard/slack-webhook")
            .secret_string(webhook)
            .send()
            .await;
        match secret.map(|s| s.arn) {
            Ok(Some(arn)) => arn,
            other => panic!("CreateSecret: {other:?}"),
        }
    }

    /// moto's default VPC of a region, as a seeded VPC: its main route table, no own subnet.
    async fn default_vpc(&self, region: &str) -> SeededVpc {
        let ec2 = self.c.ec2(region);
        let vpcs = ok("DescribeVpcs", ec2.describe_vpcs().send().await);
        let vpc_id = vpcs
            .vpcs()
            .iter()
            .find(|v| v.is_default() == Some(true))
            .and_then(|v| v.vpc_id())
            .unwrap_or_else(|| panic!("moto has no default VPC in {region}"))
            .to_string();
        let tables = ok(
            "DescribeRouteTables",
            ec2.describe_route_tables().send().await,
        );
        let main = tables
            .route_tables()
            .iter()
            .find(|t| {
                t.vpc_id() == Some(vpc_id.as_str())
                    && t.associations().iter().any(|a| a.main() == Some(true))
            })
            .and_then(|t| t.route_table_id())
            .unwrap_or_default()
            .to_string();
        SeededVpc {
            region: region.to_string(),
            vpc_id,
            subnet_id: String::new(),
            route_table_id: main,
        }
    }

    /// Make moto's default VPC of a region compliant too: a locked S3 gateway endpoint on its
    /// main route table (its subnets use the main table; DNS is on by default).
    pub async fn secure_default_vpc(&self, region: &str, account: &str) -> String {
        let v = self.default_vpc(region).await;
        let main = v.route_table_id.clone();
        self.gateway_endpoint(&v, &[&main], Some(&locked_endpoint_policy(account)))
            .await;
        v.vpc_id
    }

    /// An account of `vpcs` VPCs in `region` (at least one): moto's default VPC with a locked
    /// S3 gateway endpoint on its main route table, plus `vpcs - 1` reference VPCs.
    pub async fn account_with_vpcs(&self, region: &str, vpcs: usize) -> SeededAccount {
        let ec2 = self.c.ec2(region);
        let default_vpc = self.default_vpc(region).await;
        let (vpc_id, main) = (
            default_vpc.vpc_id.clone(),
            default_vpc.route_table_id.clone(),
        );
        let groups = ok(
            "DescribeSecurityGroups",
            ec2.describe_security_groups().send().await,
        );
        let default_security_group = groups
            .security_groups()
            .iter()
            .find(|g| g.vpc_id() == Some(vpc_id.as_str()) && g.group_name() == Some("default"))
            .and_then(|g| g.group_id())
            .unwrap_or_default()
            .to_string();
        let endpoint = self
            .gateway_endpoint(
                &default_vpc,
                &[&main],
                Some(&locked_endpoint_policy(MOTO_ACCOUNT)),
            )
            .await;
        let mut vpc_ids = vec![vpc_id];
        let mut endpoints = vec![endpoint];
        let mut tasks = tokio::task::JoinSet::new();
        for i in 1..vpcs.max(1) {
            let (seed, region) = (self.clone(), region.to_string());
            // 10.<i>.0.0/16, then 192.<i-200>.0.0/16: never moto's default 172.31.0.0/16.
            let cidr = if i < 200 {
                format!("10.{i}.0.0/16")
            } else {
                format!("192.{}.0.0/16", i - 200)
            };
            tasks.spawn(async move {
                let (v, e) = seed.reference_vpc(&region, &cidr).await;
                (i, v.vpc_id, e)
            });
            while tasks.len() >= 8 || (i + 1 == vpcs && !tasks.is_empty()) {
                match tasks.join_next().await {
                    Some(Ok((_, v, e))) => {
                        vpc_ids.push(v);
                        endpoints.push(e);
                    }
                    Some(Err(e)) => panic!("seeding a VPC: {e}"),
                    None => break,
                }
            }
        }
        SeededAccount {
            region: region.to_string(),
            default_vpc,
            default_security_group,
            vpc_ids,
            endpoints,
        }
    }

    /// The id of the AWS-managed S3 prefix list of a region.
    pub async fn s3_prefix_list(&self, region: &str) -> Option<String> {
        let out = ok(
            "DescribePrefixLists",
            self.c.ec2(region).describe_prefix_lists().send().await,
        );
        let name = format!("com.amazonaws.{region}.s3");
        out.prefix_lists()
            .iter()
            .find(|p| p.prefix_list_name() == Some(name.as_str()))
            .and_then(|p| p.prefix_list_id().map(str::to_string))
    }
}
