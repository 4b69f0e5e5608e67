//! IAM wildcards: `*` (any run of characters, also empty) and `?` (exactly one character), and
//! witnesses: concrete strings that a pattern (or two patterns at once) matches.

use std::collections::VecDeque;

/// Does `pattern` match `text`? ASCII case is folded when `fold` is set.
pub fn matches(pattern: &str, text: &str, fold: bool) -> bool {
    let p = pattern.as_bytes();
    let t = text.as_bytes();
    let eq = |a: u8, b: u8| {
        if fold {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (mut pi, mut ti) = (0usize, 0usize);
    // Position of the last `*` in the pattern and the text position it was tried at.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == b'?' || t.get(ti).is_some_and(|&x| eq(c, x)) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|&c| c == b'*'))
}

/// True when the string has a wildcard character.
pub fn is_pattern(s: &str) -> bool {
    s.contains('*') || s.contains('?')
}

/// A string the pattern matches: `*` becomes `star`, `?` becomes `one`.
pub fn fill(pattern: &str, star: &str, one: char) -> String {
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
pub fn intersect(a: &str, b: &str, fold: bool, free: char) -> Option<String> {
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
pub fn arn_parts(arn: &str) -> Option<[&str; 6]> {
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
pub fn arn_matches(pattern: &str, arn: &str) -> bool {
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
