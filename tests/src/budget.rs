//! Call budgets (docs/COST.md): every notification type a Config rule function receives, run
//! through the built binary (a fresh process each, as a cold Lambda) against an account of N
//! VPCs in moto, with the AWS calls it made counted where they land: moto's own request
//! recorder (S3, S3 Control, EC2, STS) and the Config recorder (every Config call).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use aws_sdk_s3::types::ObjectOwnership;
use serde_json::{json, Value};

use crate::moto::Moto;
use crate::recorder::ConfigRecorder;
use crate::runtime::LambdaRuntime;
use crate::seed::{private_bucket_policy, Seed, SeededAccount};
use crate::{block_on, edit_invoking_event, function_env, sample_event};

/// AWS calls by `service:Operation`.
pub type Calls = BTreeMap<String, u64>;

/// The region of the budget accounts.
pub const REGION: &str = "us-east-1";

/// The role AWS Config's recorder uses in the budget accounts (the service-linked role).
pub const RECORDER_ROLE: &str =
    "arn:aws:iam::123456789012:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig";

/// A private bucket (policy, Block Public Access on, ownership enforced).
pub const PRIVATE_BUCKET: &str = "budget-private";
/// A bucket with Block Public Access off at bucket level.
pub const OPEN_BUCKET: &str = "budget-open";

/// An account in moto with `vpcs` VPCs and two buckets, the Config recorder in front of it.
#[derive(Debug)]
pub struct BudgetAccount {
    pub moto: Moto,
    pub recorder: ConfigRecorder,
    pub vpcs: usize,
    pub account: SeededAccount,
}

/// One notification: its name in the budget table and the event.
#[derive(Debug, Clone)]
pub struct Notification {
    pub name: &'static str,
    pub event: Value,
}

impl BudgetAccount {
    /// Seed the account (moto's default VPC plus `vpcs - 1` reference VPCs) and its buckets,
    /// then start recording.
    pub fn seed(vpcs: usize) -> BudgetAccount {
        let moto = Moto::start();
        let account = block_on(async {
            let seed = Seed::new(&moto.endpoint(), REGION).await;
            let account = seed.account_with_vpcs(REGION, vpcs).await;
            let vpce = account.endpoints[0].clone();
            seed.bucket(
                PRIVATE_BUCKET,
                REGION,
                Some(&private_bucket_policy(PRIVATE_BUCKET, &vpce)),
                true,
                Some(ObjectOwnership::BucketOwnerEnforced),
            )
            .await;
            seed.bucket(
                OPEN_BUCKET,
                REGION,
                Some(&private_bucket_policy(OPEN_BUCKET, &vpce)),
                false,
                Some(ObjectOwnership::BucketOwnerEnforced),
            )
            .await;
            account
        });
        assert_eq!(account.vpc_ids.len(), vpcs.max(1), "VPCs seeded");
        let recorder = ConfigRecorder::start(moto.port);
        recorder.with(|r| r.recorder_role = Some(RECORDER_ROLE.into()));
        moto.start_recording();
        BudgetAccount {
            moto,
            recorder,
            vpcs,
            account,
        }
    }

    /// The private bucket's change event (the item carries its policy and Block Public
    /// Access, all four on).
    fn bucket_change(&self, bucket: &str, block_public_access: bool) -> Value {
        let policy = private_bucket_policy(bucket, &self.account.endpoints[0]);
        let mut ev = sample_event("bucket-rule-change.json");
        edit_invoking_event(&mut ev, |inv| {
            let item = &mut inv["configurationItem"];
            item["resourceId"] = json!(bucket);
            item["resourceName"] = json!(bucket);
            item["configuration"]["name"] = json!(bucket);
            item["supplementaryConfiguration"]["BucketPolicy"]["policyText"] = json!(policy);
            for k in [
                "blockPublicAcls",
                "ignorePublicAcls",
                "blockPublicPolicy",
                "restrictPublicBuckets",
            ] {
                item["supplementaryConfiguration"]["PublicAccessBlockConfiguration"][k] =
                    json!(block_public_access);
            }
        });
        ev
    }

    /// The bucket rule's notification types.
    pub fn bucket_notifications(&self) -> Vec<Notification> {
        let change = self.bucket_change(PRIVATE_BUCKET, true);
        let mut oversized = sample_event("bucket-rule-oversized.json");
        edit_invoking_event(&mut oversized, |inv| {
            inv["configurationItemSummary"]["resourceId"] = json!(PRIVATE_BUCKET);
            inv["configurationItemSummary"]["resourceName"] = json!(PRIVATE_BUCKET);
        });
        let mut deleted = change.clone();
        edit_invoking_event(&mut deleted, |inv| {
            inv["configurationItem"]["configurationItemStatus"] = json!("ResourceDeleted")
        });
        let mut left = change.clone();
        left["eventLeftScope"] = json!(true);
        vec![
            Notification {
                name: "change",
                event: change,
            },
            Notification {
                name: "change, bucket BPA off",
                event: self.bucket_change(OPEN_BUCKET, false),
            },
            Notification {
                name: "oversized",
                event: oversized,
            },
            Notification {
                name: "periodic (2 buckets)",
                event: sample_event("bucket-rule-periodic.json"),
            },
            Notification {
                name: "deleted",
                event: deleted,
            },
            Notification {
                name: "left scope",
                event: left,
            },
        ]
    }

    /// A network change event of `events/` for `id` (its `id_field` in the configuration too),
    /// in the default VPC.
    fn network_change(&self, sample: &str, id: &str, id_field: &str) -> Value {
        let vpc = &self.account.default_vpc.vpc_id;
        let mut ev = sample_event(sample);
        edit_invoking_event(&mut ev, |inv| {
            let item = &mut inv["configurationItem"];
            let arn = item["ARN"].as_str().unwrap_or_default().to_string();
            let old = item["resourceId"].as_str().unwrap_or_default().to_string();
            item["ARN"] = json!(arn.replace(&old, id));
            item["resourceId"] = json!(id);
            item["configuration"][id_field] = json!(id);
            item["configuration"]["vpcId"] = json!(vpc);
        });
        ev
    }

    /// The network rule's notification types.
    pub fn network_notifications(&self) -> Vec<Notification> {
        let vpc = self.account.default_vpc.vpc_id.clone();
        let mut change_vpc = sample_event("network-rule-change-vpc.json");
        edit_invoking_event(&mut change_vpc, |inv| {
            inv["configurationItem"]["resourceId"] = json!(vpc);
            inv["configurationItem"]["configuration"]["vpcId"] = json!(vpc);
        });
        let mut oversized = sample_event("network-rule-oversized.json");
        edit_invoking_event(&mut oversized, |inv| {
            inv["configurationItemSummary"]["resourceId"] = json!(vpc)
        });
        let mut deleted = change_vpc.clone();
        edit_invoking_event(&mut deleted, |inv| {
            inv["configurationItem"]["configurationItemStatus"] = json!("ResourceDeleted")
        });
        let mut left = change_vpc.clone();
        left["eventLeftScope"] = json!(true);
        vec![
            Notification {
                name: "change: VPC",
                event: change_vpc,
            },
            Notification {
                name: "change: route table",
                event: self.network_change(
                    "network-rule-change-route-table.json",
                    &self.account.default_vpc.route_table_id,
                    "routeTableId",
                ),
            },
            Notification {
                name: "change: security group",
                event: self.network_change(
                    "network-rule-change-security-group.json",
                    &self.account.default_security_group,
                    "groupId",
                ),
            },
            Notification {
                name: "change: VPC endpoint",
                event: self.network_change(
                    "network-rule-change-vpc-endpoint.json",
                    &self.account.endpoints[0],
                    "vpcEndpointId",
                ),
            },
            Notification {
                name: "oversized: VPC",
                event: oversized,
            },
            Notification {
                name: "periodic",
                event: sample_event("network-rule-periodic.json"),
            },
            Notification {
                name: "deleted VPC",
                event: deleted,
            },
            Notification {
                name: "left scope",
                event: left,
            },
        ]
    }

    /// Run `event` in a fresh process of `binary` (a cold start); the AWS calls it made and
    /// its answer.
    pub fn measure(&self, binary: &Path, event: &Value) -> (Calls, Result<Value, Value>) {
        let mut lambda =
            LambdaRuntime::start(binary, &function_env(&self.moto, &self.recorder, REGION));
        self.moto.reset_recording();
        self.recorder.with(|r| r.calls.clear());
        let answer = lambda.invoke(event, Duration::from_secs(120));
        lambda.stop();
        let mut calls = self.moto.recorded_calls();
        calls.extend(self.recorder.with(|r| r.counts()));
        (calls, answer)
    }
}

/// The sum of the calls.
pub fn total(calls: &Calls) -> u64 {
    calls.values().sum()
}

/// `op ×n, …` (service prefixes kept), sorted by operation.
pub fn detail(calls: &Calls) -> String {
    calls
        .iter()
        .map(|(k, v)| {
            if *v == 1 {
                k.clone()
            } else {
                format!("{k} ×{v}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Measure every notification of a function on each account: rows of (notification, the
/// calls on each account).
pub fn measure_all(
    binary: &Path,
    accounts: &[&BudgetAccount],
    notifications: impl Fn(&BudgetAccount) -> Vec<Notification>,
) -> Vec<(&'static str, Vec<Calls>)> {
    let mut rows: Vec<(&'static str, Vec<Calls>)> = Vec::new();
    for (i, account) in accounts.iter().enumerate() {
        for (j, n) in notifications(account).into_iter().enumerate() {
            let (calls, answer) = account.measure(binary, &n.event);
            if let Err(e) = answer {
                panic!("{} on {} VPCs failed: {e}", n.name, account.vpcs);
            }
            if i == 0 {
                rows.push((n.name, vec![calls]));
            } else if let Some(row) = rows.get_mut(j) {
                row.1.push(calls);
            }
        }
    }
    rows
}

/// A Markdown table: notification, total calls per account, and the calls of the first.
pub fn table(function: &str, vpcs: &[usize], rows: &[(&'static str, Vec<Calls>)]) -> String {
    let mut out = format!("| {function} |");
    for v in vpcs {
        out.push_str(&format!(" {v} VPC{} |", if *v == 1 { "" } else { "s" }));
    }
    out.push_str(" calls |\n|---|");
    for _ in vpcs {
        out.push_str("---:|");
    }
    out.push_str("---|\n");
    for (name, calls) in rows {
        out.push_str(&format!("| {name} |"));
        for c in calls {
            out.push_str(&format!(" {} |", total(c)));
        }
        let details: Vec<String> = calls.iter().map(detail).collect();
        let same = details.windows(2).all(|w| w[0] == w[1]);
        if same {
            out.push_str(&format!(
                " {} |\n",
                details.first().cloned().unwrap_or_default()
            ));
        } else {
            out.push_str(&format!(" {} |\n", details.join(" / ")));
        }
    }
    out
}
