//! Reading one input: its numbers in order, and its string fields cut from one text by the
//! lengths JS gave (UTF-16 code units, what `String.prototype.length` counts).
//!
//! JS is our own code, but a mismatch must still never panic the module (a panic aborts every
//! iterator on the page): every read is checked and a short input reads as `None`.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;

/// A cursor over an input's numbers and text.
pub(crate) struct Fields<'a> {
    nums: &'a [f64],
    at: usize,
    text: &'a str,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(nums: &'a [f64], text: &'a str) -> Self {
        Fields { nums, at: 0, text }
    }

    /// The next number.
    pub(crate) fn num(&mut self) -> Option<f64> {
        let value = *self.nums.get(self.at)?;
        self.at += 1;
        Some(value)
    }

    /// The next number as a non-negative integer (`as` saturates; NaN reads as 0).
    pub(crate) fn uint(&mut self) -> Option<u64> {
        self.num().map(|n| n as u64)
    }

    /// The next number as a `u32` (saturating).
    pub(crate) fn u32(&mut self) -> Option<u32> {
        self.num().map(|n| n as u32)
    }

    /// The next number where a negative one means "none".
    pub(crate) fn optional(&mut self) -> Option<Option<f64>> {
        self.num().map(|n| (n >= 0.0).then_some(n))
    }

    /// The next string field: the next number is its length in UTF-16 code units.
    pub(crate) fn string(&mut self) -> Option<&'a str> {
        let units = self.uint()?;
        self.take(units)
    }

    /// The next string field, copied: the dozen places that need a `String` share this one
    /// cut-and-copy instead of each carrying its own (smaller wasm).
    pub(crate) fn owned(&mut self) -> Option<String> {
        self.string().map(str::to_owned)
    }

    /// The next string field when the next number (its length) is not negative.
    pub(crate) fn optional_string(&mut self) -> Option<Option<&'a str>> {
        match self.optional()? {
            None => Some(None),
            Some(units) => self.take(units as u64).map(Some),
        }
    }

    /// `count` string fields (each length read from the numbers).
    pub(crate) fn strings(&mut self, count: u64) -> Option<Vec<String>> {
        let mut out = Vec::new();
        for _ in 0..count {
            out.push(self.owned()?);
        }
        Some(out)
    }

    /// Cuts the next `units` UTF-16 code units off the text. Counted on the UTF-8 bytes: each
    /// byte that starts a character is one unit, two for a four-byte one (outside the BMP);
    /// smaller code than decoding characters, and the cut always falls on a character start.
    fn take(&mut self, units: u64) -> Option<&'a str> {
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
            return None;
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
        Some(field)
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
        assert_eq!(fields.string(), Some("é"));
        assert_eq!(fields.string(), Some("😀"));
        assert_eq!(fields.string(), Some("a"));
        assert_eq!(fields.string(), Some("€"));
        assert_eq!(fields.string(), Some(""));
        assert_eq!(fields.string(), Some("ok"));
        assert_eq!(fields.num(), None);
    }

    #[test]
    fn short_or_split_input_reads_as_none() {
        assert_eq!(Fields::new(&[5.0], "abc").string(), None);
        // One unit of a two-unit character cannot be cut off.
        assert_eq!(Fields::new(&[1.0], "😀").string(), None);
        assert_eq!(Fields::new(&[2.0], "a😀").string(), None);
        assert_eq!(Fields::new(&[2.0], "é").string(), None);
        assert_eq!(Fields::new(&[], "abc").num(), None);
        assert_eq!(Fields::new(&[f64::NAN], "").uint(), Some(0));
        assert_eq!(Fields::new(&[-1.0], "x").optional_string(), Some(None));
        assert_eq!(Fields::new(&[0.0], "x").optional_string(), Some(Some("")));
    }
}
