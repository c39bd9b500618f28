//! Text windows shared by every tool that returns file content (workspace `read_file`,
//! Gitea `read_repo_file`): lines `offset..offset+limit`, cut at a byte cap, with where
//! to read on.

/// At most this much text is returned by one read.
pub const MAX_READ_BYTES: usize = 256 * 1024;
/// Lines returned when no limit is given.
pub const DEFAULT_READ_LINES: u64 = 2000;
/// A NUL byte within this many leading bytes marks content as binary.
const BINARY_SNIFF_BYTES: usize = 8192;

/// A window of lines of a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// The text of lines `start_line..=end_line`, exactly as in the source.
    pub content: String,
    /// First line returned (1-based).
    pub start_line: u64,
    /// Last line returned (0 when nothing was returned).
    pub end_line: u64,
    /// Lines in the whole text.
    pub total_lines: u64,
    /// True when lines after `end_line` were not returned.
    pub truncated: bool,
    /// The `offset` to read on from; `None` at the end.
    pub next_offset: Option<u64>,
}

/// True when `bytes` look binary (a NUL byte near the start).
pub fn is_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(BINARY_SNIFF_BYTES)].contains(&0)
}

/// Lines from the 1-based `offset` on (default 1, see [`super::paging`]), at most `limit`
/// (default `DEFAULT_READ_LINES`), cut at `MAX_READ_BYTES`.
pub fn window(text: &str, offset: Option<u64>, limit: Option<u64>) -> Window {
    let offset = super::paging::first_line_index(offset) + 1;
    let limit = limit.unwrap_or(DEFAULT_READ_LINES);
    let total_lines = text.split_inclusive('\n').count() as u64;
    let mut content = String::new();
    let mut end_line = offset - 1;
    let mut cut = false;
    for line in text
        .split_inclusive('\n')
        .skip((offset - 1) as usize)
        .take(limit.max(1) as usize)
    {
        if content.len() + line.len() > MAX_READ_BYTES {
            if content.is_empty() {
                // One huge line: return its head so the call is never empty.
                let mut end = MAX_READ_BYTES;
                while !line.is_char_boundary(end) {
                    end -= 1;
                }
                content.push_str(&line[..end]);
                end_line += 1;
            }
            cut = true;
            break;
        }
        content.push_str(line);
        end_line += 1;
    }
    Window {
        content,
        start_line: offset,
        end_line: if end_line >= offset { end_line } else { 0 },
        total_lines,
        truncated: cut || end_line < total_lines,
        next_offset: super::paging::next_line(offset - 1, end_line + 1 - offset, total_lines),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_pages_by_lines_and_points_to_the_rest() {
        let text = "a\nb\nc\nd\n";
        let w = window(text, Some(2), Some(2));
        assert_eq!(w.content, "b\nc\n");
        assert_eq!((w.start_line, w.end_line, w.total_lines), (2, 3, 4));
        assert!(w.truncated);
        assert_eq!(w.next_offset, Some(4));
        let w = window(text, Some(4), Some(10));
        assert_eq!(w.content, "d\n");
        assert!(!w.truncated);
        assert_eq!(w.next_offset, None);
    }

    #[test]
    fn window_past_the_end_is_empty_not_an_error() {
        let w = window("a\n", Some(5), Some(10));
        assert_eq!(w.content, "");
        assert_eq!(w.end_line, 0);
        assert_eq!(w.next_offset, None);
    }

    #[test]
    fn window_cuts_a_huge_line_at_the_byte_cap() {
        let text = "x".repeat(MAX_READ_BYTES + 10) + "\nnext\n";
        let w = window(&text, Some(1), Some(10));
        assert_eq!(w.content.len(), MAX_READ_BYTES);
        assert!(w.truncated);
        assert_eq!(w.next_offset, Some(2));
    }

    #[test]
    fn a_last_line_without_newline_counts() {
        let w = window("a\nb", Some(1), Some(10));
        assert_eq!((w.total_lines, w.end_line), (2, 2));
        assert_eq!(w.content, "a\nb");
    }

    #[test]
    fn binary_means_a_nul_near_the_start() {
        assert!(is_binary(b"ab\0cd"));
        assert!(!is_binary(b"plain text"));
    }
}
