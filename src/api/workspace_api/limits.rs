//! Maximum lengths of the workspace tools' string parameters (see `api::limits`), one
//! table for every params type of this server; each entry point checks its params with
//! one line (`super::limits::check(&p)?`) before touching the disk or running anything.

use super::{
    ExecuteCommandParams, FindFilesParams, GitCloneParams, GitCommitAndPushParams, GitPullParams,
    ListDirectoryParams, MAX_FILE_BYTES, ReadFileParams, ReplaceInFileParams, SearchCodeParams,
    WriteFileParams,
};
use crate::api::limits::{GLOB, Limit, NAME, PATH, limits};

/// File contents and the text `replace_in_file` looks for or puts: a file's size limit.
const FILE_TEXT: Limit = Limit::bytes(MAX_FILE_BYTES as usize);
/// A command line (one argument of `sh -c`; Linux caps one argument at 128 KiB) or a
/// commit message (far beyond any real one).
const ARGUMENT: Limit = Limit::bytes(64 * 1024).without_nul();
/// Search patterns (a literal or a regular expression).
const PATTERN: Limit = Limit::chars(4096);
/// What `git_clone` takes as the repository: `owner/name` or its URL on Gitea.
const REPO_SOURCE: Limit = Limit::chars(1024);
/// Paths one commit may stage.
const COMMIT_PATHS: usize = 1000;

/// Check params against the table below (the first line of each entry point).
pub(super) use crate::api::limits::check;

limits! {
    ReadFileParams { path: PATH }
    WriteFileParams { path: PATH, content: FILE_TEXT }
    ReplaceInFileParams { path: PATH, old: FILE_TEXT, new: FILE_TEXT }
    ListDirectoryParams { path: PATH }
    FindFilesParams { glob: GLOB, path: PATH }
    SearchCodeParams { pattern: PATTERN, glob: GLOB, path: PATH }
    ExecuteCommandParams { command: ARGUMENT, cwd: PATH }
    GitCommitAndPushParams { message: ARGUMENT, paths: PATH.items(COMMIT_PATHS), branch: NAME }
    GitCloneParams { repo: REPO_SOURCE, branch: NAME, dir: PATH }
    GitPullParams {}
}
