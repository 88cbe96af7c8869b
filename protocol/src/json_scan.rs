//! A single-pass JSON scanner for the frame decoder's hot path (issue #7).
//!
//! It validates JSON by exactly the rules serde_json applies to the values it skips or keeps
//! raw (`ignore_value`): the same number grammar, the same string rules (no control
//! characters, valid escapes, any four hex digits after `\u`, surrogates unchecked), the same
//! whitespace, and no nesting limit (serde_json skips raw values iteratively, without its
//! recursion limit). Nesting is tracked on the heap, so no input can overflow the stack.
//!
//! Every method returns `None` both for invalid JSON and for valid JSON it does not handle
//! (an escape in a string the caller needs decoded): `None` means "let the full decoder
//! decide", never "invalid".

use crate::plain_run::plain_run_len;

/// A span of the frame that [`Scanner::raw_value`] checked to be exactly one well-formed JSON
/// value without surrounding whitespace. Only this module creates one, which is what lets
/// `RawJson` keep it without validating it again.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScannedJson<'a>(&'a str);

impl<'a> ScannedJson<'a> {
    /// The JSON text.
    pub(crate) fn get(self) -> &'a str {
        self.0
    }
}

/// A cursor over one frame's text.
pub(crate) struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Scanner<'a> {
    /// A scanner at the start of `text`.
    pub(crate) fn new(text: &'a str) -> Self {
        Scanner {
            text,
            bytes: text.as_bytes(),
            pos: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.pos += 1;
        Some(byte)
    }

    /// Skips JSON whitespace (the four characters serde_json accepts).
    pub(crate) fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// Whether the next byte is `byte` (call after [`Scanner::skip_ws`]).
    pub(crate) fn peek_is(&self, byte: u8) -> bool {
        self.peek() == Some(byte)
    }

    /// Consumes `byte` after any whitespace.
    pub(crate) fn expect(&mut self, byte: u8) -> Option<()> {
        self.skip_ws();
        (self.bump()? == byte).then_some(())
    }

    /// Whether only whitespace is left.
    pub(crate) fn at_end(&mut self) -> bool {
        self.skip_ws();
        self.pos == self.bytes.len()
    }

    /// Consumes `null` (after whitespace) if it comes next.
    pub(crate) fn null(&mut self) -> bool {
        self.skip_ws();
        let is_null = self.bytes.get(self.pos..self.pos + 4) == Some(b"null");
        if is_null {
            self.pos += 4;
        }
        is_null
    }

    /// A string without escapes, returned without its quotes.
    pub(crate) fn plain_string(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let start = self.pos;
        self.skip_plain_run();
        let end = self.pos;
        (self.bump()? == b'"').then_some(())?;
        self.text.get(start..end)
    }

    /// A non-negative integer without sign, fraction or exponent that fits in a `u64`: the
    /// only numbers the frame's typed fields take without serde_json's help.
    pub(crate) fn plain_u64(&mut self) -> Option<u64> {
        self.skip_ws();
        let mut value: u64 = 0;
        let first = self.bump()?;
        if !first.is_ascii_digit() {
            return None;
        }
        value += u64::from(first - b'0');
        while let Some(digit @ b'0'..=b'9') = self.peek() {
            if first == b'0' {
                return None;
            }
            value = value
                .checked_mul(10)?
                .checked_add(u64::from(digit - b'0'))?;
            self.pos += 1;
        }
        match self.peek() {
            Some(b'.' | b'e' | b'E') => None,
            _ => Some(value),
        }
    }

    /// Visits the members of an object whose keys have no escapes, calling `member` with each
    /// key when the scanner stands before its value; `member` must consume the value.
    pub(crate) fn object(
        &mut self,
        mut member: impl FnMut(&mut Self, &'a str) -> Option<()>,
    ) -> Option<()> {
        self.expect(b'{')?;
        self.skip_ws();
        if self.peek()? == b'}' {
            self.pos += 1;
            return Some(());
        }
        loop {
            let key = self.plain_string()?;
            self.expect(b':')?;
            member(self, key)?;
            self.skip_ws();
            match self.bump()? {
                b',' => {}
                b'}' => return Some(()),
                _ => return None,
            }
        }
    }

    /// Visits the elements of an array, calling `element` when the scanner stands before each;
    /// `element` must consume it.
    pub(crate) fn array(&mut self, mut element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.expect(b'[')?;
        self.skip_ws();
        if self.peek()? == b']' {
            self.pos += 1;
            return Some(());
        }
        loop {
            element(self)?;
            self.skip_ws();
            match self.bump()? {
                b',' => {}
                b']' => return Some(()),
                _ => return None,
            }
        }
    }

    /// Validates the next value and returns its exact text.
    pub(crate) fn raw_value(&mut self) -> Option<ScannedJson<'a>> {
        self.skip_ws();
        let start = self.pos;
        self.skip_value()?;
        self.text.get(start..self.pos).map(ScannedJson)
    }

    /// Validates and skips the next value, however deeply nested.
    pub(crate) fn skip_value(&mut self) -> Option<()> {
        let mut open = Nesting::default();
        loop {
            // A value starts here.
            self.skip_ws();
            match self.bump()? {
                b'{' => {
                    self.skip_ws();
                    if self.peek()? != b'}' {
                        open.push(Container::Object);
                        self.member_key()?;
                        continue;
                    }
                    self.pos += 1;
                }
                b'[' => {
                    self.skip_ws();
                    if self.peek()? != b']' {
                        open.push(Container::Array);
                        continue;
                    }
                    self.pos += 1;
                }
                b'"' => self.skip_string_rest()?,
                b'n' => self.literal_rest(b"ull")?,
                b't' => self.literal_rest(b"rue")?,
                b'f' => self.literal_rest(b"alse")?,
                b'-' => self.number_rest(None)?,
                digit @ b'0'..=b'9' => self.number_rest(Some(digit))?,
                _ => return None,
            }
            // A value ended: close what it ends, up to the next member or element.
            loop {
                let Some(container) = open.top() else {
                    return Some(());
                };
                self.skip_ws();
                match (self.bump()?, container) {
                    (b',', Container::Object) => {
                        self.member_key()?;
                        break;
                    }
                    (b',', Container::Array) => break,
                    (b'}', Container::Object) | (b']', Container::Array) => open.pop(),
                    _ => return None,
                }
            }
        }
    }

    /// `"key":` inside an object being skipped.
    fn member_key(&mut self) -> Option<()> {
        self.expect(b'"')?;
        self.skip_string_rest()?;
        self.expect(b':')
    }

    fn literal_rest(&mut self, rest: &[u8]) -> Option<()> {
        let end = self.pos + rest.len();
        (self.bytes.get(self.pos..end)? == rest).then_some(())?;
        self.pos = end;
        Some(())
    }

    /// The rest of a number (serde_json's grammar) after its first byte: `-` (`first` is
    /// `None`) or a digit.
    fn number_rest(&mut self, first: Option<u8>) -> Option<()> {
        let first = match first {
            Some(digit) => digit,
            None => self.bump()?,
        };
        match first {
            b'0' => {
                if self.peek().is_some_and(|b| b.is_ascii_digit()) {
                    return None;
                }
            }
            b'1'..=b'9' => {
                self.skip_digits();
            }
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            (self.skip_digits() > 0).then_some(())?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            (self.skip_digits() > 0).then_some(())?;
        }
        Some(())
    }

    fn skip_digits(&mut self) -> usize {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// The rest of a string after its opening quote, escapes included.
    #[inline]
    fn skip_string_rest(&mut self) -> Option<()> {
        loop {
            self.skip_plain_run();
            match self.bump()? {
                b'"' => return Some(()),
                b'\\' => match self.bump()? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                    b'u' => {
                        let hex = self.bytes.get(self.pos..self.pos + 4)?;
                        hex.iter().all(u8::is_ascii_hexdigit).then_some(())?;
                        self.pos += 4;
                    }
                    _ => return None,
                },
                // A control character.
                _ => return None,
            }
        }
    }

    /// Moves to the next quote, backslash or control character (or the end).
    #[inline]
    fn skip_plain_run(&mut self) {
        self.pos += plain_run_len(self.bytes.get(self.pos..).unwrap_or_default());
    }
}

/// Which kind of container a nesting level is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    Object,
    Array,
}

/// The stack of open containers: the first 64 levels in a word, deeper ones on the heap.
#[derive(Default)]
struct Nesting {
    depth: usize,
    /// Bit `n` set: level `n` (below 64) is an object.
    shallow: u64,
    deep: Vec<Container>,
}

impl Nesting {
    fn push(&mut self, container: Container) {
        if self.depth < 64 {
            let bit = 1u64 << self.depth;
            match container {
                Container::Object => self.shallow |= bit,
                Container::Array => self.shallow &= !bit,
            }
        } else {
            self.deep.push(container);
        }
        self.depth += 1;
    }

    fn top(&self) -> Option<Container> {
        let level = self.depth.checked_sub(1)?;
        if level < 64 {
            Some(if self.shallow & (1u64 << level) != 0 {
                Container::Object
            } else {
                Container::Array
            })
        } else {
            self.deep.last().copied()
        }
    }

    fn pop(&mut self) {
        if self.depth > 64 {
            self.deep.pop();
        }
        self.depth = self.depth.saturating_sub(1);
    }
}
