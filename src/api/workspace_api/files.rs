//! `read_file`, `write_file` and `replace_in_file`: text files under the root, read by
//! lines with bounded output, written atomically (temp file + rename in the same
//! directory, through the root handle).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use cap_std::fs::{Dir, OpenOptions, OpenOptionsExt, PermissionsExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::listing::blocking;
use super::{WorkspaceApi, fs_error};
use crate::api::caller::Caller;
use crate::api::de;
use crate::api::text::{is_binary, window};
use crate::error::ApiError;
use crate::policy::paths;

/// Files larger than this are not read or rewritten whole.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// Diffs longer than this are cut (the change itself is still made).
const MAX_DIFF_BYTES: usize = 64 * 1024;

/// Parameters of `read_file`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ReadFileParams {
    /// File path, relative to the workspace root (absolute paths inside the root work too).
    pub path: String,
    /// First line to return, 1-based (default 1).
    #[serde(default, deserialize_with = "de::opt_u64")]
    #[schemars(schema_with = "de::integer_schema")]
    pub offset: Option<u64>,
    /// Maximum number of lines to return (default 2000).
    #[serde(default, deserialize_with = "de::opt_u64")]
    #[schemars(schema_with = "de::integer_schema")]
    pub limit: Option<u64>,
}

/// A window of a text file.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ReadFileOut {
    /// The path, relative to the workspace root.
    pub path: String,
    /// The text of lines `start_line..=end_line`, exactly as in the file.
    pub content: String,
    /// First line returned (1-based).
    pub start_line: u64,
    /// Last line returned (0 when nothing was returned).
    pub end_line: u64,
    /// Lines in the whole file.
    pub total_lines: u64,
    /// True when lines after `end_line` were not returned.
    pub truncated: bool,
    /// Pass this as `offset` to read on; absent when the end was reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<u64>,
}

/// Parameters of `write_file`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct WriteFileParams {
    /// File path, relative to the workspace root; missing parent folders are created.
    pub path: String,
    /// The complete new content of the file.
    pub content: String,
}

/// What `write_file` did.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WriteFileOut {
    /// The path, relative to the workspace root.
    pub path: String,
    /// Bytes written.
    pub bytes_written: u64,
    /// True when the file did not exist before.
    pub created: bool,
}

/// Parameters of `replace_in_file`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ReplaceInFileParams {
    /// File path, relative to the workspace root.
    pub path: String,
    /// Exact text to find (whitespace and indentation included).
    pub old: String,
    /// Text to put in its place.
    pub new: String,
    /// How many times `old` must occur (default 1); nothing is written otherwise.
    #[serde(default, deserialize_with = "de::opt_u64")]
    #[schemars(schema_with = "de::integer_schema")]
    pub count: Option<u64>,
    /// Only show the diff; do not write (default false).
    #[serde(default, deserialize_with = "de::opt_bool")]
    #[schemars(schema_with = "de::boolean_schema")]
    pub dry_run: Option<bool>,
}

/// What `replace_in_file` did (or would do, in a dry run).
#[derive(Debug, Serialize, JsonSchema)]
pub struct ReplaceInFileOut {
    /// The path, relative to the workspace root.
    pub path: String,
    /// Occurrences replaced.
    pub replacements: u64,
    /// Unified diff of the change.
    pub diff: String,
    /// True when the diff was cut to keep the result small.
    pub diff_truncated: bool,
    /// True when the file was written (false in a dry run).
    pub written: bool,
}

impl WorkspaceApi {
    /// Read a window of lines of a text file (off the async workers: the disk and the
    /// keystore are blocking).
    pub async fn read_file(
        &self,
        _caller: &Caller,
        p: ReadFileParams,
    ) -> Result<ReadFileOut, ApiError> {
        let api = self.clone();
        blocking(move || api.read_file_now(p)).await
    }

    fn read_file_now(&self, p: ReadFileParams) -> Result<ReadFileOut, ApiError> {
        super::limits::check(&p)?;
        let relative = self.file_path(&p.path)?;
        let shown = paths::display(&relative);
        let bytes = read_bounded(self.root(), &relative, &shown)?;
        if is_binary(&bytes) {
            return Err(ApiError::bad_request(format!(
                "{shown} is a binary file ({} bytes); read_file returns text only",
                bytes.len()
            ))
            .with_hint("use execute_command (e.g. `file`, `xxd | head`) to inspect binary files"));
        }
        let text = String::from_utf8_lossy(&bytes);
        let w = window(&text, p.offset, p.limit);
        Ok(ReadFileOut {
            path: shown,
            content: w.content,
            start_line: w.start_line,
            end_line: w.end_line,
            total_lines: w.total_lines,
            truncated: w.truncated,
            next_offset: w.next_offset,
        })
    }

    /// Write a whole file atomically, creating parent folders.
    pub async fn write_file(
        &self,
        caller: &Caller,
        p: WriteFileParams,
    ) -> Result<WriteFileOut, ApiError> {
        let target = p.path.clone();
        let api = self.clone();
        let result = blocking(move || {
            super::limits::check(&p)?;
            api.write_file_now(p)
        })
        .await;
        caller.audited(&target, result).await
    }

    fn write_file_now(&self, p: WriteFileParams) -> Result<WriteFileOut, ApiError> {
        let relative = self.writable_file_path(&p.path)?;
        let shown = paths::display(&relative);
        if p.content.len() as u64 > MAX_FILE_BYTES {
            return Err(ApiError::bad_request(format!(
                "content is {} bytes; write_file accepts at most {MAX_FILE_BYTES}",
                p.content.len()
            )));
        }
        let created = write_atomic(self.root(), &relative, &shown, p.content.as_bytes())?;
        Ok(WriteFileOut {
            path: shown,
            bytes_written: p.content.len() as u64,
            created,
        })
    }

    /// Replace exactly `count` occurrences of `old`, returning a unified diff.
    pub async fn replace_in_file(
        &self,
        caller: &Caller,
        p: ReplaceInFileParams,
    ) -> Result<ReplaceInFileOut, ApiError> {
        let target = p.path.clone();
        let api = self.clone();
        let result = blocking(move || {
            super::limits::check(&p)?;
            api.replace_in_file_now(p)
        })
        .await;
        caller.audited(&target, result).await
    }

    fn replace_in_file_now(&self, p: ReplaceInFileParams) -> Result<ReplaceInFileOut, ApiError> {
        let relative = self.writable_file_path(&p.path)?;
        let shown = paths::display(&relative);
        if p.old.is_empty() {
            return Err(ApiError::bad_request("old must not be empty")
                .with_hint("to write a whole file, use write_file"));
        }
        let expected = p.count.unwrap_or(1);
        if expected == 0 {
            return Err(ApiError::bad_request("count must be at least 1"));
        }
        let bytes = read_bounded(self.root(), &relative, &shown)?;
        if is_binary(&bytes) {
            return Err(ApiError::bad_request(format!("{shown} is a binary file")));
        }
        let text = String::from_utf8(bytes).map_err(|_| {
            ApiError::bad_request(format!(
                "{shown} is not valid UTF-8; it cannot be edited safely"
            ))
            .with_hint("use write_file to replace it whole")
        })?;
        let found = text.matches(p.old.as_str()).count() as u64;
        if found != expected {
            let hint = if found == 0 {
                "read the file again: old must match exactly, whitespace and indentation included"
                    .to_string()
            } else {
                format!(
                    "include more surrounding lines to make old unique, or pass count={found} \
                     to replace every occurrence"
                )
            };
            return Err(ApiError::bad_request(format!(
                "old occurs {found} time(s) in {shown}, expected {expected}; nothing was written"
            ))
            .with_hint(hint));
        }
        let updated = text.replace(p.old.as_str(), &p.new);
        let (diff, diff_truncated) = unified_diff(&shown, &text, &updated);
        let dry_run = p.dry_run.unwrap_or(false);
        if !dry_run {
            write_atomic(self.root(), &relative, &shown, updated.as_bytes())?;
        }
        Ok(ReplaceInFileOut {
            path: shown,
            replacements: found,
            diff,
            diff_truncated,
            written: !dry_run,
        })
    }

    /// A confined path the file tools may write: a file, and nowhere in git's metadata —
    /// neither as spelled nor where its folder really leads (a symlink to `.git`).
    fn writable_file_path(&self, user_path: &str) -> Result<PathBuf, ApiError> {
        let relative = self.file_path(user_path)?;
        paths::check_not_git_metadata(&relative)?;
        let mut resolved = relative.clone();
        // The nearest existing ancestor, resolved beneath the root: what the write
        // will really go through.
        while let Some(parent) = resolved.parent() {
            resolved = parent.to_path_buf();
            if resolved.as_os_str().is_empty() {
                break;
            }
            if let Ok(real) = self.root().canonicalize(&resolved) {
                paths::check_not_git_metadata(&real)?;
                break;
            }
        }
        if let Ok(real) = self.root().canonicalize(&relative) {
            paths::check_not_git_metadata(&real)?;
        }
        Ok(relative)
    }

    /// A confined path that names a file (not the root itself).
    fn file_path(&self, user_path: &str) -> Result<PathBuf, ApiError> {
        let relative = self.confine(user_path)?;
        if relative.as_os_str().is_empty() {
            return Err(ApiError::bad_request(format!(
                "{user_path:?} is the workspace root, not a file"
            ))
            .with_hint("pass a file path relative to the workspace root"));
        }
        Ok(relative)
    }
}

/// Read a regular file under `root`, refusing directories, FIFOs, sockets, devices and
/// files over the cap. The open does not block (a FIFO with no writer would otherwise
/// hold the call, and its worker, forever).
fn read_bounded(root: &Dir, relative: &Path, shown: &str) -> Result<Vec<u8>, ApiError> {
    let mut options = OpenOptions::new();
    options.read(true).custom_flags(nix::libc::O_NONBLOCK);
    let mut file = root
        .open_with(relative, &options)
        .map_err(|e| fs_error(e, shown))?;
    let meta = file.metadata().map_err(|e| fs_error(e, shown))?;
    if meta.is_dir() {
        return Err(ApiError::bad_request(format!("{shown} is a directory"))
            .with_hint("call list_directory to see its entries"));
    }
    if !meta.is_file() {
        return Err(ApiError::bad_request(format!(
            "{shown} is not a regular file (a FIFO, socket or device); only regular files \
             are read"
        )));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(ApiError::bad_request(format!(
            "{shown} is {} bytes; files over {MAX_FILE_BYTES} bytes are not read whole",
            meta.len()
        ))
        .with_hint("use search_code to find the lines you need, or execute_command with sed -n"));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    Read::by_ref(&mut file)
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fs_error(e, shown))?;
    Ok(bytes)
}

fn unified_diff(shown: &str, before: &str, after: &str) -> (String, bool) {
    let diff = similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{shown}"), &format!("b/{shown}"))
        .to_string();
    if diff.len() <= MAX_DIFF_BYTES {
        return (diff, false);
    }
    let mut end = MAX_DIFF_BYTES;
    while !diff.is_char_boundary(end) {
        end -= 1;
    }
    (
        format!("{}\n[diff cut at {MAX_DIFF_BYTES} bytes]\n", &diff[..end]),
        true,
    )
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Replace (or create) `relative` with `content`: a temp file in the same directory,
/// flushed, then renamed over the target. Returns true when the file was created.
///
/// All steps go through a handle on the parent directory obtained beneath `root`, so a
/// symlink planted after the checks cannot redirect the write outside the root; an
/// existing symlink inside the root is written through to its (confined) target.
fn write_atomic(
    root: &Dir,
    relative: &Path,
    shown: &str,
    content: &[u8],
) -> Result<bool, ApiError> {
    let target = match root.symlink_metadata(relative) {
        Ok(meta) if meta.file_type().is_symlink() => root
            .canonicalize(relative)
            .map_err(|e| fs_error(e, shown))?,
        Ok(meta) if meta.is_dir() => {
            return Err(ApiError::bad_request(format!("{shown} is a directory")));
        }
        _ => relative.to_path_buf(),
    };
    let name = target
        .file_name()
        .ok_or_else(|| ApiError::bad_request(format!("{shown} does not name a file")))?;
    let parent_dir = match target.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => open_or_create_dir(root, parent, shown)?,
        None => root.try_clone().map_err(|e| fs_error(e, shown))?,
    };
    let existing = parent_dir.metadata(name).ok().filter(|m| m.is_file());
    let mode = existing
        .as_ref()
        .map_or(0o644, |m| m.permissions().mode() & 0o7777);

    let (temp_name, mut temp) = create_temp(&parent_dir, name, mode, shown)?;
    let written = temp
        .write_all(content)
        .and_then(|()| temp.sync_data())
        .and_then(|()| {
            // The creation mode is filtered by the umask; restore the old mode exactly.
            let mut perms = temp.metadata()?.permissions();
            perms.set_mode(mode);
            temp.set_permissions(perms)
        })
        .and_then(|()| parent_dir.rename(&temp_name, &parent_dir, name));
    if let Err(e) = written {
        let _ = parent_dir.remove_file(&temp_name);
        return Err(fs_error(e, shown));
    }
    Ok(existing.is_none())
}

/// Open folder `relative` beneath `root`, creating it (and its parents) when missing.
fn open_or_create_dir(root: &Dir, relative: &Path, shown: &str) -> Result<Dir, ApiError> {
    match root.open_dir(relative) {
        Ok(dir) => return Ok(dir),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(fs_error(e, shown)),
        Err(_) => {}
    }
    if let Err(e) = root.create_dir_all(relative) {
        // "Already exists" means a component is in the way (a file, or a symlink that
        // leads out): opening it again names the precise reason.
        return Err(match root.open_dir(relative) {
            Err(precise) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                fs_error(precise, shown)
            }
            _ => fs_error(e, shown),
        });
    }
    root.open_dir(relative).map_err(|e| fs_error(e, shown))
}

fn create_temp(
    dir: &Dir,
    name: &std::ffi::OsStr,
    mode: u32,
    shown: &str,
) -> Result<(PathBuf, cap_std::fs::File), ApiError> {
    for _ in 0..16 {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp_name = PathBuf::from(format!(
            ".{}.vibn-tmp-{}-{n}",
            name.to_string_lossy(),
            std::process::id()
        ));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true).mode(mode);
        match dir.open_with(&temp_name, &options) {
            Ok(file) => return Ok((temp_name, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(fs_error(e, shown)),
        }
    }
    Err(ApiError::internal(format!(
        "{shown}: could not create a temporary file"
    )))
}
