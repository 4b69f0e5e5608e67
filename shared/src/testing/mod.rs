//! Test doubles and the demo account, behind the `testing` feature (and in the library's own
//! unit tests): the in-memory account behind every port ([`memory`]), the policies the tests
//! and the demo use ([`policies`]), and the demo account seeded into any AWS-compatible
//! endpoint through the real SDK ([`seed`], with the `aws` feature too). Production code never
//! names this module (`shared/tests/module_graph.rs`).

pub mod memory;
pub mod policies;
#[cfg(feature = "aws")]
pub mod seed;

/// An SQS batch as Lambda's poller hands it to a function: one record per body, message ids
/// `m0`, `m1`, …
pub fn sqs_batch(bodies: &[String]) -> aws_lambda_events::event::sqs::SqsEvent {
    let mut event = aws_lambda_events::event::sqs::SqsEvent::default();
    for (i, body) in bodies.iter().enumerate() {
        let mut m = aws_lambda_events::event::sqs::SqsMessage::default();
        m.message_id = Some(format!("m{i}"));
        m.body = Some(body.clone());
        m.event_source = Some("aws:sqs".into());
        event.records.push(m);
    }
    event
}
