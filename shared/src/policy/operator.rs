//! Condition operators as IAM spells them: the base comparison, `Not` negation, `IfExists`
//! and the set qualifiers.

/// The operator family, without qualifiers.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Base {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    NumericEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    ArnEquals,
    ArnLike,
    Null,
}

/// How the values of a multi-valued request key are combined.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum SetQualifier {
    ForAnyValue,
    ForAllValues,
}

/// A parsed condition operator.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Operator {
    pub(crate) qualifier: Option<SetQualifier>,
    pub(crate) base: Base,
    /// `StringNotEquals`, `NotIpAddress`, `ArnNotLike`, …
    pub(crate) negated: bool,
    pub(crate) if_exists: bool,
}

impl Operator {
    /// Parse an operator name as AWS spells it (case-sensitive). `None` for an unknown one.
    pub(crate) fn parse(name: &str) -> Option<Operator> {
        let (qualifier, rest) = if let Some(r) = name.strip_prefix("ForAnyValue:") {
            (Some(SetQualifier::ForAnyValue), r)
        } else if let Some(r) = name.strip_prefix("ForAllValues:") {
            (Some(SetQualifier::ForAllValues), r)
        } else {
            (None, name)
        };
        let (rest, if_exists) = match rest.strip_suffix("IfExists") {
            Some(r) => (r, true),
            None => (rest, false),
        };
        use Base::*;
        let (base, negated) = match rest {
            "StringEquals" => (StringEquals, false),
            "StringNotEquals" => (StringEquals, true),
            "StringEqualsIgnoreCase" => (StringEqualsIgnoreCase, false),
            "StringNotEqualsIgnoreCase" => (StringEqualsIgnoreCase, true),
            "StringLike" => (StringLike, false),
            "StringNotLike" => (StringLike, true),
            "NumericEquals" => (NumericEquals, false),
            "NumericNotEquals" => (NumericEquals, true),
            "NumericLessThan" => (NumericLessThan, false),
            "NumericLessThanEquals" => (NumericLessThanEquals, false),
            "NumericGreaterThan" => (NumericGreaterThan, false),
            "NumericGreaterThanEquals" => (NumericGreaterThanEquals, false),
            "DateEquals" => (DateEquals, false),
            "DateNotEquals" => (DateEquals, true),
            "DateLessThan" => (DateLessThan, false),
            "DateLessThanEquals" => (DateLessThanEquals, false),
            "DateGreaterThan" => (DateGreaterThan, false),
            "DateGreaterThanEquals" => (DateGreaterThanEquals, false),
            "Bool" => (Bool, false),
            "BinaryEquals" => (BinaryEquals, false),
            "IpAddress" => (IpAddress, false),
            "NotIpAddress" => (IpAddress, true),
            "ArnEquals" => (ArnEquals, false),
            "ArnNotEquals" => (ArnEquals, true),
            "ArnLike" => (ArnLike, false),
            "ArnNotLike" => (ArnLike, true),
            "Null" => (Null, false),
            _ => return None,
        };
        if base == Null && (if_exists || qualifier.is_some()) {
            return None;
        }
        Some(Operator {
            qualifier,
            base,
            negated,
            if_exists,
        })
    }

    pub(crate) fn family(self) -> Family {
        use Base::*;
        match self.base {
            StringEquals | StringEqualsIgnoreCase | StringLike | BinaryEquals => Family::String,
            NumericEquals
            | NumericLessThan
            | NumericLessThanEquals
            | NumericGreaterThan
            | NumericGreaterThanEquals => Family::Numeric,
            DateEquals
            | DateLessThan
            | DateLessThanEquals
            | DateGreaterThan
            | DateGreaterThanEquals => Family::Date,
            Bool => Family::Bool,
            IpAddress => Family::Ip,
            ArnEquals | ArnLike => Family::Arn,
            Null => Family::Null,
        }
    }
}

/// What kind of values an operator compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Family {
    String,
    Numeric,
    Date,
    Bool,
    Ip,
    Arn,
    Null,
}
