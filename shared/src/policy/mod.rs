//! IAM policy documents and their evaluation: parse → model → evaluate, no I/O.

pub mod catalog;
pub(crate) mod cidr;
pub mod compiled;
pub mod condition;
pub mod context;
pub mod date;
pub mod err;
pub(crate) mod glob;
pub(crate) mod keys;
pub mod model;
pub(crate) mod operator;
pub mod space;
pub mod tri;
pub mod values;
pub(crate) mod witness;

pub use compiled::{evaluate, Decision};
pub use context::{Caller, Principal, RequestContext, Signature};
pub use err::{PolicyError, MAX_POLICY_BYTES};
pub use model::{Effect, PolicyDocument, Statement};
pub use tri::Tri;
