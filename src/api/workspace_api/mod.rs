//! The workspace server's logic: files, listing, search, commands and git, all confined
//! to one root folder.
//!
//! Confinement has two fences. `policy::paths::confine` refuses hostile spellings
//! (`..` above the root, absolute paths elsewhere, NUL). Then every file operation goes
//! through a `cap_std::fs::Dir` opened on the root, which resolves paths beneath that
//! directory handle: a symlink that leads out — even one swapped in after the check —
//! fails with an escape error instead of being followed.

mod exec;
mod files;
mod git;
mod limits;
mod listing;
mod search;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cap_std::fs::Dir;

use crate::config::WorkspaceConfig;
use crate::error::ApiError;
use crate::policy::paths;

pub use exec::{ExecuteCommandOut, ExecuteCommandParams, MAX_TIMEOUT_S};
pub use files::{
    MAX_FILE_BYTES, ReadFileOut, ReadFileParams, ReplaceInFileOut, ReplaceInFileParams,
    WriteFileOut, WriteFileParams,
};
pub use git::{
    GitCloneOut, GitCloneParams, GitCommitAndPushOut, GitCommitAndPushParams, GitPullOut,
    GitPullParams, PullOutcome,
};
pub use listing::{
    DirectoryEntry, EntryKind, FindFilesOut, FindFilesParams, ListDirectoryOut, ListDirectoryParams,
};
pub use search::{FileMatches, MAX_MATCHES, MatchLine, SearchCodeOut, SearchCodeParams};

/// The workspace API: cheap to clone, shared by every request of one server.
#[derive(Clone)]
pub struct WorkspaceApi {
    inner: Arc<Inner>,
}

struct Inner {
    config: WorkspaceConfig,
    root: Dir,
    /// Held shared by every running command, exclusively by vibn's git: no agent
    /// process runs while git reads and uses the repository's config.
    exec_lock: tokio::sync::RwLock<()>,
}

impl WorkspaceApi {
    /// Open the workspace root (one directory handle; nothing else is touched).
    pub fn open(config: WorkspaceConfig) -> Result<Self, ApiError> {
        let root = Dir::open_ambient_dir(&config.canonical_root, cap_std::ambient_authority())
            .map_err(|e| {
                ApiError::internal(format!(
                    "cannot open workspace root {}: {e}",
                    config.canonical_root.display()
                ))
            })?;
        if config.exec.is_off() {
            tracing::warn!(
                "--exec-sandbox off: execute_command and git run UNCONFINED, with this \
                 server's privileges"
            );
        }
        Ok(WorkspaceApi {
            inner: Arc::new(Inner {
                config,
                root,
                exec_lock: tokio::sync::RwLock::new(()),
            }),
        })
    }

    /// The configuration this API was opened with.
    pub fn config(&self) -> &WorkspaceConfig {
        &self.inner.config
    }

    fn root(&self) -> &Dir {
        &self.inner.root
    }

    /// A model's path as a normalized path relative to the root (first fence).
    fn confine(&self, user_path: &str) -> Result<PathBuf, ApiError> {
        let config = &self.inner.config;
        Ok(paths::confine(
            &[&config.root, &config.canonical_root],
            user_path,
        )?)
    }

    /// The real path of a directory under the root, symlinks resolved beneath the root
    /// handle (for APIs that need an OS path: walkers, `current_dir`).
    fn real_dir(&self, relative: &Path) -> Result<PathBuf, ApiError> {
        let shown = paths::display(relative);
        let resolved = if relative.as_os_str().is_empty() {
            PathBuf::new()
        } else {
            self.root()
                .canonicalize(relative)
                .map_err(|e| fs_error(e, &shown))?
        };
        let meta = self.root().metadata(if resolved.as_os_str().is_empty() {
            Path::new(".")
        } else {
            &resolved
        });
        match meta {
            Ok(m) if m.is_dir() => Ok(self.inner.config.canonical_root.join(resolved)),
            Ok(_) => Err(ApiError::bad_request(format!("{shown} is not a directory"))),
            Err(e) => Err(fs_error(e, &shown)),
        }
    }
}

/// Map a filesystem error on `path` to what the model should do about it.
fn fs_error(e: io::Error, path: &str) -> ApiError {
    use io::ErrorKind as K;
    let path = crate::error::cut(path, crate::error::QUOTE_CHARS);
    match e.kind() {
        K::NotFound => ApiError::not_found(format!("{path}: no such file or directory"))
            .with_hint("call list_directory or find_files to see what exists"),
        K::PermissionDenied if is_escape(&e) => ApiError::forbidden(format!(
            "{path} leads outside the workspace root (through a symlink)"
        ))
        .with_hint("use paths inside the workspace root; symlinks out of it are not followed"),
        K::PermissionDenied => ApiError::forbidden(format!("{path}: permission denied")),
        K::IsADirectory => ApiError::bad_request(format!("{path} is a directory"))
            .with_hint("call list_directory to see its entries"),
        K::NotADirectory => ApiError::bad_request(format!(
            "{path}: a component of the path is not a directory"
        )),
        _ if e.raw_os_error() == Some(nix::libc::ENAMETOOLONG) => ApiError::bad_request(format!(
            "{path}: a file name is longer than the system allows ({} bytes)",
            paths::MAX_NAME_BYTES
        )),
        _ if e.raw_os_error() == Some(nix::libc::ENXIO) => ApiError::bad_request(format!(
            "{path} is not a regular file (a socket or device); only regular files are read"
        )),
        _ if e.raw_os_error() == Some(nix::libc::ELOOP) => {
            ApiError::forbidden(format!("{path}: too many levels of symbolic links"))
        }
        _ => ApiError::internal(format!("{path}: {e}")),
    }
}

/// cap-std reports an attempt to leave the root as PermissionDenied with this text.
fn is_escape(e: &io::Error) -> bool {
    e.to_string().contains("outside of the filesystem")
}
