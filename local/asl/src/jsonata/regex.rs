//! A small backtracking regular-expression engine for JSONata's `/pattern/flags` literals:
//! literals, `.`, classes (`[a-z]`, `[^...]`, `\d`, `\w`, `\s` and their negations), anchors
//! (`^`, `$`, `\b`), groups (`(...)`, `(?:...)`), alternation and greedy or lazy quantifiers
//! (`*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}`).

#[derive(Debug, Clone, PartialEq)]
enum ClassItem {
    Char(char),
    Range(char, char),
    Digit(bool),
    Word(bool),
    Space(bool),
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Char(char),
    Any,
    Class(Vec<ClassItem>, bool),
    Start,
    End,
    WordBoundary(bool),
    Group(Vec<Vec<Node>>),
    Repeat(Box<Node>, usize, Option<usize>, bool),
}

/// A compiled regular expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Regex {
    alts: Vec<Vec<Node>>,
    icase: bool,
    multiline: bool,
    /// The pattern as written.
    pub source: String,
}

struct RegexParser<'a> {
    c: &'a [char],
    i: usize,
}

impl RegexParser<'_> {
    fn alts(&mut self) -> Result<Vec<Vec<Node>>, String> {
        let mut alts = vec![self.seq()?];
        while self.c.get(self.i) == Some(&'|') {
            self.i += 1;
            alts.push(self.seq()?);
        }
        Ok(alts)
    }

    fn seq(&mut self) -> Result<Vec<Node>, String> {
        let mut out = Vec::new();
        while let Some(&ch) = self.c.get(self.i) {
            if ch == '|' || ch == ')' {
                break;
            }
            self.i += 1;
            let atom = match ch {
                '.' => Node::Any,
                '^' => Node::Start,
                '$' => Node::End,
                '(' => {
                    if self.c.get(self.i) == Some(&'?') && self.c.get(self.i + 1) == Some(&':') {
                        self.i += 2;
                    }
                    let a = self.alts()?;
                    if self.c.get(self.i) != Some(&')') {
                        return Err("Unterminated group in regular expression".into());
                    }
                    self.i += 1;
                    Node::Group(a)
                }
                '[' => self.class()?,
                '\\' => self.escape(false)?,
                '*' | '+' | '?' => return Err("Nothing to repeat in regular expression".into()),
                c => Node::Char(c),
            };
            let atom = self.quant(atom)?;
            out.push(atom);
        }
        Ok(out)
    }

    fn quant(&mut self, atom: Node) -> Result<Node, String> {
        let (min, max) = match self.c.get(self.i) {
            Some('*') => (0, None),
            Some('+') => (1, None),
            Some('?') => (0, Some(1)),
            Some('{') => {
                let rest: String = self.c[self.i + 1..].iter().collect();
                let Some(end) = rest.find('}') else {
                    return Ok(atom);
                };
                let body = &rest[..end];
                let parsed = match body.split_once(',') {
                    None => body.parse().ok().map(|n: usize| (n, Some(n))),
                    Some((a, "")) => a.parse().ok().map(|n: usize| (n, None)),
                    Some((a, b)) => match (a.parse(), b.parse()) {
                        (Ok(a), Ok(b)) => Some((a, Some(b))),
                        _ => None,
                    },
                };
                let Some((a, b)) = parsed else {
                    return Ok(atom);
                };
                self.i += body.chars().count() + 1;
                (a, b)
            }
            _ => return Ok(atom),
        };
        self.i += 1;
        let lazy = self.c.get(self.i) == Some(&'?');
        if lazy {
            self.i += 1;
        }
        Ok(Node::Repeat(Box::new(atom), min, max, !lazy))
    }

    fn escape(&mut self, in_class: bool) -> Result<Node, String> {
        let Some(&e) = self.c.get(self.i) else {
            return Err("Trailing backslash in regular expression".into());
        };
        self.i += 1;
        let item = |ci: ClassItem| Node::Class(vec![ci], false);
        Ok(match e {
            'd' => item(ClassItem::Digit(true)),
            'D' => item(ClassItem::Digit(false)),
            'w' => item(ClassItem::Word(true)),
            'W' => item(ClassItem::Word(false)),
            's' => item(ClassItem::Space(true)),
            'S' => item(ClassItem::Space(false)),
            'b' if !in_class => Node::WordBoundary(true),
            'B' if !in_class => Node::WordBoundary(false),
            'n' => Node::Char('\n'),
            'r' => Node::Char('\r'),
            't' => Node::Char('\t'),
            'f' => Node::Char('\u{c}'),
            'v' => Node::Char('\u{b}'),
            '0' => Node::Char('\0'),
            'u' => {
                let hex: String = self.c.iter().skip(self.i).take(4).collect();
                let code = u32::from_str_radix(&hex, 16)
                    .map_err(|_| "Invalid \\u escape in regular expression".to_string())?;
                self.i += 4;
                Node::Char(char::from_u32(code).unwrap_or('\u{fffd}'))
            }
            c => Node::Char(c),
        })
    }

    fn class(&mut self) -> Result<Node, String> {
        let neg = self.c.get(self.i) == Some(&'^');
        if neg {
            self.i += 1;
        }
        let mut items = Vec::new();
        let mut first = true;
        loop {
            let Some(&ch) = self.c.get(self.i) else {
                return Err("Unterminated character class in regular expression".into());
            };
            if ch == ']' && !first {
                self.i += 1;
                break;
            }
            first = false;
            self.i += 1;
            let lo = if ch == '\\' {
                match self.escape(true)? {
                    Node::Char(c) => c,
                    Node::Class(mut v, _) => {
                        items.append(&mut v);
                        continue;
                    }
                    _ => continue,
                }
            } else {
                ch
            };
            if self.c.get(self.i) == Some(&'-') && self.c.get(self.i + 1).is_some_and(|c| *c != ']')
            {
                self.i += 1;
                let mut hi = self.c[self.i];
                self.i += 1;
                if hi == '\\' {
                    if let Node::Char(c) = self.escape(true)? {
                        hi = c;
                    }
                }
                items.push(ClassItem::Range(lo, hi));
            } else {
                items.push(ClassItem::Char(lo));
            }
        }
        Ok(Node::Class(items, neg))
    }
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl Regex {
    /// Compiles a pattern.
    pub(crate) fn new(pattern: &str, icase: bool, multiline: bool) -> Result<Regex, String> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut p = RegexParser { c: &chars, i: 0 };
        let alts = p.alts()?;
        if p.i != chars.len() {
            return Err("Unmatched ')' in regular expression".into());
        }
        Ok(Regex {
            alts,
            icase,
            multiline,
            source: pattern.to_string(),
        })
    }

    /// The first match at or after `from`: its start and end (character offsets).
    pub(crate) fn find_at(&self, s: &[char], from: usize) -> Option<(usize, usize)> {
        for start in from..=s.len() {
            let mut end = None;
            if self.alts_at(&self.alts, s, start, &mut |e| {
                end = Some(e);
                true
            }) {
                return end.map(|e| (start, e));
            }
        }
        None
    }

    /// Whether the pattern matches anywhere in `s`.
    pub(crate) fn is_match(&self, s: &str) -> bool {
        let chars: Vec<char> = s.chars().collect();
        self.find_at(&chars, 0).is_some()
    }

    fn alts_at(
        &self,
        alts: &[Vec<Node>],
        s: &[char],
        pos: usize,
        k: &mut dyn FnMut(usize) -> bool,
    ) -> bool {
        alts.iter().any(|seq| self.seq_at(seq, s, pos, k))
    }

    fn seq_at(
        &self,
        seq: &[Node],
        s: &[char],
        pos: usize,
        k: &mut dyn FnMut(usize) -> bool,
    ) -> bool {
        let Some((first, rest)) = seq.split_first() else {
            return k(pos);
        };
        self.node_at(first, s, pos, &mut |p| self.seq_at(rest, s, p, k))
    }

    fn char_eq(&self, a: char, b: char) -> bool {
        a == b || (self.icase && a.to_lowercase().eq(b.to_lowercase()))
    }

    fn class_has(&self, items: &[ClassItem], c: char) -> bool {
        items.iter().any(|it| match it {
            ClassItem::Char(x) => self.char_eq(*x, c),
            ClassItem::Range(a, b) => {
                (*a..=*b).contains(&c)
                    || (self.icase
                        && c.to_lowercase()
                            .chain(c.to_uppercase())
                            .any(|d| (*a..=*b).contains(&d)))
            }
            ClassItem::Digit(p) => c.is_ascii_digit() == *p,
            ClassItem::Word(p) => is_word(c) == *p,
            ClassItem::Space(p) => c.is_whitespace() == *p,
        })
    }

    fn node_at(&self, n: &Node, s: &[char], pos: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
        match n {
            Node::Char(c) => s.get(pos).is_some_and(|x| self.char_eq(*c, *x)) && k(pos + 1),
            Node::Any => s.get(pos).is_some_and(|x| *x != '\n') && k(pos + 1),
            Node::Class(items, neg) => {
                s.get(pos)
                    .is_some_and(|x| self.class_has(items, *x) != *neg)
                    && k(pos + 1)
            }
            Node::Start => (pos == 0 || (self.multiline && s[pos - 1] == '\n')) && k(pos),
            Node::End => (pos == s.len() || (self.multiline && s[pos] == '\n')) && k(pos),
            Node::WordBoundary(want) => {
                let before = pos > 0 && is_word(s[pos - 1]);
                let after = s.get(pos).is_some_and(|c| is_word(*c));
                ((before != after) == *want) && k(pos)
            }
            Node::Group(alts) => self.alts_at(alts, s, pos, k),
            Node::Repeat(inner, min, max, greedy) => {
                self.repeat(inner, *min, *max, *greedy, s, pos, 0, k)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn repeat(
        &self,
        inner: &Node,
        min: usize,
        max: Option<usize>,
        greedy: bool,
        s: &[char],
        pos: usize,
        count: usize,
        k: &mut dyn FnMut(usize) -> bool,
    ) -> bool {
        let can_more = max.is_none_or(|m| count < m);
        let more = |k: &mut dyn FnMut(usize) -> bool| {
            can_more
                && self.node_at(inner, s, pos, &mut |p| {
                    // An empty iteration cannot make progress: stop there.
                    p != pos && self.repeat(inner, min, max, greedy, s, p, count + 1, k)
                })
        };
        if count < min {
            return self.node_at(inner, s, pos, &mut |p| {
                self.repeat(inner, min, max, greedy, s, p, count + 1, k)
            });
        }
        // Greedy: try one more iteration first; lazy: try to stop first.
        let order: [bool; 2] = if greedy { [true, false] } else { [false, true] };
        order
            .iter()
            .any(|&again| if again { more(k) } else { k(pos) })
    }
}

#[cfg(test)]
mod tests {
    use super::Regex;

    #[test]
    fn matches_common_patterns() {
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
        ];
        for (p, s, want) in cases {
            let re = Regex::new(p, false, false).expect("valid pattern");
            assert_eq!(re.is_match(s), want, "{p} on {s}");
        }
        let re = Regex::new("HELLO", true, false).expect("valid pattern");
        assert!(re.is_match("say hello"));
        let chars: Vec<char> = "aaa".chars().collect();
        let lazy = Regex::new("a+?", false, false).expect("valid pattern");
        assert_eq!(lazy.find_at(&chars, 0), Some((0, 1)));
        let greedy = Regex::new("a+", false, false).expect("valid pattern");
        assert_eq!(greedy.find_at(&chars, 0), Some((0, 3)));
    }
}
