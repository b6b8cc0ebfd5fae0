//! A short string copied into a fixed buffer: how a measured call hands a verdict's strings
//! out of its frame.

use core::fmt;

/// At most `N` bytes of a string (cut at a character boundary).
#[derive(Clone, Copy)]
pub struct Text<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> Text<N> {
    /// Copies `s`, or as much of it as fits.
    pub fn new(s: &str) -> Self {
        let mut len = s.len().min(N);
        while !s.is_char_boundary(len) {
            len -= 1;
        }
        let mut bytes = [0; N];
        bytes[..len].copy_from_slice(&s.as_bytes()[..len]);
        Self { bytes, len }
    }

    /// Writes `value` (a claim is a span decoded on demand), or as much of it as fits.
    pub fn display(value: impl fmt::Display) -> Self {
        let mut text = Self {
            bytes: [0; N],
            len: 0,
        };
        let _ = fmt::write(&mut text, format_args!("{value}"));
        text
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or("?")
    }
}

impl<const N: usize> fmt::Display for Text<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<const N: usize> fmt::Debug for Text<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const N: usize> fmt::Write for Text<N> {
    /// Appends the characters that fit, and drops the rest.
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            let end = self.len + c.len_utf8();
            if end > N {
                break;
            }
            c.encode_utf8(&mut self.bytes[self.len..end]);
            self.len = end;
        }
        Ok(())
    }
}
