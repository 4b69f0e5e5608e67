//! `vpce-guard demo-account`: seed the demo account (the one `scripts/demo` tells its story on)
//! into an AWS-compatible endpoint, so the CLI and the functions can be pointed at it.

use vpce_guard::aws::AwsClients;
use vpce_guard::ports::AccountReader;
use vpce_guard::testing::seed::Seeder;

use crate::DemoAccountArgs;

pub fn run(args: &DemoAccountArgs) -> Result<u8, String> {
    let url = &args.endpoint_url;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!(
            "--endpoint-url `{url}` must start with http:// or https://"
        ));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    rt.block_on(async {
        let clients = AwsClients::load(Some(url), Some("us-east-1")).await;
        let account = clients
            .account_id()
            .await
            .map_err(|e| format!("cannot reach {url}: {e}"))?;
        let seeder = Seeder { c: clients };
        let demo = seeder
            .demo_account(&account)
            .await
            .map_err(|e| format!("seeding failed: {e}"))?;
        println!("demo account {account} seeded at {url}:");
        println!(
            "  us-east-1 VPC {} with S3 gateway endpoint {}",
            demo.vpc, demo.vpce
        );
        for (b, r) in &demo.buckets {
            println!("  bucket {b} ({r})");
        }
        println!("try: vpce-guard scan --endpoint-url {url} --region us-east-1 --region eu-west-1");
        Ok(0)
    })
}
