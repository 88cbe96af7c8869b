//! The differential test of the one-pass server-frame decoder (issue #7) on mutations of the
//! vector frames and of a sample of the tricky ones: truncations, single-character
//! replacements and insertions, repeated members, odd values. Both decoders must agree on
//! every one (`decode_differential.rs` has the unmutated frames).
#![cfg(feature = "codec")]

mod decode_support;

use decode_support::{check, tricky_frames, vector_frames};

/// Bytes that change a frame's meaning or validity in interesting ways.
const FLIPS: &[&str] = &[
    "\"",
    "\\",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    " ",
    "\n",
    "0",
    "9",
    "-",
    "+",
    ".",
    "e",
    "n",
    "t",
    "x",
    "\u{1}",
    "é",
    "😀",
    "\\u0041",
    "\\ud800",
    "null",
    "1e400",
    "99999999999999999999",
];

/// Every truncation, and every single-character replacement and insertion from [`FLIPS`].
fn mutations(frame: &str) -> Vec<String> {
    let boundaries: Vec<usize> = (0..=frame.len())
        .filter(|&i| frame.is_char_boundary(i))
        .collect();
    let mut out = Vec::new();
    for (n, &at) in boundaries.iter().enumerate() {
        out.push(frame[..at].to_owned());
        let next = boundaries.get(n + 1).copied();
        for flip in FLIPS {
            out.push(format!("{}{flip}{}", &frame[..at], &frame[at..]));
            if let Some(next) = next {
                out.push(format!("{}{flip}{}", &frame[..at], &frame[next..]));
            }
        }
    }
    out
}

/// Every member of every object repeated, and every value replaced by odd ones.
fn structural_mutations(frame: &str) -> Vec<String> {
    let mut out = Vec::new();
    for key in [
        "\"i\"",
        "\"t\"",
        "\"p\"",
        "\"e\"",
        "\"d\"",
        "\"m\"",
        "\"id\"",
        "\"retry\"",
        "\"s\"",
        "\"h\"",
        "\"b\"",
    ] {
        for (at, _) in frame.match_indices(key) {
            let rest = &frame[at..];
            // The member up to the next comma or brace at the same depth, roughly: enough
            // to produce repeated keys in many shapes.
            if let Some(end) = rest.find([',', '}']) {
                let member = &rest[..end];
                out.push(format!("{}{member},{}", &frame[..at], rest));
                out.push(format!(
                    "{}{key}:{}",
                    &frame[..at],
                    &rest[end.min(key.len() + 1)..]
                ));
            }
            for value in [
                "null",
                "1e400",
                "-1",
                "0",
                "18446744073709551616",
                "\"\\u0033\"",
                "[]",
                "{}",
                "[[[[[[[[[[[[1]]]]]]]]]]]]",
            ] {
                if let Some(colon) = rest.find(':') {
                    out.push(format!(
                        "{}{}{value},{}",
                        &frame[..at],
                        &rest[..=colon],
                        &rest[colon + 1..]
                    ));
                }
            }
        }
    }
    out
}

#[test]
fn mutated_frames_decode_identically() {
    let mut bases: Vec<String> = vector_frames()
        .into_iter()
        .filter(|f| f.len() <= 400)
        .collect();
    // A sample of the tricky frames too (all of them would take minutes in a debug build).
    bases.extend(
        tricky_frames()
            .into_iter()
            .filter(|f| f.len() <= 120)
            .step_by(5),
    );
    let mut total = 0;
    for base in &bases {
        total += check(mutations(base), false);
        total += check(structural_mutations(base), false);
    }
    println!("{total} mutated frames of {} bases compared", bases.len());
}

/// One random edit: insert a [`FLIPS`] token, delete a range, or copy a range elsewhere
/// (which repeats members, nests values and splits tokens).
fn edit(frame: &str, kind: u8, a: usize, b: usize, flip: usize) -> String {
    let boundaries: Vec<usize> = (0..=frame.len())
        .filter(|&i| frame.is_char_boundary(i))
        .collect();
    let pick = |n: usize| boundaries[n % boundaries.len()];
    let (x, y) = (pick(a).min(pick(b)), pick(a).max(pick(b)));
    match kind % 3 {
        0 => format!(
            "{}{}{}",
            &frame[..x],
            FLIPS[flip % FLIPS.len()],
            &frame[x..]
        ),
        1 => format!("{}{}", &frame[..x], &frame[y..]),
        _ => {
            let at = pick(flip);
            format!("{}{}{}", &frame[..at], &frame[x..y], &frame[at..])
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20_000))]

    /// Several edits in a row reach shapes single mutations cannot.
    #[test]
    fn randomly_edited_frames_decode_identically(
        base in proptest::sample::select(vector_frames()),
        edits in proptest::collection::vec((0u8..3, 0usize..1000, 0usize..1000, 0usize..1000), 1..5),
    ) {
        let frame = edits
            .into_iter()
            .fold(base, |frame, (kind, a, b, flip)| edit(&frame, kind, a, b, flip));
        proptest::prop_assert_eq!(check([frame], true), 1);
    }
}
