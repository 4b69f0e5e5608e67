//! Three-valued logic: what the engine knows about a match.

/// `Yes`, `No`, or `Unknown` (the engine cannot decide; verdicts fail closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Tri {
    No,
    Yes,
    Unknown,
}

impl Tri {
    /// Kleene conjunction.
    pub(crate) fn and(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::No, _) | (_, Tri::No) => Tri::No,
            (Tri::Yes, Tri::Yes) => Tri::Yes,
            _ => Tri::Unknown,
        }
    }

    /// Certainly true.
    pub(crate) fn must(self) -> bool {
        self == Tri::Yes
    }

    /// Possibly true.
    pub(crate) fn may(self) -> bool {
        self != Tri::No
    }
}

impl From<bool> for Tri {
    fn from(b: bool) -> Tri {
        if b {
            Tri::Yes
        } else {
            Tri::No
        }
    }
}
