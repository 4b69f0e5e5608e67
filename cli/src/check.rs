//! `vpce-guard check-policy`.

use std::io::Read;

use vpce_guard::policy::{PolicyDocument, Rcp};
use vpce_guard::rules::bucket::check_policy;
use vpce_guard::rules::{BucketParams, Compliance};

use crate::output;
use crate::{CheckPolicyArgs, OwnerArgs, RuleArgs, EXIT_NON_COMPLIANT};
use vpce_guard::rules::mute::MuteList;

/// Turn the shared rule flags into validated parameters.
/// The mute list of `--mute-file` (none: nothing muted); an unreadable or invalid list is an
/// error (exit 2), never a silently shorter one.
pub fn mute_list(rules: &RuleArgs) -> Result<MuteList, String> {
    let Some(file) = &rules.mute_file else {
        return Ok(MuteList::default());
    };
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("--mute-file: cannot read `{file}`: {e}"))?;
    MuteList::parse(&text).map_err(|e| format!("--mute-file `{file}`: {e}"))
}

pub fn params(rules: &RuleArgs, account_id: Option<String>) -> Result<BucketParams, String> {
    let require_tls_version = match &rules.require_tls_version {
        Some(v) => Some(BucketParams::parse_tls_version(v).map_err(|e| e.to_string())?),
        None => None,
    };
    let p = BucketParams {
        approved_vpce: rules
            .approved_vpce
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        approved_vpc: rules
            .approved_vpc
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        exempt_principals: rules.exempt_principal.clone(),
        guard_principals: rules.guard_principal.clone(),
        remediator_principals: rules.remediator_principal.clone(),
        require_sigv4: rules.require_sigv4,
        require_tls_version,
        account_id,
        disabled_rules: BucketParams::parse_disabled_rules(&rules.skip_rule)
            .map_err(|e| e.to_string())?,
        approved_endpoint_scope: BucketParams::parse_endpoint_scope(&rules.approved_endpoint_scope)
            .map_err(|e| e.to_string())?,
        rcps: read_rcps(&rules.rcp)?,
        ..BucketParams::default()
    };
    p.validate().map_err(|e| e.to_string())?;
    Ok(p)
}

/// `--rcp FILE`s: each a policy document or `describe-policy` output; a file that is missing
/// or does not parse is a usage error naming it.
pub fn read_rcps(files: &[String]) -> Result<Vec<Rcp>, String> {
    files
        .iter()
        .map(|f| {
            let text =
                std::fs::read_to_string(f).map_err(|e| format!("--rcp: cannot read `{f}`: {e}"))?;
            let name = std::path::Path::new(f)
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_else(|| f.clone());
            Rcp::from_text(&text, &name).map_err(|e| format!("--rcp `{f}`: {e}"))
        })
        .collect()
}

/// A file's text, or standard input's for `-` (`what` names it in the error).
pub fn read_input(file: &str, what: &str) -> Result<String, String> {
    if file == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| format!("cannot read the {what} from standard input: {e}"))?;
        Ok(s)
    } else {
        std::fs::read_to_string(file).map_err(|e| format!("cannot read `{file}`: {e}"))
    }
}

/// The parameters of a policy judged without account facts (`check-policy`, `check-iac`):
/// the approved endpoints are required, the owner's facts come from the flags.
pub fn policy_params(
    rules: &RuleArgs,
    owner: &OwnerArgs,
    account_id: Option<String>,
) -> Result<BucketParams, String> {
    if rules.approved_vpce.is_empty() {
        return Err(
            "--approved-vpce is required: name the approved S3 gateway endpoint ids".into(),
        );
    }
    let mut params = params(rules, account_id)?;
    params.partition =
        BucketParams::parse_partition(&owner.partition).map_err(|e| e.to_string())?;
    params.approved_vpce_account = owner.approved_vpce_account.clone();
    params.org_id = owner.org_id.clone();
    params.org_path = owner.org_path.clone();
    params.validate().map_err(|e| e.to_string())?;
    Ok(params)
}

/// Run the command; `Err` is a usage error (exit 2) with its one-line message.
pub fn run(args: &CheckPolicyArgs) -> Result<u8, String> {
    if args.format == crate::ReportFormat::Html {
        return Err(
            "--format html is the report of a sweep: use `vpce-guard scan --format html`".into(),
        );
    }
    if args.bucket.trim().is_empty() {
        return Err("--bucket must name the bucket".into());
    }
    let params = policy_params(&args.rules, &args.owner, args.account_id.clone())?;
    let text = read_input(&args.file, "policy")?;
    let name = if args.file == "-" {
        "standard input"
    } else {
        args.file.as_str()
    };
    let doc = PolicyDocument::parse(&text)
        .map_err(|e| format!("`{name}` is not a valid policy document: {e}"))?;
    let mutes = mute_list(&args.rules)?;
    let now = vpce_guard::now_epoch_seconds();
    let mut eval = check_policy(&args.bucket, &doc, &params, now);
    mutes.apply(&mut eval, now);
    if args.format == crate::ReportFormat::Ocsf {
        output::print_lines(&vpce_guard::export::ocsf::policy_events(
            &eval, &params, now,
        ))?;
    } else {
        output::print_evaluations(std::slice::from_ref(&eval), args.format)?;
    }
    Ok(if eval.compliance == Compliance::NonCompliant {
        EXIT_NON_COMPLIANT
    } else {
        0
    })
}
