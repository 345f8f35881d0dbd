//! Java `.properties` files and Kafka's `sasl.jaas.config` value, read the way Java reads them.
//!
//! Users of Confluent Cloud, MSK and the like hand us the `client.properties` file their provider
//! gave them, unchanged, so we accept exactly what `java.util.Properties.load` accepts: comments,
//! `\` continuations, `=`/`:`/blank separators, escapes. The SASL credentials in that file hide in
//! one more format, the JAAS line of `sasl.jaas.config`, which Kafka's `JaasConfig` splits with
//! Java's `StreamTokenizer`; [`parse_jaas`] follows the same rules. Both parsers are pure (the
//! caller reads the file) and neither ever puts a value into an error message or a `Debug`
//! string, because values here are passwords: [`redacted`] tells callers which keys to hide too.

use std::fmt;
use std::str::Chars;

/// One `key=value` entry of a properties file, escapes resolved.
#[derive(Clone, PartialEq, Eq)]
pub struct Property {
    pub key: String,
    pub value: String,
    /// 1-based line where the entry starts (continuation lines follow it).
    pub line: usize,
}

/// Prints the value only when [`redacted`] says the key holds no secret, so a stray `{:?}` in a
/// log line cannot leak a password.
impl fmt::Debug for Property {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut entry = f.debug_struct("Property");
        entry.field("key", &self.key);
        if redacted(&self.key) {
            entry.field("value", &format_args!("<redacted>"));
        } else {
            entry.field("value", &self.value);
        }
        entry.field("line", &self.line).finish()
    }
}

/// Why a properties file was refused; `what` never quotes a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertiesError {
    /// 1-based line where the offending entry starts.
    pub line: usize,
    pub what: String,
}

impl fmt::Display for PropertiesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.what)
    }
}

impl std::error::Error for PropertiesError {}

/// Parses properties text with the rules of `java.util.Properties.load(Reader)`.
///
/// Every entry is returned in file order, repeated keys included: Java keeps the last one, and
/// callers that want Java's answer take the last. Java's `load(InputStream)` decodes ISO-8859-1;
/// we take UTF-8 text (what every editor writes today, and identical for ASCII files), so a
/// Latin-1 file with bytes above 0x7F must be converted first. A UTF-8 byte order mark at the
/// start is skipped. Unlike Java, a `\uXXXX` escape naming half a surrogate pair is refused
/// because a Rust string cannot hold it.
pub fn parse(text: &str) -> Result<Vec<Property>, PropertiesError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines = NaturalLines {
        rest: Some(text),
        number: 0,
    };
    let mut entries = Vec::new();
    // The entry being gathered across continued lines, and the line where its text began.
    let mut logical = String::new();
    let mut start = 0;
    for (number, line) in lines {
        let line = line.trim_start_matches(JAVA_BLANKS);
        // As in Java, blanks and comments are recognised only while the entry is still empty:
        // a continued line starting with `#` is data, and so is a comment's trailing `\`.
        if logical.is_empty() {
            if line.is_empty() || line.starts_with(['#', '!']) {
                continue;
            }
            start = number;
        }
        match without_continuation(line) {
            Some(joined) => logical.push_str(joined),
            None => {
                logical.push_str(line);
                entries.push(entry(&logical, start)?);
                logical.clear();
            }
        }
    }
    // The file ended on a continued line; Java drops that last `\`.
    if !logical.is_empty() {
        entries.push(entry(&logical, start)?);
    }
    Ok(entries)
}

/// The only whitespace `Properties.load` knows: space, tab and form feed.
const JAVA_BLANKS: [char; 3] = [' ', '\t', '\u{c}'];

/// Lines split at `\n`, `\r\n` or a lone `\r`, numbered from 1.
struct NaturalLines<'a> {
    rest: Option<&'a str>,
    number: usize,
}

impl<'a> Iterator for NaturalLines<'a> {
    type Item = (usize, &'a str);

    fn next(&mut self) -> Option<(usize, &'a str)> {
        let rest = self.rest?;
        self.number += 1;
        match rest.find(['\r', '\n']) {
            Some(end) => {
                let terminator = if rest[end..].starts_with("\r\n") {
                    2
                } else {
                    1
                };
                self.rest = Some(&rest[end + terminator..]);
                Some((self.number, &rest[..end]))
            }
            None => {
                self.rest = None;
                Some((self.number, rest))
            }
        }
    }
}

/// The line without its final `\` when it ends in an odd number of backslashes (an even number
/// is escaped backslashes, not a continuation).
fn without_continuation(line: &str) -> Option<&str> {
    let trailing = line.len() - line.trim_end_matches('\\').len();
    (trailing % 2 == 1).then(|| &line[..line.len() - 1])
}

/// Splits one logical line (leading blanks already gone) into key and value, then resolves
/// escapes. The key ends at the first unescaped `=`, `:` or blank; blanks, at most one `=` or
/// `:`, and blanks again separate it from the value.
fn entry(logical: &str, line: usize) -> Result<Property, PropertiesError> {
    let mut key_end = logical.len();
    let mut escaped = false;
    for (at, c) in logical.char_indices() {
        if !escaped && (c == '=' || c == ':' || JAVA_BLANKS.contains(&c)) {
            key_end = at;
            break;
        }
        escaped = c == '\\' && !escaped;
    }
    let after_key = logical[key_end..].trim_start_matches(JAVA_BLANKS);
    let raw_value = after_key
        .strip_prefix(['=', ':'])
        .map_or(after_key, |value| value.trim_start_matches(JAVA_BLANKS));
    let key = unescape(&logical[..key_end]).map_err(|problem| PropertiesError {
        line,
        what: format!("{problem} in a key"),
    })?;
    let value = unescape(raw_value).map_err(|problem| PropertiesError {
        line,
        what: format!("{problem} in the value of `{key}`"),
    })?;
    Ok(Property { key, value, line })
}

fn unescape(raw: &str) -> Result<String, &'static str> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw.chars();
    while let Some(c) = rest.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        // A logical line never ends in an odd `\` (that would continue it), so one always follows.
        let Some(escaped) = rest.next() else { break };
        out.push(match escaped {
            't' => '\t',
            'n' => '\n',
            'r' => '\r',
            'f' => '\u{c}',
            'u' => unicode_escape(&mut rest)?,
            other => other,
        });
    }
    Ok(out)
}

/// The character of a `\uXXXX` escape whose `\u` was just read; two escapes make a surrogate
/// pair, as Java writes characters beyond U+FFFF.
fn unicode_escape(rest: &mut Chars<'_>) -> Result<char, &'static str> {
    const MALFORMED: &str = "malformed \\uXXXX escape (it needs four hex digits)";
    const UNPAIRED: &str = "\\uXXXX escape names half a surrogate pair";
    let unit = hex4(rest.as_str()).ok_or(MALFORMED)?;
    *rest = rest.as_str()[4..].chars();
    let code = match unit {
        0xD800..=0xDBFF => {
            let low = rest
                .as_str()
                .strip_prefix("\\u")
                .and_then(hex4)
                .filter(|low| (0xDC00..=0xDFFF).contains(low))
                .ok_or(UNPAIRED)?;
            *rest = rest.as_str()[6..].chars();
            0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
        }
        // A low surrogate alone is no character: `from_u32` refuses it.
        _ => unit,
    };
    char::from_u32(code).ok_or(UNPAIRED)
}

/// The value of the four hex digits `text` starts with.
fn hex4(text: &str) -> Option<u32> {
    let digits = text.get(..4)?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(digits, 16).ok()
}

/// Whether the value of this client setting is a secret to keep out of messages and logs.
///
/// Covers Kafka's names and librdkafka's (`-X` settings follow librdkafka): any key naming a
/// password or secret, the JAAS line that carries them, and inline private keys.
pub fn redacted(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("password")
        || key.contains("secret")
        || key.ends_with("user.info")
        || matches!(
            key.as_str(),
            "sasl.jaas.config" | "ssl.keystore.key" | "ssl.key.pem" | "sasl.oauthbearer.config"
        )
}

/// The one login module of a `sasl.jaas.config` value.
#[derive(Clone, PartialEq, Eq)]
pub struct Jaas {
    /// Login module class, e.g. `org.apache.kafka.common.security.plain.PlainLoginModule`.
    pub module: String,
    /// Control flag in lower case: `required`, `requisite`, `sufficient` or `optional`.
    pub flag: String,
    /// Options in the order given, repeats included.
    pub options: Vec<(String, String)>,
}

impl Jaas {
    /// The value of an option (case-sensitive, as in Kafka); the last one when repeated, as
    /// Kafka's map keeps it.
    pub fn option(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .rev()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    }
}

/// Option values are passwords: only their names are printed.
impl fmt::Debug for Jaas {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.options.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("Jaas")
            .field("module", &self.module)
            .field("flag", &self.flag)
            .field("option_names", &names)
            .finish()
    }
}

/// Parses a `sasl.jaas.config` value: `<LoginModuleClass> <flag> (<name>=<value>)* ;`.
///
/// Tokens follow Kafka's `JaasConfig`: characters up to U+0020 are blanks; `;` and `=` stand
/// alone; `"` and `'` quote strings with C-like escapes (`\n`, `\t`, octal `\101`, `\"`, any
/// other `\x` is `x`); `//`, a lone `/` and `/* */` start comments; anything else makes up
/// words, so unquoted values work too. Those are the word rules of Kafka's current source;
/// released clients (3.9 and 4.4 checked) are stricter about bare words (no leading digit, no
/// `*`, `:` or `\`), so we accept every line they accept, with the same result. Kafka's Java
/// clients take one login module per client, and so do we. Two deliberate differences: a quote
/// left open at the end of a line is an error here (Java silently closes it), and the module
/// and flag must be bare words. Errors describe the position and what was expected, never the
/// text of the input.
pub fn parse_jaas(text: &str) -> Result<Jaas, String> {
    let mut tokens = Tokens {
        chars: text.chars(),
    };
    let mut modules = Vec::new();
    while let Some(first) = tokens.next_token()? {
        modules.push(login_module(first, &mut tokens)?);
    }
    let count = modules.len();
    match modules.pop() {
        Some(jaas) if count == 1 => Ok(jaas),
        Some(_) => Err(format!(
            "found {count} login modules; exactly one is supported"
        )),
        None => Err("no login module given (expected e.g. \
                     `org.apache.kafka.common.security.plain.PlainLoginModule required \
                     username=\"...\" password=\"...\";`)"
            .to_string()),
    }
}

const FLAGS: [&str; 4] = ["required", "requisite", "sufficient", "optional"];

fn login_module(first: Token, tokens: &mut Tokens<'_>) -> Result<Jaas, String> {
    let Token::Word(module) = first else {
        return Err(format!(
            "expected a login module class name, found {}",
            describe(Some(&first))
        ));
    };
    let flag = match tokens.next_token()? {
        Some(Token::Word(word)) => {
            Some(word.to_ascii_lowercase()).filter(|f| FLAGS.contains(&f.as_str()))
        }
        _ => None,
    };
    let Some(flag) = flag else {
        return Err(
            "expected a control flag (required, requisite, sufficient or optional) \
                    after the login module class name"
                .to_string(),
        );
    };
    let mut options = Vec::new();
    loop {
        let number = options.len() + 1;
        let name = match tokens.next_token()? {
            Some(Token::Semicolon) => break,
            Some(Token::Word(name) | Token::Quoted(name)) => name,
            None => {
                return Err("the login module entry does not end with `;`".to_string());
            }
            other => {
                return Err(format!(
                    "expected the name of option {number} or `;`, found {}",
                    describe(other.as_ref())
                ));
            }
        };
        match tokens.next_token()? {
            Some(Token::Equals) => {}
            other => {
                return Err(format!(
                    "expected `=` after the name of option {number}, found {}",
                    describe(other.as_ref())
                ));
            }
        }
        match tokens.next_token()? {
            Some(Token::Word(value) | Token::Quoted(value)) => options.push((name, value)),
            other => {
                return Err(format!(
                    "expected a value after `{name}=`, found {}",
                    describe(other.as_ref())
                ));
            }
        }
    }
    Ok(Jaas {
        module,
        flag,
        options,
    })
}

enum Token {
    Word(String),
    Quoted(String),
    Semicolon,
    Equals,
    /// U+0081..=U+009F, which Kafka's tokenizer leaves out of words.
    Control,
}

/// Names a token's kind, never its text (it may be a password).
fn describe(token: Option<&Token>) -> &'static str {
    match token {
        None => "the end of the text",
        Some(Token::Word(_)) => "a word",
        Some(Token::Quoted(_)) => "a quoted string",
        Some(Token::Semicolon) => "`;`",
        Some(Token::Equals) => "`=`",
        Some(Token::Control) => "a control character",
    }
}

struct Tokens<'a> {
    chars: Chars<'a>,
}

impl Tokens<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.clone().next()
    }

    fn next_token(&mut self) -> Result<Option<Token>, String> {
        while let Some(c) = self.chars.next() {
            let token = match c {
                ..=' ' => continue,
                '/' => {
                    self.skip_comment();
                    continue;
                }
                ';' => Token::Semicolon,
                '=' => Token::Equals,
                '"' | '\'' => self.quoted(c)?,
                '\u{81}'..='\u{9f}' => Token::Control,
                _ => {
                    let mut word = String::from(c);
                    while let Some(next) = self.peek().filter(|&next| is_word_char(next)) {
                        word.push(next);
                        self.chars.next();
                    }
                    Token::Word(word)
                }
            };
            return Ok(Some(token));
        }
        Ok(None)
    }

    /// After a `/`: `/* ... */` ends at `*/` (or the text), while `//` and a lone `/` comment
    /// out the rest of the line. Like Java's tokenizer we take the character after the `/`
    /// before looking for the line's end, so a `/` that ends a line comments out the next one.
    fn skip_comment(&mut self) {
        match self.chars.next() {
            Some('*') => {
                let mut previous = '\0';
                for c in self.chars.by_ref() {
                    if previous == '*' && c == '/' {
                        return;
                    }
                    previous = c;
                }
            }
            Some(_) => {
                while self.peek().is_some_and(|c| c != '\n' && c != '\r') {
                    self.chars.next();
                }
            }
            None => {}
        }
    }

    fn quoted(&mut self, quote: char) -> Result<Token, String> {
        const UNCLOSED: &str = "a quoted string is not closed before the end of its line";
        let mut text = String::new();
        loop {
            let c = match self.chars.next() {
                None | Some('\n' | '\r') => return Err(UNCLOSED.to_string()),
                Some(c) if c == quote => return Ok(Token::Quoted(text)),
                Some('\\') => match self.chars.next().ok_or(UNCLOSED)? {
                    'a' => '\u{7}',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'v' => '\u{b}',
                    digit @ '0'..='7' => self.octal(digit),
                    other => other,
                },
                Some(c) => c,
            };
            text.push(c);
        }
    }

    /// An octal escape of up to three digits, the first of which was just read; three only
    /// when the first is 0..=3, so the value stays within a byte (`\477` is `\47` then `7`).
    fn octal(&mut self, first: char) -> char {
        let digits = if first <= '3' { 3 } else { 2 };
        let mut value = first as u8 - b'0';
        for _ in 1..digits {
            let Some(digit) = self.peek().and_then(|c| c.to_digit(8)) else {
                break;
            };
            value = value * 8 + digit as u8;
            self.chars.next();
        }
        char::from(value)
    }
}

fn is_word_char(c: char) -> bool {
    c > ' ' && !matches!(c, ';' | '=' | '/' | '"' | '\'' | '\u{81}'..='\u{9f}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// Parses `text` and compares (key, value, line) of every entry.
    fn check(text: &str, expected: &[(&str, &str, usize)]) {
        let got: Vec<(String, String, usize)> = parse(text)
            .unwrap_or_else(|e| panic!("{text:?}: {e}"))
            .into_iter()
            .map(|p| (p.key, p.value, p.line))
            .collect();
        let expected: Vec<(String, String, usize)> = expected
            .iter()
            .map(|&(k, v, l)| (k.to_string(), v.to_string(), l))
            .collect();
        assert_eq!(got, expected, "input {text:?}");
    }

    fn error(text: &str) -> String {
        match parse(text) {
            Ok(entries) => panic!("{text:?} parsed as {entries:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn separators() {
        check("a=b", &[("a", "b", 1)]);
        check("a:b", &[("a", "b", 1)]);
        check("a b", &[("a", "b", 1)]);
        check("a = b", &[("a", "b", 1)]);
        check("a\t:\tb", &[("a", "b", 1)]);
        check("a \u{c} b", &[("a", "b", 1)]);
        check("a    b c ", &[("a", "b c ", 1)]);
        // Only one separator is eaten; the next belongs to the value.
        check("a==b", &[("a", "=b", 1)]);
        check("a=:b", &[("a", ":b", 1)]);
        check("a := b", &[("a", "= b", 1)]);
        check("a = = b", &[("a", "= b", 1)]);
        check("cheeses", &[("cheeses", "", 1)]);
        check("empty=", &[("empty", "", 1)]);
        check("empty = ", &[("empty", "", 1)]);
        check("=value", &[("", "value", 1)]);
        check("url=http://h:9092/x=y", &[("url", "http://h:9092/x=y", 1)]);
    }

    #[test]
    fn java_documentation_examples() {
        check("Truth = Beauty", &[("Truth", "Beauty", 1)]);
        check("  Truth:Beauty", &[("Truth", "Beauty", 1)]);
        check(
            "Truth                    :Beauty",
            &[("Truth", "Beauty", 1)],
        );
        check(
            "fruits                           apple, banana, pear, \\\n                                  cantaloupe, watermelon, \\\n                                  kiwi, mango",
            &[("fruits", "apple, banana, pear, cantaloupe, watermelon, kiwi, mango", 1)],
        );
        check("\\:\\=", &[(":=", "", 1)]);
    }

    #[test]
    fn escaped_separators_stay_in_the_key() {
        check("a\\ b=c", &[("a b", "c", 1)]);
        check("a\\=b=c", &[("a=b", "c", 1)]);
        check("a\\:b:c", &[("a:b", "c", 1)]);
        check("a\\\\=b", &[("a\\", "b", 1)]);
        // A `\u003d` is `=` only after splitting, so it does not end the key.
        check("a\\u003db=c", &[("a=b", "c", 1)]);
    }

    #[test]
    fn escapes() {
        check(
            "k=\\t\\n\\r\\f\\\\\\=\\:\\#\\!\\ x",
            &[("k", "\t\n\r\u{c}\\=:#! x", 1)],
        );
        check("k=\\u0041\\u00e9\\u20AC", &[("k", "Aé€", 1)]);
        check("k=\\uD83D\\uDE00", &[("k", "\u{1F600}", 1)]);
        // Any other escaped character is itself, `\b` included (not a backspace).
        check("k=\\q\\b\\\"", &[("k", "qb\"", 1)]);
        check("k=a\\ ", &[("k", "a ", 1)]);
    }

    #[test]
    fn comments_and_blank_lines() {
        check(
            "# comment\n! other\n   # indented\n\n   \n\t\na=b # not a comment\n",
            &[("a", "b # not a comment", 7)],
        );
        // A comment does not continue, even when it ends in a backslash.
        check("# comment \\\na=b", &[("a", "b", 2)]);
        check("#", &[]);
        check("", &[]);
    }

    #[test]
    fn continuations() {
        check("a=b\\\n  c\\\n\td", &[("a", "bcd", 1)]);
        // Two backslashes are an escaped backslash, not a continuation.
        check("a=b\\\\\nc=d", &[("a", "b\\", 1), ("c", "d", 2)]);
        check("a=b\\\\\\\n  c", &[("a", "b\\c", 1)]);
        // A continued line starting with `#` is data, not a comment.
        check("a=b\\\n #c", &[("a", "b#c", 1)]);
        // An empty continuation line ends the entry.
        check("a=b\\\n\nc=d", &[("a", "b", 1), ("c", "d", 3)]);
        // A continuation that adds nothing leaves the entry empty, so what follows may still
        // be a blank line or a comment.
        check(" \\\n  # comment\n\\\n\n!x\na=b", &[("a", "b", 6)]);
        check("\\\n  \\\n  key = v", &[("key", "v", 3)]);
        // A `\` ending the file is dropped.
        check("a=b\\", &[("a", "b", 1)]);
        // The key can continue too.
        check("ke\\\n  y=v", &[("key", "v", 1)]);
        check("a\\\n=b", &[("a", "b", 1)]);
    }

    #[test]
    fn line_endings_and_numbers() {
        check(
            "\r\n\r\na=1\r\nb=2\rc=3\n\nd=4\\\r\n  5\r\ne=6",
            &[
                ("a", "1", 3),
                ("b", "2", 4),
                ("c", "3", 5),
                ("d", "45", 7),
                ("e", "6", 9),
            ],
        );
    }

    #[test]
    fn repeated_keys_are_all_kept_in_order() {
        check(
            "acks=1\nlinger.ms=5\nacks=all",
            &[("acks", "1", 1), ("linger.ms", "5", 2), ("acks", "all", 3)],
        );
    }

    #[test]
    fn byte_order_mark_and_utf8() {
        check("\u{feff}a=1\nb=2", &[("a", "1", 1), ("b", "2", 2)]);
        // Only a leading mark is skipped.
        check("a=1\n\u{feff}b=2", &[("a", "1", 1), ("\u{feff}b", "2", 2)]);
        check("名前=値 ü", &[("名前", "値 ü", 1)]);
        // Unicode whitespace other than Java's three is part of the key.
        check("a\u{a0}b=c", &[("a\u{a0}b", "c", 1)]);
    }

    #[test]
    fn malformed_unicode_escapes_are_errors_with_their_line() {
        assert_eq!(
            error("a=1\nb=\\u12"),
            "line 2: malformed \\uXXXX escape (it needs four hex digits) in the value of `b`"
        );
        assert_eq!(
            error("a=1\n\nb=x\\u12G4y"),
            "line 3: malformed \\uXXXX escape (it needs four hex digits) in the value of `b`"
        );
        assert_eq!(
            error("k\\u=v"),
            "line 1: malformed \\uXXXX escape (it needs four hex digits) in a key"
        );
        assert_eq!(
            error("k=\\u00é9"),
            "line 1: malformed \\uXXXX escape (it needs four hex digits) in the value of `k`"
        );
        assert_eq!(
            error("sasl.password=\\\n  hunter2\\uD83D"),
            "line 1: \\uXXXX escape names half a surrogate pair in the value of `sasl.password`"
        );
        assert_eq!(
            error("k=\\uDE00"),
            "line 1: \\uXXXX escape names half a surrogate pair in the value of `k`"
        );
        let e = parse("x=1\nsecret=hunter2\\u1").unwrap_err();
        assert_eq!((e.line, e.what.contains("hunter2")), (2, false));
    }

    #[test]
    fn ten_thousand_lines_parse_quickly() {
        let text: String = (0..10_000)
            .map(|i| format!("# entry {i}\nkey.{i} = value {i}\r\n"))
            .collect();
        let started = Instant::now();
        let entries = parse(&text).unwrap();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(entries.len(), 10_000);
        let last = &entries[9_999];
        assert_eq!(
            (last.key.as_str(), last.value.as_str(), last.line),
            ("key.9999", "value 9999", 20_000)
        );
    }

    #[test]
    fn deeply_continued_line() {
        let mut text = String::from("long=");
        for _ in 0..50_000 {
            text.push_str("ab\\\n    ");
        }
        text.push_str("end\nnext=1");
        let started = Instant::now();
        let entries = parse(&text).unwrap();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].value.len(), 100_003);
        assert!(entries[0].value.ends_with("ababend"));
        assert_eq!((entries[1].key.as_str(), entries[1].line), ("next", 50_002));
    }

    const CONFLUENT_CLOUD: &str = "\
# Required connection configs for Kafka producer, consumer, and admin
bootstrap.servers=pkc-abc12.us-east-1.aws.confluent.cloud:9092
security.protocol=SASL_SSL
sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username='KEY' password='SECRET';
sasl.mechanism=PLAIN
# Required for correctness in Apache Kafka clients prior to 2.6
client.dns.lookup=use_all_dns_ips

# Best practice for higher availability in Apache Kafka clients prior to 3.0
session.timeout.ms=45000

# Best practice for Kafka producer to prevent data loss
acks=all
";

    #[test]
    fn confluent_cloud_client_properties() {
        let entries = parse(CONFLUENT_CLOUD).unwrap();
        let got: Vec<(&str, &str, usize)> = entries
            .iter()
            .map(|p| (p.key.as_str(), p.value.as_str(), p.line))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "bootstrap.servers",
                    "pkc-abc12.us-east-1.aws.confluent.cloud:9092",
                    2
                ),
                ("security.protocol", "SASL_SSL", 3),
                (
                    "sasl.jaas.config",
                    "org.apache.kafka.common.security.plain.PlainLoginModule required \
                     username='KEY' password='SECRET';",
                    4
                ),
                ("sasl.mechanism", "PLAIN", 5),
                ("client.dns.lookup", "use_all_dns_ips", 7),
                ("session.timeout.ms", "45000", 10),
                ("acks", "all", 13),
            ]
        );
        let jaas = parse_jaas(&entries[2].value).unwrap();
        assert_eq!(
            jaas.module,
            "org.apache.kafka.common.security.plain.PlainLoginModule"
        );
        assert_eq!(jaas.flag, "required");
        assert_eq!(jaas.option("username"), Some("KEY"));
        assert_eq!(jaas.option("password"), Some("SECRET"));
        assert!(!format!("{entries:?}").contains("SECRET"));
    }

    #[test]
    fn multi_line_jaas_through_both_layers() {
        // In a properties file `\\` is one backslash, so `\\"` reaches the JAAS parser as `\"`.
        let text = "sasl.mechanism = SCRAM-SHA-512\n\
                    sasl.jaas.config = org.apache.kafka.common.security.scram.ScramLoginModule \\\n\
                    \x20   required \\\n\
                    \x20   username=\"alice\" \\\n\
                    \x20   password=\"al\\\\\"ice-secret\";\n";
        let entries = parse(text).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].line, 2);
        assert_eq!(
            entries[1].value,
            "org.apache.kafka.common.security.scram.ScramLoginModule required \
             username=\"alice\" password=\"al\\\"ice-secret\";"
        );
        let jaas = parse_jaas(&entries[1].value).unwrap();
        assert_eq!(
            jaas,
            Jaas {
                module: "org.apache.kafka.common.security.scram.ScramLoginModule".into(),
                flag: "required".into(),
                options: vec![
                    ("username".into(), "alice".into()),
                    ("password".into(), "al\"ice-secret".into()),
                ],
            }
        );
    }

    #[test]
    fn property_debug_hides_secret_values() {
        let entries = parse("sasl.password=hunter2\nsasl.username=alice").unwrap();
        assert_eq!(
            format!("{entries:?}"),
            "[Property { key: \"sasl.password\", value: <redacted>, line: 1 }, \
             Property { key: \"sasl.username\", value: \"alice\", line: 2 }]"
        );
    }

    #[test]
    fn redacted_keys() {
        for key in [
            "sasl.password",
            "sasl.jaas.config",
            "ssl.key.password",
            "ssl.keystore.password",
            "ssl.truststore.password",
            "ssl.keystore.key",
            "ssl.key.pem",
            "sasl.oauthbearer.client.secret",
            "SASL.JAAS.CONFIG",
            "my.Password.file",
        ] {
            assert!(redacted(key), "{key}");
        }
        for key in [
            "sasl.username",
            "sasl.mechanism",
            "bootstrap.servers",
            "ssl.keystore.location",
            "ssl.truststore.type",
            "security.protocol",
        ] {
            assert!(!redacted(key), "{key}");
        }
    }

    fn jaas_error(text: &str) -> String {
        match parse_jaas(text) {
            Ok(jaas) => panic!("{text:?} parsed as {jaas:?}"),
            Err(e) => e,
        }
    }

    fn options(jaas: &Jaas) -> Vec<(&str, &str)> {
        jaas.options
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn jaas_scram_double_quotes() {
        let jaas = parse_jaas(
            "org.apache.kafka.common.security.scram.ScramLoginModule required \
             username=\"alice\" password=\"alice-secret\";",
        )
        .unwrap();
        assert_eq!(
            jaas.module,
            "org.apache.kafka.common.security.scram.ScramLoginModule"
        );
        assert_eq!(jaas.flag, "required");
        assert_eq!(
            options(&jaas),
            [("username", "alice"), ("password", "alice-secret")]
        );
    }

    #[test]
    fn jaas_mixed_quotes_and_escapes() {
        let jaas = parse_jaas(
            "org.apache.kafka.common.security.plain.PlainLoginModule required \
             username='x' password=\"p\\\"q\";",
        )
        .unwrap();
        assert_eq!(options(&jaas), [("username", "x"), ("password", "p\"q")]);
        let jaas = parse_jaas(
            "M required a='say \"hi\"' b=\"it's\" c=\"x;y=z\" d='\\'' e=\"\\\\\" f=\"\";",
        )
        .unwrap();
        assert_eq!(
            options(&jaas),
            [
                ("a", "say \"hi\""),
                ("b", "it's"),
                ("c", "x;y=z"),
                ("d", "'"),
                ("e", "\\"),
                ("f", ""),
            ]
        );
        let jaas = parse_jaas(
            "M required a=\"\\t\\n\\r\\f\\a\\b\\v\\q\" b=\"\\101\\0619\\477\\8\" c=\"é€\";",
        )
        .unwrap();
        assert_eq!(
            options(&jaas),
            [
                ("a", "\t\n\r\u{c}\u{7}\u{8}\u{b}q"),
                // \101 = A, \061 = 1 then 9, \47 = ' then 7 (three digits only up to \377).
                ("b", "A19'78"),
                ("c", "é€"),
            ]
        );
    }

    #[test]
    fn jaas_unquoted_values_flags_and_layout() {
        let jaas = parse_jaas("M REQUIRED username=alice retries=3 scope=a,b.c:d-$_;").unwrap();
        assert_eq!(jaas.flag, "required");
        assert_eq!(
            options(&jaas),
            [
                ("username", "alice"),
                ("retries", "3"),
                ("scope", "a,b.c:d-$_")
            ]
        );
        for flag in ["required", "Requisite", "sufficient", "OPTIONAL"] {
            let jaas = parse_jaas(&format!("M {flag};")).unwrap();
            assert_eq!(jaas.flag, flag.to_ascii_lowercase());
            assert!(jaas.options.is_empty());
        }
        let jaas = parse_jaas(
            "\n  /* block */ com.example.Module // line comment\r\n\trequired\n\
             user = \"u\"/* between */pass=\"p\" ; \n",
        )
        .unwrap();
        assert_eq!(jaas.module, "com.example.Module");
        assert_eq!(options(&jaas), [("user", "u"), ("pass", "p")]);
        // A `/` ending a line comments out the next line too, as in Kafka.
        let jaas = parse_jaas("M required a=b /\nc=d;\n;").unwrap();
        assert_eq!(options(&jaas), [("a", "b")]);
        // Kafka also accepts a quoted option name.
        let jaas = parse_jaas("M required \"odd name\"=v;").unwrap();
        assert_eq!(options(&jaas), [("odd name", "v")]);
    }

    #[test]
    fn jaas_repeated_option_last_wins() {
        let jaas = parse_jaas("M required user=a user=b;").unwrap();
        assert_eq!(jaas.option("user"), Some("b"));
        assert_eq!(jaas.option("User"), None);
        assert_eq!(jaas.options.len(), 2);
    }

    #[test]
    fn jaas_debug_prints_option_names_only() {
        let jaas = parse_jaas("M required username=\"alice\" password=\"hunter2\";").unwrap();
        assert_eq!(
            format!("{jaas:?}"),
            "Jaas { module: \"M\", flag: \"required\", option_names: [\"username\", \"password\"] }"
        );
    }

    #[test]
    fn jaas_errors_name_the_position_not_the_text() {
        let cases = [
            ("", "no login module given"),
            ("  // only a comment\n", "no login module given"),
            (
                "org.example.Module",
                "expected a control flag (required, requisite, sufficient or optional) after \
                 the login module class name",
            ),
            (
                "M \"required\" password=\"hunter2\";",
                "expected a control flag (required, requisite, sufficient or optional) after \
                 the login module class name",
            ),
            (
                "M hunter2;",
                "expected a control flag (required, requisite, sufficient or optional) after \
                 the login module class name",
            ),
            (
                "M required password=\"hunter2\"",
                "the login module entry does not end with `;`",
            ),
            (
                "M required password=\"hunter2;",
                "a quoted string is not closed before the end of its line",
            ),
            (
                "M required password='hunter2\n';",
                "a quoted string is not closed before the end of its line",
            ),
            (
                "M required password=\"hunter2\\",
                "a quoted string is not closed before the end of its line",
            ),
            (
                "M required password \"hunter2\";",
                "expected `=` after the name of option 1, found a quoted string",
            ),
            (
                "M required user=u hunter2;",
                "expected `=` after the name of option 2, found `;`",
            ),
            (
                "M required password=;",
                "expected a value after `password=`, found `;`",
            ),
            (
                "M required password=",
                "expected a value after `password=`, found the end of the text",
            ),
            (
                "M required password=/hunter2\n;",
                "expected a value after `password=`, found `;`",
            ),
            (
                "M required =x;",
                "expected the name of option 1 or `;`, found `=`",
            ),
            (
                "M required a=b \u{85};",
                "expected the name of option 2 or `;`, found a control character",
            ),
            (
                "'hunter2' required;",
                "expected a login module class name, found a quoted string",
            ),
            (
                "; M required;",
                "expected a login module class name, found `;`",
            ),
            (
                "A required; B optional;",
                "found 2 login modules; exactly one is supported",
            ),
            (
                "A required a=\"1\"; B optional; C sufficient;",
                "found 3 login modules; exactly one is supported",
            ),
        ];
        for (text, expected) in cases {
            let got = jaas_error(text);
            assert!(got.starts_with(expected), "{text:?}: got {got:?}");
            assert!(!got.contains("hunter2"), "{text:?}: leaks in {got:?}");
        }
    }
}
