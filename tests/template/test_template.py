"""Checks of template.yaml that no linter makes: the vpce-guard conventions and least privilege.

Run by scripts/check-template with the sam venv's python (cfn-lint's YAML decoder, which reads
CloudFormation's short tags, and aws-sam-translator, through scripts/stackset-template):

    .venv-tools/sam/bin/python -m unittest discover -s tests/template -v

A function added to the template must be classified below by its Binary (CLASSES); its class
decides which permissions its role may hold.
"""

import json
import os
import re
import subprocess
import tempfile
import unittest

from cfnlint.decode import cfn_yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEMPLATE = os.path.join(ROOT, "template.yaml")

# What each function is, by its BuildProperties.Binary.
#   rule        an AWS Config custom rule: read-only, reports with config:PutEvaluations
#   evaluator   reads and reports findings on the stack's bus (events:PutEvents): read-only
#   notifier    sends findings to Slack: the only one that may read the webhook secret; its
#               only writes are its state table and its queue's messages
#   remediator  the only one that may write or delete a bucket policy
CLASSES = {
    "bucket-rule": "rule",
    "network-rule": "rule",
    "change-watcher": "evaluator",
    "slack-notifier": "notifier",
    "remediator": "remediator",
    "route-usage": "route-usage",
}

# Writes a read-only function may still make, and where.
HOUSEKEEPING = {"logs:CreateLogStream", "logs:PutLogEvents", "sqs:SendMessage"}
READ_VERBS = ("Get", "List", "Describe", "BatchGet", "Select", "Search", "Lookup", "Query")
BUCKET_POLICY_WRITES = {"s3:PutBucketPolicy", "s3:DeleteBucketPolicy"}
# The remediator's only writes besides the bucket policies: its Remediation events, and the
# records of its history table (RemediationHistoryTable, nothing else).
HISTORY_TABLE = "RemediationHistoryTable"
HISTORY_TABLE_ACTIONS = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:Query"}
REMEDIATOR_WRITES = BUCKET_POLICY_WRITES | {"events:PutEvents", "dynamodb:PutItem", "dynamodb:UpdateItem"}
# An evaluator's only write: its findings, on the default bus.
EVALUATOR_WRITES = {"events:PutEvents"}
# The notifier's writes: its state (a DynamoDB table of the template) and the messages of its
# queue, which Lambda's SQS poller receives, deletes and returns with the function's role.
NOTIFIER_QUEUE_ACTIONS = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                          "sqs:ChangeMessageVisibility"}
NOTIFIER_TABLE_ACTIONS = {"dynamodb:GetItem", "dynamodb:PutItem"}
DEFAULT_BUS = {"Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default"}
# The guard is exempted by the exact ARNs of the roles that read bucket policies, never by the
# role path (a pattern would exempt any role someone creates on it: RULES.md, "Exemptions").
GUARD_ARNS = {"Fn::Join": [",", [{"Fn::GetAtt": ["BucketRuleRole", "Arn"]},
                                 {"Fn::GetAtt": ["ChangeWatcherRole", "Arn"]}]]}
REMEDIATOR_ARNS = {"Fn::If": ["RemediationEnabled", {"Fn::GetAtt": ["RemediatorRole", "Arn"]}, ""]}
NO_VALUE = {"Ref": "AWS::NoValue"}

# The manual trigger: what the SSM Automation step sends, and the sample event that is that
# payload for one bucket (a Rust test invokes the remediator with the file).
SSM_PAYLOAD = '{"bucket": "{{ BucketName }}", "trigger": "config-remediation"}'
SAMPLE_BUCKET = "amzn-s3-demo-bucket"
SAMPLE_PAYLOAD_FILE = os.path.join(ROOT, "events", "remediator-config-remediation.json")
# Where the remediator reads its environment (RemediatorSettings::from_env).
REMEDIATOR_CONFIG_SOURCE = os.path.join(ROOT, "shared", "src", "remedy", "remediator.rs")
# Where the change watcher reads its environment (WatcherSettings::from_env).
WATCHER_CONFIG_SOURCE = os.path.join(ROOT, "shared", "src", "watcher", "change_watcher.rs")
# The bucket rule's parameters as an environment (BucketParams::from_env), which both call,
# and the SSM parameters of the long settings (LongSettings::ENV).
PARAMS_ENV_SOURCE = os.path.join(ROOT, "shared", "src", "rules", "params.rs")
# The template parameter naming the SSM parameter of each long setting, by variable.
LONG_SETTINGS_PARAMETERS = {
    "APPROVED_VPCE_IDS_PARAMETER": "ApprovedVpceIdsParameter",
    "EXEMPT_PRINCIPAL_ARNS_PARAMETER": "ExemptPrincipalArnsParameter",
    "GUARD_PRINCIPAL_ARNS_PARAMETER": "GuardPrincipalArnsParameter",
}
# What the Config rule functions may write to Security Hub, when the export is on: their own
# product's findings, and the workflow of findings in the account's hub (docs/SECURITY-HUB.md).
SECURITY_HUB_WRITES = ("securityhub:BatchImportFindings", "securityhub:BatchUpdateFindings")
# Variables a function reads that the template leaves unset on purpose (read as empty).
UNSET_ON_PURPOSE = {
    # The remediator denies by endpoint id (aws:SourceVpce) only (docs/DEPLOY.md).
    "remediator": {"APPROVED_VPC_IDS"},
}

# The bucket rule's InputParameters each function's environment repeats, by variable.
RULE_PARAMETERS_BY_VARIABLE = {
    "APPROVED_VPCE_IDS": "ApprovedVpceIds",
    "APPROVED_VPC_IDS": "ApprovedVpcIds",
    "EXEMPT_PRINCIPAL_ARNS": "ExemptPrincipalArns",
    "GUARD_PRINCIPAL_ARNS": "GuardPrincipalArns",
    "REMEDIATOR_PRINCIPAL_ARNS": "RemediatorPrincipalArns",
    "REQUIRE_SIGV4": "RequireSigV4",
    "REQUIRE_TLS_VERSION": "RequireTlsVersion",
    "APPROVED_ENDPOINT_SCOPE": "ApprovedEndpointScope",
    "DISABLED_RULES": "DisabledRules",
}

# The keys the functions accept in InputParameters (shared::config::parse_rule_parameters).
RULE_PARAMETER_KEYS = {
    "ApprovedVpceIds",
    "ApprovedVpcIds",
    "ExemptPrincipalArns",
    "GuardPrincipalArns",
    "RemediatorPrincipalArns",
    "RequireSigV4",
    "RequireTlsVersion",
    "ApprovedEndpointScope",
    "DisabledRules",
}
INPUT_PARAMETERS_LIMIT = 1024  # AWS Config's limit on a rule's InputParameters

ISSUE_PARAMETERS = [
    "ApprovedVpceIds",
    "ApprovedVpcIds",
    "ExemptPrincipalArns",
    "RequireSigV4",
    "RequireTlsVersion",
    "DisabledRules",
    "EvaluationFrequency",
    "SlackWebhookSecretArn",
    "SlackDigestThreshold",
    "RemediationMode",
    "CentralEventBusArn",
    "ReservedConcurrency",
    "ApprovedVpceIdsParameter",
    "ExemptPrincipalArnsParameter",
    "GuardPrincipalArnsParameter",
    "RemediationHistoryRetentionDays",
    "AlarmTopicArn",
]
# Longest role name CloudFormation generates (<stack>-<LogicalId>-<suffix>, cut to 64).
ROLE_NAME_MAX = 64


def load_template():
    return cfn_yaml.load(TEMPLATE)


def iam_actions():
    """cfn-lint's copy of the Service Authorization Reference: service -> action -> resource types."""
    import cfnlint.data.AdditionalSpecs as specs

    with open(os.path.join(os.path.dirname(specs.__file__), "Policies.json"), encoding="utf-8") as f:
        return json.load(f)


def as_list(v):
    return v if isinstance(v, list) else [v]


def branches(v):
    """The values an Fn::If may take (both branches, nested, AWS::NoValue dropped)."""
    if isinstance(v, dict) and "Fn::If" in v:
        _, when, otherwise = v["Fn::If"]
        return branches(when) + branches(otherwise)
    return [] if v == NO_VALUE else [v]


def items(v):
    """A list property's elements, each Fn::If element replaced by the values it may take."""
    return [x for e in as_list(v) for x in branches(e)]


def policy_documents(props):
    """The inline policy documents of a role, conditional ones (Fn::If) included."""
    return [x["PolicyDocument"] for x in items(props.get("Policies", []))]


def merged_function(template, props):
    """A function's properties with the template's Globals.Function applied (as SAM does)."""
    out = dict(template.get("Globals", {}).get("Function", {}))
    for k, v in props.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = {**out[k], **v}
        else:
            out[k] = v
    return out


def getatt_target(value, attribute="Arn"):
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        target = target.split(".") if isinstance(target, str) else target
        if target[1] == attribute:
            return target[0]
    return None


def role_statements(template, role_id):
    """Every policy statement attached to a role: inline, and AWS::IAM::Policy/RolePolicy."""
    res = template["Resources"]
    docs = policy_documents(res[role_id]["Properties"])
    for other in res.values():
        if other["Type"] in ("AWS::IAM::Policy", "AWS::IAM::RolePolicy"):
            p = other["Properties"]
            roles = p.get("Roles", []) + ([p["RoleName"]] if "RoleName" in p else [])
            if {"Ref": role_id} in roles:
                docs.append(p["PolicyDocument"])
    return [s for d in docs for s in items(d["Statement"])]


def functions(template):
    for logical_id, res in template["Resources"].items():
        if res["Type"] == "AWS::Serverless::Function":
            yield logical_id, res, merged_function(template, res.get("Properties", {}))


ENV_NAME = r'(?:val|nonempty|get)\(\s*"([A-Z][A-Z0-9_]+)"'


def long_settings_variables():
    """The variables naming the SSM parameters of the long settings (LongSettings::ENV)."""
    with open(PARAMS_ENV_SOURCE, encoding="utf-8") as f:
        params = f.read()
    start = re.search(r"pub(?:\(crate\))? const ENV", params).start()
    body = params[start:params.index("];", start)]
    return set(re.findall(r'\("([A-Z][A-Z0-9_]+_PARAMETER)"', body))


def reads_long_settings(binary):
    """Does the function's init read the long settings from SSM (aws::ssm::load_long_settings)?"""
    with open(os.path.join(ROOT, "functions", binary, "src", "main.rs"), encoding="utf-8") as f:
        return "load_long_settings" in f.read()


def reads_mute_list(binary):
    """Does the function read the mute list (AwsClients::with_mute_parameter in its main.rs)?"""
    with open(os.path.join(ROOT, "functions", binary, "src", "main.rs"), encoding="utf-8") as f:
        text = f.read()
    return "with_mute_parameter(" in text and '"MUTED_RESOURCES_PARAMETER"' in text


def env_read_by(source, binary=None):
    """The environment variables a from_env reads: its own, BucketParams::from_env's, and the
    long settings' when the function's main.rs loads them."""
    with open(source, encoding="utf-8") as f:
        text = f.read()
    names = set(re.findall(ENV_NAME, text))
    if "BucketParams::from_env" in text:
        with open(PARAMS_ENV_SOURCE, encoding="utf-8") as f:
            params = f.read()
        start = re.search(r"pub(?:\(crate\))? fn from_env", params).start()
        body = params[start:params.index("\n    }\n", start)]
        names |= set(re.findall(ENV_NAME, body))
    if binary and reads_long_settings(binary):
        names |= long_settings_variables()
    if binary and reads_mute_list(binary):
        names.add("MUTED_RESOURCES_PARAMETER")
    return names


def render(value, params, pseudo, resources=None):
    """Resolve Ref and Fn::Sub of parameters and pseudo parameters, Fn::Join, Fn::If (its
    longest branch) and a role's Fn::GetAtt Arn (its longest generated name) to a string."""
    again = lambda v: render(v, params, pseudo, resources)  # noqa: E731
    if isinstance(value, str):
        return value
    if "Ref" in value:
        name = value["Ref"]
        return params[name] if name in params else pseudo[name]
    if "Fn::Sub" in value:
        return re.sub(r"\$\{([^}]+)\}", lambda m: params.get(m[1], pseudo.get(m[1], m[0])), value["Fn::Sub"])
    if "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join(again(x) for x in parts)
    if "Fn::If" in value:
        return max((again(x) for x in value["Fn::If"][1:]), key=len)
    role = getatt_target(value)
    if role and resources and resources.get(role, {}).get("Type") == "AWS::IAM::Role":
        path = resources[role]["Properties"].get("Path", "/")
        return f"arn:{pseudo['AWS::Partition']}:iam::{pseudo['AWS::AccountId']}:role{path}" + "r" * ROLE_NAME_MAX
    raise AssertionError(f"cannot render {value!r}")


def fill_ids(prefix, max_length):
    """A list of ids (prefix + 8 to 17 hex digits) exactly max_length long, as few ids as can
    be (the most characters per id, as real ids have 17 digits)."""
    shortest, longest = len(prefix) + 8, len(prefix) + 17
    for n in range(1, max_length + 1):
        total = max_length - (n - 1)
        if n * shortest <= total <= n * longest:
            lengths = [longest] * (total // longest) + ([total % longest] if total % longest else [])
            while len(lengths) < n:  # a remainder too short for one id: borrow from the others
                lengths[-1] -= 1
                lengths.append(1)
            while min(lengths) < shortest:
                i = lengths.index(min(lengths))
                j = lengths.index(max(lengths))
                lengths[i] += 1
                lengths[j] -= 1
            return ",".join(f"{prefix}{k:0{length - len(prefix)}x}" for k, length in enumerate(lengths))
    raise AssertionError(f"no list of {prefix} ids is {max_length} characters long")


class Template(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = load_template()
        cls.res = cls.t["Resources"]
        cls.params = cls.t["Parameters"]

    # -- parameters -------------------------------------------------------------------------
    def test_issue_parameters_and_conditions(self):
        for p in ISSUE_PARAMETERS:
            self.assertIn(p, self.params, p)
        self.assertEqual(self.params["RemediationMode"]["Default"], "DryRun")
        self.assertEqual(set(self.params["RemediationMode"]["AllowedValues"]), {"Disabled", "DryRun", "Enforce"})
        for p in ("SlackWebhookSecretArn", "CentralEventBusArn", "ReservedConcurrency",
                  "OrganizationPolicyRoleArn"):
            self.assertEqual(self.params[p]["Default"], "", f"{p}: empty must mean off")
        for c in ("HasSlackWebhook", "RemediationEnabled", "HasCentralEventBus", "HasReservedConcurrency",
                  "HasOrganizationPolicyRole"):
            self.assertIn(c, self.t["Conditions"], c)
        self.assertEqual(
            set(self.params["EvaluationFrequency"]["AllowedValues"]),
            {"One_Hour", "Three_Hours", "Six_Hours", "Twelve_Hours", "TwentyFour_Hours"},
        )

    # -- functions --------------------------------------------------------------------------
    def test_every_function_follows_the_conventions(self):
        seen = list(functions(self.t))
        self.assertGreaterEqual(len(seen), 2)
        roles = {}
        for fid, res, p in seen:
            with self.subTest(function=fid):
                self.assertEqual(p.get("Runtime"), "provided.al2023")
                self.assertEqual(p.get("Architectures"), ["arm64"])
                self.assertEqual(p.get("Handler"), "bootstrap")
                meta = res.get("Metadata", {})
                self.assertEqual(meta.get("BuildMethod"), "rust-cargolambda")
                binary = meta.get("BuildProperties", {}).get("Binary")
                self.assertIn(binary, CLASSES, f"classify binary {binary!r} in CLASSES")
                code = p.get("CodeUri")
                self.assertTrue(
                    isinstance(code, str) and os.path.isfile(os.path.join(ROOT, code, "Cargo.toml")),
                    f"CodeUri {code!r} is not a crate directory",
                )
                self.assertEqual(p.get("LoggingConfig", {}).get("LogFormat"), "JSON")
                group = p["LoggingConfig"].get("LogGroup", {}).get("Ref")
                self.assertIn(group, self.res, "LoggingConfig.LogGroup must Ref the function's log group")
                self.assertEqual(self.res[group]["Type"], "AWS::Logs::LogGroup")
                self.assertIn("RetentionInDays", self.res[group]["Properties"])
                on_failure = p.get("EventInvokeConfig", {}).get("DestinationConfig", {}).get("OnFailure")
                self.assertTrue(p.get("DeadLetterQueue") or on_failure, "no DLQ nor on-failure destination")
                self.assertEqual(
                    p.get("ReservedConcurrentExecutions"),
                    {"Fn::If": ["HasReservedConcurrency", {"Ref": "ReservedConcurrency"}, {"Ref": "AWS::NoValue"}]},
                    "reserved concurrency only through the optional ReservedConcurrency parameter",
                )
                self.assertNotIn("Policies", p, "no SAM policy templates: the function's own role only")
                role = getatt_target(p.get("Role"))
                self.assertIn(role, self.res, "Role must be !GetAtt <a role of this template>.Arn")
                self.assertEqual(self.res[role]["Type"], "AWS::IAM::Role")
                self.assertNotIn(role, roles, f"role {role} shared with {roles.get(role)}")
                roles[role] = fid
                rp = self.res[role]["Properties"]
                # Every function role on /vpce-guard/: the path the SCP of docs/ORG-ROLLOUT.md
                # protects (the guard is exempted by exact ARNs, never by the path).
                self.assertEqual(rp.get("Path"), "/vpce-guard/")
                self.assertNotIn("RoleName", rp, "generated role names (unique per region, never too long)")

    def test_no_managed_policies_and_no_wildcard_actions(self):
        spec = iam_actions()
        for rid, res in self.res.items():
            if res["Type"] not in ("AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::RolePolicy"):
                continue
            p = res["Properties"]
            with self.subTest(resource=rid):
                self.assertNotIn("ManagedPolicyArns", p, "no AWS managed policies")
                docs = policy_documents(p)
                docs += [p["PolicyDocument"]] if "PolicyDocument" in p else []
                for s in (s for d in docs for s in items(d["Statement"])):
                    self.assertEqual(s["Effect"], "Allow")
                    self.assertNotIn("NotAction", s)
                    self.assertNotIn("NotResource", s)
                    for a in as_list(s["Action"]):
                        self.assertNotEqual(a, "*")
                        service, _, name = a.partition(":")
                        self.assertNotIn("*", name, f"{a}: name every action")
                        known = spec.get(service, {}).get("Actions", {})
                        self.assertIn(name.lower(), known, f"{a}: not an IAM action")
                        if "*" in as_list(s["Resource"]):
                            self.assertFalse(
                                known[name.lower()].get("Resources"),
                                f"{a} supports resource-level permissions: scope its Resource",
                            )

    def test_permissions_by_function_class(self):
        for fid, res, p in functions(self.t):
            cls = CLASSES[res["Metadata"]["BuildProperties"]["Binary"]]
            role = getatt_target(p["Role"])
            group = p["LoggingConfig"]["LogGroup"]["Ref"]
            for s in role_statements(self.t, role):
                for a in as_list(s["Action"]):
                    with self.subTest(function=fid, action=a):
                        verb = a.partition(":")[2]
                        if a in BUCKET_POLICY_WRITES:
                            self.assertEqual(cls, "remediator", f"{a} only on the remediator")
                        if a == "config:PutEvaluations":
                            self.assertEqual(cls, "rule", f"{a} only on the Config rule functions")
                        if a == "secretsmanager:GetSecretValue":
                            self.assertEqual(cls, "notifier", f"{a} only on the notifier")
                        if a.startswith("logs:"):
                            self.assertIn(a, HOUSEKEEPING)
                            self.assertEqual(as_list(s["Resource"]), [{"Fn::GetAtt": [group, "Arn"]}],
                                             "logs only to the function's own log group")
                        if a == "sqs:SendMessage" and cls in ("rule", "evaluator", "notifier"):
                            for r in as_list(s["Resource"]):
                                q = getatt_target(r)
                                self.assertEqual(self.res.get(q, {}).get("Type"), "AWS::SQS::Queue",
                                                 "a read-only function sends only to the template's queues")
                        if a == "sts:AssumeRole":
                            self.assertIn(cls, ("rule", "evaluator", "remediator"),
                                          f"{a}: only the evaluators and the remediator")
                            self.assertEqual(as_list(s["Resource"]), [{"Ref": "OrganizationPolicyRoleArn"}],
                                             "only the organization-policy role the stack names")
                        if cls in ("rule", "evaluator"):
                            allowed = a in HOUSEKEEPING or verb.startswith(READ_VERBS) or (
                                cls == "rule" and a == "config:PutEvaluations") or (
                                cls == "rule" and a in SECURITY_HUB_WRITES) or (
                                cls == "evaluator" and a in EVALUATOR_WRITES) or (
                                a == "sts:AssumeRole")
                            self.assertTrue(allowed, f"{a}: evaluators are read-only")
                            if a == "events:PutEvents":
                                self.assertEqual(as_list(s["Resource"]), [DEFAULT_BUS],
                                                 "findings only on the stack's bus (the default bus)")
                        if cls == "notifier":
                            allowed = (a in HOUSEKEEPING or a in NOTIFIER_QUEUE_ACTIONS
                                       or a in NOTIFIER_TABLE_ACTIONS or verb.startswith(READ_VERBS))
                            self.assertTrue(allowed, f"{a}: the notifier writes its state and messages only")
                            self.assertFalse(a.startswith(("s3:", "ec2:", "config:", "events:")),
                                             f"{a}: the notifier reads events, never buckets or networks")
                            if a in NOTIFIER_QUEUE_ACTIONS:
                                for r in as_list(s["Resource"]):
                                    self.assertEqual(self.res.get(getatt_target(r), {}).get("Type"),
                                                     "AWS::SQS::Queue", f"{a}: only the template's queues")
                            if a in NOTIFIER_TABLE_ACTIONS:
                                for r in as_list(s["Resource"]):
                                    self.assertEqual(self.res.get(getatt_target(r), {}).get("Type"),
                                                     "AWS::DynamoDB::Table", f"{a}: only the template's table")
                        if cls == "route-usage":
                            allowed = (a in HOUSEKEEPING or a in NOTIFIER_QUEUE_ACTIONS
                                       or a in ("ec2:DescribeVpcEndpoints", "organizations:DescribeOrganization",
                                                "organizations:ListAccounts",
                                                "ssm:GetParameter", "events:PutEvents"))
                            self.assertTrue(allowed, f"{a}: route usage reads its queue and endpoints, "
                                                     "publishes events, nothing else")
                            self.assertFalse(a.startswith(("s3:", "config:", "dynamodb:")),
                                             f"{a}: route usage reads CloudTrail records, never buckets")
                            if a in NOTIFIER_QUEUE_ACTIONS:
                                self.assertEqual(as_list(s["Resource"]),
                                                 [{"Fn::GetAtt": ["RouteUsageQueue", "Arn"]}],
                                                 f"{a}: its own queue only")
                            if a == "events:PutEvents":
                                self.assertEqual(as_list(s["Resource"]), [DEFAULT_BUS],
                                                 "route usage only on the stack's bus (the default bus)")
                        if cls == "remediator":
                            allowed = (a in HOUSEKEEPING or a in REMEDIATOR_WRITES or verb.startswith(READ_VERBS)
                                       or a == "sts:AssumeRole")
                            self.assertTrue(allowed, f"{a}: the remediator writes bucket policies, events "
                                                     "and its history only")
                            if a.startswith("dynamodb:"):
                                self.assertIn(a, HISTORY_TABLE_ACTIONS)
                                self.assertEqual(as_list(s["Resource"]), [{"Fn::GetAtt": [HISTORY_TABLE, "Arn"]}],
                                                 f"{a}: the history table only")
                            if a == "sqs:SendMessage":
                                for r in as_list(s["Resource"]):
                                    self.assertEqual(self.res.get(getatt_target(r), {}).get("Type"),
                                                     "AWS::SQS::Queue", "dead letters only to the template's queues")
                            if a == "events:PutEvents":
                                self.assertEqual(as_list(s["Resource"]), [DEFAULT_BUS],
                                                 "Remediation events only on the stack's bus (the default bus)")
                            if a.startswith("s3:") and a != "s3:ListAllMyBuckets":
                                self.assertEqual(as_list(s["Resource"]),
                                                 [{"Fn::Sub": "arn:${AWS::Partition}:s3:::*"}],
                                                 f"{a}: buckets only, never objects")

    def test_slack_secret_readable_by_the_notifier_only(self):
        for rid, res in self.res.items():
            if res["Type"] != "AWS::IAM::Role":
                continue
            owners = [b for fid, r, p in functions(self.t) if getatt_target(p["Role"]) == rid
                      for b in [r["Metadata"]["BuildProperties"]["Binary"]]]
            for s in role_statements(self.t, rid):
                if "secretsmanager:GetSecretValue" in as_list(s["Action"]):
                    self.assertTrue(owners and CLASSES[owners[0]] == "notifier", rid)
                    self.assertEqual(as_list(s["Resource"]), [{"Ref": "SlackWebhookSecretArn"}], rid)

    # -- the remediator ---------------------------------------------------------------------
    def remediator(self):
        found = [(fid, res, p) for fid, res, p in functions(self.t)
                 if CLASSES[res["Metadata"]["BuildProperties"]["Binary"]] == "remediator"]
        self.assertEqual(len(found), 1, "one remediator function")
        return found[0]

    def of_type(self, type_):
        return {k: v for k, v in self.res.items() if v["Type"] == type_}

    def test_remediator_exists_only_when_remediation_is_enabled(self):
        fid, res, p = self.remediator()
        self.assertEqual(self.t["Conditions"]["RemediationEnabled"],
                         {"Fn::Not": [{"Fn::Equals": [{"Ref": "RemediationMode"}, "Disabled"]}]})
        role = getatt_target(p["Role"])
        parts = {fid, role, p["LoggingConfig"]["LogGroup"]["Ref"]}
        parts |= set(self.of_type("AWS::SSM::Document")) | set(self.of_type("AWS::Config::RemediationConfiguration"))
        # Everything that names the function (its triggers, their permissions, the automation role).
        for rid, r in self.res.items():
            text = json.dumps(r)
            if f'"{fid}"' in text or f'"{fid}.Arn"' in text:
                parts.add(rid)
        parts.discard("FailedEventsQueuePolicy")  # names the triggers inside !If RemediationEnabled
        for rid in sorted(parts):
            with self.subTest(resource=rid):
                self.assertEqual(self.res[rid].get("Condition"), "RemediationEnabled")
        for name, out in self.t["Outputs"].items():
            if "Remediator" in name:
                self.assertEqual(out.get("Condition"), "RemediationEnabled", name)

    def test_remediator_environment_is_the_bucket_rules_configuration(self):
        fid, res, p = self.remediator()
        env = p.get("Environment", {}).get("Variables", {})
        read = env_read_by(REMEDIATOR_CONFIG_SOURCE, res["Metadata"]["BuildProperties"]["Binary"])
        self.assertGreaterEqual(len(read), 10, f"environment names not found in {REMEDIATOR_CONFIG_SOURCE}")
        self.assertEqual(set(env), read - UNSET_ON_PURPOSE["remediator"],
                         "set exactly the variables the remediator reads")
        rule = self.res["BucketRule"]["Properties"]["InputParameters"]
        same = {
            "APPROVED_VPCE_IDS": "ApprovedVpceIds",
            "EXEMPT_PRINCIPAL_ARNS": "ExemptPrincipalArns",
            "GUARD_PRINCIPAL_ARNS": "GuardPrincipalArns",
            "REQUIRE_SIGV4": "RequireSigV4",
            "REQUIRE_TLS_VERSION": "RequireTlsVersion",
            "DISABLED_RULES": "DisabledRules",
        }
        for var, key in same.items():
            self.assertEqual(env[var], rule[key], f"{var}: the bucket rule's {key}")
        self.assertEqual(env["GUARD_PRINCIPAL_ARNS"], GUARD_ARNS)
        # The function exists only when its role does: its own ARN, no condition needed.
        self.assertEqual(env["REMEDIATOR_PRINCIPAL_ARNS"], {"Fn::GetAtt": [getatt_target(p["Role"]), "Arn"]})
        self.assertEqual(branches(rule["RemediatorPrincipalArns"])[0], env["REMEDIATOR_PRINCIPAL_ARNS"])
        self.assertEqual(env["HISTORY_TABLE_NAME"], {"Ref": HISTORY_TABLE})
        self.assertEqual(env["HISTORY_RETENTION_DAYS"], {"Ref": "RemediationHistoryRetentionDays"})
        self.assertEqual(env["REMEDIATION_MODE"], {"Ref": "RemediationMode"})
        self.assertEqual(env["BUCKET_RULE_NAME"], {"Ref": "BucketRule"})
        self.assertEqual(env["EVENT_BUS_NAME"], "", "the default bus (its ARN is the one PutEvents may use)")
        self.assertEqual(env["CALLER_PRINCIPAL_ARN"], {"Fn::GetAtt": [getatt_target(p["Role"]), "Arn"]},
                         "the function's own role ARN, with its /vpce-guard/ path")

    def test_remediator_triggers(self):
        fid, res, p = self.remediator()
        rules = {rid: r for rid, r in self.of_type("AWS::Events::Rule").items()
                 if any(getatt_target(t["Arn"]) == fid for t in r["Properties"]["Targets"])}
        patterns = {}
        for rid, r in rules.items():
            with self.subTest(rule=rid):
                rp = r["Properties"]
                self.assertNotIn("EventBusName", rp, "the stack's bus is the default bus")
                self.assertEqual(rp.get("State"), "ENABLED")
                (target,) = rp["Targets"]
                self.assertEqual(self.res[getatt_target(target["DeadLetterConfig"]["Arn"])]["Type"],
                                 "AWS::SQS::Queue")
                self.assertIn("RetryPolicy", target)
                perms = [x["Properties"] for x in self.of_type("AWS::Lambda::Permission").values()
                         if getatt_target(x["Properties"].get("SourceArn")) == rid]
                self.assertEqual(len(perms), 1, "one invoke permission per rule, scoped to it")
                self.assertEqual(perms[0]["Principal"], "events.amazonaws.com")
                self.assertEqual(getatt_target(perms[0]["FunctionName"]), fid)
                patterns[json.dumps(rp["EventPattern"]["detail-type"])] = rp["EventPattern"]
        self.assertEqual(len(patterns), 2, "findings and Config compliance changes")
        # Only this account's events: a central stack also receives members' findings.
        self.assertEqual(patterns['["vpce-guard Finding"]'], {
            "account": [{"Ref": "AWS::AccountId"}],
            "source": ["vpce-guard"],
            "detail-type": ["vpce-guard Finding"],
            "detail": {"resource_type": ["AWS::S3::Bucket"], "compliance": ["NON_COMPLIANT"]},
        })
        self.assertEqual(patterns['["Config Rules Compliance Change"]'], {
            "account": [{"Ref": "AWS::AccountId"}],
            "source": ["aws.config"],
            "detail-type": ["Config Rules Compliance Change"],
            "detail": {
                "configRuleName": [{"Ref": "BucketRule"}],
                "resourceType": ["AWS::S3::Bucket"],
                "newEvaluationResult": {"complianceType": ["NON_COMPLIANT"]},
            },
        })
        # The dead-letter queue admits exactly these rules (besides the forwarding rules).
        admitted = []
        for s in self.res["FailedEventsQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]:
            if "Fn::If" in s and s["Fn::If"][0] == "RemediationEnabled":
                admitted += [getatt_target(a) for a in
                             as_list(s["Fn::If"][1]["Condition"]["ArnEquals"]["aws:SourceArn"])]
        self.assertEqual(sorted(admitted), sorted(rules))

    def test_ssm_document_invokes_the_remediator_with_the_sample_payload(self):
        fid, res, p = self.remediator()
        docs = self.of_type("AWS::SSM::Document")
        self.assertEqual(len(docs), 1)
        (doc,) = docs.values()
        self.assertEqual(doc["Properties"]["DocumentType"], "Automation")
        c = doc["Properties"]["Content"]
        self.assertEqual(c["schemaVersion"], "0.3")
        self.assertEqual(c["assumeRole"], "{{ AutomationAssumeRole }}")
        self.assertEqual(set(c["parameters"]), {"BucketName", "AutomationAssumeRole"})
        for name, spec in c["parameters"].items():
            self.assertEqual(spec["type"], "String", name)
        bucket_pattern = c["parameters"]["BucketName"].get("allowedPattern")
        if bucket_pattern:
            self.assertRegex(SAMPLE_BUCKET, bucket_pattern)
            self.assertNotRegex('a", "trigger": "x', bucket_pattern)
        (step,) = c["mainSteps"]
        self.assertEqual(step["action"], "aws:invokeLambdaFunction")
        inputs = step["inputs"]
        self.assertIn(getatt_target(inputs["FunctionName"]) or inputs["FunctionName"].get("Ref"), [fid])
        self.assertEqual(inputs.get("InvocationType"), "RequestResponse")
        self.assertEqual(inputs["Payload"], SSM_PAYLOAD)
        # The sample event is that payload for one bucket, byte for byte (one trailing newline).
        with open(SAMPLE_PAYLOAD_FILE, encoding="utf-8") as f:
            sample = f.read()
        rendered = inputs["Payload"].replace("{{ BucketName }}", SAMPLE_BUCKET)
        self.assertEqual(sample.rstrip("\n"), rendered)
        self.assertEqual(json.loads(sample), {"bucket": SAMPLE_BUCKET, "trigger": "config-remediation"})

    def test_automation_role_may_only_invoke_the_remediator(self):
        fid, res, p = self.remediator()
        (conf,) = self.of_type("AWS::Config::RemediationConfiguration").values()
        role = getatt_target(conf["Properties"]["Parameters"]["AutomationAssumeRole"]["StaticValue"]["Values"][0])
        rp = self.res[role]["Properties"]
        (trust,) = rp["AssumeRolePolicyDocument"]["Statement"]
        self.assertEqual(trust["Principal"], {"Service": "ssm.amazonaws.com"})
        self.assertEqual(trust["Action"], "sts:AssumeRole")
        self.assertEqual(trust["Condition"]["StringEquals"]["aws:SourceAccount"], {"Ref": "AWS::AccountId"})
        statements = role_statements(self.t, role)
        self.assertEqual(len(statements), 1)
        self.assertEqual(as_list(statements[0]["Action"]), ["lambda:InvokeFunction"])
        self.assertEqual(as_list(statements[0]["Resource"]), [{"Fn::GetAtt": [fid, "Arn"]}])
        self.assertNotEqual(rp.get("Path"), "/vpce-guard/", "no guard principal: it never reads a bucket")

    def test_config_remediation_is_automatic_only_in_enforce(self):
        (conf,) = self.of_type("AWS::Config::RemediationConfiguration").values()
        cp = conf["Properties"]
        self.assertEqual(cp["ConfigRuleName"], {"Ref": "BucketRule"})
        self.assertEqual(cp["TargetType"], "SSM_DOCUMENT")
        doc = cp["TargetId"]["Ref"]
        self.assertEqual(self.res[doc]["Type"], "AWS::SSM::Document")
        self.assertEqual(cp["Parameters"]["BucketName"], {"ResourceValue": {"Value": "RESOURCE_ID"}})
        self.assertIn("StaticValue", cp["Parameters"]["AutomationAssumeRole"])
        cond, when, otherwise = cp["Automatic"]["Fn::If"]
        self.assertEqual(self.t["Conditions"][cond], {"Fn::Equals": [{"Ref": "RemediationMode"}, "Enforce"]})
        self.assertEqual((when, otherwise), (True, False))
        self.assertTrue(1 <= cp["MaximumAutomaticAttempts"] <= 25)
        self.assertTrue(1 <= cp["RetryAttemptSeconds"] <= 2678000)

    # -- the change watcher -----------------------------------------------------------------
    def function_of_class(self, cls):
        found = [(fid, res, p) for fid, res, p in functions(self.t)
                 if CLASSES[res["Metadata"]["BuildProperties"]["Binary"]] == cls]
        self.assertEqual(len(found), 1, f"one {cls} function")
        return found[0]

    def rules_targeting(self, logical_id):
        return {rid: r for rid, r in self.of_type("AWS::Events::Rule").items()
                if any(getatt_target(t["Arn"]) == logical_id for t in r["Properties"]["Targets"])}

    def admitted_dead_letters(self, condition=None):
        """The rules FailedEventsQueuePolicy admits, unconditionally or under `condition`."""
        admitted = []
        for s in self.res["FailedEventsQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]:
            if "Fn::If" in s:
                if s["Fn::If"][0] != condition:
                    continue
                s = s["Fn::If"][1]
            elif condition is not None or s["Effect"] != "Allow":
                continue
            admitted += [getatt_target(a) for a in as_list(s["Condition"]["ArnEquals"]["aws:SourceArn"])]
        return admitted

    def assert_target_has_dead_letters_and_retries(self, target):
        self.assertEqual(getatt_target(target["DeadLetterConfig"]["Arn"]), "FailedEventsQueue")
        retry = target["RetryPolicy"]
        self.assertGreater(retry["MaximumEventAgeInSeconds"], 0)
        self.assertGreater(retry["MaximumRetryAttempts"], 0)

    def test_change_watcher_is_always_deployed(self):
        fid, res, p = self.function_of_class("evaluator")
        self.assertEqual(res["Metadata"]["BuildProperties"]["Binary"], "change-watcher")
        role = getatt_target(p["Role"])
        for rid in (fid, role, p["LoggingConfig"]["LogGroup"]["Ref"], *self.rules_targeting(fid)):
            self.assertNotIn("Condition", self.res[rid], rid)
        for name in ("ChangeWatcherFunctionName", "ChangeWatcherLogGroupName"):
            self.assertIn(name, self.t["Outputs"])
            self.assertNotIn("Condition", self.t["Outputs"][name], name)

    def test_change_watcher_rule_matches_exactly_the_watched_api_calls(self):
        fid, res, p = self.function_of_class("evaluator")
        rules = self.rules_targeting(fid)
        self.assertEqual(len(rules), 1, "one rule: the CloudTrail management events")
        ((rid, rule),) = rules.items()
        rp = rule["Properties"]
        self.assertNotIn("EventBusName", rp, "CloudTrail puts these events on the default bus")
        self.assertEqual(rp.get("State"), "ENABLED")
        pattern = rp["EventPattern"]
        self.assertEqual(set(pattern), {"source", "detail-type", "detail"})
        self.assertEqual(sorted(pattern["source"]), ["aws.ec2", "aws.s3"])
        self.assertEqual(pattern["detail-type"], ["AWS API Call via CloudTrail"])
        self.assertEqual(set(pattern["detail"]), {"eventSource", "eventName"})
        self.assertEqual(sorted(pattern["detail"]["eventSource"]), ["ec2.amazonaws.com", "s3.amazonaws.com"])
        names = pattern["detail"]["eventName"]
        self.assertEqual(len(names), len(set(names)), "each API call once")
        # The names themselves are the watcher's table (shared/src/watcher/mod.rs,
        # WATCHED_CALLS): shared/tests/watched_calls.rs checks the two agree, both ways.
        (target,) = rp["Targets"]
        self.assertNotIn("InputTransformer", target, "the watcher reads the CloudTrail event as it is")
        self.assert_target_has_dead_letters_and_retries(target)
        perms = [x["Properties"] for x in self.of_type("AWS::Lambda::Permission").values()
                 if getatt_target(x["Properties"].get("SourceArn")) == rid]
        self.assertEqual(len(perms), 1, "one invoke permission, scoped to the rule")
        self.assertEqual(perms[0]["Principal"], "events.amazonaws.com")
        self.assertEqual(perms[0]["SourceAccount"], {"Ref": "AWS::AccountId"})
        self.assertEqual(getatt_target(perms[0]["FunctionName"]), fid)
        self.assertIn(rid, self.admitted_dead_letters(), "the dead-letter queue admits the rule")

    def test_change_watcher_environment_is_the_bucket_rules_configuration(self):
        fid, res, p = self.function_of_class("evaluator")
        env = p.get("Environment", {}).get("Variables", {})
        read = env_read_by(WATCHER_CONFIG_SOURCE, res["Metadata"]["BuildProperties"]["Binary"])
        self.assertGreaterEqual(len(read), 8, f"environment names not found in {WATCHER_CONFIG_SOURCE}")
        self.assertEqual(set(env), read, "set exactly the variables the watcher reads")
        rule = self.res["BucketRule"]["Properties"]["InputParameters"]
        for var, key in RULE_PARAMETERS_BY_VARIABLE.items():
            self.assertEqual(env[var], rule[key], f"{var}: the bucket rule's {key}")
        self.assertEqual(env["GUARD_PRINCIPAL_ARNS"], GUARD_ARNS)
        self.assertEqual(env["REMEDIATOR_PRINCIPAL_ARNS"], REMEDIATOR_ARNS)
        self.assertEqual(env["EVENT_BUS_NAME"], "", "the default bus (its ARN is the one PutEvents may use)")

    # -- the Slack notifier -----------------------------------------------------------------
    def notifier(self):
        fid, res, p = self.function_of_class("notifier")
        self.assertEqual(res["Metadata"]["BuildProperties"]["Binary"], "slack-notifier")
        return fid, res, p

    def notifier_queue(self):
        fid, res, p = self.notifier()
        ((name, event),) = p["Events"].items()
        return getatt_target(event["Properties"]["Queue"])

    def test_notifier_exists_only_with_a_slack_webhook(self):
        fid, res, p = self.notifier()
        self.assertEqual(self.t["Conditions"]["HasSlackWebhook"],
                         {"Fn::Not": [{"Fn::Equals": [{"Ref": "SlackWebhookSecretArn"}, ""]}]})
        queue = self.notifier_queue()
        dlq = getatt_target(self.res[queue]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
        parts = {fid, getatt_target(p["Role"]), p["LoggingConfig"]["LogGroup"]["Ref"], queue, dlq}
        parts |= set(self.rules_targeting(queue))
        parts.add(p["Environment"]["Variables"]["STATE_TABLE_NAME"]["Ref"])
        # Everything that names the function, its queue, its rules or its table.
        while True:
            more = {rid for rid, r in self.res.items() if rid not in parts and any(
                f'"{x}"' in json.dumps(r) or f'"{x}.Arn"' in json.dumps(r) for x in parts)}
            more.discard("FailedEventsQueuePolicy")  # names the rules inside !If HasSlackWebhook
            if not more:
                break
            parts |= more
        self.assertGreaterEqual(len(parts), 9)
        for rid in sorted(parts):
            with self.subTest(resource=rid):
                # The route usage rule also needs the route-usage function (RouteUsageNotified
                # is RouteUsageEnabled and HasSlackWebhook).
                want = "RouteUsageNotified" if rid == "NotifyRouteUsageRule" else "HasSlackWebhook"
                self.assertEqual(self.res[rid].get("Condition"), want)
        wanted = {"SlackNotifierFunctionName", "NotificationsQueueUrl", "NotificationsDeadLetterQueueUrl",
                  "NotificationStateTableName"}
        self.assertLessEqual(wanted, set(self.t["Outputs"]))
        for name, out in self.t["Outputs"].items():
            if name in wanted or "Notif" in name:
                self.assertEqual(out.get("Condition"), "HasSlackWebhook", name)

    def test_notifier_reads_its_queue_in_batches_with_partial_failures(self):
        fid, res, p = self.notifier()
        events = p.get("Events", {})
        self.assertEqual(len(events), 1, "the notifier's only trigger is its queue")
        ((name, event),) = events.items()
        self.assertEqual(event["Type"], "SQS")
        ep = event["Properties"]
        self.assertEqual(self.res[getatt_target(ep["Queue"])]["Type"], "AWS::SQS::Queue")
        self.assertIn("ReportBatchItemFailures", ep.get("FunctionResponseTypes", []),
                      "a failed message is retried alone, not its whole batch")
        window = ep.get("MaximumBatchingWindowInSeconds", 0)
        self.assertTrue(1 <= window <= 300, "a batching window (Lambda requires one above 10 messages)")
        self.assertTrue(1 <= ep["BatchSize"] <= 10000)
        # Lambda's advice: the queue's visibility timeout at least six times the function's.
        qp = self.res[getatt_target(ep["Queue"])]["Properties"]
        self.assertGreaterEqual(qp["VisibilityTimeout"], 6 * p["Timeout"])
        self.assertFalse([k for k, v in self.of_type("AWS::Lambda::Permission").items()
                          if getatt_target(v["Properties"].get("FunctionName")) == fid],
                         "nothing else invokes the notifier (its poller needs no permission)")

    def test_notifications_queue_has_a_redrive_policy(self):
        queue = self.notifier_queue()
        qp = self.res[queue]["Properties"]
        self.assertTrue(qp.get("SqsManagedSseEnabled") or qp.get("KmsMasterKeyId"), "encrypted at rest")
        redrive = qp["RedrivePolicy"]
        dlq = getatt_target(redrive["deadLetterTargetArn"])
        self.assertEqual(self.res[dlq]["Type"], "AWS::SQS::Queue")
        self.assertNotEqual(dlq, "FailedEventsQueue", "the notifications' own dead-letter queue")
        self.assertTrue(1 <= int(redrive["maxReceiveCount"]) <= 10)
        dp = self.res[dlq]["Properties"]
        self.assertTrue(dp.get("SqsManagedSseEnabled") or dp.get("KmsMasterKeyId"), "encrypted at rest")
        # A message keeps its enqueue time when it moves: the dead-letter queue must keep it longer.
        self.assertGreater(dp["MessageRetentionPeriod"], qp["MessageRetentionPeriod"])
        self.assertEqual(qp["MessageRetentionPeriod"], 4 * 86400)
        self.assertEqual(dp["MessageRetentionPeriod"], 14 * 86400)

    def test_notification_rules(self):
        queue = self.notifier_queue()
        rules = self.rules_targeting(queue)
        patterns = {}
        for rid, r in rules.items():
            with self.subTest(rule=rid):
                rp = r["Properties"]
                self.assertNotIn("EventBusName", rp, "the stack's bus is the default bus")
                self.assertEqual(rp.get("State"), "ENABLED")
                (target,) = rp["Targets"]
                for k in ("Input", "InputPath", "InputTransformer"):
                    self.assertNotIn(k, target, "the whole event is the message body")
                self.assert_target_has_dead_letters_and_retries(target)
                patterns[json.dumps(rp["EventPattern"]["detail-type"])] = rp["EventPattern"]
        self.assertEqual(patterns, {
            '["vpce-guard Finding"]': {"source": ["vpce-guard"], "detail-type": ["vpce-guard Finding"]},
            '["Config Rules Compliance Change"]': {
                "source": ["aws.config"],
                "detail-type": ["Config Rules Compliance Change"],
                "detail": {"configRuleName": [{"Ref": "BucketRule"}, {"Ref": "NetworkRule"}]},
            },
            # The route-usage function's aggregates (RouteUsageMonitoring).
            '["vpce-guard Route Usage"]': {"source": ["vpce-guard"], "detail-type": ["vpce-guard Route Usage"]},
            # The stack's alarms (all named ${AWS::StackName}-...), ALARM and back to OK.
            '["CloudWatch Alarm State Change"]': {
                "source": ["aws.cloudwatch"],
                "detail-type": ["CloudWatch Alarm State Change"],
                "detail": {"alarmName": [{"prefix": {"Fn::Sub": "${AWS::StackName}-"}}]},
            },
        })
        # The queue admits exactly these rules, from EventBridge, over TLS only.
        (policy,) = [r["Properties"] for r in self.of_type("AWS::SQS::QueuePolicy").values()
                     if r["Properties"]["Queues"] == [{"Ref": queue}]]
        statements = [s["Fn::If"][1] if "Fn::If" in s else s for s in policy["PolicyDocument"]["Statement"]]
        allows = [s for s in statements if s["Effect"] == "Allow"]
        admitted = []
        for allow in allows:
            self.assertEqual(allow["Principal"], {"Service": "events.amazonaws.com"})
            self.assertEqual(allow["Action"], "sqs:SendMessage")
            admitted += [getatt_target(a) for a in as_list(allow["Condition"]["ArnEquals"]["aws:SourceArn"])]
        self.assertEqual(sorted(admitted), sorted(rules))
        self.assertTrue(any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
                            for s in policy["PolicyDocument"]["Statement"]))
        # Their dead letters: FailedEventsQueue admits exactly them, under HasSlackWebhook (and
        # the route usage one under RouteUsageNotified).
        self.assertEqual(sorted(self.admitted_dead_letters("HasSlackWebhook")
                                + self.admitted_dead_letters("RouteUsageNotified")), sorted(rules))
        self.assertEqual(self.res["NotifyRouteUsageRule"]["Condition"], "RouteUsageNotified")

    # -- route usage (RouteUsageMonitoring) -------------------------------------------------
    def test_route_usage_exists_only_when_enabled(self):
        self.assertEqual(self.params["RouteUsageMonitoring"]["Default"], "Disabled")
        self.assertEqual(self.t["Conditions"]["RouteUsageEnabled"],
                         {"Fn::Equals": [{"Ref": "RouteUsageMonitoring"}, "Enabled"]})
        fid, res, p = self.function_of_class("route-usage")
        self.assertEqual(res.get("Condition"), "RouteUsageEnabled")
        for rid, r in self.res.items():
            if rid.startswith("RouteUsage"):
                self.assertIn(r.get("Condition"), ("RouteUsageEnabled",), rid)
        self.assertRegex("amzn-s3-demo-private,logs.example.com", self.params["RouteUsageBuckets"]["AllowedPattern"])
        self.assertNotRegex("Bad_Bucket", self.params["RouteUsageBuckets"]["AllowedPattern"])

    def test_route_usage_rule_takes_data_events_and_endpoint_refusals_only(self):
        (rule_id,) = self.rules_targeting("RouteUsageQueue")
        rp = self.res[rule_id]["Properties"]
        self.assertNotIn("EventBusName", rp, "CloudTrail delivers to the default bus")
        self.assertEqual(rp["EventPattern"], {
            "source": ["aws.s3"],
            "$or": [
                {"detail-type": ["AWS API Call via CloudTrail"], "detail": {"eventCategory": ["Data"]}},
                {"detail-type": ["AWS Network Activity Event via CloudTrail"],
                 "detail": {"errorCode": ["VpceAccessDenied"]}},
            ],
        })
        (target,) = rp["Targets"]
        self.assert_target_has_dead_letters_and_retries(target)
        self.assertEqual(self.admitted_dead_letters("RouteUsageEnabled"), [rule_id])
        (policy,) = [r["Properties"] for r in self.of_type("AWS::SQS::QueuePolicy").values()
                     if r["Properties"]["Queues"] == [{"Ref": "RouteUsageQueue"}]]
        (allow,) = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
        self.assertEqual(allow["Condition"]["ArnEquals"]["aws:SourceArn"], {"Fn::GetAtt": [rule_id, "Arn"]})

    def test_route_usage_reads_its_queue_in_batches_and_has_the_rules_settings(self):
        fid, res, p = self.function_of_class("route-usage")
        ((name, event),) = p["Events"].items()
        ep = event["Properties"]
        self.assertEqual(getatt_target(ep["Queue"]), "RouteUsageQueue")
        self.assertIn("ReportBatchItemFailures", ep["FunctionResponseTypes"])
        self.assertTrue(1 <= ep["MaximumBatchingWindowInSeconds"] <= 300)
        qp = self.res["RouteUsageQueue"]["Properties"]
        self.assertGreaterEqual(qp["VisibilityTimeout"], 6 * p["Timeout"])
        self.assertEqual(getatt_target(qp["RedrivePolicy"]["deadLetterTargetArn"]), "RouteUsageDeadLetterQueue")
        env = p["Environment"]["Variables"]
        for var, param in [("APPROVED_VPCE_IDS", "ApprovedVpceIds"), ("APPROVED_VPC_IDS", "ApprovedVpcIds"),
                           ("EXEMPT_PRINCIPAL_ARNS", "ExemptPrincipalArns"),
                           ("APPROVED_ENDPOINT_SCOPE", "ApprovedEndpointScope"),
                           ("ROUTE_USAGE_BUCKETS", "RouteUsageBuckets")]:
            self.assertEqual(env[var], {"Ref": param}, var)
        # Every variable the library reads for it is set (RouteUsageSettings::from_env and the
        # BucketParams it reads through).
        src = open(os.path.join(ROOT, "shared/src/watcher/route_usage/mod.rs")).read()
        for var in re.findall(r'get\("([A-Z_]+)"\)', src):
            self.assertIn(var, env, var)

    def test_notification_state_table(self):
        fid, res, p = self.notifier()
        env = p["Environment"]["Variables"]
        table = env["STATE_TABLE_NAME"]["Ref"]
        t = self.res[table]
        self.assertEqual(t["Type"], "AWS::DynamoDB::Table")
        tp = t["Properties"]
        self.assertEqual(tp["BillingMode"], "PAY_PER_REQUEST")
        self.assertEqual(tp["KeySchema"], [{"AttributeName": "pk", "KeyType": "HASH"}])
        self.assertEqual(tp["AttributeDefinitions"], [{"AttributeName": "pk", "AttributeType": "S"}])
        self.assertEqual(tp["TimeToLiveSpecification"], {"AttributeName": "expires_at", "Enabled": True})
        self.assertEqual(tp["SSESpecification"].get("SSEEnabled"), True)
        self.assertEqual(tp["PointInTimeRecoverySpecification"].get("PointInTimeRecoveryEnabled"), True)
        self.assertEqual((t.get("DeletionPolicy"), t.get("UpdateReplacePolicy")), ("Delete", "Delete"),
                         "a cache of what was sent: nothing to retain")
        # Only the notifier's role reaches it, with GetItem and PutItem, and only it.
        for rid in self.of_type("AWS::IAM::Role"):
            for s in role_statements(self.t, rid):
                if rid == getatt_target(p["Role"]) and any(a.startswith("dynamodb:") for a in as_list(s["Action"])):
                    self.assertLessEqual(set(as_list(s["Action"])), NOTIFIER_TABLE_ACTIONS)
                    self.assertEqual(as_list(s["Resource"]), [{"Fn::GetAtt": [table, "Arn"]}])
                elif any(getatt_target(r) == table for r in items(s.get("Resource", []))):
                    self.fail(f"{rid} reaches the notifier's state table")

    def test_notifier_environment(self):
        fid, res, p = self.notifier()
        self.assertEqual(p["Environment"]["Variables"], {
            "SLACK_WEBHOOK_SECRET_ARN": {"Ref": "SlackWebhookSecretArn"},
            "STATE_TABLE_NAME": {"Ref": "NotificationStateTable"},
            "DIGEST_THRESHOLD": {"Ref": "SlackDigestThreshold"},
            "BUCKET_RULE_NAME": {"Ref": "BucketRule"},
            "NETWORK_RULE_NAME": {"Ref": "NetworkRule"},
            "STATE_TTL_DAYS": "90",
        })
        spec = self.params["SlackDigestThreshold"]
        self.assertEqual((spec["Type"], spec["Default"], spec["MinValue"], spec["MaxValue"]), ("Number", 10, 1, 100))
        # The queue's messages, and nothing but the queue's, for Lambda's poller.
        queue = self.notifier_queue()
        consumed = {a: as_list(s["Resource"]) for s in role_statements(self.t, getatt_target(p["Role"]))
                    for a in as_list(s["Action"]) if a in NOTIFIER_QUEUE_ACTIONS}
        self.assertEqual(set(consumed), NOTIFIER_QUEUE_ACTIONS)
        for a, resources in consumed.items():
            self.assertEqual(resources, [{"Fn::GetAtt": [queue, "Arn"]}], a)

    # -- forwarding to the central bus ------------------------------------------------------
    def test_forwarding_rules_exist_only_with_a_central_bus(self):
        central = {"Ref": "CentralEventBusArn"}
        rules = {rid: r for rid, r in self.of_type("AWS::Events::Rule").items()
                 if any(t["Arn"] == central for t in r["Properties"]["Targets"])}
        self.assertEqual(sorted(rules), ["ForwardFindingsRule", "ForwardWatcherFindingsRule"])
        patterns = {}
        for rid, r in rules.items():
            with self.subTest(rule=rid):
                self.assertEqual(r.get("Condition"), "HasCentralEventBus")
                rp = r["Properties"]
                self.assertNotIn("EventBusName", rp, "Config and the watcher publish on the default bus")
                self.assertEqual(rp.get("State"), "ENABLED")
                (target,) = rp["Targets"]
                for k in ("Input", "InputPath", "InputTransformer"):
                    self.assertNotIn(k, target, "findings are forwarded unchanged")
                self.assertEqual(getatt_target(target["RoleArn"]), "ForwardFindingsRole",
                                 "an organization's bus policy requires a role on the target")
                self.assertEqual(getatt_target(target["DeadLetterConfig"]["Arn"]), "FailedEventsQueue")
                self.assertGreater(target["RetryPolicy"]["MaximumEventAgeInSeconds"], 0)
                patterns[rid] = rp["EventPattern"]
                out = self.t["Outputs"][f"{rid}Arn"]
                self.assertEqual(out.get("Condition"), "HasCentralEventBus")
                self.assertEqual(getatt_target(out["Value"]), rid)
        self.assertEqual(patterns, {
            "ForwardFindingsRule": {
                "source": ["aws.config"],
                "detail-type": ["Config Rules Compliance Change"],
                "detail": {"configRuleName": [{"Ref": "BucketRule"}, {"Ref": "NetworkRule"}]},
            },
            "ForwardWatcherFindingsRule": {"source": ["vpce-guard"], "detail-type": ["vpce-guard Finding"]},
        })
        # Both share one role, which may put events on the central bus and nothing else.
        role = self.res["ForwardFindingsRole"]
        self.assertEqual(role.get("Condition"), "HasCentralEventBus")
        (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        self.assertEqual(trust["Principal"], {"Service": "events.amazonaws.com"})
        self.assertEqual(trust["Condition"]["StringEquals"]["aws:SourceAccount"], {"Ref": "AWS::AccountId"})
        (statement,) = role_statements(self.t, "ForwardFindingsRole")
        self.assertEqual(as_list(statement["Action"]), ["events:PutEvents"])
        self.assertEqual(as_list(statement["Resource"]), [central])
        # Their dead letters: FailedEventsQueue admits exactly them under HasCentralEventBus.
        self.assertEqual(sorted(self.admitted_dead_letters("HasCentralEventBus")), sorted(rules))

    # -- Config rules -----------------------------------------------------------------------
    def config_rules(self):
        return {k: v for k, v in self.res.items() if v["Type"] == "AWS::Config::ConfigRule"}

    def test_config_rules(self):
        rules = self.config_rules()
        self.assertEqual(len(rules), 2)
        scopes = {}
        for rid, rule in rules.items():
            with self.subTest(rule=rid):
                p = rule["Properties"]
                src = p["Source"]
                self.assertEqual(src["Owner"], "CUSTOM_LAMBDA")
                fn = getatt_target(src["SourceIdentifier"])
                self.assertEqual(self.res[fn]["Type"], "AWS::Serverless::Function")
                self.assertEqual(CLASSES[self.res[fn]["Metadata"]["BuildProperties"]["Binary"]], "rule")
                kinds = {d["MessageType"]: d for d in src["SourceDetails"]}
                self.assertEqual(set(kinds), {
                    "ConfigurationItemChangeNotification",
                    "OversizedConfigurationItemChangeNotification",
                    "ScheduledNotification",
                })
                self.assertEqual(kinds["ScheduledNotification"].get("MaximumExecutionFrequency"),
                                 {"Ref": "EvaluationFrequency"})
                perms = [d for d in as_list(rule.get("DependsOn", []))
                         if self.res[d]["Type"] == "AWS::Lambda::Permission"]
                self.assertEqual(len(perms), 1, "DependsOn the function's invoke permission")
                pp = self.res[perms[0]]["Properties"]
                self.assertEqual(pp["Principal"], "config.amazonaws.com")
                self.assertEqual(pp["SourceAccount"], {"Ref": "AWS::AccountId"})
                self.assertEqual(getatt_target(pp["FunctionName"]), fn)
                self.assertLessEqual(set(p.get("InputParameters", {})), RULE_PARAMETER_KEYS)
                scopes[self.res[fn]["Metadata"]["BuildProperties"]["Binary"]] = set(
                    p["Scope"]["ComplianceResourceTypes"])
        self.assertEqual(scopes["bucket-rule"], {"AWS::S3::Bucket"})
        self.assertEqual(scopes["network-rule"], {
            "AWS::EC2::VPC", "AWS::EC2::VPCEndpoint", "AWS::EC2::RouteTable", "AWS::EC2::SecurityGroup"})
        guards = [r["Properties"]["InputParameters"]["GuardPrincipalArns"]
                  for r in rules.values() if "GuardPrincipalArns" in r["Properties"]["InputParameters"]]
        # The exact ARNs of the roles that read bucket policies; the remediator's apart.
        self.assertEqual(guards, [GUARD_ARNS])
        readers = sorted(getatt_target(p["Role"]) for fid, res, p in functions(self.t)
                         if CLASSES[res["Metadata"]["BuildProperties"]["Binary"]] != "remediator"
                         and any("s3:GetBucketPolicy" in as_list(s["Action"])
                                 for s in role_statements(self.t, getatt_target(p["Role"]))))
        self.assertEqual(sorted(getatt_target(x) for x in GUARD_ARNS["Fn::Join"][1]), readers,
                         "GuardPrincipalArns: every role that reads bucket policies, but the remediator's")
        self.assertEqual(self.res["BucketRule"]["Properties"]["InputParameters"]["RemediatorPrincipalArns"],
                         REMEDIATOR_ARNS)
        self.assertEqual(self.res["RemediatorRole"].get("Condition"), "RemediationEnabled")
        out = self.t["Outputs"]
        self.assertEqual(out["GuardPrincipalArns"]["Value"], GUARD_ARNS)
        self.assertEqual(out["RemediatorPrincipalArns"]["Value"], {"Fn::GetAtt": ["RemediatorRole", "Arn"]})
        self.assertEqual(out["RemediatorPrincipalArns"].get("Condition"), "RemediationEnabled")

    def test_no_role_path_wildcard_is_exempted(self):
        """Nothing passes the guard's role path as a pattern (a back door: issue 17)."""
        text = json.dumps({k: self.t[k] for k in ("Resources", "Outputs")})
        self.assertIsNone(re.search(r':role/[^"]*\*', text), "a role ARN pattern in the template")

    def test_input_parameters_fit_in_1024_characters(self):
        """The longest values CloudFormation lets through, rendered as Config receives them."""
        catalog = os.path.join(ROOT, "shared", "src", "rules", "mod.rs")
        with open(catalog, encoding="utf-8") as f:
            # The rule registry: one `Variant => "ID", Resource,` entry per rule.
            registry = f.read().split("rule_registry! {", 2)[-1].split("\n}\n", 1)[0]
            rule_ids = list(dict.fromkeys(re.findall(r'=> "((?:S3|NET)-[A-Z0-9-]+)"', registry)))
        self.assertGreaterEqual(len(rule_ids), 15, "rule ids not found in shared/src/rules/mod.rs")
        exempt = ""
        for arn in ("arn:aws-us-gov:iam::111122223333:role/BreakGlass-Administrators",
                    "arn:aws-us-gov:iam::444455556666:role/Backup"):
            if len(exempt) + 1 + len(arn) <= self.params["ExemptPrincipalArns"]["MaxLength"]:
                exempt = f"{exempt},{arn}" if exempt else arn
        worst = {
            # As many endpoint and VPC ids as the parameters' MaxLength lets through.
            "ApprovedVpceIds": fill_ids("vpce-", self.params["ApprovedVpceIds"]["MaxLength"]),
            "ApprovedVpcIds": fill_ids("vpc-", self.params["ApprovedVpcIds"]["MaxLength"]),
            "ExemptPrincipalArns": exempt,
            "RequireSigV4": "false",
            "RequireTlsVersion": "1.3",
            "ApprovedEndpointScope": "organization",
            "DisabledRules": ",".join(rule_ids),
        }
        # Pad the exempt principals to the parameter's MaxLength: the true worst case.
        worst["ExemptPrincipalArns"] += "x" * (self.params["ExemptPrincipalArns"]["MaxLength"]
                                              - len(worst["ExemptPrincipalArns"]))
        pseudo = {
            "AWS::Partition": "aws-us-gov",
            "AWS::AccountId": "123456789012",
            "AWS::Region": "ap-southeast-4",
            "AWS::StackName": "S" + "t" * 127,  # CloudFormation's longest stack name
        }
        for name, value in worst.items():
            spec = self.params[name]
            with self.subTest(parameter=name):
                if "AllowedValues" in spec:
                    self.assertIn(value, spec["AllowedValues"])
                else:
                    self.assertRegex(value, spec["AllowedPattern"])
                    self.assertLessEqual(len(value), spec["MaxLength"], f"{name} exceeds its MaxLength")
        for name in ("ExemptPrincipalArns", "ApprovedVpceIds", "ApprovedVpcIds"):
            self.assertEqual(len(worst[name]), self.params[name]["MaxLength"], f"{name}: not its worst case")
        self.assertEqual(len(worst["DisabledRules"]), self.params["DisabledRules"]["MaxLength"],
                         "DisabledRules' MaxLength is every rule id once: update it with the catalog")
        for rid, rule in self.config_rules().items():
            ip = rule["Properties"].get("InputParameters", {})
            for key, value in ip.items():
                if isinstance(value, dict) and "Ref" in value:
                    spec = self.params[value["Ref"]]
                    self.assertTrue("MaxLength" in spec or "AllowedValues" in spec,
                                    f"{rid}.{key}: bound the parameter so the limit holds")
            # The guard's role ARNs at their longest (64-character generated role names).
            rendered = json.dumps({k: render(v, worst, pseudo, self.res) for k, v in ip.items()})
            print(f"\n  {rid}: worst-case InputParameters {len(rendered)} of {INPUT_PARAMETERS_LIMIT} characters",
                  end="")
            with self.subTest(rule=rid):
                self.assertLessEqual(len(rendered), INPUT_PARAMETERS_LIMIT, rendered)

    # -- the remediation history ------------------------------------------------------------
    def test_remediation_history_table(self):
        fid, res, p = self.remediator()
        t = self.res[HISTORY_TABLE]
        self.assertEqual(t["Type"], "AWS::DynamoDB::Table")
        self.assertNotIn("Condition", t, "records survive switching the remediator off and on")
        self.assertEqual((t.get("DeletionPolicy"), t.get("UpdateReplacePolicy")), ("Retain", "Retain"),
                         "the records are how a written policy is undone: never deleted with the stack")
        tp = t["Properties"]
        self.assertEqual(tp["BillingMode"], "PAY_PER_REQUEST")
        self.assertEqual(tp["KeySchema"], [{"AttributeName": "bucket", "KeyType": "HASH"},
                                           {"AttributeName": "at", "KeyType": "RANGE"}])
        self.assertEqual(sorted(map(json.dumps, tp["AttributeDefinitions"])), sorted(map(json.dumps, [
            {"AttributeName": "bucket", "AttributeType": "S"}, {"AttributeName": "at", "AttributeType": "S"}])))
        self.assertEqual(tp["TimeToLiveSpecification"], {"AttributeName": "expires_at", "Enabled": True})
        self.assertEqual(tp["SSESpecification"].get("SSEEnabled"), True)
        self.assertEqual(tp["PointInTimeRecoverySpecification"].get("PointInTimeRecoveryEnabled"), True)
        spec = self.params["RemediationHistoryRetentionDays"]
        self.assertEqual((spec["Type"], spec["Default"], spec["MinValue"]), ("Number", 400, 1))
        self.assertEqual(self.t["Outputs"]["RemediationHistoryTableName"]["Value"], {"Ref": HISTORY_TABLE})
        # Only the remediator's role reaches it, with exactly these actions.
        reached = {}
        for rid in self.of_type("AWS::IAM::Role"):
            for s in role_statements(self.t, rid):
                if any(getatt_target(r) == HISTORY_TABLE for r in items(s.get("Resource", []))):
                    reached.setdefault(rid, set()).update(as_list(s["Action"]))
        self.assertEqual(reached, {getatt_target(p["Role"]): HISTORY_TABLE_ACTIONS})

    # -- long settings in SSM ---------------------------------------------------------------
    def test_long_settings_parameters(self):
        self.assertEqual(long_settings_variables(), set(LONG_SETTINGS_PARAMETERS),
                         "LongSettings::ENV and the template's *Parameter parameters")
        conditions = self.t["Conditions"]
        for var, name in LONG_SETTINGS_PARAMETERS.items():
            with self.subTest(parameter=name):
                spec = self.params[name]
                self.assertEqual((spec["Type"], spec["Default"]), ("String", ""))
                for ok in ("", "/vpce-guard/exempt-principal-arns", "/a.b_c-d/e"):
                    self.assertRegex(ok, spec["AllowedPattern"])
                for bad in ("vpce-guard/x", "/a b", "arn:aws:ssm:us-east-1:111122223333:parameter/x", "/a,b"):
                    self.assertNotRegex(bad, spec["AllowedPattern"])
                self.assertEqual(conditions[f"Has{name}"], {"Fn::Not": [{"Fn::Equals": [{"Ref": name}, ""]}]})
        self.assertEqual(conditions["HasLongSettingsParameter"],
                         {"Fn::Or": [{"Condition": f"Has{n}"} for n in LONG_SETTINGS_PARAMETERS.values()]})
        readers = 0
        for fid, res, p in functions(self.t):
            binary = res["Metadata"]["BuildProperties"]["Binary"]
            role = getatt_target(p["Role"])
            ssm = [s for s in role_statements(self.t, role)
                   if any(a.startswith("ssm:") for a in as_list(s["Action"]))
                   and s.get("Sid") != "ReadMuteList"]
            env = p.get("Environment", {}).get("Variables", {})
            with self.subTest(function=fid):
                if not reads_long_settings(binary):
                    self.assertFalse(ssm, "no SSM permission for a function that reads no long settings")
                    self.assertFalse(set(env) & set(LONG_SETTINGS_PARAMETERS))
                    continue
                readers += 1
                for var, name in LONG_SETTINGS_PARAMETERS.items():
                    self.assertEqual(env.get(var), {"Ref": name}, var)
                # One conditional policy: GetParameter on exactly the parameters named.
                conditional = [x for x in self.res[role]["Properties"]["Policies"]
                               if "Fn::If" in x and x["Fn::If"][0] == "HasLongSettingsParameter"]
                self.assertEqual(len(conditional), 1)
                cond, policy, otherwise = conditional[0]["Fn::If"]
                self.assertEqual((cond, otherwise), ("HasLongSettingsParameter", NO_VALUE))
                (statement,) = as_list(policy["PolicyDocument"]["Statement"])
                self.assertEqual(ssm, [statement])
                self.assertEqual(as_list(statement["Action"]), ["ssm:GetParameter"])
                self.assertEqual(statement["Resource"], [
                    {"Fn::If": [f"Has{name}", {"Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:"
                                                          "${AWS::AccountId}:parameter${" + name + "}"}, NO_VALUE]}
                    for name in LONG_SETTINGS_PARAMETERS.values()])
        self.assertGreaterEqual(readers, 3, "the bucket rule, the change watcher and the remediator")

    def test_security_hub_findings(self):
        spec = self.params["SecurityHubFindings"]
        self.assertEqual((spec["Default"], set(spec["AllowedValues"])), ("Disabled", {"Enabled", "Disabled"}))
        self.assertEqual(self.t["Conditions"]["SecurityHubEnabled"],
                         {"Fn::Equals": [{"Ref": "SecurityHubFindings"}, "Enabled"]})
        product = {"Fn::Sub": "arn:${AWS::Partition}:securityhub:${AWS::Region}:${AWS::AccountId}:"
                              "product/${AWS::AccountId}/default"}
        hub = {"Fn::Sub": "arn:${AWS::Partition}:securityhub:${AWS::Region}:${AWS::AccountId}:hub/default"}
        writers = set()
        for fid, res, p in functions(self.t):
            binary = res["Metadata"]["BuildProperties"]["Binary"]
            role = getatt_target(p["Role"])
            env = p.get("Environment", {}).get("Variables", {})
            with open(os.path.join(ROOT, "functions", binary, "src", "main.rs"), encoding="utf-8") as f:
                reads = '"SECURITY_HUB_FINDINGS"' in f.read()
            hub_policies = [x for x in self.res[role]["Properties"]["Policies"]
                            if "Fn::If" in x and x["Fn::If"][0] == "SecurityHubEnabled"]
            with self.subTest(function=fid):
                if not reads:
                    self.assertNotIn("SECURITY_HUB_FINDINGS", env)
                    self.assertFalse(hub_policies)
                    self.assertFalse([a for s in role_statements(self.t, role) for a in as_list(s["Action"])
                                      if a.startswith("securityhub:")])
                    continue
                writers.add(binary)
                self.assertEqual(env.get("SECURITY_HUB_FINDINGS"), {"Ref": "SecurityHubFindings"})
                (cond,) = hub_policies
                _, policy, otherwise = cond["Fn::If"]
                self.assertEqual(otherwise, NO_VALUE, "no permission when the export is off")
                statements = as_list(policy["PolicyDocument"]["Statement"])
                self.assertEqual([(as_list(s["Action"]), s["Resource"]) for s in statements], [
                    (["securityhub:BatchImportFindings"], product),
                    (["securityhub:GetFindings", "securityhub:BatchUpdateFindings"], hub),
                ])
        self.assertEqual(writers, {"bucket-rule", "network-rule"})

    def test_dashboard_shows_every_emf_metric_and_the_stacks_health(self):
        with open(os.path.join(ROOT, "shared", "src", "metrics.rs"), encoding="utf-8") as f:
            rows = re.findall(r"^//! \| `(\w+)` \| ((?:`\w+`(?:, )?)+) \|", f.read(), re.M)
        self.assertGreaterEqual(len(rows), 5, "the metric table of shared/src/metrics.rs")
        dash = self.res["Dashboard"]
        self.assertEqual(dash["Type"], "AWS::CloudWatch::Dashboard")
        text = dash["Properties"]["DashboardBody"]["Fn::Sub"]
        body = json.loads(text.replace("${AWS::StackName}", "vpce-guard").replace("${AWS::Region}", "us-east-1"))
        expressions = [m[0]["expression"] for w in body["widgets"] for m in w["properties"]["metrics"]]
        for name, dims in rows:
            dims = [d.strip("`") for d in dims.split(", ")]
            with self.subTest(metric=name):
                wanted = "{vpce-guard," + ",".join(dims) + "} MetricName=\"" + name + "\""
                self.assertTrue(any(wanted in e for e in expressions), f"{wanted} in {expressions}")
        for health in ('{AWS/Lambda,FunctionName} MetricName="Errors"',
                       '{AWS/Lambda,FunctionName} MetricName="Duration"',
                       '{AWS/SQS,QueueName} MetricName="ApproximateNumberOfMessagesVisible"'):
            self.assertTrue(any(health in e for e in expressions), health)
        # Every search is limited to the stack's own resources.
        for e in expressions:
            self.assertIn("vpce-guard'", e.replace(" (Failed OR DeadLetter)", ""), e)

    def test_mute_list_parameter(self):
        spec = self.params["MutedResourcesParameter"]
        self.assertEqual((spec["Type"], spec["Default"]), ("String", "/vpce-guard/muted-resources"))
        for ok in ("/vpce-guard/muted-resources", "/a.b_c-d/e"):
            self.assertRegex(ok, spec["AllowedPattern"])
        for bad in ("", "vpce-guard/x", "/a b", "arn:aws:ssm:us-east-1:111122223333:parameter/x"):
            self.assertNotRegex(bad, spec["AllowedPattern"])
        # The stack creates it, empty: a valid list that mutes nothing.
        muted = self.res["MutedResources"]
        self.assertEqual(muted["Type"], "AWS::SSM::Parameter")
        self.assertEqual(muted["Properties"]["Name"], {"Ref": "MutedResourcesParameter"})
        self.assertEqual(json.loads(muted["Properties"]["Value"]), {"muted": []})
        readers = set()
        arn = {"Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${MutedResourcesParameter}"}
        for fid, res, p in functions(self.t):
            binary = res["Metadata"]["BuildProperties"]["Binary"]
            role = getatt_target(p["Role"])
            reads = [s for s in role_statements(self.t, role) if s.get("Sid") == "ReadMuteList"]
            env = p.get("Environment", {}).get("Variables", {})
            with self.subTest(function=fid):
                if reads_mute_list(binary):
                    readers.add(binary)
                    self.assertEqual(env.get("MUTED_RESOURCES_PARAMETER"), {"Ref": "MutedResourcesParameter"})
                    self.assertEqual(len(reads), 1)
                    self.assertEqual(as_list(reads[0]["Action"]), ["ssm:GetParameter"])
                    self.assertEqual(reads[0]["Resource"], arn)
                else:
                    self.assertNotIn("MUTED_RESOURCES_PARAMETER", env)
                    self.assertFalse(reads, "no mute list permission for a function that does not read it")
        self.assertEqual(readers, {"bucket-rule", "network-rule", "change-watcher", "remediator"})

    # -- alarms -----------------------------------------------------------------------------
    def dead_letter_queues(self):
        """Every queue something uses as a dead-letter queue."""
        found = set()
        dlq = self.t["Globals"]["Function"].get("DeadLetterQueue", {}).get("TargetArn")
        found.add(getatt_target(dlq))
        for rid, r in self.res.items():
            rp = r.get("Properties", {})
            if r["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in rp:
                found.add(getatt_target(rp["RedrivePolicy"]["deadLetterTargetArn"]))
            if r["Type"] == "AWS::Events::Rule":
                for t in rp["Targets"]:
                    if "DeadLetterConfig" in t:
                        found.add(getatt_target(t["DeadLetterConfig"]["Arn"]))
        found.discard(None)
        return found

    def test_alarms_on_every_dead_letter_queue_and_function(self):
        alarms = self.of_type("AWS::CloudWatch::Alarm")
        topic = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], NO_VALUE]}
        self.assertEqual(self.t["Conditions"]["HasAlarmTopic"],
                         {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]})
        self.assertEqual(self.params["AlarmTopicArn"]["Default"], "")
        self.assertRegex("arn:aws:sns:eu-west-1:111122223333:security-alerts", self.params["AlarmTopicArn"]["AllowedPattern"])
        watched = {}
        names = set()
        for aid, a in alarms.items():
            ap = a["Properties"]
            with self.subTest(alarm=aid):
                name = ap["AlarmName"]["Fn::Sub"]
                self.assertTrue(name.startswith("${AWS::StackName}-"), name)
                self.assertNotIn(name, names)
                names.add(name)
                self.assertEqual(ap["AlarmActions"], topic)
                self.assertEqual(ap["OKActions"], topic)
                self.assertEqual((ap["Threshold"], ap["ComparisonOperator"], ap["TreatMissingData"]),
                                 (0, "GreaterThanThreshold", "notBreaching"))
                self.assertEqual((ap["Period"], ap["EvaluationPeriods"]), (300, 1))
                (dim,) = ap["Dimensions"]
                if ap["Namespace"] == "AWS/SQS":
                    self.assertEqual((ap["MetricName"], ap["Statistic"], dim["Name"]),
                                     ("ApproximateNumberOfMessagesVisible", "Maximum", "QueueName"))
                    target = getatt_target(dim["Value"], "QueueName")
                else:
                    self.assertEqual((ap["Namespace"], ap["MetricName"], ap["Statistic"], dim["Name"]),
                                     ("AWS/Lambda", "Errors", "Sum", "FunctionName"))
                    target = dim["Value"]["Ref"]
                self.assertEqual(a.get("Condition"), self.res[target].get("Condition"),
                                 "the alarm exists exactly when what it watches does")
                watched[target] = aid
        self.assertLessEqual(self.dead_letter_queues() | {fid for fid, _, _ in functions(self.t)}, set(watched))
        self.assertEqual(len(self.dead_letter_queues()), 3)

    def test_alarm_state_changes_reach_the_notifier(self):
        queue = self.notifier_queue()
        rules = [r for r in self.rules_targeting(queue).values()
                 if r["Properties"]["EventPattern"]["source"] == ["aws.cloudwatch"]]
        self.assertEqual(len(rules), 1)
        prefix = rules[0]["Properties"]["EventPattern"]["detail"]["alarmName"][0]["prefix"]["Fn::Sub"]
        for a in self.of_type("AWS::CloudWatch::Alarm").values():
            self.assertTrue(a["Properties"]["AlarmName"]["Fn::Sub"].startswith(prefix))

    # -- the plain CloudFormation SAM produces ----------------------------------------------
    def test_translated_template_keeps_least_privilege(self):
        """SAM adds no role, managed policy or permission of its own to the functions."""
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "stackset.yaml")
            subprocess.run([os.path.join(ROOT, "scripts", "stackset-template"), "-o", out],
                           check=True, capture_output=True)
            cfn = cfn_yaml.load(out)
        self.assertNotIn("Transform", cfn)
        types = {}
        for rid, res in cfn["Resources"].items():
            types.setdefault(res["Type"], []).append(rid)
            if res["Type"] == "AWS::IAM::Role":
                self.assertNotIn("ManagedPolicyArns", res["Properties"], rid)
            if res["Type"] == "AWS::Lambda::Function":
                role = getatt_target(res["Properties"]["Role"])
                self.assertIn(role, self.res, f"{rid}: a role SAM generated")
                code = res["Properties"]["Code"]
                self.assertEqual(code["S3Bucket"], {"Fn::Sub": "${ArtifactBucketPrefix}-${AWS::Region}"})
                self.assertEqual(code["S3Key"], {"Fn::Sub": "${ArtifactKeyPrefix}/" + rid + ".zip"})
        self.assertEqual(sorted(types["AWS::IAM::Role"]), sorted(
            k for k, v in self.res.items() if v["Type"] == "AWS::IAM::Role"))


if __name__ == "__main__":
    unittest.main()


class OrgReader(unittest.TestCase):
    """org-reader.yaml: the organization-policy source the member stacks assume."""

    def test_read_only_and_trusted_only_by_the_guards_evaluators_of_the_organization(self):
        t = cfn_yaml.load(os.path.join(ROOT, "org-reader.yaml"))
        roles = [r for r in t["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
        self.assertEqual(len(roles), 1)
        p = roles[0]["Properties"]
        for s in p["AssumeRolePolicyDocument"]["Statement"]:
            self.assertEqual(s["Action"], "sts:AssumeRole")
            cond = s["Condition"]
            self.assertEqual(cond["StringEquals"]["aws:PrincipalOrgID"], {"Ref": "OrganizationId"},
                             "only principals of the organization")
            arns = as_list(cond["ArnLike"]["aws:PrincipalArn"])
            self.assertEqual(len(arns), 3, "the bucket rule's, the change watcher's and the remediator's roles")
            for a in arns:
                text = json.dumps(a)
                self.assertIn("GuardRolePath", text, "only the guard's role path")
        actions = [a for d in policy_documents(p) for s in as_list(d["Statement"])
                   for a in as_list(s["Action"])]
        self.assertEqual(sorted(actions), sorted([
            "organizations:DescribeOrganization", "organizations:ListParents",
            "organizations:ListPoliciesForTarget", "organizations:DescribePolicy"]))
        for a in actions:
            self.assertTrue(a.partition(":")[2].startswith(READ_VERBS), f"{a}: read-only")
        outputs = t["Outputs"]
        self.assertIn("OrganizationPolicyRoleArn", outputs, "the ARN the member stacks take")
