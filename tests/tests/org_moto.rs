//! The organization-policy source against moto's Organizations: an organization whose OU holds
//! an RCP, a member account in that OU, and the guard reading the member's layer through a role
//! in the management account (moto's default account), as a member stack would.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_sdk_organizations::types::{OrganizationFeatureSet, PolicyType};
use aws_sdk_s3::types::ObjectOwnership;
use vpce_guard::ports::AccountReader;
use vpce_guard::ports::{CallCounter, OrgPolicySource};
use vpce_guard::rules::BucketParams;
use vpce_guard::scan::{scan, ScanOptions};
use vpce_guard_tests::block_on as run;
use vpce_guard_tests::moto::Moto;
use vpce_guard_tests::seed::{clients, Seed, MOTO_ACCOUNT};
use vpce_guard_tests::{find, statuses};

const REGION: &str = "us-east-1";
/// The OU's RCP: every request to S3 outside the member's endpoint is denied (AWS services
/// exempt).
fn perimeter(vpce: &str) -> String {
    serde_json::json!({"Version": "2012-10-17", "Statement": [{"Sid": "Perimeter", "Effect": "Deny",
        "Principal": "*", "Action": "s3:*", "Resource": "*",
        "Condition": {"StringNotEqualsIfExists": {"aws:SourceVpce": vpce},
            "BoolIfExists": {"aws:PrincipalIsAWSService": "false", "aws:ViaAWSService": "false"}}}]})
    .to_string()
}

/// Clients in the member account: a role of it assumed from the management account (moto ties
/// the assumed credentials to the role's account).
async fn member_clients(endpoint: &str, member: &str) -> vpce_guard::aws::AwsClients {
    let base = clients(endpoint, REGION).await;
    let provider = aws_config::sts::AssumeRoleProvider::builder(format!(
        "arn:aws:iam::{member}:role/OrganizationAccountAccessRole"
    ))
    .session_name("vpce-guard-tests")
    .configure(&base.sdk)
    .build()
    .await;
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .credentials_provider(provider)
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(REGION))
        .load()
        .await;
    vpce_guard::aws::AwsClients::from_sdk(sdk, Some(endpoint))
}

#[test]
fn a_member_accounts_rcps_path_and_organization_are_read_through_the_role() {
    let moto = Moto::start();
    run(async {
        let c = clients(&moto.endpoint(), REGION).await;
        // The organization, as its management account sets it up.
        let o = aws_sdk_organizations::Client::new(&c.sdk);
        let org = o
            .create_organization()
            .feature_set(OrganizationFeatureSet::All)
            .send()
            .await
            .unwrap();
        let org_id = org.organization().unwrap().id().unwrap().to_string();
        let roots = o.list_roots().send().await.unwrap();
        let root = roots.roots()[0].id().unwrap().to_string();
        o.enable_policy_type()
            .root_id(&root)
            .policy_type(PolicyType::ResourceControlPolicy)
            .send()
            .await
            .unwrap();
        let ou = o
            .create_organizational_unit()
            .parent_id(&root)
            .name("prod")
            .send()
            .await
            .unwrap()
            .organizational_unit()
            .unwrap()
            .id()
            .unwrap()
            .to_string();
        let member = o
            .create_account()
            .email("member@example.com")
            .account_name("member")
            .send()
            .await
            .unwrap()
            .create_account_status()
            .unwrap()
            .account_id()
            .unwrap()
            .to_string();
        o.move_account()
            .account_id(&member)
            .source_parent_id(&root)
            .destination_parent_id(&ou)
            .send()
            .await
            .unwrap();
        // The member account's own network and bucket (its policy only denies plain HTTP).
        let member_c = member_clients(&moto.endpoint(), &member).await;
        assert_eq!(
            member_c.account_id().await.unwrap(),
            member,
            "in the member account"
        );
        let seed = Seed {
            c: member_c.clone(),
        };
        let (_vpc, vpce) = seed.reference_vpc(REGION, "10.40.0.0/16").await;
        let tls_only = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Sid": "TlsOnly",
            "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": ["arn:aws:s3:::member-data", "arn:aws:s3:::member-data/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})
        .to_string();
        seed.bucket(
            "member-data",
            REGION,
            Some(&tls_only),
            true,
            Some(ObjectOwnership::BucketOwnerEnforced),
        )
        .await;
        let policy = o
            .create_policy()
            .content(perimeter(&vpce))
            .description("the network perimeter")
            .name("perimeter")
            .r#type(PolicyType::ResourceControlPolicy)
            .send()
            .await
            .unwrap()
            .policy()
            .unwrap()
            .policy_summary()
            .unwrap()
            .id()
            .unwrap()
            .to_string();
        o.attach_policy()
            .policy_id(&policy)
            .target_id(&ou)
            .send()
            .await
            .unwrap();

        // The guard, with the reader role of the management account.
        let guard = clients(&moto.endpoint(), REGION)
            .await
            .with_org_policy_role(Some(format!(
                "arn:aws:iam::{MOTO_ACCOUNT}:role/vpce-guard/OrgReader"
            )));
        let layer = guard.org_layer(&member).await.unwrap().expect("a layer");
        assert_eq!(layer.org_id, org_id);
        assert_eq!(layer.management_account, MOTO_ACCOUNT);
        assert_eq!(layer.path, format!("{org_id}/{root}/{ou}/"));
        let ids: Vec<&str> = layer.rcps.iter().map(|r| r.id.as_str()).collect();
        assert!(ids.contains(&policy.as_str()), "{ids:?}");
        let perimeter = layer.rcps.iter().find(|r| r.id == policy).unwrap();
        assert_eq!(perimeter.document.statements.len(), 1);
        let calls = guard.api_calls();
        assert_eq!(calls["organizations:DescribeOrganization"], 1);
        assert_eq!(
            calls["organizations:ListParents"], 2,
            "the OU, then the root"
        );
        assert_eq!(
            calls["organizations:ListPoliciesForTarget"], 3,
            "the account, the OU, the root"
        );

        // Account mode in the member account: the bucket's own policy leaves other origins
        // open, the OU's RCP closes them.
        let sweep = |params: BucketParams| {
            let member_c = member_c.clone();
            async move {
                let opts = ScanOptions {
                    regions: vec![REGION.to_string()],
                    buckets: vec!["member-data".to_string()],
                    params,
                    concurrency: 2,
                    now: vpce_guard::now_epoch_seconds(),
                    source: vpce_guard::scan::ScanSource::Api,
                };
                scan(&member_c, &member_c.calls, &opts, &|_, _| {})
                    .await
                    .unwrap()
            }
        };
        let alone = sweep(BucketParams::default()).await;
        let with_rcps = sweep(BucketParams {
            rcps: layer.rcps.clone(),
            org_id: Some(layer.org_id.clone()),
            org_path: Some(layer.path.clone()),
            ..BucketParams::default()
        })
        .await;
        let deny = |r: &vpce_guard::scan::ScanReport| {
            let e = &find(r, "member-data").evaluation;
            statuses(e)
                .into_iter()
                .find(|s| s.starts_with("S3-VPCE-DENY"))
                .unwrap()
        };
        assert_eq!(deny(&alone), "S3-VPCE-DENY=FAIL");
        assert_eq!(
            deny(&with_rcps),
            "S3-VPCE-DENY=PASS",
            "{:?}",
            find(&with_rcps, "member-data")
        );

        // Without a role: no organization layer, and no call.
        let none = clients(&moto.endpoint(), REGION).await;
        assert_eq!(none.org_layer(&member).await.unwrap(), None);
        assert!(none.api_calls().is_empty());
    });
}
