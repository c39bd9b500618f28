//! `list_directory` and `find_files`: walks under the root with ripgrep's `ignore`
//! crate. `.gitignore` (and `.ignore`) rules apply, `.git` is never listed, and
//! symlinks are reported but never followed.

use std::path::Path;
use std::sync::Mutex;

use ignore::overrides::OverrideBuilder;
use ignore::{WalkBuilder, WalkState};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{WorkspaceApi, fs_error};
use crate::api::caller::Caller;
use crate::api::de;
use crate::error::ApiError;
use crate::policy::paths;

/// Depth of `list_directory` when none is given.
pub const DEFAULT_LIST_DEPTH: u64 = 1;
/// Deepest `list_directory` goes.
pub const MAX_LIST_DEPTH: u64 = 10;
/// Entries returned by one `list_directory` call at most.
pub const MAX_LIST_ENTRIES: usize = 2000;
/// Paths returned by one `find_files` call at most.
pub const MAX_FOUND_FILES: usize = 1000;

/// Parameters of `list_directory`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListDirectoryParams {
    /// Folder to list, relative to the workspace root (default: the root).
    #[serde(default)]
    pub path: Option<String>,
    /// How many levels to descend (default 1 = direct entries only, max 10).
    #[serde(default, deserialize_with = "de::opt_u64")]
    #[schemars(schema_with = "de::integer_schema")]
    pub depth: Option<u64>,
    /// Also list entries that .gitignore excludes (default false).
    #[serde(default, deserialize_with = "de::opt_bool")]
    #[schemars(schema_with = "de::boolean_schema")]
    pub include_ignored: Option<bool>,
}

/// What a directory entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A folder.
    Dir,
    /// A symbolic link (never followed).
    Symlink,
    /// A socket, fifo or device.
    Other,
}

/// One entry of a listing.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DirectoryEntry {
    /// Path relative to the workspace root.
    pub path: String,
    /// File, dir, symlink or other.
    pub kind: EntryKind,
    /// Size in bytes (files only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// A directory listing.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ListDirectoryOut {
    /// The folder listed, relative to the workspace root.
    pub path: String,
    /// Entries sorted by path.
    pub entries: Vec<DirectoryEntry>,
    /// True when more entries exist than were returned.
    pub truncated: bool,
    /// How to see the rest, when truncated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// Parameters of `find_files`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct FindFilesParams {
    /// Glob, gitignore-style: `*.rs` matches at any depth, `src/**/*.ts` from the folder.
    pub glob: String,
    /// Folder to search in, relative to the workspace root (default: the root).
    #[serde(default)]
    pub path: Option<String>,
}

/// Files whose path matches a glob.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FindFilesOut {
    /// Matching file paths relative to the workspace root, sorted.
    pub files: Vec<String>,
    /// True when more files matched than were returned.
    pub truncated: bool,
    /// How to see the rest, when truncated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl WorkspaceApi {
    /// List a folder, `depth` levels deep.
    pub async fn list_directory(
        &self,
        _caller: &Caller,
        p: ListDirectoryParams,
    ) -> Result<ListDirectoryOut, ApiError> {
        super::limits::check(&p)?;
        let relative = self.confine(p.path.as_deref().unwrap_or(""))?;
        let start = self.real_dir(&relative)?;
        let depth = p
            .depth
            .unwrap_or(DEFAULT_LIST_DEPTH)
            .clamp(1, MAX_LIST_DEPTH) as usize;
        let include_ignored = p.include_ignored.unwrap_or(false);
        let root = self.config().canonical_root.clone();
        let shown = paths::display(&relative);
        let handle = self.root().try_clone().map_err(|e| fs_error(e, &shown))?;
        blocking(move || {
            let mut walker = WalkBuilder::new(&start);
            walker
                .max_depth(Some(depth))
                .hidden(false)
                .follow_links(false)
                .require_git(false)
                .git_ignore(!include_ignored)
                .git_exclude(!include_ignored)
                .ignore(!include_ignored)
                .parents(!include_ignored)
                .filter_entry(|e| e.file_name() != ".git")
                .sort_by_file_path(Path::cmp);
            let mut entries = Vec::new();
            let mut truncated = false;
            for entry in walker.build().flatten() {
                if entry.depth() == 0 {
                    continue;
                }
                if entries.len() == MAX_LIST_ENTRIES {
                    truncated = true;
                    break;
                }
                // The walker works by path; what it saw is believed only if the same
                // name is there beneath the root handle now (a folder swapped for a
                // symlink mid-walk would otherwise list names outside the root).
                let path = relative_to(&root, entry.path());
                let Ok(meta) = handle.symlink_metadata(&path) else {
                    continue;
                };
                let file_type = meta.file_type();
                let kind = if file_type.is_symlink() {
                    EntryKind::Symlink
                } else if file_type.is_dir() {
                    EntryKind::Dir
                } else if file_type.is_file() {
                    EntryKind::File
                } else {
                    EntryKind::Other
                };
                let size = (kind == EntryKind::File).then(|| meta.len());
                entries.push(DirectoryEntry { path, kind, size });
            }
            let hint = truncated.then(|| {
                format!(
                    "only the first {MAX_LIST_ENTRIES} entries are shown; list a subfolder or \
                     lower depth"
                )
            });
            Ok(ListDirectoryOut {
                path: shown,
                entries,
                truncated,
                hint,
            })
        })
        .await
    }

    /// Find files whose path matches a gitignore-style glob.
    pub async fn find_files(
        &self,
        _caller: &Caller,
        p: FindFilesParams,
    ) -> Result<FindFilesOut, ApiError> {
        super::limits::check(&p)?;
        let relative = self.confine(p.path.as_deref().unwrap_or(""))?;
        let start = self.real_dir(&relative)?;
        let glob = p.glob.trim().to_string();
        if glob.is_empty() {
            return Err(ApiError::bad_request("glob must not be empty").with_hint("e.g. *.rs"));
        }
        let overrides = OverrideBuilder::new(&start)
            .add(&glob)
            .and_then(|b| b.build())
            .map_err(|e| {
                ApiError::bad_request(format!("invalid glob {}: {e}", crate::error::quote(&glob)))
            })?;
        let root = self.config().canonical_root.clone();
        let handle = self.root().try_clone().map_err(|e| fs_error(e, &glob))?;
        blocking(move || {
            let found = Mutex::new(Vec::new());
            let walker = workspace_walker(&start)
                .overrides(overrides)
                .build_parallel();
            walker.run(|| {
                let found = &found;
                let root = &root;
                Box::new(move |entry| {
                    let Ok(entry) = entry else {
                        return WalkState::Continue;
                    };
                    if entry.file_type().is_some_and(|t| t.is_file()) {
                        let mut found = found.lock().unwrap_or_else(|p| p.into_inner());
                        if found.len() > MAX_FOUND_FILES {
                            return WalkState::Quit;
                        }
                        found.push(relative_to(root, entry.path()));
                    }
                    WalkState::Continue
                })
            });
            let mut files = found.into_inner().unwrap_or_else(|p| p.into_inner());
            // Believed only if the file is there beneath the root handle now (see
            // list_directory).
            files.retain(|path| handle.symlink_metadata(path).is_ok_and(|m| m.is_file()));
            files.sort();
            let truncated = files.len() > MAX_FOUND_FILES;
            files.truncate(MAX_FOUND_FILES);
            let hint = truncated.then(|| {
                format!("more than {MAX_FOUND_FILES} files match; narrow the glob or the path")
            });
            Ok(FindFilesOut {
                files,
                truncated,
                hint,
            })
        })
        .await
    }
}

/// The walker every search uses: .gitignore honoured (also outside a git repo), hidden
/// files included, `.git` skipped, symlinks not followed.
pub(super) fn workspace_walker(start: &Path) -> WalkBuilder {
    let mut walker = WalkBuilder::new(start);
    walker
        .hidden(false)
        .follow_links(false)
        .require_git(false)
        .filter_entry(|e| e.file_name() != ".git");
    walker
}

/// `path` (under `root`) as the model sees it: relative, `/`-separated.
pub(super) fn relative_to(root: &Path, path: &Path) -> String {
    paths::display(path.strip_prefix(root).unwrap_or(path))
}

/// Run blocking filesystem work off the async executor.
pub(super) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::internal(format!("worker failed: {e}")))?
}
