//! `vpce-guard`: check that S3 buckets are reachable only through approved VPC endpoints.

mod check;
mod demo;
mod iac;
mod output;
mod remediate;
mod report;
mod scan;
mod usage;

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Keep Amazon S3 private: only your own S3 gateway VPC endpoints may reach your buckets.
#[derive(Debug, Parser)]
#[command(name = "vpce-guard", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check one bucket policy document against the bucket rules (no AWS calls).
    CheckPolicy(CheckPolicyArgs),
    /// Check the bucket policies in CloudFormation/SAM templates and Terraform plans before
    /// deploy (no AWS calls).
    CheckIac(CheckIacArgs),
    /// Sweep an account: every bucket and VPC of the regions, read from S3 and EC2.
    Scan(ScanArgs),
    /// Plan the missing aws:SourceVpce deny for a bucket and, with --apply, write and verify it.
    Remediate(RemediateArgs),
    /// Undo a remediation: restore the policy its record kept (or a policy file), verified.
    Rollback(RollbackArgs),
    /// List the recorded remediations and rollbacks.
    Remediations(RemediationsArgs),
    /// Is the private route used? Requests to guarded buckets in CloudTrail logs that did not
    /// come through an approved endpoint (or the Athena SQL of the same, or its CSV result).
    RouteUsage(RouteUsageArgs),
    /// Turn a `scan --format json` result (and a `route-usage --format json` one) into one
    /// self-contained HTML report: summary, network diagrams, rule matrix, fixes.
    Report(ReportArgs),
    /// Seed the demo account (VPCs, endpoints, six buckets in three regions) into an
    /// AWS-compatible endpoint such as moto or LocalStack.
    DemoAccount(DemoAccountArgs),
}

#[derive(Debug, Args)]
pub struct RouteUsageArgs {
    /// CloudTrail log files (JSON, gzipped or not), folders of them (read recursively;
    /// CloudTrail-Digest left out), or s3://bucket/prefix.
    #[arg(value_name = "FILE|DIR|s3://BUCKET/PREFIX")]
    pub inputs: Vec<String>,
    /// A guarded bucket (repeatable); default: every bucket the records name.
    #[arg(long, value_name = "NAME")]
    pub bucket: Vec<String>,
    /// Approved endpoint ids (comma-separated or repeated).
    #[arg(
        long = "approved-vpce",
        value_name = "ID[,ID...]",
        value_delimiter = ','
    )]
    pub approved_vpce: Vec<String>,
    /// Approved VPCs: their S3 endpoints (read from EC2 in --region) count as approved.
    #[arg(
        long = "approved-vpc",
        value_name = "VPC-ID[,...]",
        value_delimiter = ','
    )]
    pub approved_vpc: Vec<String>,
    /// endpoints (only the approved ones), account (any endpoint --account-id owns) or
    /// organization (any endpoint an account of the organization owns), judged on the
    /// records' vpcEndpointAccountId.
    #[arg(
        long = "approved-endpoint-scope",
        value_name = "SCOPE",
        default_value = "endpoints"
    )]
    pub approved_endpoint_scope: String,
    /// The buckets' owner (the account scope's endpoint owner).
    #[arg(long = "account-id", value_name = "ID")]
    pub account_id: Option<String>,
    /// The organization (checked against the credentials' when its accounts are listed).
    #[arg(long = "org-id", value_name = "O-ID")]
    pub org_id: Option<String>,
    /// The organization's accounts for the organization scope (default: listed with
    /// organizations:ListAccounts).
    #[arg(long = "org-account", value_name = "ID[,ID...]", value_delimiter = ',')]
    pub org_account: Vec<String>,
    /// Principals whose requests are not judged (ArnLike on the principal ARN; repeatable).
    #[arg(long = "exempt-principal", value_name = "ARN-PATTERN")]
    pub exempt_principal: Vec<String>,
    /// Regions whose endpoints --approved-vpc reads (repeatable; default: the configured one).
    #[arg(long, value_name = "R")]
    pub region: Vec<String>,
    /// Send every AWS call to this endpoint (moto, LocalStack); AWS_ENDPOINT_URL works too.
    #[arg(long = "endpoint-url", value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Print the Athena SQL of the analysis over this CloudTrail table instead.
    #[arg(long, value_name = "TABLE")]
    pub athena: Option<String>,
    /// Read the CSV result of the --athena query instead of log files.
    #[arg(long = "from-athena", value_name = "FILE")]
    pub from_athena: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The JSON `vpce-guard scan --format json` printed (`-` for standard input).
    #[arg(value_name = "FILE|-")]
    pub file: String,
    /// The JSON `vpce-guard route-usage --format json` printed: adds "is the private route
    /// used?".
    #[arg(long = "route-usage", value_name = "FILE")]
    pub route_usage: Option<String>,
    /// Where to write the HTML file (`-` for standard output).
    #[arg(long, value_name = "PATH")]
    pub output: String,
}

#[derive(Debug, Args)]
pub struct DemoAccountArgs {
    /// The endpoint to seed (moto, LocalStack); never a real AWS account.
    #[arg(long = "endpoint-url", value_name = "URL")]
    pub endpoint_url: String,
}

#[derive(Debug, Args)]
pub struct RemediateArgs {
    /// The bucket to fix.
    #[arg(long, value_name = "NAME")]
    pub bucket: String,
    /// A resource control policy that applies to the bucket (repeatable): what it already
    /// enforces is not written again, and the writer must not be denied by it either.
    #[arg(long = "rcp", value_name = "FILE")]
    pub rcp: Vec<String>,
    /// The bucket's region (default: asked from S3).
    #[arg(long, value_name = "R")]
    pub region: Option<String>,
    /// Send every AWS call to this endpoint (moto, LocalStack); AWS_ENDPOINT_URL works too.
    #[arg(long = "endpoint-url", value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Approved endpoints, added to the deployed rule's (default: every available S3 gateway
    /// endpoint of the bucket's region).
    #[arg(
        long = "approved-vpce",
        value_name = "ID[,ID...]",
        value_delimiter = ','
    )]
    pub approved_vpce: Vec<String>,
    /// Principals the deny exempts (ArnLike on aws:PrincipalArn), added to the deployed rule's.
    #[arg(long = "exempt-principal", value_name = "ARN-PATTERN")]
    pub exempt_principal: Vec<String>,
    /// The guard's own principals (exact role ARNs; a pattern is expanded with iam:ListRoles
    /// to the roles that exist), added to the deployed rule's.
    #[arg(long = "guard-principal", value_name = "ARN-PATTERN")]
    pub guard_principal: Vec<String>,
    /// The remediator's principals (exact role ARNs, or a pattern expanded likewise), added to
    /// the deployed rule's.
    #[arg(long = "remediator-principal", value_name = "ARN-PATTERN")]
    pub remediator_principal: Vec<String>,
    /// The deployed vpce-guard bucket rule whose parameters are the defaults.
    #[arg(
        long = "rule-name",
        value_name = "NAME",
        default_value = "vpce-guard-bucket"
    )]
    pub rule_name: String,
    /// Write the plan (without it nothing is written).
    #[arg(long)]
    pub apply: bool,
    #[command(flatten)]
    pub history: HistoryArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Where remediations are recorded and looked up.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The stack's remediation history table (its output RemediationHistoryTableName).
    #[arg(
        long = "history-table",
        value_name = "NAME",
        env = "VPCE_GUARD_HISTORY_TABLE",
        conflicts_with = "history_file"
    )]
    pub history_table: Option<String>,
    /// A local history file (default: $XDG_STATE_HOME/vpce-guard/remediations.jsonl, else
    /// ~/.local/state/vpce-guard/remediations.jsonl), used when no table is named.
    #[arg(long = "history-file", value_name = "PATH")]
    pub history_file: Option<String>,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The bucket whose remediation is undone.
    #[arg(long, value_name = "NAME")]
    pub bucket: String,
    /// The record to undo (its `at`, or a prefix of it); default: the bucket's latest applied
    /// remediation.
    #[arg(long, value_name = "TIME", conflicts_with = "from")]
    pub at: Option<String>,
    /// Instead of a record: a policy document, or a saved Remediation event whose
    /// `previous_policy` is restored (`null` deletes the bucket policy).
    #[arg(long, value_name = "FILE")]
    pub from: Option<String>,
    /// The bucket's region (default: asked from S3).
    #[arg(long, value_name = "R")]
    pub region: Option<String>,
    /// Send every AWS call to this endpoint.
    #[arg(long = "endpoint-url", value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// The deployed vpce-guard bucket rule whose parameters judge the restored policy.
    #[arg(
        long = "rule-name",
        value_name = "NAME",
        default_value = "vpce-guard-bucket"
    )]
    pub rule_name: String,
    #[command(flatten)]
    pub history: HistoryArgs,
}

#[derive(Debug, Args)]
pub struct RemediationsArgs {
    /// Only this bucket's records.
    #[arg(long, value_name = "NAME")]
    pub bucket: Option<String>,
    /// The table's region (default: the configured region).
    #[arg(long, value_name = "R")]
    pub region: Option<String>,
    /// Send every AWS call to this endpoint.
    #[arg(long = "endpoint-url", value_name = "URL")]
    pub endpoint_url: Option<String>,
    #[command(flatten)]
    pub history: HistoryArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// The rule parameters every command shares (RULES.md: Config rule parameters and flags).
#[derive(Debug, Args)]
pub struct RuleArgs {
    /// Approved S3 gateway endpoint ids (comma-separated or repeated).
    #[arg(
        long = "approved-vpce",
        value_name = "ID[,ID...]",
        value_delimiter = ','
    )]
    pub approved_vpce: Vec<String>,
    /// Approved VPC ids: a request through any endpoint of these VPCs counts as approved.
    #[arg(
        long = "approved-vpc",
        value_name = "VPC-ID[,...]",
        value_delimiter = ','
    )]
    pub approved_vpc: Vec<String>,
    /// Principals allowed to bypass the endpoint deny (ArnLike pattern on aws:PrincipalArn).
    #[arg(long = "exempt-principal", value_name = "ARN-PATTERN")]
    pub exempt_principal: Vec<String>,
    /// The guard's own principals, checked by S3-GUARD-ACCESS besides AWS Config's role
    /// (`scan` expands a role pattern with iam:ListRoles; `check-policy` judges it as written).
    #[arg(long = "guard-principal", value_name = "ARN")]
    pub guard_principal: Vec<String>,
    /// The remediator's principals: guard principals that also write the bucket policy.
    #[arg(long = "remediator-principal", value_name = "ARN")]
    pub remediator_principal: Vec<String>,
    /// Make S3-SIGV4 a failure instead of a warning.
    #[arg(long = "require-sigv4")]
    pub require_sigv4: bool,
    /// Require this TLS version or newer (1.0 to 1.3), checked by S3-TLS-VERSION.
    #[arg(long = "require-tls-version", value_name = "V")]
    pub require_tls_version: Option<String>,
    /// Which endpoints count as approved besides --approved-vpce: endpoints (only those),
    /// account (any endpoint the bucket owner's account owns: aws:VpceAccount) or organization
    /// (any endpoint of the owner's organization: aws:VpceOrgID, aws:VpceOrgPaths).
    #[arg(
        long = "approved-endpoint-scope",
        value_name = "SCOPE",
        default_value = "endpoints"
    )]
    pub approved_endpoint_scope: String,
    /// A resource control policy that applies to the bucket (repeatable): a policy document
    /// or the JSON `aws organizations describe-policy` prints. Judged with the bucket policy
    /// (an explicit deny in either wins); it asserts that the RCPs apply (a member account).
    #[arg(long = "rcp", value_name = "FILE")]
    pub rcp: Vec<String>,
    /// Skip a rule (repeatable; any catalog id): reported NOT_APPLICABLE, "disabled by
    /// configuration", never changing compliance.
    #[arg(long = "skip-rule", value_name = "ID")]
    pub skip_rule: Vec<String>,
    /// A mute list (JSON: {"muted": [{"resource", "reason", "until"}]}): the resources it names
    /// are reported NOT_APPLICABLE with the reason, until the date.
    #[arg(long = "mute-file", value_name = "FILE")]
    pub mute_file: Option<String>,
}

/// The output formats of the commands that judge resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
    Ocsf,
    Html,
}

#[derive(Debug, Args)]
pub struct CheckPolicyArgs {
    /// The policy document: a file, or `-` for standard input.
    #[arg(value_name = "FILE|-")]
    pub file: String,
    /// The bucket the policy belongs to.
    #[arg(long, value_name = "NAME")]
    pub bucket: String,
    /// The bucket owner's account id (unknown: a fresh account id is assumed).
    #[arg(long = "account-id", value_name = "ID")]
    pub account_id: Option<String>,
    #[command(flatten)]
    pub owner: OwnerArgs,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Output format: a table, JSON, or OCSF Compliance Findings (one JSON object per line, one
    /// per evaluated rule).
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

#[derive(Debug, Args)]
pub struct CheckIacArgs {
    /// CloudFormation or SAM templates (YAML or JSON, CDK's output too) and Terraform plans
    /// (`terraform show -json`).
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<String>,
    /// The account the stacks deploy to (`${AWS::AccountId}`); default: one symbolic id.
    #[arg(long = "account-id", value_name = "ID")]
    pub account_id: Option<String>,
    /// The region (`${AWS::Region}`).
    #[arg(long, value_name = "R", default_value = "us-east-1")]
    pub region: String,
    /// The stack's name (`${AWS::StackName}`).
    #[arg(long = "stack-name", value_name = "NAME", default_value = "stack")]
    pub stack_name: String,
    /// A template parameter's value, or what a `Ref` to a resource of the template resolves to
    /// (an endpoint id the stack creates), over its default (repeatable).
    #[arg(long, value_name = "KEY=VALUE")]
    pub parameter: Vec<String>,
    #[command(flatten)]
    pub owner: OwnerArgs,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Output format: a table, JSON, or SARIF 2.1.0 for code review.
    #[arg(long, value_enum, default_value_t = IacFormat::Text)]
    pub format: IacFormat,
}

/// Where the policy's bucket lives and who owns its endpoints (`check-policy`, `check-iac`).
#[derive(Debug, Args)]
pub struct OwnerArgs {
    /// The bucket's partition (`${AWS::Partition}` in a template): aws, aws-cn or aws-us-gov
    /// (its ARNs follow it).
    #[arg(long, value_name = "P", default_value = "aws")]
    pub partition: String,
    /// The account that owns the approved endpoints (a shared VPC's network account);
    /// default: the bucket owner's.
    #[arg(long = "approved-vpce-account", value_name = "ID")]
    pub approved_vpce_account: Option<String>,
    /// The bucket owner's organization (`o-…`); unknown, policies keyed on aws:VpceOrgID are
    /// judged adversarially and S3-VPCE-REACHABLE may WARN "not confirmed".
    #[arg(long = "org-id", value_name = "O-ID")]
    pub org_id: Option<String>,
    /// The bucket owner's OU path (`o-…/r-…/ou-…/`), for policies keyed on aws:VpceOrgPaths.
    #[arg(long = "org-path", value_name = "PATH")]
    pub org_path: Option<String>,
}

/// `check-iac --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IacFormat {
    Text,
    Json,
    Sarif,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Regions to sweep (repeatable); default: the configured region.
    #[arg(long, value_name = "R")]
    pub region: Vec<String>,
    /// Send every AWS call to this endpoint (moto, LocalStack); AWS_ENDPOINT_URL works too.
    #[arg(long = "endpoint-url", value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Only these buckets (repeatable), in whatever region they are.
    #[arg(long, value_name = "NAME")]
    pub bucket: Vec<String>,
    /// Concurrent bucket reads.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub concurrency: usize,
    /// Where bucket facts come from: `api` (S3, three calls per bucket), `config` (AWS Config's
    /// inventory, two calls per 100 buckets, S3 only for what an item lacks) or `auto` (Config
    /// in each region whose recorder records buckets, else S3).
    #[arg(long, value_enum, default_value_t = SourceArg::Api)]
    pub source: SourceArg,
    /// Sweep every account and region this AWS Config aggregator covers (organization or
    /// multi-account), from the account that owns it; `--region` then filters its regions.
    #[arg(long, value_name = "NAME")]
    pub aggregator: Option<String>,
    /// With --aggregator: a role of this name in each account, assumed to read what the
    /// aggregator's items lack (network, Object Ownership, account Block Public Access).
    #[arg(
        long = "assume-role-name",
        value_name = "ROLE",
        requires = "aggregator"
    )]
    pub assume_role_name: Option<String>,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Output format: a table, JSON (with the network section), OCSF Compliance Findings (one
    /// JSON object per line, one per resource and evaluated rule), or the HTML report.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

/// `scan --source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SourceArg {
    Api,
    Config,
    Auto,
}

/// Exit status: 0 compliant (or not applicable), 1 non-compliant, 2 cannot run.
pub const EXIT_NON_COMPLIANT: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                    ExitCode::from(EXIT_USAGE)
                } else {
                    ExitCode::SUCCESS
                };
            }
            // One clear line: clap's first line, without its usage block.
            let text = e.to_string();
            let mut lines = text.lines();
            let first = lines.next().unwrap_or("invalid arguments");
            let first = first.trim_start_matches("error: ");
            if let Some(head) = first.strip_suffix(':') {
                // "the following required arguments were not provided:" names them below.
                let named: Vec<&str> = lines
                    .take_while(|l| l.starts_with("  "))
                    .map(str::trim)
                    .collect();
                eprintln!("vpce-guard: {head}: {}", named.join(", "));
            } else {
                eprintln!("vpce-guard: {first}");
            }
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let result = match cli.command {
        Command::CheckPolicy(args) => check::run(&args),
        Command::CheckIac(args) => iac::run(&args),
        Command::Scan(args) => scan::run(&args),
        Command::Remediate(args) => remediate::run(&args),
        Command::Rollback(args) => remediate::run_rollback(&args),
        Command::Remediations(args) => remediate::run_list(&args),
        Command::RouteUsage(args) => usage::run(&args),
        Command::Report(args) => report::run(&args),
        Command::DemoAccount(args) => demo::run(&args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(msg) => {
            eprintln!("vpce-guard: {msg}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}
