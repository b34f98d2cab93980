//! A validating scanner of JSON lines that records where each wanted top-level value
//! lies instead of building it. Every failure is `None`: the caller then parses the
//! chunk the general way, which reports the failure the way it always does.

use serde::de::IgnoredAny;

/// Deeper than this the general parser (serde_json, limit 128) decides.
const MAX_DEPTH: usize = 100;

/// Where a top-level value lies in the chunk (byte offsets; strings without quotes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    },
    /// true, false, an object or an array.
    Other {
        start: usize,
        end: usize,
    },
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
        while let Some(b' ' | b'\t' | b'\r') = self.peek() {
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

    /// One object: `wanted(key)` says which cell a key's value goes to.
    pub fn object(
        &mut self,
        cells: &mut [Cell],
        wanted: &mut impl FnMut(&[u8]) -> Option<usize>,
    ) -> Option<()> {
        self.expect(b'{')?;
        self.spaces();
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(());
        }
        loop {
            self.expect(b'"')?;
            let (start, end, escaped) = self.string()?;
            if escaped {
                return None;
            }
            self.spaces();
            self.expect(b':')?;
            self.spaces();
            match wanted(&self.b[start..end]) {
                Some(k) => cells[k] = self.value()?,
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
                let int = self.number()?;
                Cell::Num {
                    start,
                    end: self.i,
                    int,
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

    /// The rest of a string after its opening quote: (start, end, has escapes). Escaped
    /// strings are checked by serde_json; raw control characters are refused.
    fn string(&mut self) -> Option<(usize, usize, bool)> {
        let start = self.i;
        let mut at = start;
        let mut escaped = false;
        loop {
            let end = at + memchr::memchr2(b'"', b'\\', &self.b[at..])?;
            if self.b[end] == b'\\' {
                escaped = true;
                at = end + 2;
                if at > self.b.len() {
                    return None;
                }
                continue;
            }
            if self.b[start..end].iter().any(|&c| c < 0x20) {
                return None;
            }
            if escaped {
                serde_json::from_slice::<IgnoredAny>(&self.b[start - 1..=end]).ok()?;
            }
            self.i = end + 1;
            return Some((start, end, escaped));
        }
    }

    /// A number by JSON's grammar; says whether it is an integer (no fraction or
    /// exponent).
    fn number(&mut self) -> Option<bool> {
        let digits = |s: &mut Self| {
            let from = s.i;
            while let Some(b'0'..=b'9') = s.peek() {
                s.i += 1;
            }
            (s.i > from).then_some(())
        };
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => digits(self)?,
            _ => return None,
        }
        let mut int = true;
        if self.peek() == Some(b'.') {
            self.i += 1;
            digits(self)?;
            int = false;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            digits(self)?;
            int = false;
        }
        Some(int)
    }
}
