//! Errors of parsing events, each naming the field it is about.

use std::fmt;

/// An event could not be read: malformed JSON, a value of the wrong type, or
/// a number or string the wire format cannot carry.
///
/// [`path`](ParseError::path) names the field (`eventdata.requestpayload.items[0]`);
/// `Display` starts with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(Box<Details>);

/// Boxed so that `Result<T, ParseError>` stays small on the parser's hot path.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Details {
    path: String,
    kind: ParseErrorKind,
}

/// What was wrong, without the field path.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// Not JSON; `column` is 1-based, in characters of the text given.
    Syntax {
        /// What the JSON reader objected to.
        message: String,
        /// Where, 1-based, in characters.
        column: usize,
    },
    /// `NaN`, `Infinity` or `-Infinity`: accepted by Python's `json`, not JSON.
    NotFinite {
        /// The token as written.
        token: &'static str,
    },
    /// A number with a fraction or exponent that is too large for a double.
    NumberOverflow {
        /// The number as written.
        text: String,
    },
    /// A `\uXXXX` escape for half of a surrogate pair without its other half.
    LoneSurrogate {
        /// The escape as written (`\ud83d`).
        escape: String,
    },
    /// A value of the wrong JSON type for the field.
    ExpectedType {
        /// The JSON type the field needs.
        expected: &'static str,
        /// The JSON type the text holds.
        found: &'static str,
    },
    /// Objects and arrays nested deeper than the parser allows.
    TooDeep {
        /// The deepest nesting allowed.
        limit: usize,
    },
    /// A key that appears twice in one object: JSON readers disagree on
    /// which value counts (Python takes the last, others the first).
    DuplicateKey,
    /// A number token with more digits than every reader accepts (Python's
    /// `int` refuses more than 4,300).
    TooManyDigits {
        /// Digits in the token.
        digits: usize,
        /// The most digits allowed.
        limit: usize,
    },
    /// An exponent so large that parsers saturate it, each differently.
    ExponentOutOfRange {
        /// The number as written.
        text: String,
    },
}

/// Shorthand for results of parsing.
pub type Result<T, E = ParseError> = std::result::Result<T, E>;

impl ParseError {
    pub(crate) fn new(kind: ParseErrorKind) -> Self {
        ParseError(Box::new(Details {
            path: String::new(),
            kind,
        }))
    }

    pub(crate) fn expected(expected: &'static str, found: &crate::Value) -> Self {
        Self::new(ParseErrorKind::ExpectedType {
            expected,
            found: found.type_name(),
        })
    }

    /// The path of the field, e.g. `eventdata.requestpayload`; empty for the
    /// event itself.
    pub fn path(&self) -> &str {
        &self.0.path
    }

    /// What was wrong.
    pub fn kind(&self) -> &ParseErrorKind {
        &self.0.kind
    }

    /// Prepends an object key to the path (errors are built innermost first).
    pub(crate) fn in_key(mut self, key: &str) -> Self {
        let path = &mut self.0.path;
        *path = if path.is_empty() || path.starts_with('[') {
            format!("{key}{path}")
        } else {
            format!("{key}.{path}")
        };
        self
    }

    /// Prepends an array index to the path.
    pub(crate) fn in_index(mut self, index: usize) -> Self {
        let path = &mut self.0.path;
        *path = if path.is_empty() || path.starts_with('[') {
            format!("[{index}]{path}")
        } else {
            format!("[{index}].{path}")
        };
        self
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = if self.0.path.is_empty() {
            "event"
        } else {
            &self.0.path
        };
        write!(f, "{}: {}", crate::printable(field), self.0.kind)
    }
}

/// A number token for a message: long ones are cut, the length said.
fn abbreviated(text: &str) -> String {
    const SHOWN: usize = 40;
    if text.len() <= SHOWN {
        text.to_owned()
    } else {
        format!("{}... ({} bytes)", &text[..SHOWN], text.len())
    }
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseErrorKind::Syntax { message, column } => {
                write!(f, "malformed JSON at column {column}: {message}")
            }
            ParseErrorKind::NotFinite { token } => {
                write!(
                    f,
                    "{token} is not a JSON number (only finite numbers are allowed)"
                )
            }
            ParseErrorKind::NumberOverflow { text } => {
                write!(f, "number {} overflows a double", abbreviated(text))
            }
            ParseErrorKind::LoneSurrogate { escape } => {
                write!(f, "lone surrogate {escape} is not valid Unicode")
            }
            ParseErrorKind::ExpectedType { expected, found } => {
                write!(f, "expected {expected}, found {found}")
            }
            ParseErrorKind::TooDeep { limit } => {
                write!(f, "nested deeper than {limit} levels")
            }
            ParseErrorKind::DuplicateKey => {
                f.write_str("duplicate key (JSON readers disagree on which value counts)")
            }
            ParseErrorKind::TooManyDigits { digits, limit } => {
                write!(f, "number has {digits} digits; at most {limit} are read alike by every JSON reader")
            }
            ParseErrorKind::ExponentOutOfRange { text } => write!(
                f,
                "number {} has an exponent beyond what JSON readers agree on",
                abbreviated(text)
            ),
        }
    }
}

impl std::error::Error for ParseError {}
