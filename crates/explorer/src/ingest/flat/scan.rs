//! A validating scanner of JSON lines that records where each wanted top-level value
//! lies instead of building it. Every failure is `None`: the caller then parses the
//! chunk the general way, which reports the failure the way it always does.

use serde::de::IgnoredAny;

/// Deeper than this the general parser (serde_json, limit 128) decides.
const MAX_DEPTH: usize = 100;

/// Where a top-level value lies in the chunk (byte offsets; strings without quotes).
#[derive(Debug, Clone, Copy)]
pub(super) enum Cell {
    Missing,
    Null,
    Str {
        start: usize,
        end: usize,
        escaped: bool,
    },
    Num {
        start: usize,
        end: usize,
        int: bool,
        /// The value when the number is short (see [`Scanner::number`]), else NaN.
        short: f64,
    },
    /// true, false, an object or an array.
    Other {
        start: usize,
        end: usize,
    },
}

/// The top-level keys read, in the order they usually come.
pub(super) struct Keys {
    plain: Vec<Vec<u8>>,
    /// `"key":` as compact JSON writes it, for keys with nothing to escape.
    quoted: Vec<Option<Vec<u8>>>,
}

impl Keys {
    pub fn new(plain: Vec<Vec<u8>>) -> Keys {
        let quoted = plain
            .iter()
            .map(|k| {
                let plain = k.iter().all(|&c| c >= 0x20 && c != b'"' && c != b'\\');
                plain.then(|| [&b"\""[..], k, b"\":"].concat())
            })
            .collect();
        Keys { plain, quoted }
    }

    pub fn len(&self) -> usize {
        self.plain.len()
    }

    fn position(&self, key: &[u8]) -> Option<usize> {
        self.plain.iter().position(|k| same(Some(k), key))
    }
}

/// The order wanted keys came in: which came first in the last object, and which
/// came after each. Lines of one source nearly always share it.
pub(super) struct Order {
    first: usize,
    after: Vec<usize>,
}

impl Order {
    /// To begin with, the keys' own order.
    pub fn new(keys: usize) -> Order {
        Order {
            first: 0,
            after: (1..=keys).collect(),
        }
    }

    /// The key expected after `last` (None: at the start of an object).
    fn after(&self, last: Option<usize>) -> usize {
        last.map_or(self.first, |k| self.after[k])
    }

    fn learn(&mut self, last: Option<usize>, next: usize) {
        match last {
            Some(k) => self.after[k] = next,
            None => self.first = next,
        }
    }
}

const HIGH: u64 = 0x8080_8080_8080_8080;
const ONES: u64 = 0x0101_0101_0101_0101;

/// The high bit of each byte of `w` that ends a plain run of string: a quote, a
/// backslash or a control character. Only the lowest one is exact (that is all the
/// caller uses): a borrow can mark bytes above it.
fn stops(w: u64) -> u64 {
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    zero(w ^ (ONES * u64::from(b'"')))
        | zero(w ^ (ONES * u64::from(b'\\')))
        | (w.wrapping_sub(ONES * 0x20) & !w & HIGH)
}

/// A mask of the lowest `n` bytes (n < 8).
fn low_bytes(n: usize) -> u64 {
    (1u64 << (8 * n)).wrapping_sub(1)
}

/// Byte equality for short slices, a word at a time.
fn same(a: Option<&[u8]>, b: &[u8]) -> bool {
    let Some(a) = a else { return false };
    if a.len() != b.len() {
        return false;
    }
    let (mut x, mut y) = (a.chunks_exact(8), b.chunks_exact(8));
    let word = |p: &[u8]| u64::from_ne_bytes(p.try_into().unwrap_or_default());
    let words = x.by_ref().zip(y.by_ref()).all(|(p, q)| word(p) == word(q));
    words && x.remainder().iter().zip(y.remainder()).all(|(p, q)| p == q)
}

pub(super) struct Scanner<'a> {
    pub b: &'a [u8],
    pub i: usize,
}

impl<'a> Scanner<'a> {
    pub fn new(b: &'a [u8]) -> Scanner<'a> {
        Scanner { b, i: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// Skips JSON whitespace within a line.
    pub fn spaces(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            // Most bytes are above the space: one comparison says so.
            if c > b' ' || !matches!(c, b' ' | b'\t' | b'\r') {
                return;
            }
            self.i += 1;
        }
    }

    fn expect(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// Moves to the start of the next record: past blank lines. False at the end.
    pub fn next_record(&mut self) -> bool {
        loop {
            self.spaces();
            match self.peek() {
                None => return false,
                Some(b'\n') => self.i += 1,
                Some(_) => return true,
            }
        }
    }

    /// After a record: only whitespace up to the end of its line.
    pub fn end_of_line(&mut self) -> Option<()> {
        self.spaces();
        match self.peek() {
            None => Some(()),
            Some(b'\n') => {
                self.i += 1;
                Some(())
            }
            Some(_) => None,
        }
    }

    /// One object: each wanted key's value goes to its cell. The key that `order`
    /// expects next is tried first, compared as written.
    pub fn object(&mut self, cells: &mut [Cell], keys: &Keys, order: &mut Order) -> Option<()> {
        let mut last = None;
        self.expect(b'{')?;
        self.spaces();
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(());
        }
        loop {
            let expected = order.after(last);
            let found = match keys.quoted.get(expected) {
                Some(Some(q)) if same(self.b.get(self.i..self.i + q.len()), q) => {
                    self.i += q.len();
                    Some(expected)
                }
                _ => {
                    self.expect(b'"')?;
                    let (start, end, escaped) = self.string()?;
                    if escaped {
                        return None;
                    }
                    self.spaces();
                    self.expect(b':')?;
                    keys.position(&self.b[start..end])
                }
            };
            self.spaces();
            match found {
                Some(k) => {
                    cells[k] = self.value()?;
                    order.learn(last, k);
                    last = Some(k);
                }
                None => self.skip(1)?,
            }
            if self.comma_or_close(b'}')? {
                return Some(());
            }
        }
    }

    /// After an item of an object or array: past a comma (false) or the closing
    /// bracket (true).
    fn comma_or_close(&mut self, close: u8) -> Option<bool> {
        self.spaces();
        let c = self.peek()?;
        self.i += 1;
        if c == close {
            return Some(true);
        }
        (c == b',').then(|| self.spaces()).map(|_| false)
    }

    /// A wanted value's cell.
    fn value(&mut self) -> Option<Cell> {
        let start = self.i;
        Some(match self.peek()? {
            b'"' => {
                self.i += 1;
                let (start, end, escaped) = self.string()?;
                Cell::Str {
                    start,
                    end,
                    escaped,
                }
            }
            b'-' | b'0'..=b'9' => {
                let (int, short) = self.number()?;
                Cell::Num {
                    start,
                    end: self.i,
                    int,
                    short,
                }
            }
            b'n' => {
                self.literal(b"null")?;
                Cell::Null
            }
            _ => {
                self.skip(1)?;
                Cell::Other { start, end: self.i }
            }
        })
    }

    /// Past any value, checking it is well formed.
    fn skip(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'"' => {
                self.i += 1;
                self.string().map(drop)
            }
            b'-' | b'0'..=b'9' => self.number().map(drop),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'[' => {
                self.i += 1;
                self.spaces();
                if self.peek()? == b']' {
                    self.i += 1;
                    return Some(());
                }
                loop {
                    self.skip(depth + 1)?;
                    if self.comma_or_close(b']')? {
                        return Some(());
                    }
                }
            }
            b'{' => {
                self.i += 1;
                self.spaces();
                if self.peek()? == b'}' {
                    self.i += 1;
                    return Some(());
                }
                loop {
                    self.expect(b'"')?;
                    self.string()?;
                    self.spaces();
                    self.expect(b':')?;
                    self.spaces();
                    self.skip(depth + 1)?;
                    if self.comma_or_close(b'}')? {
                        return Some(());
                    }
                }
            }
            _ => None,
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.b[self.i..]
            .starts_with(word)
            .then(|| self.i += word.len())
    }

    /// The rest of a string after its opening quote: (start, end, has escapes). Raw
    /// control characters and invalid UTF-8 are refused; escaped strings are checked by
    /// serde_json. Eight bytes are looked at a time while eight are left.
    fn string(&mut self) -> Option<(usize, usize, bool)> {
        let b = self.b;
        let start = self.i;
        let mut at = start;
        let (mut escaped, mut high) = (false, 0u64);
        let end = loop {
            while let Some(word) = b.get(at..at + 8) {
                let w = u64::from_le_bytes(word.try_into().ok()?);
                let stops = stops(w);
                if stops != 0 {
                    let n = (stops.trailing_zeros() / 8) as usize;
                    high |= w & HIGH & low_bytes(n);
                    at += n;
                    break;
                }
                high |= w & HIGH;
                at += 8;
            }
            let c = *b.get(at)?;
            match c {
                b'"' => break at,
                b'\\' => {
                    escaped = true;
                    at += 2;
                }
                0..0x20 => return None,
                _ => {
                    high |= u64::from(c & 0x80);
                    at += 1;
                }
            }
        };
        if high != 0 {
            std::str::from_utf8(&b[start..end]).ok()?;
        }
        if escaped {
            serde_json::from_slice::<IgnoredAny>(&b[start - 1..=end]).ok()?;
        }
        self.i = end + 1;
        Some((start, end, escaped))
    }

    /// A number by JSON's grammar: whether it is an integer (no fraction or exponent),
    /// and its value if it is short, else NaN. Short is `[-]digits[.digits]` with at most
    /// 15 digits, read as (digits as an integer) / 10^k: both are exact in a real and one
    /// division rounds correctly, so this is the value the full parser gives.
    fn number(&mut self) -> Option<(bool, f64)> {
        const POW10: [f64; 16] = [
            1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
        ];
        let mut m = 0u64;
        let mut digits = |s: &mut Self| {
            let from = s.i;
            while let Some(c @ b'0'..=b'9') = s.peek() {
                m = m.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
                s.i += 1;
            }
            s.i - from
        };
        let negative = self.peek() == Some(b'-');
        self.i += negative as usize;
        let whole = match self.peek()? {
            b'0' => {
                self.i += 1;
                1
            }
            b'1'..=b'9' => digits(self),
            _ => return None,
        };
        let mut scale = 0;
        if self.peek() == Some(b'.') {
            self.i += 1;
            scale = digits(self);
            if scale == 0 {
                return None;
            }
        }
        let mut exponent = false;
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if digits(self) == 0 {
                return None;
            }
            exponent = true;
        }
        let int = scale == 0 && !exponent;
        let short = match POW10.get(scale) {
            Some(p) if !exponent && whole + scale <= 15 => {
                let x = m as f64 / p;
                if negative {
                    -x
                } else {
                    x
                }
            }
            _ => f64::NAN,
        };
        Some((int, short))
    }
}

#[cfg(test)]
mod tests {
    /// The short value of a whole text that is one number; None if it is not one.
    fn short(text: &str) -> Option<f64> {
        let mut s = super::Scanner::new(text.as_bytes());
        let (_, short) = s.number()?;
        (s.i == text.len()).then_some(short)
    }

    #[test]
    fn short_numbers_read_as_the_full_parser_reads_them() {
        let mut cases: Vec<String> = [
            "0.1",
            "-0.0",
            "38.31",
            "66.82",
            "0.000000000000001",
            "999999999999999.9",
            "123456789.012345",
            "-7.5",
            "2.50",
            "9007199254740.993",
        ]
        .map(String::from)
        .to_vec();
        let mut x = 1u64;
        for _ in 0..10_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let digits = (x >> 40) % 1_000_000_000_000_000;
            let point = ((x >> 20) % 16) as usize;
            let text = format!("{digits:015}");
            let (whole, fraction) = text.split_at(point);
            let whole = match whole.trim_start_matches('0') {
                "" => "0",
                w => w,
            };
            let sign = if x & 1 == 1 { "-" } else { "" };
            cases.push(match fraction {
                "" => format!("{sign}{whole}"),
                f => format!("{sign}{whole}.{f}"),
            });
        }
        for c in cases {
            let v = short(&c).unwrap();
            if !v.is_nan() {
                let full: f64 = c.parse().unwrap();
                assert_eq!(v.to_bits(), full.to_bits(), "{c}");
            }
        }
        for long in [
            "1e5",
            "12345678901234567.5",
            "9007199254740993",
            "0.0000000000000001",
        ] {
            assert!(short(long).unwrap().is_nan(), "{long}");
        }
        for bad in ["1.", "01", "-", "1e", "--1", ".5"] {
            assert!(short(bad).is_none(), "{bad}");
        }
    }
}
