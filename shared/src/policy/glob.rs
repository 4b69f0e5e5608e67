//! IAM wildcards: `*` (any run of characters, also empty) and `?` (exactly one character), and
//! witnesses: concrete strings that a pattern (or two patterns at once) matches.

use std::collections::VecDeque;

/// Does `pattern` match `text`? ASCII case is folded when `fold` is set.
///
/// Matching is by Unicode character, as IAM matches: `?` is exactly one character (`a?c`
/// matches `aéc`, a two-byte character), `*` any run of characters. The classic single-star
/// backtracking walk: at most O(pattern × text) steps, never exponential, and no allocation.
pub(crate) fn matches(pattern: &str, text: &str, fold: bool) -> bool {
    let eq = |a: char, b: char| {
        if fold {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    // Byte offsets into `pattern` and `text`, always on character boundaries.
    let (mut pi, mut ti) = (0usize, 0usize);
    // Offset of the last `*` in the pattern and the text offset it was tried at.
    let mut star: Option<(usize, usize)> = None;
    while let Some(tc) = char_at(text, ti) {
        match char_at(pattern, pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(pc) if pc == '?' || eq(pc, tc) => {
                pi += pc.len_utf8();
                ti += tc.len_utf8();
            }
            _ => match star {
                Some((sp, st)) => {
                    // Let the `*` take one more character and try again after it.
                    let next = st + char_at(text, st).map_or(1, char::len_utf8);
                    pi = sp + 1;
                    ti = next;
                    star = Some((sp, next));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(pi..)
        .is_some_and(|rest| rest.bytes().all(|c| c == b'*'))
}

/// The character starting at byte offset `i` (`None` at the end).
fn char_at(s: &str, i: usize) -> Option<char> {
    s.get(i..)?.chars().next()
}

/// True when the string has a wildcard character.
pub fn is_pattern(s: &str) -> bool {
    s.contains('*') || s.contains('?')
}

/// A string the pattern matches: `*` becomes `star`, `?` becomes `one`.
pub(crate) fn fill(pattern: &str, star: &str, one: char) -> String {
    let mut out = String::with_capacity(pattern.len() + star.len());
    for c in pattern.chars() {
        match c {
            '*' => out.push_str(star),
            '?' => out.push(one),
            c => out.push(c),
        }
    }
    out
}

/// A move of the product search: the next (position in a, position in b) and the character
/// written, if any.
type Step = ((usize, usize), Option<char>);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tok {
    Lit(char),
    One,
    Star,
}

fn tokens(p: &str) -> Vec<Tok> {
    p.chars()
        .map(|c| match c {
            '*' => Tok::Star,
            '?' => Tok::One,
            c => Tok::Lit(c),
        })
        .collect()
}

/// A shortest string matched by both patterns, if there is one. A character both patterns
/// leave free is written as `free`. Case is folded when `fold` is set.
pub(crate) fn intersect(a: &str, b: &str, fold: bool, free: char) -> Option<String> {
    let ta = tokens(a);
    let tb = tokens(b);
    let same = |x: char, y: char| {
        if fold {
            x.eq_ignore_ascii_case(&y)
        } else {
            x == y
        }
    };
    // Cheap rejection: the literal prefixes (up to the first wildcard) must agree.
    for (x, y) in ta.iter().zip(tb.iter()) {
        match (x, y) {
            (Tok::Lit(c), Tok::Lit(d)) if !same(*c, *d) => return None,
            (Tok::Lit(_), Tok::Lit(_)) => {}
            _ => break,
        }
    }
    // Breadth-first search over (position in a, position in b); a `*` may be skipped
    // (epsilon) or consume one character while staying put. `prev` is a grid, not a map.
    let width = tb.len() + 1;
    let cells = (ta.len() + 1) * width;
    let at = |i: usize, j: usize| i * width + j;
    let mut prev: Vec<Option<(usize, Option<char>)>> = vec![None; cells];
    let mut queue = VecDeque::new();
    let start = at(0, 0);
    if let Some(c) = prev.get_mut(start) {
        *c = Some((start, None));
    }
    queue.push_back((0usize, 0usize));
    let mut goal = None;
    while let Some((i, j)) = queue.pop_front() {
        if i == ta.len() && j == tb.len() {
            goal = Some(at(i, j));
            break;
        }
        let mut next: [Option<Step>; 3] = [None; 3];
        let x = ta.get(i).copied();
        let y = tb.get(j).copied();
        if x == Some(Tok::Star) {
            next[0] = Some(((i + 1, j), None));
        }
        if y == Some(Tok::Star) {
            next[1] = Some(((i, j + 1), None));
        }
        if let (Some(x), Some(y)) = (x, y) {
            let ni = if x == Tok::Star { i } else { i + 1 };
            let nj = if y == Tok::Star { j } else { j + 1 };
            let ch = match (x, y) {
                (Tok::Lit(c), Tok::Lit(d)) => same(c, d).then_some(c),
                (Tok::Lit(c), _) | (_, Tok::Lit(c)) => Some(c),
                _ => Some(free),
            };
            // Consuming a character without moving on both `*` would loop; it is never
            // needed for a shortest witness.
            if let Some(c) = ch.filter(|_| (ni, nj) != (i, j)) {
                next[2] = Some(((ni, nj), Some(c)));
            }
        }
        for ((ni, nj), ch) in next.into_iter().flatten() {
            if let Some(cell) = prev.get_mut(at(ni, nj)) {
                if cell.is_none() {
                    *cell = Some((at(i, j), ch));
                    queue.push_back((ni, nj));
                }
            }
        }
    }
    let mut state = goal?;
    let mut chars = Vec::new();
    while state != start {
        let (p, ch) = (*prev.get(state)?)?;
        if let Some(c) = ch {
            chars.push(c);
        }
        state = p;
    }
    chars.reverse();
    Some(chars.into_iter().collect())
}

/// An ARN split into its six parts (the last keeps any further `:`).
pub(crate) fn arn_parts(arn: &str) -> Option<[&str; 6]> {
    // Five `split_once`s: the engine asks this for every principal variant of every ARN
    // condition, and it is measurably cheaper than a `splitn` iterator.
    let rest = arn.strip_prefix("arn:")?;
    let (partition, rest) = rest.split_once(':')?;
    let (service, rest) = rest.split_once(':')?;
    let (region, rest) = rest.split_once(':')?;
    let (account, resource) = rest.split_once(':')?;
    Some(["arn", partition, service, region, account, resource])
}

/// `ArnLike` / `ArnEquals`: part by part, wildcards within a part.
pub(crate) fn arn_matches(pattern: &str, arn: &str) -> bool {
    if pattern == arn {
        return arn_parts(arn).is_some();
    }
    match (arn_parts(pattern), arn_parts(arn)) {
        (Some(p), Some(a)) => p.iter().zip(a.iter()).all(|(p, a)| matches(p, a, false)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(matches("s3:Get*", "s3:GetObject", false));
        assert!(matches("S3:get*", "s3:GetObject", true));
        assert!(!matches("S3:get*", "s3:GetObject", false));
        assert!(matches("*", "", false));
        assert!(matches("a?c", "abc", false));
        assert!(!matches("a?c", "ac", false));
        assert!(matches("arn:aws:s3:::b/*", "arn:aws:s3:::b/x/y", false));
        assert!(!matches("arn:aws:s3:::b/*", "arn:aws:s3:::b", false));
        assert!(matches("*a*b*c", "xxaxxbxxc", false));
        assert!(!matches("*a*b*c", "xxaxxcxxb", false));
    }

    #[test]
    fn question_mark_is_one_character_not_one_byte() {
        assert!(
            matches("a?c", "aéc", false),
            "é is two bytes, one character"
        );
        assert!(!matches("a??c", "aéc", false));
        assert!(matches("a??c", "abbc", false));
        // Three- and four-byte characters.
        assert!(matches("a?c", "a€c", false));
        assert!(matches("a?c", "a😀c", false));
        assert!(!matches("a???c", "a😀c", false));
        assert!(!matches("a?c", "ac", false));
        assert!(!matches("a?c", "aééc", false));
        // Literal non-ASCII characters, and folding only ASCII.
        assert!(matches("café/*", "café/menu", false));
        assert!(!matches("café/*", "cafe/menu", false));
        assert!(!matches("CAFÉ/?", "café/x", false));
        assert!(matches("CAF?/?", "café/x", true));
        assert!(
            !matches("É", "é", true),
            "case folding is ASCII only, as before"
        );
        // `*` takes any run of characters, multi-byte ones included.
        assert!(matches("*é", "ééé", false));
        assert!(matches("*?", "é", false));
        assert!(!matches("?*?", "é", false));
        assert!(matches("a*?c", "a日本c", false));
        assert!(matches("日*語", "日本語", false));
        assert!(!matches("日?語?", "日本語", false));
    }

    #[test]
    fn object_keys_with_non_ascii_characters() {
        let res = |key: &str| format!("arn:aws:s3:::photos/{key}");
        assert!(matches(
            "arn:aws:s3:::photos/200?/*",
            &res("2006/été.jpg"),
            false
        ));
        assert!(matches(
            "arn:aws:s3:::photos/??/*",
            &res("東京/夜.jpg"),
            false
        ));
        assert!(!matches(
            "arn:aws:s3:::photos/?/*",
            &res("東京/夜.jpg"),
            false
        ));
        assert!(matches(
            "arn:aws:s3:::photos/*/?.jpg",
            &res("東京/夜.jpg"),
            false
        ));
        assert!(matches(
            "arn:aws:s3:::photos/r?sum?.pdf",
            &res("résumé.pdf"),
            false
        ));
        assert!(!matches(
            "arn:aws:s3:::photos/r?sum?.pdf",
            &res("résumés.pdf"),
            false
        ));
        assert!(arn_matches(
            "arn:aws:s3:::photos/??/*",
            "arn:aws:s3:::photos/東京/夜.jpg"
        ));
    }

    /// Through a condition clause, as the engine evaluates `StringLike` on an object key.
    #[test]
    fn string_like_on_non_ascii_keys() {
        use crate::policy::condition::Clause;
        use crate::policy::tri::Tri;
        let like = |pattern: &str, key: &str| {
            Clause::new("StringLike", "s3:prefix", &[pattern.to_string()], true)
                .eval(Some(&[key.to_string()]))
        };
        assert_eq!(like("photos/?/*", "photos/é/x.jpg"), Tri::Yes);
        assert_eq!(like("photos/??/*", "photos/é/x.jpg"), Tri::No);
        assert_eq!(like("photos/??/*", "photos/東京/x.jpg"), Tri::Yes);
        assert_eq!(like("photos/*", "photos/東京/x.jpg"), Tri::Yes);
    }

    #[test]
    fn no_exponential_backtracking() {
        // A pattern of many stars against a long text that almost matches: the single-star
        // walk finishes in O(pattern × text) steps.
        let text = "é".repeat(20_000) + "x";
        let pattern = "*é".repeat(50) + "*y";
        let started = std::time::Instant::now();
        assert!(!matches(&pattern, &text, false));
        assert!(matches(&("*é".repeat(50) + "*x"), &text, false));
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }

    /// `matches` agrees with a plain dynamic-programming matcher over characters.
    #[test]
    fn agrees_with_a_reference_matcher() {
        fn reference(p: &[char], t: &[char]) -> bool {
            let mut dp = vec![vec![false; t.len() + 1]; p.len() + 1];
            dp[0][0] = true;
            for i in 1..=p.len() {
                for j in 0..=t.len() {
                    dp[i][j] = match p[i - 1] {
                        '*' => dp[i - 1][j] || (j > 0 && dp[i][j - 1]),
                        '?' => j > 0 && dp[i - 1][j - 1],
                        c => j > 0 && dp[i - 1][j - 1] && t[j - 1] == c,
                    };
                }
            }
            dp[p.len()][t.len()]
        }
        let alphabet = ['a', 'é', '日', '*', '?'];
        let texts = [
            "",
            "a",
            "é",
            "aé",
            "éa",
            "日日",
            "a日é",
            "éaé日",
            "aaé",
            "ééé日a",
        ];
        // Every pattern of up to four symbols over the alphabet.
        let mut patterns: Vec<String> = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> = patterns
                .iter()
                .flat_map(|p| alphabet.iter().map(move |c| format!("{p}{c}")))
                .collect();
            patterns.extend(longer);
        }
        patterns.sort();
        patterns.dedup();
        for p in &patterns {
            let pc: Vec<char> = p.chars().collect();
            for t in texts {
                let tc: Vec<char> = t.chars().collect();
                assert_eq!(matches(p, t, false), reference(&pc, &tc), "{p:?} on {t:?}");
            }
        }
    }

    #[test]
    fn intersections() {
        assert_eq!(
            intersect("vpce-1a*", "vpce-*", false, 'z').as_deref(),
            Some("vpce-1a")
        );
        assert_eq!(intersect("vpce-1a*", "vpce-2*", false, 'z'), None);
        let w = intersect("arn:aws:s3:::*/secret/*", "arn:aws:s3:::b/*", false, 'z').unwrap();
        assert!(matches("arn:aws:s3:::*/secret/*", &w, false));
        assert!(matches("arn:aws:s3:::b/*", &w, false));
        assert_eq!(intersect("a?", "?b", false, 'z').as_deref(), Some("ab"));
    }

    #[test]
    fn arns() {
        assert!(arn_matches(
            "arn:aws:iam::*:role/aws-service-role/config.amazonaws.com/*",
            "arn:aws:iam::111122223333:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
        ));
        assert!(!arn_matches(
            "arn:aws:iam::*:role/x",
            "arn:aws:sts::1:assumed-role/x/s"
        ));
    }
}
