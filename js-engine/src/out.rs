//! The output list as JSON text, written by hand: integers and strings only, so neither
//! `core::fmt` nor float printing is linked into the module.

use alloc::string::String;

/// A JSON array of arrays under construction: `[[op, arg, ...], ...]`.
pub(crate) struct Out {
    buf: String,
    /// Whether the next value needs a comma before it.
    comma: bool,
}

impl Out {
    pub(crate) fn new() -> Self {
        Out {
            buf: String::from("["),
            comma: false,
        }
    }

    fn separate(&mut self) {
        if self.comma {
            self.buf.push(',');
        }
        self.comma = true;
    }

    /// Opens an array value (an output, or an error inside one).
    pub(crate) fn open(&mut self) -> &mut Self {
        self.separate();
        self.buf.push('[');
        self.comma = false;
        self
    }

    /// Closes the innermost array.
    pub(crate) fn close(&mut self) -> &mut Self {
        self.buf.push(']');
        self.comma = true;
        self
    }

    /// An output `[op, ...` left open for its arguments.
    pub(crate) fn op(&mut self, op: crate::OutputOp) -> &mut Self {
        self.open().uint(op as u64)
    }

    pub(crate) fn uint(&mut self, value: u64) -> &mut Self {
        self.separate();
        push_uint(&mut self.buf, value);
        self
    }

    pub(crate) fn int(&mut self, value: i64) -> &mut Self {
        self.separate();
        if value < 0 {
            self.buf.push('-');
        }
        push_uint(&mut self.buf, value.unsigned_abs());
        self
    }

    pub(crate) fn null(&mut self) -> &mut Self {
        self.separate();
        self.buf.push_str("null");
        self
    }

    pub(crate) fn str(&mut self, value: &str) -> &mut Self {
        self.separate();
        push_json_string(&mut self.buf, value);
        self
    }

    pub(crate) fn opt_str(&mut self, value: Option<&str>) -> &mut Self {
        match value {
            Some(value) => self.str(value),
            None => self.null(),
        }
    }

    /// The finished JSON text.
    pub(crate) fn finish(mut self) -> String {
        self.buf.push(']');
        self.buf
    }
}

/// Decimal digits of `value`.
pub(crate) fn push_uint(buf: &mut String, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        if let Some(slot) = digits.get_mut(start) {
            *slot = b'0' + (value % 10) as u8;
        }
        value /= 10;
        if value == 0 || start == 0 {
            break;
        }
    }
    for &digit in digits.get(start..).unwrap_or_default() {
        buf.push(char::from(digit));
    }
}

/// `value` as a JSON string: quotes, backslashes and control characters escaped; everything
/// else as it is (JSON allows any other character, U+2028 included).
fn push_json_string(buf: &mut String, value: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    buf.reserve(value.len() + 2);
    buf.push('"');
    let mut plain_from = 0;
    for (index, byte) in value.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        // Every byte matched above is ASCII, so these cuts fall on character boundaries.
        buf.push_str(value.get(plain_from..index).unwrap_or_default());
        plain_from = index + 1;
        if escape.is_empty() {
            buf.push_str("\\u00");
            buf.push(char::from(HEX[usize::from(byte >> 4)]));
            buf.push(char::from(HEX[usize::from(byte & 0x0f)]));
        } else {
            buf.push_str(escape);
        }
    }
    buf.push_str(value.get(plain_from..).unwrap_or_default());
    buf.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OutputOp;

    #[test]
    fn writes_nested_arrays_of_integers_and_strings() {
        let mut out = Out::new();
        out.op(OutputOp::Event).uint(0).null().close();
        out.op(OutputOp::Ended)
            .open()
            .str("CONNECTION_CLOSED")
            .uint(1006)
            .str("")
            .close()
            .close();
        out.op(OutputOp::Timer).int(-1).close();
        assert_eq!(
            out.finish(),
            r#"[[3,0,null],[13,["CONNECTION_CLOSED",1006,""]],[14,-1]]"#
        );
    }

    #[test]
    fn integers_print_in_decimal() {
        for value in [0u64, 7, 10, 1234567890, u64::MAX] {
            let mut buf = String::new();
            push_uint(&mut buf, value);
            assert_eq!(buf, value.to_string());
        }
    }

    #[test]
    fn strings_escape_what_json_requires() {
        let mut buf = String::new();
        push_json_string(&mut buf, "a\"b\\c\nd\u{1}e\u{2028}é");
        assert_eq!(buf, "\"a\\\"b\\\\c\\nd\\u0001e\u{2028}é\"");
    }
}
