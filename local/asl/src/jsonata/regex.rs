//! JSONata's `/pattern/flags` literals. JSONata runs on JavaScript's regular expressions, so
//! they are compiled by `regress`, an ECMAScript regular-expression engine: `.` does not match
//! line terminators, `\s` is JavaScript's white space, capture groups, lookaround and
//! backreferences behave as in JavaScript. Its backtracking keeps its own stack, so a long
//! input cannot overflow the thread's.
//!
//! The callers work in characters (JSONata's string positions); `regress` in UTF-8 bytes: the
//! offsets are converted here.

use std::fmt;

/// A compiled regular expression.
#[derive(Clone)]
pub(crate) struct Regex {
    inner: regress::Regex,
    icase: bool,
    multiline: bool,
    /// The pattern as written.
    pub source: String,
}

impl fmt::Debug for Regex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}/{}", self.source, self.flags())
    }
}

/// Two literals are the same when their pattern and flags are.
impl PartialEq for Regex {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
            && self.icase == other.icase
            && self.multiline == other.multiline
    }
}

/// A text searched again and again (`$replace`, `$split`): the byte offset of each character,
/// worked out once, so each search converts positions without walking the text.
pub(crate) struct Subject<'a> {
    text: &'a str,
    /// The byte offset of each character, then the text's length.
    starts: Vec<usize>,
}

impl<'a> Subject<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let starts = text
            .char_indices()
            .map(|(b, _)| b)
            .chain(std::iter::once(text.len()))
            .collect();
        Subject { text, starts }
    }

    /// The character at a byte offset that starts one (or the text's end).
    fn char_at(&self, byte: usize) -> usize {
        self.starts.partition_point(|&b| b < byte)
    }
}

/// A match: its start and end, and each capture group's text (`None` when the group took no
/// part in the match), in characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub start: usize,
    pub end: usize,
    pub groups: Vec<Option<String>>,
}

impl Regex {
    /// Compiles a pattern; the error is `regress`'s description of what is wrong.
    pub(crate) fn new(pattern: &str, icase: bool, multiline: bool) -> Result<Regex, String> {
        let mut flags = String::new();
        if icase {
            flags.push('i');
        }
        if multiline {
            flags.push('m');
        }
        let inner = regress::Regex::with_flags(pattern, flags.as_str())
            .map_err(|e| format!("invalid regular expression /{pattern}/: {e}"))?;
        Ok(Regex {
            inner,
            icase,
            multiline,
            source: pattern.to_string(),
        })
    }

    fn flags(&self) -> &'static str {
        match (self.icase, self.multiline) {
            (false, false) => "",
            (true, false) => "i",
            (false, true) => "m",
            (true, true) => "im",
        }
    }

    /// The first match at or after character `from` of `subject`, with its capture groups.
    pub(crate) fn captures_at(&self, subject: &Subject<'_>, from: usize) -> Option<Found> {
        let start = *subject.starts.get(from)?;
        let m = self.inner.find_from(subject.text, start).next()?;
        let range = m.range();
        Some(Found {
            start: subject.char_at(range.start),
            end: subject.char_at(range.end),
            groups: m
                .groups()
                .skip(1)
                .map(|g| g.map(|r| subject.text[r].to_string()))
                .collect(),
        })
    }

    /// The first match at or after character `from`: its start and end (characters).
    pub(crate) fn find_at(&self, subject: &Subject<'_>, from: usize) -> Option<(usize, usize)> {
        self.captures_at(subject, from).map(|f| (f.start, f.end))
    }

    /// Whether the pattern matches anywhere in `s`.
    pub(crate) fn is_match(&self, s: &str) -> bool {
        self.inner.find(s).is_some()
    }
}

/// JSONata's `$replace` replacement text for one match: `$0` is the match, `$1`... the groups
/// (a number taken as long as it names a group; an unmatched group is empty), `$$` a `$`.
pub(crate) fn expand(replacement: &str, found: &Found, matched: &str) -> String {
    let chars: Vec<char> = replacement.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '$' || i + 1 >= chars.len() {
            out.push(c);
            i += 1;
            continue;
        }
        if chars[i + 1] == '$' {
            out.push('$');
            i += 2;
            continue;
        }
        // The longest run of digits that names a group (or 0).
        let digits: String = chars[i + 1..]
            .iter()
            .take_while(|d| d.is_ascii_digit())
            .collect();
        let mut taken = None;
        for len in (1..=digits.len()).rev() {
            if let Ok(n) = digits[..len].parse::<usize>() {
                if n <= found.groups.len() {
                    taken = Some((n, len));
                    break;
                }
            }
        }
        match taken {
            Some((0, len)) => {
                out.push_str(matched);
                i += 1 + len;
            }
            Some((n, len)) => {
                out.push_str(found.groups[n - 1].as_deref().unwrap_or(""));
                i += 1 + len;
            }
            None => {
                out.push('$');
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{expand, Regex, Subject};

    #[test]
    fn matches_as_javascript_does() {
        let cases = [
            ("^hello\\$", "hello$world", true),
            ("^hello\\$", "hello world", false),
            ("a[0-9]+b", "xxa123b", true),
            ("^(ab|cd){2}$", "abcd", true),
            ("^(ab|cd){2}$", "abc", false),
            ("\\d{3}-\\d{4}", "call 555-1234", true),
            ("colou?r", "color", true),
            ("^[^@]+@[^@]+\\.com$", "a@b.com", true),
            ("\\bcat\\b", "concat", false),
            // JavaScript's `.` stops at line terminators; its `\s` includes NBSP and U+2028.
            ("^a.b$", "a\nb", false),
            ("^a\\sb$", "a\u{a0}b", true),
            ("^a\\sb$", "a\u{2028}b", true),
            // Lookahead and backreferences, which JavaScript has.
            ("q(?=u)", "quit", true),
            ("(\\w)\\1", "hello", true),
        ];
        for (p, s, want) in cases {
            let re = Regex::new(p, false, false).expect("valid pattern");
            assert_eq!(re.is_match(s), want, "{p} on {s:?}");
        }
        assert!(Regex::new("HELLO", true, false)
            .expect("valid")
            .is_match("say hello"));
        assert!(Regex::new("^b$", false, true)
            .expect("valid")
            .is_match("a\nb"));
        let aaa = Subject::new("aaa");
        let lazy = Regex::new("a+?", false, false).expect("valid pattern");
        assert_eq!(lazy.find_at(&aaa, 0), Some((0, 1)));
        let greedy = Regex::new("a+", false, false).expect("valid pattern");
        assert_eq!(greedy.find_at(&aaa, 1), Some((1, 3)));
        assert!(Regex::new("(a", false, false).is_err());
    }

    /// Offsets are characters, whatever the bytes: a search from a position after multi-byte
    /// characters, and the groups of the match.
    #[test]
    fn positions_are_characters_and_groups_are_captured() {
        let re = Regex::new("(\\d+)-(x)?(\\d+)", false, false).expect("valid");
        let s = Subject::new("éé 12-34 ü 5-6");
        let first = re.captures_at(&s, 0).expect("a match");
        assert_eq!((first.start, first.end), (3, 8));
        assert_eq!(
            first.groups,
            vec![Some("12".to_string()), None, Some("34".to_string())]
        );
        let second = re.captures_at(&s, 8).expect("a second match");
        assert_eq!((second.start, second.end), (11, 14));
        assert_eq!(re.captures_at(&s, 15), None);
        assert_eq!(
            expand("[$2|$1|$0|$$|$9]", &first, "12-34"),
            "[|12|12-34|$|$9]"
        );
        assert_eq!(expand("$10", &first, "12-34"), "120");
    }

    /// Inputs far longer than a thread's stack could hold as recursion, and a pattern that
    /// backtracks on every position of its input.
    #[test]
    fn long_inputs_and_backtracking_patterns_complete() {
        let long = "ab".repeat(50_000);
        let re = Regex::new("^(ab)+$", false, false).expect("valid");
        assert!(re.is_match(&long));
        let re = Regex::new("(a|b)*c", false, false).expect("valid");
        assert!(!re.is_match(&"ab".repeat(200)));
        let spaces = format!("x{}y", " ".repeat(500));
        let re = Regex::new("\\s+$", false, false).expect("valid");
        assert!(!re.is_match(&spaces));
    }
}
