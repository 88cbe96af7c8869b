//! The output list as JSON text, written by hand: integers and strings only, so neither
//! `core::fmt` nor float printing is linked into the module.

// `push_str` even for one character: `String::push` is not inlined at opt-level "z" and links
// core's UTF-8 encoder into the wasm module for what is always ASCII here.
#![allow(clippy::single_char_add_str)]

use alloc::string::String;

// The request encoder's writers: the outputs are JSON text of the same kind.
use durable_iterator_protocol::client::wire::{push_decimal, push_json_string};

/// A JSON array of arrays under construction: `[[op, arg, ...], ...]`. Written with
/// `push_str` only: `String::push` would link a UTF-8 encoder for its ASCII punctuation.
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
            self.buf.push_str(",");
        }
        self.comma = true;
    }

    /// Opens an array value (an output, or an error inside one).
    pub(crate) fn open(&mut self) -> &mut Self {
        self.separate();
        self.buf.push_str("[");
        self.comma = false;
        self
    }

    /// Closes the innermost array.
    pub(crate) fn close(&mut self) -> &mut Self {
        self.buf.push_str("]");
        self.comma = true;
        self
    }

    /// An output `[op, ...` left open for its arguments.
    pub(crate) fn op(&mut self, op: crate::OutputOp) -> &mut Self {
        self.open().uint(op as u64)
    }

    /// An error's code (the first element of an error's array).
    pub(crate) fn code(&mut self, code: crate::ErrorCode) -> &mut Self {
        self.uint(code as u64)
    }

    pub(crate) fn uint(&mut self, value: u64) -> &mut Self {
        self.separate();
        push_decimal(&mut self.buf, value);
        self
    }

    pub(crate) fn int(&mut self, value: i64) -> &mut Self {
        self.separate();
        if value < 0 {
            self.buf.push_str("-");
        }
        push_decimal(&mut self.buf, value.unsigned_abs());
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
        self.buf.push_str("]");
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ErrorCode, OutputOp};

    #[test]
    fn writes_nested_arrays_of_integers_and_strings() {
        let mut out = Out::new();
        out.op(OutputOp::Event).uint(0).null().close();
        out.op(OutputOp::Ended)
            .open()
            .code(ErrorCode::ConnectionClosed)
            .uint(1006)
            .str("")
            .close()
            .close();
        out.op(OutputOp::Timer).int(-1).close();
        assert_eq!(out.finish(), r#"[[3,0,null],[13,[10,1006,""]],[14,-1]]"#);
    }

    #[test]
    fn strings_are_escaped_for_json() {
        let mut out = Out::new();
        out.open().str("a\"b\\c\nd\u{1}e\u{2028}é").close();
        assert_eq!(out.finish(), "[[\"a\\\"b\\\\c\\nd\\u0001e\u{2028}é\"]]");
    }
}
