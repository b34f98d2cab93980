//! `has`, `contains`, `hasprefix` and `hassuffix` of an ASCII needle over a whole
//! string column at once: one substring search runs over the column's value buffer
//! (lowered in cache-sized pieces when the test ignores case), and each match is
//! mapped back to its row through the offsets. This is many times faster than testing
//! row by row, where most of the time goes to starting a search per value.

use std::cell::RefCell;

use datafusion::arrow::array::{Array, StringArray};
use memchr::memmem::Finder;

/// Values are lowered and searched this many bytes (plus a needle's overlap) at a time.
const PIECE: usize = 256 * 1024;

thread_local! {
    static LOWERED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// For each row of `hay`, whether `needle` (ASCII, non-empty, lower case unless
/// `case_sensitive`) occurs in it with a term boundary on the sides asked for
/// (`before`/`after`; a boundary only matters where the needle's own edge is a
/// letter or digit). A null row holds no match. None when the values are not all
/// ASCII: the caller then tests row by row with full Unicode case rules.
pub fn scan_ascii(
    hay: &StringArray,
    needle: &[u8],
    case_sensitive: bool,
    before: bool,
    after: bool,
) -> Option<Vec<bool>> {
    scan_in_pieces(hay, needle, case_sensitive, before, after, PIECE)
}

fn scan_in_pieces(
    hay: &StringArray,
    needle: &[u8],
    case_sensitive: bool,
    before: bool,
    after: bool,
    piece: usize,
) -> Option<Vec<bool>> {
    debug_assert!(!needle.is_empty() && needle.is_ascii());
    let offsets = hay.value_offsets();
    let base = *offsets.first()? as usize;
    let end = *offsets.last()? as usize;
    let values = &hay.value_data()[base..end];
    if !values.is_ascii() {
        return None;
    }
    let rows = hay.len();
    let mut flags = vec![false; rows];
    let check_before = before && needle[0].is_ascii_alphanumeric();
    let check_after = after && needle[needle.len() - 1].is_ascii_alphanumeric();
    let finder = Finder::new(needle);
    // `row` only moves forward: matches come in order.
    let mut row = 0usize;
    let row_end = |r: usize| offsets[r + 1] as usize - base;
    let mut on_match = |at: usize, flags: &mut [bool]| -> usize {
        while row < rows && row_end(row) <= at {
            row += 1;
        }
        if row >= rows {
            return values.len();
        }
        let (start, stop) = (offsets[row] as usize - base, row_end(row));
        let e = at + needle.len();
        if e > stop {
            // Crosses into the next row: no match of this row starts later either.
            return stop;
        }
        let before_ok = !check_before || at == start || !values[at - 1].is_ascii_alphanumeric();
        let after_ok = !check_after || e == stop || !values[e].is_ascii_alphanumeric();
        if before_ok && after_ok {
            flags[row] = true;
            // This row is decided; go on with the next one.
            return stop;
        }
        at + 1
    };
    if case_sensitive {
        let mut at = 0;
        while at < values.len() {
            let Some(i) = finder.find(&values[at..]) else {
                break;
            };
            at = on_match(at + i, &mut flags);
        }
        return Some(flags);
    }
    LOWERED.with(|buf| {
        let mut buf = buf.borrow_mut();
        let mut pos = 0;
        while pos < values.len() {
            // Matches starting in [pos, piece_end) are found in this piece; it is
            // lowered a needle's length (less one) further so they are seen whole.
            let piece_end = (pos + piece).min(values.len());
            let reach = (piece_end + needle.len() - 1).min(values.len());
            buf.clear();
            buf.extend(values[pos..reach].iter().map(|&b| lower(b)));
            let mut at = pos;
            while at < piece_end {
                let Some(i) = finder.find(&buf[at - pos..]) else {
                    break;
                };
                if at + i >= piece_end {
                    break;
                }
                at = on_match(at + i, &mut flags);
            }
            pos = at.max(piece_end);
        }
        Some(flags)
    })
}

/// ASCII lower case without a branch (vectorises).
fn lower(b: u8) -> u8 {
    b | (((b.wrapping_sub(b'A') < 26) as u8) << 5)
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Array, StringArray};

    use super::scan_in_pieces;
    use crate::plan::functions::string::occurs_at_boundary;

    /// Row-by-row answer of the same test, with the row-wise code.
    fn one_by_one(
        hay: &StringArray,
        needle: &str,
        cs: bool,
        before: bool,
        after: bool,
    ) -> Vec<bool> {
        (0..hay.len())
            .map(|i| {
                let h = if hay.is_null(i) { "" } else { hay.value(i) };
                let h = if cs {
                    h.to_string()
                } else {
                    h.to_ascii_lowercase()
                };
                occurs_at_boundary(&h, needle, before, after)
            })
            .collect()
    }

    #[test]
    fn whole_column_search_agrees_with_row_by_row() {
        // Short rows of a small alphabet make matches across rows, near misses at
        // term edges and case variants common.
        let alphabet = b"aAbBeErRoO .-_1";
        let mut seed = 0x2545_f491_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let rows: Vec<Option<String>> = (0..20_000)
            .map(|_| {
                let n = next();
                (n % 13 != 0).then(|| {
                    (0..(n >> 8) % 13)
                        .map(|_| alphabet[(next() % alphabet.len() as u64) as usize] as char)
                        .collect()
                })
            })
            .collect();
        let whole = StringArray::from(rows);
        let sliced = whole.slice(17, 19_000);
        let sliced = sliced.as_any().downcast_ref::<StringArray>().unwrap();
        for hay in [&whole, sliced] {
            for needle in ["er", "ero", "e", "r o", ".", "-e", "e1", "b e", "oo"] {
                for cs in [false, true] {
                    let n = if cs {
                        needle.to_uppercase()
                    } else {
                        needle.to_string()
                    };
                    for (before, after) in
                        [(true, true), (true, false), (false, true), (false, false)]
                    {
                        let want = one_by_one(hay, &n, cs, before, after);
                        assert!(want.iter().any(|f| *f), "{n}: some rows should match");
                        for piece in [1, 3, 64, 1 << 20] {
                            let got = scan_in_pieces(hay, n.as_bytes(), cs, before, after, piece)
                                .unwrap();
                            assert_eq!(got, want, "{n:?} cs={cs} {before}/{after} piece={piece}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn non_ascii_values_are_left_to_the_row_by_row_test() {
        let hay = StringArray::from(vec!["error", "KELVIN \u{212A}"]);
        assert!(scan_in_pieces(&hay, b"error", false, true, true, 64).is_none());
    }
}
