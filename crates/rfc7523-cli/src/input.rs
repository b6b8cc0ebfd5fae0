//! Reading tokens and bodies from standard input without ever holding more than a bound.
//!
//! A line or body longer than its bound is consumed without being stored and reported as too
//! large, so a multi-megabyte line costs no memory and the lines after it are still read.

use std::io::{self, BufRead, BufReader, ErrorKind, Read};

/// The read buffer of [`LineReader`]: a batch of typical assertions (about 1 KB each) per
/// read from the pipe.
const READ_BUFFER: usize = 64 * 1024;

/// One line of input.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// The line, without its `\n` or `\r\n`.
    Text(&'a [u8]),
    /// The line was longer than the reader's bound; its bytes were dropped.
    TooLong,
    /// Empty, or only ASCII white space.
    Blank,
}

/// Splits input into lines, storing at most `max` bytes of one line.
#[derive(Debug)]
pub struct LineReader<R> {
    inner: BufReader<R>,
    max: usize,
    line: Vec<u8>,
}

impl<R: Read> LineReader<R> {
    /// A reader that stores at most `max` bytes of a line.
    pub fn new(inner: R, max: usize) -> Self {
        Self::with_buffer(inner, max, READ_BUFFER)
    }

    fn with_buffer(inner: R, max: usize, buffer: usize) -> Self {
        Self {
            inner: BufReader::with_capacity(buffer, inner),
            max,
            line: Vec::new(),
        }
    }

    /// True when the next line cannot be read without waiting for more input: the moment to
    /// flush the answers given so far, so that a caller writing one token and waiting for its
    /// answer gets it, while a batch is still written in large blocks.
    pub fn would_block(&self) -> bool {
        self.inner.buffer().is_empty()
    }

    /// The next line, or `None` at the end of the input.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        self.line.clear();
        let mut seen_any = false;
        let mut too_long = false;
        let mut blank = true;
        loop {
            let available = match self.inner.fill_buf() {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                if !seen_any {
                    return Ok(None);
                }
                break;
            }
            seen_any = true;
            let newline = available.iter().position(|&b| b == b'\n');
            let chunk = match newline {
                Some(end) => available.get(..end).unwrap_or_default(),
                None => available,
            };
            blank = blank && chunk.iter().all(u8::is_ascii_whitespace);
            if !too_long {
                if self.line.len() + chunk.len() > self.max {
                    too_long = true;
                    self.line.clear();
                } else {
                    self.line.extend_from_slice(chunk);
                }
            }
            let used = newline.map_or(available.len(), |end| end + 1);
            self.inner.consume(used);
            if newline.is_some() {
                break;
            }
        }
        if blank {
            return Ok(Some(Line::Blank));
        }
        if too_long {
            return Ok(Some(Line::TooLong));
        }
        let line = self.line.strip_suffix(b"\r").unwrap_or(&self.line);
        Ok(Some(Line::Text(line)))
    }
}

/// A whole input read up to a bound.
#[derive(Debug, PartialEq, Eq)]
pub enum Body {
    /// Everything, when it fit in the bound.
    Complete(Vec<u8>),
    /// The input was longer than the bound (the rest was not read).
    TooLong,
}

/// Reads all of `input` if it is at most `max` bytes.
pub fn read_bounded(input: impl Read, max: usize) -> io::Result<Body> {
    let mut bytes = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    input.take(limit).read_to_end(&mut bytes)?;
    if bytes.len() > max {
        Ok(Body::TooLong)
    } else {
        Ok(Body::Complete(bytes))
    }
}

/// A token as text. The core takes `&str`; a line that is not UTF-8 cannot be a compact JWS,
/// and every non-ASCII byte is outside the base64url alphabet, so each one is replaced by `!`
/// (also outside it, and one byte long): the core then judges the same length and the same
/// segments, and refuses the token for the segment that holds the byte.
pub fn token_text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.into(),
        Err(_) => bytes
            .iter()
            .map(|&b| if b.is_ascii() { char::from(b) } else { '!' })
            .collect::<String>()
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<String> {
        // A tiny buffer, so that lines span many reads.
        let mut reader = LineReader::with_buffer(input, max, 3);
        let mut out = Vec::new();
        while let Some(line) = reader.next_line().unwrap() {
            out.push(match line {
                Line::Text(t) => format!("T:{}", String::from_utf8_lossy(t)),
                Line::TooLong => "LONG".to_owned(),
                Line::Blank => "BLANK".to_owned(),
            });
        }
        out
    }

    #[test]
    fn splits_trims_cr_and_bounds() {
        assert_eq!(
            lines(b"abc\r\n\n  \r\nabcdef\nxyz", 5),
            ["T:abc", "BLANK", "BLANK", "LONG", "T:xyz"]
        );
        // At the bound passes; the `\r` of a line at the bound does not count against it
        // when the bound leaves room for it (the CLI stores MAX_TOKEN_LEN + 1).
        assert_eq!(lines(b"abcde\nabcd\r\n", 5), ["T:abcde", "T:abcd"]);
        assert_eq!(lines(b"", 5), Vec::<String>::new());
        assert_eq!(lines(b"\n", 5), ["BLANK"]);
        // A very long blank line is still blank.
        assert_eq!(lines(&[b' '; 100], 5), ["BLANK"]);
    }

    #[test]
    fn bounded_body() {
        assert_eq!(
            read_bounded(&b"abc"[..], 3).unwrap(),
            Body::Complete(b"abc".to_vec())
        );
        assert_eq!(read_bounded(&b"abcd"[..], 3).unwrap(), Body::TooLong);
    }

    #[test]
    fn non_utf8_keeps_length_and_dots() {
        let text = token_text(b"a.\xff\xfe.c");
        assert_eq!(text, "a.!!.c");
        assert_eq!(token_text(b"a.b.c"), "a.b.c");
    }
}
