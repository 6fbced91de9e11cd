//! nginx's config syntax, as far as an include needs it: words, quoted
//! strings, `;`, blocks and `#` comments, each directive with its line and
//! byte span so that a rewrite can touch only what it manages.

use std::ops::Range;

/// One directive: `name args... ;` or `name args... { children }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Directive {
    pub name: String,
    /// Arguments with quotes removed.
    pub args: Vec<String>,
    /// 1-based line of the name.
    pub line: usize,
    /// From the first byte of the name to just after `;` or `}`.
    pub span: Range<usize>,
    pub block: Option<Vec<Directive>>,
}

/// A place in the text that cannot be accounted for.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub line: usize,
    pub message: String,
}

#[derive(Debug, PartialEq)]
enum Tok {
    Word(String),
    Semi,
    Open,
    Close,
}

struct Lexer<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    /// The next token with its line and span, skipping blanks and comments.
    fn next(&mut self) -> Result<Option<(Tok, usize, Range<usize>)>, SyntaxError> {
        loop {
            match self.peek() {
                None => return Ok(None),
                Some(c) if c.is_whitespace() => {
                    self.bump();
                }
                Some('#') => {
                    while let Some(c) = self.peek() {
                        if c == '\n' {
                            break;
                        }
                        self.bump();
                    }
                }
                Some(_) => break,
            }
        }
        let (start, line) = (self.pos, self.line);
        let c = self.bump().expect("peeked");
        let tok = match c {
            ';' => Tok::Semi,
            '{' => Tok::Open,
            '}' => Tok::Close,
            '"' | '\'' => {
                let mut s = String::new();
                loop {
                    match self.bump() {
                        None => {
                            return Err(SyntaxError {
                                line,
                                message: "unterminated quoted string".into(),
                            });
                        }
                        Some('\\') => {
                            if let Some(n) = self.bump() {
                                if n != c && n != '\\' {
                                    s.push('\\');
                                }
                                s.push(n);
                            }
                        }
                        Some(q) if q == c => break,
                        Some(o) => s.push(o),
                    }
                }
                Tok::Word(s)
            }
            _ => {
                let mut s = String::from(c);
                while let Some(n) = self.peek() {
                    if n.is_whitespace() || matches!(n, ';' | '{' | '}') {
                        break;
                    }
                    // `${var}` inside a word is one word in nginx.
                    if n == '{' && s.ends_with('$') {
                        break;
                    }
                    s.push(n);
                    self.bump();
                }
                Tok::Word(s)
            }
        };
        Ok(Some((tok, line, start..self.pos)))
    }
}

/// Parses the whole text into directives.
pub fn parse(text: &str) -> Result<Vec<Directive>, SyntaxError> {
    let mut lx = Lexer {
        text,
        pos: 0,
        line: 1,
    };
    let (list, end) = parse_block(&mut lx, None)?;
    debug_assert!(end.is_none());
    Ok(list)
}

/// Directives until `}` (inside a block opened on `open_line`) or the end.
fn parse_block(
    lx: &mut Lexer<'_>,
    open_line: Option<usize>,
) -> Result<(Vec<Directive>, Option<usize>), SyntaxError> {
    let mut out = Vec::new();
    loop {
        let Some((tok, line, span)) = lx.next()? else {
            return match open_line {
                Some(l) => Err(SyntaxError {
                    line: l,
                    message: "block opened here is never closed".into(),
                }),
                None => Ok((out, None)),
            };
        };
        let name = match tok {
            Tok::Word(w) => w,
            Tok::Close => {
                return match open_line {
                    Some(_) => Ok((out, Some(span.end))),
                    None => Err(SyntaxError {
                        line,
                        message: "unexpected `}`".into(),
                    }),
                };
            }
            Tok::Semi | Tok::Open => {
                return Err(SyntaxError {
                    line,
                    message: "expected a directive name".into(),
                });
            }
        };
        let mut args = Vec::new();
        loop {
            match lx.next()? {
                None => {
                    return Err(SyntaxError {
                        line,
                        message: format!("directive `{name}` has no ending `;`"),
                    });
                }
                Some((Tok::Word(w), _, _)) => args.push(w),
                Some((Tok::Semi, _, s)) => {
                    out.push(Directive {
                        name,
                        args,
                        line,
                        span: span.start..s.end,
                        block: None,
                    });
                    break;
                }
                Some((Tok::Open, l, _)) => {
                    let (children, end) = parse_block(lx, Some(l))?;
                    let end = end.expect("a nested block ends at `}`");
                    out.push(Directive {
                        name,
                        args,
                        line,
                        span: span.start..end,
                        block: Some(children),
                    });
                    break;
                }
                Some((Tok::Close, l, _)) => {
                    return Err(SyntaxError {
                        line: l,
                        message: format!("directive `{name}` has no ending `;`"),
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_comments_quotes_and_spans() {
        let text = "# head\nupstream a {  # c\n  server 1:2  weight=3 ;\n  keepalive 4;\n}\nsplit_clients \"${x}\" $v { 5% a; * b; }\n";
        let d = parse(text).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].name, "upstream");
        assert_eq!(d[0].line, 2);
        let inner = d[0].block.as_ref().unwrap();
        assert_eq!(inner[0].args, vec!["1:2", "weight=3"]);
        assert_eq!(inner[0].line, 3);
        assert_eq!(&text[inner[0].span.clone()], "server 1:2  weight=3 ;");
        assert_eq!(d[1].args, vec!["${x}", "$v"]);
        assert_eq!(d[1].line, 6);
        assert!(text[d[1].span.clone()].ends_with("* b; }"));
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(parse("a {\n b;\n").unwrap_err().line, 1);
        assert_eq!(parse("a;\n}\n").unwrap_err().line, 2);
        assert_eq!(parse("a b\n").unwrap_err().line, 1);
        assert_eq!(parse("x \"open\n").unwrap_err().line, 1);
    }
}
