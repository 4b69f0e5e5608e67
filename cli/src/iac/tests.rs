#![allow(clippy::unwrap_used)]

use super::*;

fn opts() -> IacOptions {
    IacOptions {
        account_id: "111122223333".into(),
        region: "eu-west-1".into(),
        partition: "aws".into(),
        stack_name: "data".into(),
        parameters: BTreeMap::new(),
    }
}

#[test]
fn sub_join_getatt_and_parameters_resolve() {
    let t = r#"
Parameters:
  Env: {Type: String, Default: prod}
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub '${Env}-${AWS::AccountId}-data'
  Policy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: !Ref Bucket
      PolicyDocument:
        Statement:
          - Effect: Deny
            Principal: '*'
            Action: 's3:*'
            Resource:
              - !GetAtt Bucket.Arn
              - !Join ['', [!GetAtt Bucket.Arn, '/*']]
              - !Sub 'arn:${AWS::Partition}:s3:::${Bucket}/x'
"#;
    let found = find(t, &opts()).unwrap();
    assert_eq!(found.len(), 1);
    let f = &found[0];
    assert_eq!((f.resource.as_str(), f.line), ("Policy", 9));
    assert_eq!(f.bucket, "prod-111122223333-data");
    assert_eq!(
        f.doc["Statement"][0]["Resource"],
        serde_json::json!([
            "arn:aws:s3:::prod-111122223333-data",
            "arn:aws:s3:::prod-111122223333-data/*",
            "arn:aws:s3:::prod-111122223333-data/x"
        ])
    );
    assert!(f.pending.list().is_empty());
}

#[test]
fn an_unnamed_bucket_gets_one_symbolic_name_and_refs_to_other_resources_stay_unresolved() {
    let t = r#"{"Resources": {
      "Logs": {"Type": "AWS::S3::Bucket"},
      "Endpoint": {"Type": "AWS::EC2::VPCEndpoint"},
      "LogsPolicy": {"Type": "AWS::S3::BucketPolicy", "Properties": {
        "Bucket": {"Ref": "Logs"},
        "PolicyDocument": {"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*",
          "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": ["Logs", "Arn"]}, "/*"]]},
          "Condition": {"StringNotEquals": {"aws:SourceVpce": {"Ref": "Endpoint"}}}}]}}}}}"#;
    let found = find(t, &opts()).unwrap();
    let f = &found[0];
    assert_eq!(f.bucket, "logs-symbolic");
    assert_eq!(f.line, 4);
    assert_eq!(
        f.doc["Statement"][0]["Resource"],
        "arn:aws:s3:::logs-symbolic/*"
    );
    let list = f.pending.list();
    assert_eq!(list.len(), 1);
    assert!(
        list[0].contains("Ref Endpoint (AWS::EC2::VPCEndpoint)"),
        "{list:?}"
    );
}

#[test]
fn terraform_addresses_come_once_from_planned_values_and_child_modules() {
    let plan = serde_json::json!({
        "format_version": "1.2",
        "planned_values": {"root_module": {
            "resources": [
                {"address": "aws_s3_bucket_policy.a", "mode": "managed", "type": "aws_s3_bucket_policy",
                 "values": {"bucket": "a", "policy": "{\"Statement\":[]}"}},
                {"address": "data.aws_iam_policy_document.x", "mode": "data", "type": "aws_iam_policy_document", "values": {}}
            ],
            "child_modules": [{"address": "module.logs", "resources": [
                {"address": "module.logs.aws_s3_bucket.this", "mode": "managed", "type": "aws_s3_bucket",
                 "values": {"bucket": "logs", "policy": "{\"Statement\":[]}"}},
                {"address": "module.logs.aws_s3_bucket_policy.p", "mode": "managed", "type": "aws_s3_bucket_policy",
                 "values": {"bucket": "logs"}}
            ]}]
        }},
        "resource_changes": [{"address": "aws_s3_bucket_policy.a"}]
    });
    let text = serde_json::to_string_pretty(&plan).unwrap();
    let found = find(&text, &opts()).unwrap();
    let got: Vec<(&str, &str, bool)> = found
        .iter()
        .map(|f| {
            (
                f.resource.as_str(),
                f.bucket.as_str(),
                f.pending.whole.is_some(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("aws_s3_bucket_policy.a", "a", false),
            ("module.logs.aws_s3_bucket.this", "logs", false),
            ("module.logs.aws_s3_bucket_policy.p", "logs", true)
        ]
    );
    // The line of the address in planned_values, not in resource_changes.
    let changes = text
        .lines()
        .position(|l| l.contains("resource_changes"))
        .unwrap()
        + 1;
    let line = text.lines().nth(found[0].line - 1).unwrap();
    assert!(
        line.contains("\"address\": \"aws_s3_bucket_policy.a\""),
        "{line}"
    );
    assert!(found[0].line < changes);
}

#[test]
fn not_a_template_is_a_clear_error() {
    assert!(find("{\"a\": 1}", &opts())
        .unwrap_err()
        .contains("not a CloudFormation template"));
    assert!(find("[", &opts()).is_err());
    assert!(find("a: !Nope x\n", &opts()).unwrap_err().contains("!Nope"));
}
