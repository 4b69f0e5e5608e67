//! IAM policy documents and their evaluation: parse → model → evaluate, no I/O.

testing_pub_mod!(catalog);
pub(crate) mod cidr;
testing_pub_mod!(compiled);
testing_pub_mod!(condition);
testing_pub_mod!(context);
testing_pub_mod!(date);
pub(crate) mod err;
pub(crate) mod glob;
pub(crate) mod keys;
testing_pub_mod!(layers);
testing_pub_mod!(model);
pub(crate) mod operator;
testing_pub_mod!(space);
pub(crate) mod tri;
testing_pub_mod!(values);
pub(crate) mod witness;

pub(crate) use context::{Caller, Principal, RequestContext, Signature};
pub use err::PolicyError;
#[cfg_attr(feature = "testing", visibility::make(pub))]
pub(crate) use err::MAX_POLICY_BYTES;
pub use layers::{Rcp, RcpError};
pub use model::{Effect, PolicyDocument, Statement};
