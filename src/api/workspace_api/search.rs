//! `search_code`: content search on ripgrep's crates (`ignore` parallel walker,
//! `grep-searcher`, `grep-regex`). Files are opened through the root handle, so a path
//! swapped for a symlink during the walk cannot leak content from outside the root.

use std::io;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use grep_regex::RegexMatcherBuilder;
use grep_searcher::{BinaryDetection, Searcher, SearcherBuilder, Sink, SinkContext, SinkMatch};
use ignore::WalkState;
use ignore::overrides::OverrideBuilder;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::WorkspaceApi;
use super::listing::{blocking, relative_to, workspace_walker};
use crate::api::caller::Caller;
use crate::api::de;
use crate::error::{ApiError, quote};

/// Matching lines returned by one call at most.
pub const MAX_MATCHES: usize = 200;
/// Bytes of line text returned by one call at most.
pub const MAX_RESULT_BYTES: usize = 256 * 1024;
/// Characters kept of one line.
pub const MAX_LINE_CHARS: usize = 300;
/// Context lines on each side at most.
pub const MAX_CONTEXT: u64 = 5;

/// Parameters of `search_code`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SearchCodeParams {
    /// Text to look for (a regular expression when `regex` is true).
    pub pattern: String,
    /// Treat `pattern` as a regular expression, Rust syntax (default false: literal text).
    #[serde(default, deserialize_with = "de::opt_bool")]
    #[schemars(schema_with = "de::boolean_schema")]
    pub regex: Option<bool>,
    /// Only search files matching this gitignore-style glob (e.g. `*.rs`).
    #[serde(default)]
    pub glob: Option<String>,
    /// Match case exactly (default true).
    #[serde(default, deserialize_with = "de::opt_bool")]
    #[schemars(schema_with = "de::boolean_schema")]
    pub case_sensitive: Option<bool>,
    /// Lines of context before and after each match (default 0, max 5).
    #[serde(default, deserialize_with = "de::opt_u64")]
    #[schemars(schema_with = "de::integer_schema")]
    pub context: Option<u64>,
    /// Folder to search, relative to the workspace root (default: the root).
    #[serde(default)]
    pub path: Option<String>,
}

/// One line of a result: a match or context around one.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MatchLine {
    /// 1-based line number.
    pub line: u64,
    /// The line's text (cut at 300 characters).
    pub text: String,
    /// True for a matching line, false for context.
    pub is_match: bool,
}

/// The matches in one file.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FileMatches {
    /// Path relative to the workspace root.
    pub path: String,
    /// Matching and context lines in file order.
    pub lines: Vec<MatchLine>,
}

/// Result of `search_code`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SearchCodeOut {
    /// Files with matches, sorted by path.
    pub files: Vec<FileMatches>,
    /// Matching lines returned.
    pub match_count: u64,
    /// True when the search stopped at the result cap; more matches exist.
    pub truncated: bool,
    /// How to see the rest, when truncated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// Shared budget of one search across the walker's threads.
struct Budget {
    matches: AtomicUsize,
    bytes: AtomicUsize,
    exhausted: AtomicBool,
}

impl Budget {
    /// Take room for one line; false (and exhausted) once the caps are reached.
    fn take(&self, is_match: bool, len: usize) -> bool {
        if self.exhausted.load(Ordering::Relaxed) {
            return false;
        }
        let bytes = self.bytes.fetch_add(len, Ordering::Relaxed) + len;
        let matches = if is_match {
            self.matches.fetch_add(1, Ordering::Relaxed) + 1
        } else {
            0
        };
        if bytes > MAX_RESULT_BYTES || matches > MAX_MATCHES {
            self.exhausted.store(true, Ordering::Relaxed);
            return false;
        }
        true
    }
}

struct Collector<'a> {
    budget: &'a Budget,
    lines: Vec<MatchLine>,
}

impl Collector<'_> {
    fn push(&mut self, number: Option<u64>, bytes: &[u8], is_match: bool) -> bool {
        let raw = String::from_utf8_lossy(bytes);
        let trimmed = raw.trim_end_matches(['\n', '\r']);
        let text: String = match trimmed.char_indices().nth(MAX_LINE_CHARS) {
            Some((cut, _)) => format!("{}…", &trimmed[..cut]),
            None => trimmed.to_string(),
        };
        if !self.budget.take(is_match, text.len()) {
            return false;
        }
        self.lines.push(MatchLine {
            line: number.unwrap_or(0),
            text,
            is_match,
        });
        true
    }
}

impl Sink for Collector<'_> {
    type Error = io::Error;

    fn matched(&mut self, _: &Searcher, m: &SinkMatch<'_>) -> Result<bool, io::Error> {
        let first = m.line_number();
        for (i, line) in m.lines().enumerate() {
            if !self.push(first.map(|n| n + i as u64), line, true) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn context(&mut self, _: &Searcher, c: &SinkContext<'_>) -> Result<bool, io::Error> {
        Ok(self.push(c.line_number(), c.bytes(), false))
    }
}

impl WorkspaceApi {
    /// Search file contents under a folder, honouring .gitignore.
    pub async fn search_code(
        &self,
        _caller: &Caller,
        p: SearchCodeParams,
    ) -> Result<SearchCodeOut, ApiError> {
        super::limits::check(&p)?;
        if p.pattern.is_empty() {
            return Err(ApiError::bad_request("pattern must not be empty"));
        }
        let relative = self.confine(p.path.as_deref().unwrap_or(""))?;
        let start = self.real_dir(&relative)?;
        let matcher = RegexMatcherBuilder::new()
            .case_insensitive(!p.case_sensitive.unwrap_or(true))
            .fixed_strings(!p.regex.unwrap_or(false))
            .line_terminator(Some(b'\n'))
            .build(&p.pattern)
            .map_err(|e| {
                ApiError::bad_request(format!(
                    "invalid regular expression: {}",
                    crate::error::cut(&e.to_string(), 500)
                ))
                .with_hint("pass regex=false to search for the literal text")
            })?;
        let context = p.context.unwrap_or(0).min(MAX_CONTEXT) as usize;
        let mut walker = workspace_walker(&start);
        if let Some(glob) = p.glob.as_deref().map(str::trim).filter(|g| !g.is_empty()) {
            let overrides = OverrideBuilder::new(&start)
                .add(glob)
                .and_then(|b| b.build())
                .map_err(|e| ApiError::bad_request(format!("invalid glob {}: {e}", quote(glob))))?;
            walker.overrides(overrides);
        }
        let api = self.clone();
        blocking(move || {
            let root = api.config().canonical_root.clone();
            let budget = Budget {
                matches: AtomicUsize::new(0),
                bytes: AtomicUsize::new(0),
                exhausted: AtomicBool::new(false),
            };
            let results = Mutex::new(Vec::new());
            walker.build_parallel().run(|| {
                let mut searcher = SearcherBuilder::new()
                    .line_number(true)
                    .before_context(context)
                    .after_context(context)
                    .binary_detection(BinaryDetection::quit(b'\x00'))
                    .build();
                let (matcher, budget, results, root, dir) =
                    (matcher.clone(), &budget, &results, &root, api.root());
                Box::new(move |entry| {
                    if budget.exhausted.load(Ordering::Relaxed) {
                        return WalkState::Quit;
                    }
                    let Ok(entry) = entry else {
                        return WalkState::Continue;
                    };
                    if !entry.file_type().is_some_and(|t| t.is_file()) {
                        return WalkState::Continue;
                    }
                    let path = relative_to(root, entry.path());
                    let Ok(file) = dir.open(&path) else {
                        return WalkState::Continue;
                    };
                    let mut sink = Collector {
                        budget,
                        lines: Vec::new(),
                    };
                    let _ = searcher.search_file(&matcher, &file.into_std(), &mut sink);
                    if !sink.lines.is_empty() && sink.lines.iter().any(|l| l.is_match) {
                        let mut results = results.lock().unwrap_or_else(|p| p.into_inner());
                        results.push(FileMatches {
                            path,
                            lines: sink.lines,
                        });
                    }
                    WalkState::Continue
                })
            });
            let mut files = results.into_inner().unwrap_or_else(|p| p.into_inner());
            files.sort_by(|a, b| a.path.cmp(&b.path));
            let match_count = files
                .iter()
                .flat_map(|f| &f.lines)
                .filter(|l| l.is_match)
                .count() as u64;
            let truncated = budget.exhausted.load(Ordering::Relaxed);
            let hint = truncated.then(|| {
                "results stopped at the cap; narrow with path or glob, or a more specific pattern"
                    .to_string()
            });
            Ok(SearchCodeOut {
                files,
                match_count,
                truncated,
                hint,
            })
        })
        .await
    }
}
