//! The organization-policy source against moto's Organizations: an organization whose OU holds
//! an RCP, a member account in that OU, and the guard reading the member's layer through a role
//! in the management account (moto's default account), as a member stack would.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_sdk_organizations::types::{OrganizationFeatureSet, PolicyType};
use vpce_guard::ports::{CallCounter, OrgPolicySource};
use vpce_guard_tests::block_on as run;
use vpce_guard_tests::moto::Moto;
use vpce_guard_tests::seed::{clients, MOTO_ACCOUNT};

const REGION: &str = "us-east-1";
const PERIMETER: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Perimeter","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringNotEqualsIfExists":{"aws:SourceVpce":"vpce-1a2b3c4d"}}}]}"#;

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
        let policy = o
            .create_policy()
            .content(PERIMETER)
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

        // Without a role: no organization layer, and no call.
        let none = clients(&moto.endpoint(), REGION).await;
        assert_eq!(none.org_layer(&member).await.unwrap(), None);
        assert!(none.api_calls().is_empty());
    });
}
