//! The one meaning of `offset` for each kind of thing a tool pages through, so a model
//! that learned it on one tool is right on every other:
//!
//! - **lines** (of a file, a repository file, a build log): `offset` is the first line to
//!   return, **1-based** (default 1); results say `start_line` and `next_offset`, the line
//!   to read on from (absent at the end);
//! - **items** (deployments, jobs): `offset` is how many to **skip**, newest first
//!   (default 0); `next_offset` is the offset of the next page.
//!
//! Gitea's own lists page by `page` (1-based), as Gitea does.

/// The 0-based index of the first line a 1-based line `offset` asks for (0 and absent
/// both mean the first line).
pub fn first_line_index(offset: Option<u64>) -> u64 {
    offset.unwrap_or(1).max(1) - 1
}

/// The 1-based `next_offset` after returning `returned` lines from index `first` of
/// `total`: the next line, or `None` at the end.
pub fn next_line(first: u64, returned: u64, total: u64) -> Option<u64> {
    let end = first + returned;
    (end < total).then_some(end + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_offsets_are_one_based() {
        assert_eq!(first_line_index(None), 0);
        assert_eq!(first_line_index(Some(0)), 0);
        assert_eq!(first_line_index(Some(1)), 0);
        assert_eq!(first_line_index(Some(10)), 9);
        assert_eq!(next_line(0, 5, 12), Some(6));
        assert_eq!(next_line(5, 7, 12), None);
    }
}
