//! Tokens of the JSONata expression language.

use super::regex::Regex;
use super::JError;

/// One token, with the character offset where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A number literal.
    Num(f64),
    /// A string literal (quotes removed, escapes resolved).
    Str(String),
    /// A field name (plain or back-quoted).
    Name(String),
    /// `$name` (the name without `$`; `$` alone is `""`, `$$` is `"$"`).
    Var(String),
    /// An operator or punctuation.
    Op(&'static str),
    /// `/pattern/flags`.
    Regex(std::sync::Arc<Regex>),
    /// End of input.
    End,
}

const OPS: [&str; 28] = [
    "..", ":=", "!=", ">=", "<=", "**", "~>", ".", "[", "]", "{", "}", "(", ")", ",", "@", "#",
    ";", ":", "?", "+", "-", "*", "/", "%", "|", "=", "&",
];
const SINGLE_EXTRA: [&str; 3] = ["<", ">", "^"];

/// Splits an expression into tokens.
pub(crate) fn tokenize(src: &str) -> Result<Vec<(Tok, usize)>, JError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out: Vec<(Tok, usize)> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        // Comments.
        if c == '/' && chars.get(i + 1) == Some(&'*') {
            let mut j = i + 2;
            while j + 1 < chars.len() && !(chars[j] == '*' && chars[j + 1] == '/') {
                j += 1;
            }
            if j + 1 >= chars.len() {
                return Err(JError::new("S0106", "Comment has no closing tag"));
            }
            i = j + 2;
            continue;
        }
        // A regex literal: '/' where an operand is expected.
        if c == '/' && regex_allowed(out.last().map(|t| &t.0)) {
            let start = i;
            let mut j = i + 1;
            let mut pat = String::new();
            let mut in_class = false;
            loop {
                let Some(&d) = chars.get(j) else {
                    return Err(JError::new(
                        "S0302",
                        "No terminating / in regular expression",
                    ));
                };
                if d == '\\' {
                    pat.push(d);
                    if let Some(&e) = chars.get(j + 1) {
                        pat.push(e);
                    }
                    j += 2;
                    continue;
                }
                if d == '[' {
                    in_class = true;
                } else if d == ']' {
                    in_class = false;
                } else if d == '/' && !in_class {
                    break;
                }
                pat.push(d);
                j += 1;
            }
            j += 1;
            let mut flags = String::new();
            while let Some(&f) = chars.get(j) {
                if f == 'i' || f == 'm' {
                    flags.push(f);
                    j += 1;
                } else {
                    break;
                }
            }
            if pat.is_empty() {
                return Err(JError::new(
                    "S0301",
                    "Empty regular expressions are not allowed",
                ));
            }
            let re = Regex::new(&pat, flags.contains('i'), flags.contains('m'))
                .map_err(|m| JError::new("S0303", m))?;
            out.push((Tok::Regex(std::sync::Arc::new(re)), start));
            i = j;
            continue;
        }
        if c == '"' || c == '\'' {
            let start = i;
            let mut s = String::new();
            let mut j = i + 1;
            loop {
                let Some(&d) = chars.get(j) else {
                    return Err(JError::new(
                        "S0101",
                        "String literal must be terminated by a matching quote",
                    ));
                };
                if d == c {
                    break;
                }
                if d == '\\' {
                    let e = chars.get(j + 1).copied().unwrap_or('\\');
                    j += 2;
                    match e {
                        '"' | '\\' | '/' | '\'' => s.push(e),
                        'b' => s.push('\u{8}'),
                        'f' => s.push('\u{c}'),
                        'n' => s.push('\n'),
                        'r' => s.push('\r'),
                        't' => s.push('\t'),
                        'u' => {
                            let hex: String = chars.iter().skip(j).take(4).collect();
                            let code = u32::from_str_radix(&hex, 16).map_err(|_| {
                                JError::new(
                                    "S0104",
                                    "The escape sequence \\u must be followed by 4 hex digits",
                                )
                            })?;
                            j += 4;
                            s.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                        }
                        other => {
                            return Err(JError::new(
                                "S0103",
                                format!("Unsupported escape sequence: \\{other}"),
                            ))
                        }
                    }
                    continue;
                }
                s.push(d);
                j += 1;
            }
            out.push((Tok::Str(s), start));
            i = j + 1;
            continue;
        }
        if c.is_ascii_digit() {
            let start = i;
            let mut j = i;
            while j < chars.len() && chars[j].is_ascii_digit() {
                j += 1;
            }
            if chars.get(j) == Some(&'.') && chars.get(j + 1).is_some_and(|d| d.is_ascii_digit()) {
                j += 1;
                while j < chars.len() && chars[j].is_ascii_digit() {
                    j += 1;
                }
            }
            if matches!(chars.get(j), Some('e') | Some('E')) {
                let mut k = j + 1;
                if matches!(chars.get(k), Some('+') | Some('-')) {
                    k += 1;
                }
                if chars.get(k).is_some_and(|d| d.is_ascii_digit()) {
                    j = k;
                    while j < chars.len() && chars[j].is_ascii_digit() {
                        j += 1;
                    }
                }
            }
            let text: String = chars[i..j].iter().collect();
            let n: f64 = text
                .parse()
                .map_err(|_| JError::new("S0102", format!("Number out of range: {text}")))?;
            if !n.is_finite() {
                return Err(JError::new("S0102", format!("Number out of range: {text}")));
            }
            out.push((Tok::Num(n), start));
            i = j;
            continue;
        }
        if c == '`' {
            let start = i;
            let mut j = i + 1;
            while j < chars.len() && chars[j] != '`' {
                j += 1;
            }
            if j >= chars.len() {
                return Err(JError::new(
                    "S0105",
                    "Quoted property name must be terminated with a backquote (`)",
                ));
            }
            out.push((Tok::Name(chars[i + 1..j].iter().collect()), start));
            i = j + 1;
            continue;
        }
        // Operators, longest first.
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        if let Some(op) = OPS.iter().find(|o| o.len() == 2 && **o == two) {
            out.push((Tok::Op(op), i));
            i += 2;
            continue;
        }
        let one = c.to_string();
        if let Some(op) = OPS
            .iter()
            .chain(SINGLE_EXTRA.iter())
            .find(|o| o.len() == 1 && **o == one)
        {
            out.push((Tok::Op(op), i));
            i += 1;
            continue;
        }
        if c == '$' {
            let start = i;
            let mut j = i + 1;
            if chars.get(j) == Some(&'$') {
                out.push((Tok::Var("$".into()), start));
                i = j + 1;
                continue;
            }
            while j < chars.len() && is_name_char(chars[j]) {
                j += 1;
            }
            out.push((Tok::Var(chars[i + 1..j].iter().collect()), start));
            i = j;
            continue;
        }
        if is_name_char(c) {
            let start = i;
            let mut j = i;
            while j < chars.len() && is_name_char(chars[j]) {
                j += 1;
            }
            let word: String = chars[i..j].iter().collect();
            let tok = match word.as_str() {
                "and" => Tok::Op("and"),
                "or" => Tok::Op("or"),
                "in" => Tok::Op("in"),
                "true" | "false" | "null" | "function" | "λ" => Tok::Name(word),
                _ => Tok::Name(word),
            };
            out.push((tok, start));
            i = j;
            continue;
        }
        return Err(JError::new(
            "S0204",
            format!("Unknown operator: \"{c}\" at column {}", i + 1),
        ));
    }
    out.push((Tok::End, chars.len()));
    Ok(out)
}

fn is_name_char(c: char) -> bool {
    !c.is_whitespace()
        && !matches!(
            c,
            '.' | '['
                | ']'
                | '{'
                | '}'
                | '('
                | ')'
                | ','
                | '@'
                | '#'
                | ';'
                | ':'
                | '?'
                | '+'
                | '-'
                | '*'
                | '/'
                | '%'
                | '|'
                | '='
                | '&'
                | '<'
                | '>'
                | '^'
                | '!'
                | '~'
                | '"'
                | '\''
                | '`'
                | '$'
        )
}

fn regex_allowed(prev: Option<&Tok>) -> bool {
    match prev {
        None => true,
        Some(Tok::Num(_)) | Some(Tok::Str(_)) | Some(Tok::Name(_)) | Some(Tok::Var(_)) => false,
        Some(Tok::Regex(_)) => false,
        Some(Tok::Op(o)) => !matches!(*o, ")" | "]" | "}"),
        Some(Tok::End) => false,
    }
}
