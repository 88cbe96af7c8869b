//! Finding where a run of plain string bytes ends, eight bytes at a time (SWAR): long strings
//! are most of a large event, and the byte-by-byte loop was the frame scanner's cost there.
//!
//! A plain byte is one a JSON string may hold as is: not a quote, not a backslash, not a
//! control character (below 0x20). Bytes of multi-byte UTF-8 characters are all plain.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Marks (high bit of the byte) the quotes, backslashes and control characters among the
/// eight bytes of `word`. Marks above the first real one may be wrong (borrows), but the
/// lowest mark is always exact, which is all the callers use.
#[inline]
fn ends(word: u64) -> u64 {
    let zero_bytes = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
    zero_bytes(word ^ (ONES * u64::from(b'"')))
        | zero_bytes(word ^ (ONES * u64::from(b'\\')))
        | below_space
}

/// The eight bytes at `at` as a little-endian word, if there are eight.
#[inline]
fn word_at(bytes: &[u8], at: usize) -> Option<u64> {
    let chunk: [u8; 8] = bytes.get(at..at + 8)?.try_into().ok()?;
    Some(u64::from_le_bytes(chunk))
}

/// The offset in a word of its first marked byte.
#[inline]
fn first_marked(marks: u64) -> usize {
    (marks.trailing_zeros() / 8) as usize
}

/// How many bytes at the start of `bytes` are plain.
#[inline]
pub(crate) fn plain_run_len(bytes: &[u8]) -> usize {
    let mut at = 0;
    // Most strings are short: look at one word before trying whole blocks.
    if let Some(word) = word_at(bytes, at) {
        let marks = ends(word);
        if marks != 0 {
            return first_marked(marks);
        }
        at += 8;
    }
    // Then blocks of 32 bytes: one branch for four words.
    while let Some(block) = bytes.get(at..at + 32) {
        let marks = block
            .chunks_exact(8)
            .filter_map(|chunk| word_at(chunk, 0))
            .fold(0, |marks, word| marks | ends(word));
        if marks != 0 {
            break;
        }
        at += 32;
    }
    while let Some(word) = word_at(bytes, at) {
        let marks = ends(word);
        if marks != 0 {
            return at + first_marked(marks);
        }
        at += 8;
    }
    while let Some(&byte) = bytes.get(at) {
        if byte == b'"' || byte == b'\\' || byte < 0x20 {
            break;
        }
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::plain_run_len;

    fn naive(bytes: &[u8]) -> usize {
        bytes
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
            .unwrap_or(bytes.len())
    }

    /// Every end byte at every offset of runs up to 80 bytes, after plain bytes chosen to
    /// provoke borrows (0x01 above, bytes next to the marked values, UTF-8 bytes).
    #[test]
    fn finds_the_first_end_wherever_it_is() {
        let fillers: &[u8] = &[
            b'x', b' ', b'!', b'#', b'[', b']', 0x7f, 0x80, 0xa0, 0xc3, 0xff,
        ];
        let enders: &[u8] = &[b'"', b'\\', 0x00, 0x01, 0x1f];
        for len in 0..80 {
            for &filler in fillers {
                let plain = vec![filler; len];
                assert_eq!(plain_run_len(&plain), len);
                for at in 0..len {
                    for &ender in enders {
                        let mut bytes = plain.clone();
                        bytes[at] = ender;
                        // A second end and a borrow-prone byte after the first one.
                        if at + 2 < len {
                            bytes[at + 1] = 0x01;
                            bytes[at + 2] = b'"';
                        }
                        assert_eq!(plain_run_len(&bytes), naive(&bytes), "{bytes:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn every_byte_value_is_classified_like_the_naive_scan() {
        for byte in 0..=255u8 {
            for at in 0..40 {
                let mut bytes = vec![b'a'; 40];
                bytes[at] = byte;
                assert_eq!(
                    plain_run_len(&bytes),
                    naive(&bytes),
                    "byte {byte:#x} at {at}"
                );
            }
        }
    }
}
