//! The identifiers the engine makes up for counter-examples, spelled and recognised in one place.

/// The mark of the identifiers the engine makes up for a counter-example (an endpoint or a
/// VPC no policy names and the account may not have: "a foreign endpoint"): the resource
/// prefix, this mark, then a counter in [`SYNTHETIC_COUNTER_DIGITS`] hex digits, as in
/// `vpce-0ffe0000000000002` (17 hex digits, the shape of a real id, so that the rules treat it
/// as one). The engine's generator (`build::Fresh::id`) spells them with
/// [`synthetic_id`]; the notifier recognises them with [`is_synthetic_id`] (no console link).
pub(crate) const SYNTHETIC_ID_MARK: &str = "0ffe";

/// The hex digits of the counter after [`SYNTHETIC_ID_MARK`].
pub(crate) const SYNTHETIC_COUNTER_DIGITS: usize = 13;

/// The `counter`-th made-up id with `prefix` (`vpce-`, `vpc-`).
pub(crate) fn synthetic_id(prefix: &str, counter: u64) -> String {
    format!(
        "{prefix}{SYNTHETIC_ID_MARK}{counter:0width$x}",
        width = SYNTHETIC_COUNTER_DIGITS
    )
}

/// Is `id` one the engine made up for a counter-example (`vpce-0ffe0000000000002`)? An id is
/// the resource prefix and `-`, [`SYNTHETIC_ID_MARK`], and a counter of
/// [`SYNTHETIC_COUNTER_DIGITS`] lower-case hex digits below 2^32 (the engine counts from 1 per
/// evaluation). A real id that happens to start with `0ffe` (`vpce-0ffe1a2b3c4d5e6f7`) is not:
/// its next digits are not five zeros.
pub(crate) fn is_synthetic_id(id: &str) -> bool {
    let Some((prefix, rest)) = id.split_once('-') else {
        return false;
    };
    let Some(counter) = rest.strip_prefix(SYNTHETIC_ID_MARK) else {
        return false;
    };
    !prefix.is_empty()
        && prefix.bytes().all(|b| b.is_ascii_lowercase())
        && counter.len() == SYNTHETIC_COUNTER_DIGITS
        && counter
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && counter.starts_with("00000")
}
