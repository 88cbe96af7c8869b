//! Reading one input: its numbers in order, and its string fields cut from one text by the
//! lengths JS gave (UTF-16 code units, what `String.prototype.length` counts).
//!
//! JS is our own code, but a mismatch must still never panic the module (a panic aborts every
//! iterator on the page): every read is checked, and a short input reads as `None` in the end.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;

/// A cursor over an input's numbers and text. A read past the end gives 0 or "" and marks the
/// input short: readers read every field, then ask [`Fields::done`] once, so the module has
/// one way out of an unreadable input instead of one per field (each dropping what was read).
pub(crate) struct Fields<'a> {
    nums: &'a [f64],
    at: usize,
    text: &'a str,
    short: bool,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(nums: &'a [f64], text: &'a str) -> Self {
        Fields {
            nums,
            at: 0,
            text,
            short: false,
        }
    }

    /// Whether a read ran past the numbers or the text.
    pub(crate) fn is_short(&self) -> bool {
        self.short
    }

    /// `value`, read from this input, unless the input was short.
    pub(crate) fn done<T>(&self, value: T) -> Option<T> {
        (!self.short).then_some(value)
    }

    /// The next number (0 past the end).
    pub(crate) fn num(&mut self) -> f64 {
        match self.nums.get(self.at) {
            Some(&value) => {
                self.at += 1;
                value
            }
            None => {
                self.short = true;
                0.0
            }
        }
    }

    /// The next number as a non-negative integer (`as` saturates; NaN reads as 0).
    pub(crate) fn uint(&mut self) -> u64 {
        self.num() as u64
    }

    /// The next number as a `u32` (saturating).
    pub(crate) fn u32(&mut self) -> u32 {
        self.num() as u32
    }

    /// The next number where a negative one means "none".
    pub(crate) fn optional(&mut self) -> Option<f64> {
        let n = self.num();
        (n >= 0.0).then_some(n)
    }

    /// The next string field: the next number is its length in UTF-16 code units.
    pub(crate) fn string(&mut self) -> &'a str {
        let units = self.uint();
        self.take(units)
    }

    /// The next string field, copied: the dozen places that need a `String` share this one
    /// cut-and-copy instead of each carrying its own (smaller wasm).
    pub(crate) fn owned(&mut self) -> String {
        self.string().to_owned()
    }

    /// The next string field when the next number (its length) is not negative.
    pub(crate) fn optional_string(&mut self) -> Option<&'a str> {
        self.optional().map(|units| self.take(units as u64))
    }

    /// `count` string fields (each length read from the numbers); stops at a short read.
    pub(crate) fn strings(&mut self, count: u64) -> Vec<String> {
        let mut out = Vec::new();
        let mut left = count;
        while left > 0 && !self.short {
            out.push(self.owned());
            left -= 1;
        }
        out
    }

    /// Cuts the next `units` UTF-16 code units off the text. Counted on the UTF-8 bytes: each
    /// byte that starts a character is one unit, two for a four-byte one (outside the BMP);
    /// smaller code than decoding characters, and the cut always falls on a character start.
    /// Too few units left, or a cut inside a character, is a short read ("").
    fn take(&mut self, units: u64) -> &'a str {
        let mut counted = 0u64;
        let mut end = self.text.len();
        for (index, &byte) in self.text.as_bytes().iter().enumerate() {
            if byte & 0xc0 != 0x80 {
                if counted >= units {
                    end = index;
                    break;
                }
                counted += if byte >= 0xf0 { 2 } else { 1 };
            }
        }
        if counted != units {
            self.short = true;
            return "";
        }
        // SAFETY: `end` is the text's length or the index of a byte that starts a character,
        // so both halves are whole UTF-8 (checking again would link core's boundary test).
        let (field, rest) = unsafe {
            (
                self.text.get_unchecked(..end),
                self.text.get_unchecked(end..),
            )
        };
        self.text = rest;
        field
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_fields_by_utf16_length() {
        // "é" (two UTF-8 bytes) is one unit, "😀" (four) two, "a" one, "€" (three) one.
        let text = "é😀a€ok";
        let mut fields = Fields::new(&[1.0, 2.0, 1.0, 1.0, 0.0, 2.0], text);
        assert_eq!(fields.string(), "é");
        assert_eq!(fields.string(), "😀");
        assert_eq!(fields.string(), "a");
        assert_eq!(fields.string(), "€");
        assert_eq!(fields.string(), "");
        assert_eq!(fields.string(), "ok");
        assert_eq!(fields.done(()), Some(()));
        assert_eq!(fields.num(), 0.0);
        assert_eq!(fields.done(()), None);
    }

    #[test]
    fn short_or_split_input_reads_as_none() {
        fn short(nums: &[f64], text: &str) -> bool {
            let mut fields = Fields::new(nums, text);
            fields.string();
            fields.is_short()
        }
        assert!(short(&[5.0], "abc"));
        // One unit of a two-unit character cannot be cut off.
        assert!(short(&[1.0], "😀"));
        assert!(short(&[2.0], "a😀"));
        assert!(short(&[2.0], "é"));
        assert!(short(&[], "abc"));
        assert!(!short(&[3.0], "abc"));
        assert_eq!(Fields::new(&[f64::NAN], "").uint(), 0);
        assert_eq!(Fields::new(&[-1.0], "x").optional_string(), None);
        assert_eq!(Fields::new(&[0.0], "x").optional_string(), Some(""));
        // A short read stops a list.
        let mut fields = Fields::new(&[1.0, 9.0], "ab");
        assert_eq!(fields.strings(u64::MAX), ["a", ""]);
        assert_eq!(fields.done(()), None);
    }
}
