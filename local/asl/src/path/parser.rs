//! The parser of Step Functions' JSONPath dialect.

use super::*;

pub(super) struct Parser<'a> {
    pub(super) s: &'a [u8],
    pub(super) i: usize,
    pub(super) text: &'a str,
}

impl Parser<'_> {
    pub(super) fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    pub(super) fn err(&self, what: &str) -> String {
        format!("{what} at offset {} in path '{}'", self.i, self.text)
    }

    pub(super) fn root(&mut self) -> Result<Root, String> {
        if self.peek() != Some(b'$') {
            return Err(self.err("a path must start with '$'"));
        }
        self.i += 1;
        if self.peek() == Some(b'$') {
            self.i += 1;
            return Ok(Root::Context);
        }
        let start = self.i;
        while let Some(c) = self.peek() {
            if c == b'.' || c == b'[' {
                break;
            }
            self.i += 1;
        }
        if self.i == start {
            Ok(Root::Input)
        } else {
            let name = &self.text[start..self.i];
            if !name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
                return Err(self.err("invalid variable name"));
            }
            Ok(Root::Variable(name.to_string()))
        }
    }

    pub(super) fn name(&mut self, in_filter: bool) -> String {
        let start = self.i;
        while let Some(c) = self.peek() {
            if c == b'.' || c == b'[' {
                break;
            }
            if in_filter
                && (c == b' '
                    || c == b')'
                    || c == b'='
                    || c == b'!'
                    || c == b'<'
                    || c == b'>'
                    || c == b'&'
                    || c == b'|')
            {
                break;
            }
            self.i += 1;
        }
        self.text[start..self.i].to_string()
    }

    pub(super) fn segments(&mut self, in_filter: bool) -> Result<Vec<Segment>, String> {
        let mut out = Vec::new();
        loop {
            match self.peek() {
                Some(b'.') => {
                    self.i += 1;
                    if self.peek() == Some(b'.') {
                        self.i += 1;
                        if self.peek() == Some(b'*') {
                            self.i += 1;
                            out.push(Segment::Deep(None));
                        } else if self.peek() == Some(b'[') {
                            out.push(Segment::Deep(None));
                        } else {
                            let n = self.name(in_filter);
                            if n.is_empty() {
                                return Err(self.err("expected a name after '..'"));
                            }
                            out.push(Segment::Deep(Some(n)));
                        }
                    } else if self.peek() == Some(b'*') {
                        self.i += 1;
                        out.push(Segment::Wildcard);
                    } else {
                        let n = self.name(in_filter);
                        if n.is_empty() {
                            return Err(self.err("expected a name after '.'"));
                        }
                        out.push(Segment::Field(n));
                    }
                }
                Some(b'[') => {
                    self.i += 1;
                    out.push(self.bracket()?);
                }
                _ => return Ok(out),
            }
        }
    }

    pub(super) fn skip_ws(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }

    pub(super) fn expect(&mut self, c: u8) -> Result<(), String> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.err(&format!("expected '{}'", c as char)))
        }
    }

    pub(super) fn quoted(&mut self) -> Result<String, String> {
        let q = self.peek().ok_or_else(|| self.err("expected a quote"))?;
        self.i += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err(self.err("unterminated string")),
                Some(b'\\') if self.s.get(self.i + 1) == Some(&q) => {
                    // Only the quote itself is escaped; other backslashes are literal.
                    self.i += 2;
                    out.push(q);
                }
                Some(c) if c == q => {
                    self.i += 1;
                    break;
                }
                Some(c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
        String::from_utf8(out).map_err(|_| self.err("invalid UTF-8"))
    }

    pub(super) fn int(&mut self) -> Option<i64> {
        self.skip_ws();
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        let r = self.text[start..self.i].parse().ok();
        if r.is_none() {
            self.i = start;
        }
        r
    }

    pub(super) fn bracket(&mut self) -> Result<Segment, String> {
        self.skip_ws();
        match self.peek() {
            Some(b'*') => {
                self.i += 1;
                self.expect(b']')?;
                Ok(Segment::Wildcard)
            }
            Some(b'\'') | Some(b'"') => {
                let mut names = vec![Segment::Field(self.quoted()?)];
                loop {
                    self.skip_ws();
                    if self.peek() == Some(b',') {
                        self.i += 1;
                        self.skip_ws();
                        names.push(Segment::Field(self.quoted()?));
                    } else {
                        break;
                    }
                }
                self.expect(b']')?;
                Ok(if names.len() == 1 {
                    names.remove(0)
                } else {
                    Segment::Union(names)
                })
            }
            Some(b'?') => {
                self.i += 1;
                self.expect(b'(')?;
                let f = self.filter_or()?;
                self.expect(b')')?;
                self.expect(b']')?;
                Ok(Segment::Filter(f))
            }
            _ => {
                let first = self.int();
                self.skip_ws();
                match self.peek() {
                    Some(b':') => {
                        self.i += 1;
                        let end = self.int();
                        let mut step = None;
                        self.skip_ws();
                        if self.peek() == Some(b':') {
                            self.i += 1;
                            step = self.int();
                        }
                        self.expect(b']')?;
                        Ok(Segment::Slice(first, end, step))
                    }
                    Some(b',') => {
                        let mut items = vec![Segment::Index(
                            first.ok_or_else(|| self.err("expected an index"))?,
                        )];
                        while self.peek() == Some(b',') {
                            self.i += 1;
                            items.push(Segment::Index(
                                self.int().ok_or_else(|| self.err("expected an index"))?,
                            ));
                            self.skip_ws();
                        }
                        self.expect(b']')?;
                        Ok(Segment::Union(items))
                    }
                    _ => {
                        let i = first.ok_or_else(|| self.err("expected an index"))?;
                        self.expect(b']')?;
                        Ok(Segment::Index(i))
                    }
                }
            }
        }
    }

    pub(super) fn filter_or(&mut self) -> Result<Filter, String> {
        let mut left = self.filter_and()?;
        loop {
            self.skip_ws();
            if self.s[self.i..].starts_with(b"||") {
                self.i += 2;
                let right = self.filter_and()?;
                left = Filter::Or(Box::new(left), Box::new(right));
            } else {
                return Ok(left);
            }
        }
    }

    pub(super) fn filter_and(&mut self) -> Result<Filter, String> {
        let mut left = self.filter_atom()?;
        loop {
            self.skip_ws();
            if self.s[self.i..].starts_with(b"&&") {
                self.i += 2;
                let right = self.filter_atom()?;
                left = Filter::And(Box::new(left), Box::new(right));
            } else {
                return Ok(left);
            }
        }
    }

    pub(super) fn filter_atom(&mut self) -> Result<Filter, String> {
        self.skip_ws();
        if self.peek() == Some(b'!') && self.s.get(self.i + 1) != Some(&b'=') {
            self.i += 1;
            return Ok(Filter::Not(Box::new(self.filter_atom()?)));
        }
        if self.peek() == Some(b'(') {
            self.i += 1;
            let f = self.filter_or()?;
            self.expect(b')')?;
            return Ok(f);
        }
        let left = self.operand()?;
        self.skip_ws();
        let rest = &self.s[self.i..];
        let op = if rest.starts_with(b"==") {
            Some((CmpOp::Eq, 2))
        } else if rest.starts_with(b"!=") {
            Some((CmpOp::Ne, 2))
        } else if rest.starts_with(b"<=") {
            Some((CmpOp::Le, 2))
        } else if rest.starts_with(b">=") {
            Some((CmpOp::Ge, 2))
        } else if rest.starts_with(b"<") {
            Some((CmpOp::Lt, 1))
        } else if rest.starts_with(b">") {
            Some((CmpOp::Gt, 1))
        } else {
            None
        };
        match op {
            Some((op, n)) => {
                self.i += n;
                let right = self.operand()?;
                Ok(Filter::Compare(left, op, right))
            }
            None => match left {
                Operand::Current(s) | Operand::Root(s) => Ok(Filter::Exists(s)),
                Operand::Literal(_) => Err(self.err("expected a comparison")),
            },
        }
    }

    pub(super) fn operand(&mut self) -> Result<Operand, String> {
        self.skip_ws();
        match self.peek() {
            Some(b'@') => {
                self.i += 1;
                Ok(Operand::Current(self.segments(true)?))
            }
            Some(b'$') => {
                self.i += 1;
                Ok(Operand::Root(self.segments(true)?))
            }
            Some(b'\'') | Some(b'"') => Ok(Operand::Literal(Value::String(self.quoted()?))),
            _ => {
                let start = self.i;
                while let Some(c) = self.peek() {
                    if c == b' '
                        || c == b')'
                        || c == b'&'
                        || c == b'|'
                        || c == b'='
                        || c == b'!'
                        || c == b'<'
                        || c == b'>'
                    {
                        break;
                    }
                    self.i += 1;
                }
                let lit = &self.text[start..self.i];
                serde_json::from_str(lit)
                    .map(Operand::Literal)
                    .map_err(|_| self.err("invalid literal in filter"))
            }
        }
    }
}
