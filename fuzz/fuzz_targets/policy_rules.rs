#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _reached = vpce_guard_fuzz::checks::policy_rules(data);
});
