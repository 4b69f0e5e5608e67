//! IAM policy documents and their evaluation: parse → model → evaluate, no I/O.

pub mod catalog;
pub mod compiled;
pub mod condition;
pub mod context;
pub mod err;
pub mod glob;
pub mod model;
pub mod space;
pub mod tri;

pub use context::{evaluate, Caller, Decision, Principal, RequestContext, Signature};
pub use err::{PolicyError, MAX_POLICY_BYTES};
pub use model::{Effect, PolicyDocument, Statement};
pub use tri::Tri;
