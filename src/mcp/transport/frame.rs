//! Bounded line framing for the stdio transport: one `\n`-terminated line at a time,
//! never more than the line limit in memory. A line over the limit is reported with its
//! first and last bytes (where a JSON-RPC `id` usually sits) and skipped up to its newline
//! without being buffered whole.
//!
//! No JSON here and no MCP: bytes in, frames out. Cancel-safe: every partial read is kept
//! in the reader, so a `next` dropped by a `select!` resumes where it stopped.

use std::io;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// Bytes kept from the start of a too-long line to recover its id.
pub const HEAD_BYTES: usize = 4096;
/// Bytes kept from the end of a too-long line to recover an id written last.
pub const TAIL_BYTES: usize = 512;

/// What one read produced.
#[derive(Debug)]
pub enum Frame {
    /// A whole line, without its `\n`.
    Line(Vec<u8>),
    /// A line longer than the limit, skipped; its length and its first and last bytes.
    TooLong {
        /// Total length of the line in bytes, without the `\n`.
        len: usize,
        /// Its first bytes (at most `HEAD_BYTES`).
        head: Vec<u8>,
        /// Its last bytes (at most `TAIL_BYTES`).
        tail: Vec<u8>,
    },
    /// The peer closed its end (a last line without `\n` is still delivered first).
    Eof,
    /// Reading failed.
    Io(io::Error),
}

/// State of a line longer than the limit, while its rest is skipped.
struct Skipping {
    len: usize,
    head: Vec<u8>,
    tail: Vec<u8>,
}

/// Reads `\n`-terminated lines of at most `max` bytes from `R`.
pub struct LineReader<R> {
    read: BufReader<R>,
    line: Vec<u8>,
    max: usize,
    skipping: Option<Skipping>,
    eof: bool,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    /// A reader of lines of at most `max` bytes.
    pub fn new(read: R, max: usize) -> Self {
        LineReader {
            read: BufReader::with_capacity(64 * 1024, read),
            line: Vec::new(),
            max,
            skipping: None,
            eof: false,
        }
    }

    /// The next frame. Cancel-safe: bytes consumed from the buffer are always kept in
    /// `self`, and the copy and its `consume` happen with no await between them.
    pub async fn next(&mut self) -> Frame {
        if self.eof {
            return Frame::Eof;
        }
        loop {
            let available = match self.read.fill_buf().await {
                Ok(available) => available,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Frame::Io(e),
            };
            if available.is_empty() {
                self.eof = true;
                if let Some(s) = self.skipping.take() {
                    return too_long(s);
                }
                if self.line.is_empty() {
                    return Frame::Eof;
                }
                // A last line without its newline is still a message.
                return Frame::Line(std::mem::take(&mut self.line));
            }
            let newline = available.iter().position(|b| *b == b'\n');
            let chunk = &available[..newline.unwrap_or(available.len())];
            let take = newline.map_or(available.len(), |i| i + 1);

            if let Some(s) = self.skipping.as_mut() {
                s.len += chunk.len();
                keep_tail(&mut s.tail, chunk);
            } else if self.line.len() + chunk.len() > self.max {
                // Over the limit: keep the head and tail, drop the rest as it streams by.
                let mut head = std::mem::take(&mut self.line);
                let len = head.len() + chunk.len();
                let mut tail = Vec::with_capacity(TAIL_BYTES);
                keep_tail(&mut tail, &head);
                keep_tail(&mut tail, chunk);
                let room = HEAD_BYTES.saturating_sub(head.len());
                head.extend_from_slice(&chunk[..room.min(chunk.len())]);
                head.truncate(HEAD_BYTES);
                head.shrink_to_fit();
                self.skipping = Some(Skipping { len, head, tail });
            } else {
                self.line.extend_from_slice(chunk);
            }
            self.read.consume(take);

            if newline.is_some() {
                if let Some(s) = self.skipping.take() {
                    return too_long(s);
                }
                let line = std::mem::take(&mut self.line);
                return Frame::Line(line);
            }
        }
    }
}

fn too_long(s: Skipping) -> Frame {
    Frame::TooLong {
        len: s.len,
        head: s.head,
        tail: s.tail,
    }
}

/// Append `bytes` to `tail`, keeping only its last `TAIL_BYTES`.
fn keep_tail(tail: &mut Vec<u8>, bytes: &[u8]) {
    if bytes.len() >= TAIL_BYTES {
        tail.clear();
        tail.extend_from_slice(&bytes[bytes.len() - TAIL_BYTES..]);
        return;
    }
    tail.extend_from_slice(bytes);
    if tail.len() > TAIL_BYTES {
        tail.drain(..tail.len() - TAIL_BYTES);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn frames(input: &[u8], max: usize) -> Vec<Frame> {
        let mut reader = LineReader::new(input, max);
        let mut out = Vec::new();
        loop {
            match reader.next().await {
                Frame::Eof => return out,
                f => out.push(f),
            }
        }
    }

    fn line(f: &Frame) -> &[u8] {
        match f {
            Frame::Line(l) => l,
            other => panic!("expected a line, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn lines_are_split_at_newlines_and_the_last_needs_none() {
        let f = frames(b"a\nbc\n\nd", 10).await;
        let lines: Vec<&[u8]> = f.iter().map(line).collect();
        assert_eq!(lines, [&b"a"[..], b"bc", b"", b"d"]);
    }

    #[tokio::test]
    async fn a_line_over_the_limit_is_skipped_with_its_head_and_tail() {
        let long = format!("{{\"id\":7,\"x\":\"{}\"}}", "y".repeat(100_000));
        let input = format!("{long}\nnext\n");
        let f = frames(input.as_bytes(), 1000).await;
        assert_eq!(f.len(), 2, "{f:?}");
        match &f[0] {
            Frame::TooLong { len, head, tail } => {
                assert_eq!(*len, long.len());
                assert!(head.starts_with(b"{\"id\":7,"));
                assert!(head.len() <= HEAD_BYTES);
                assert_eq!(tail.len(), TAIL_BYTES);
                assert!(tail.ends_with(b"yy\"}"));
            }
            other => panic!("expected too long, got {other:?}"),
        }
        assert_eq!(line(&f[1]), b"next");
    }

    #[tokio::test]
    async fn a_line_at_the_limit_is_delivered() {
        let exact = "z".repeat(1000);
        let f = frames(format!("{exact}\n").as_bytes(), 1000).await;
        assert_eq!(line(&f[0]), exact.as_bytes());
    }

    #[tokio::test]
    async fn a_too_long_last_line_without_newline_is_reported() {
        let f = frames("q".repeat(5000).as_bytes(), 100).await;
        assert!(matches!(f[0], Frame::TooLong { len: 5000, .. }), "{f:?}");
    }
}
