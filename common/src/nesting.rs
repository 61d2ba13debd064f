//! Nesting limits for untrusted input: a flat scan of the raw bytes of a JSON text or a
//! GraphQL document, run before any recursive parser (or the recursive drop of what it
//! built) sees them. A document nested thousands of levels deep would otherwise overflow a
//! serving thread's stack and abort the whole process.

/// The deepest nesting of `[`/`{` accepted in any JSON a service parses (bodies,
/// `variables`, `extensions`, websocket messages) and in a GraphQL document. The contract's
/// inputs nest a few levels; 64 leaves room for any honest client and stays far from the
/// depth at which a recursive parser runs out of a 2 MiB stack.
pub const MAX_NESTING: usize = 64;

/// The input nests deeper than the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the input is nested more than {limit} levels deep")]
pub struct TooDeep {
    /// The limit that was exceeded.
    pub limit: usize,
}

/// How deep the scan is, against the limit.
struct Depth {
    now: usize,
    limit: usize,
}

impl Depth {
    fn new(limit: usize) -> Self {
        Self { now: 0, limit }
    }

    /// One level in: too deep past the limit.
    fn open(&mut self) -> Result<(), TooDeep> {
        self.now += 1;
        if self.now > self.limit {
            return Err(TooDeep { limit: self.limit });
        }
        Ok(())
    }

    /// One level out (a stray closer does not go below zero).
    fn close(&mut self) {
        self.now = self.now.saturating_sub(1);
    }
}

/// Checks that `json` never nests arrays and objects more than `limit` deep. Brackets inside
/// strings (escapes honoured) do not count. Malformed JSON passes when it is shallow: the
/// parser that runs next says what is wrong with it.
pub fn check_json(json: &[u8], limit: usize) -> Result<(), TooDeep> {
    let mut depth = Depth::new(limit);
    let mut bytes = json.iter();
    while let Some(&byte) = bytes.next() {
        match byte {
            b'"' => skip_string(&mut bytes),
            b'[' | b'{' => depth.open()?,
            b']' | b'}' => depth.close(),
            _ => {}
        }
    }
    Ok(())
}

/// Skips the rest of a string whose opening quote was just read: up to the next quote that
/// is not escaped, or the end.
fn skip_string(bytes: &mut std::slice::Iter<'_, u8>) {
    while let Some(&byte) = bytes.next() {
        match byte {
            b'\\' => {
                bytes.next();
            }
            b'"' => return,
            _ => {}
        }
    }
}

/// Checks that a GraphQL document never nests selection sets, list values and object values
/// (`{`, `[`) more than `limit` deep. Strings, block strings (`"""`) and comments (`#` to the
/// end of the line) are skipped as the GraphQL lexer reads them, so nesting cannot hide in
/// them from this scan while a parser still sees it.
pub fn check_graphql(document: &str, limit: usize) -> Result<(), TooDeep> {
    let bytes = document.as_bytes();
    let mut depth = Depth::new(limit);
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        i += 1;
        match byte {
            b'#' => {
                while let Some(&b) = bytes.get(i) {
                    if b == b'\n' || b == b'\r' {
                        break;
                    }
                    i += 1;
                }
            }
            b'"' if bytes.get(i..i + 2) == Some(b"\"\"") => {
                // A block string: up to the next `"""` not escaped as `\"""`.
                i += 2;
                while i < bytes.len() {
                    if bytes.get(i..i + 4) == Some(b"\\\"\"\"") {
                        i += 4;
                    } else if bytes.get(i..i + 3) == Some(b"\"\"\"") {
                        i += 3;
                        break;
                    } else {
                        i += 1;
                    }
                }
            }
            b'"' => {
                while let Some(&b) = bytes.get(i) {
                    i += 1;
                    match b {
                        b'\\' => i += 1,
                        b'"' => break,
                        _ => {}
                    }
                }
            }
            b'[' | b'{' => depth.open()?,
            b']' | b'}' => depth.close(),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(open: &str, close: &str, levels: usize) -> String {
        format!("{}{}", open.repeat(levels), close.repeat(levels))
    }

    #[test]
    fn json_at_the_limit_passes_and_one_more_level_is_refused() {
        let limit = 8;
        assert_eq!(check_json(nested("[", "]", 8).as_bytes(), limit), Ok(()));
        assert_eq!(
            check_json(nested("[", "]", 9).as_bytes(), limit),
            Err(TooDeep { limit })
        );
        let objects = format!("{}1{}", r#"{"a":"#.repeat(9), "}".repeat(9));
        assert_eq!(
            check_json(objects.as_bytes(), limit),
            Err(TooDeep { limit })
        );
        // Siblings do not add up: only depth counts.
        let wide = format!("[{}]", vec!["[[]]"; 1000].join(","));
        assert_eq!(check_json(wide.as_bytes(), 3), Ok(()));
    }

    #[test]
    fn json_brackets_in_strings_do_not_count_and_escapes_are_honoured() {
        let text = format!(
            r#"{{"a": "{}", "b": "\"[[[", "c": "\\"}}"#,
            "[".repeat(1000)
        );
        assert_eq!(check_json(text.as_bytes(), 2), Ok(()));
        // An escaped quote does not end the string; the brackets after the real end count.
        let text = format!(r#"["\"", {}]"#, nested("[", "]", 5));
        assert_eq!(check_json(text.as_bytes(), 5), Err(TooDeep { limit: 5 }));
    }

    #[test]
    fn a_hundred_thousand_levels_are_refused_without_recursion() {
        let deep = nested("[", "]", 100_000);
        assert!(check_json(deep.as_bytes(), MAX_NESTING).is_err());
        assert!(check_graphql(&deep, MAX_NESTING).is_err());
    }

    #[test]
    fn graphql_nesting_counts_selections_and_values_but_not_strings_or_comments() {
        let limit = 4;
        assert_eq!(check_graphql("{ a { b { c { d } } } }", limit), Ok(()));
        assert!(check_graphql("{ a { b { c { d { e } } } } }", limit).is_err());
        assert!(check_graphql("{ a(x: [[[[[1]]]]]) }", limit).is_err());
        assert!(check_graphql("{ a(x: {b: {c: {d: {e: 1}}}}) }", limit).is_err());
        let hidden = format!(
            "{{ a(s: \"{0}\", t: \"\"\"{0} \\\"\"\" {0}\"\"\") # {0}\n }}",
            "[{".repeat(100)
        );
        assert_eq!(check_graphql(&hidden, limit), Ok(()));
        // A quote in a comment opens no string: the brackets after it count.
        let after_comment = format!("# \"\n{}", nested("{", "}", 5));
        assert!(check_graphql(&after_comment, limit).is_err());
        // A block string ends at its closing quotes: the brackets after it count.
        let after_block = format!("\"\"\"x\"\"\" {}", nested("[", "]", 5));
        assert!(check_graphql(&after_block, limit).is_err());
    }
}
