//! Talking to Gitea: the credential helper that hands git the token, and fetches
//! (`git_clone`, `git_pull`) bounded in time, in bytes downloaded and in the size of the
//! tree they are about to check out, and ended by the call's cancellation.
//!
//! The token travels only in two environment variables of the one git process that
//! talks to Gitea, read by a helper git consults for the Gitea host's URL alone
//! (`credential.<scheme>://<host>.helper`, every other helper cleared); it is never
//! written to a config file, an argument or a URL. Fetched objects are checked as they
//! arrive (`transfer.fsckObjects`: malformed trees, `.gitmodules` with option-like URLs
//! or paths that climb out) and always kept as packs, so the download grows in one
//! folder that is measured while git runs.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use tokio::io::{AsyncBufReadExt, BufReader};

use super::{GIT_TIMEOUT, GitRun, Repo, WorkspaceApi, cut, read_all};
use crate::api::caller::{Caller, GiteaLogin};
use crate::error::ApiError;
use crate::policy::git_remote;

/// Answers git's credential `get` from two variables set only on the process that
/// talks to Gitea.
const CREDENTIAL_HELPER: &str = "!f() { test \"$1\" = get || exit 0; \
     printf 'username=%s\\npassword=%s\\n' \"$VIBN_GIT_USERNAME\" \"$VIBN_GIT_PASSWORD\"; }; f";
/// Options of every fetch: objects are checked as they arrive (`fetch.fsckObjects` too,
/// since it outranks `transfer.fsckObjects` and a repository's config may set it), and
/// kept as packs (never exploded into loose objects), so the download grows in
/// `.git/objects/pack` alone.
const FETCH_OVERRIDES: [&str; 8] = [
    "-c",
    "transfer.fsckObjects=true",
    "-c",
    "fetch.fsckObjects=true",
    "-c",
    "fetch.unpackLimit=1",
    "-c",
    "transfer.unpackLimit=1",
];
/// How often a running fetch's download is measured.
const WATCH_EVERY: Duration = Duration::from_millis(200);
/// How often progress is reported while a fetch runs.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

/// The options and environment that let one git process authenticate to `url` (the
/// canonical repository URL on Gitea) as `login`, and to nothing else.
pub(super) fn credentials(
    url: &str,
    login: &GiteaLogin,
) -> (Vec<OsString>, Vec<(&'static str, String)>) {
    let host = git_remote::http_host(url).unwrap_or_default();
    let scheme = match url.split_once("://") {
        Some((scheme, _)) if scheme.eq_ignore_ascii_case("http") => "http",
        _ => "https",
    };
    let args = [
        "-c".to_string(),
        "credential.helper=".to_string(),
        "-c".to_string(),
        format!("credential.{scheme}://{host}.helper={CREDENTIAL_HELPER}"),
        "-c".to_string(),
        format!("protocol.{scheme}.allow=always"),
    ]
    .map(OsString::from)
    .into();
    let env = vec![
        ("VIBN_GIT_USERNAME", login.username.clone()),
        ("VIBN_GIT_PASSWORD", login.token.expose_secret().to_string()),
    ];
    (args, env)
}

/// One fetch from Gitea: `git clone` or `git fetch` with its arguments.
pub(super) struct Fetch<'a> {
    /// Where git runs (`Repo::Outside` for a clone).
    pub at: Repo<'a>,
    /// The canonical repository URL (the only one the credentials are scoped to).
    pub url: &'a str,
    /// Who git authenticates as.
    pub login: &'a GiteaLogin,
    /// The git command and its arguments (after vibn's own options).
    pub args: Vec<OsString>,
    /// The `.git/objects/pack` folder the download lands in.
    pub pack_dir: PathBuf,
}

/// The checked-out size of a tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TreeSize {
    /// Bytes of all its files (symlinks count as their target's length).
    pub bytes: u64,
    /// Files (tree entries other than folders).
    pub files: u64,
}

impl WorkspaceApi {
    /// Run `fetch`, stopping git (its whole process tree, before this returns) when the
    /// download outgrows the limit, the time runs out, or the caller cancels.
    pub(super) async fn fetch(
        &self,
        fetch: Fetch<'_>,
        caller: &Caller,
    ) -> Result<GitRun, ApiError> {
        let limits = self.config().git_limits;
        let (mut args, env) = credentials(fetch.url, fetch.login);
        args.extend(FETCH_OVERRIDES.map(OsString::from));
        args.extend(fetch.args);
        let mut running = self.spawn_git(fetch.at, &args, &env)?;
        let stdout = tokio::spawn(read_all(running.stdout()));
        let stderr = tokio::spawn(read_all(running.stderr()));
        let started = Instant::now();
        let already = folder_bytes(&fetch.pack_dir);
        let mut watch = tokio::time::interval(WATCH_EVERY);
        let mut reported = Instant::now();
        let mut step = 0u32;
        let stopped = loop {
            tokio::select! {
                // A git that has ended wins over a measurement taken at the same moment
                // (its pack, complete, may already be in use).
                biased;
                ended = running.wait() => break Ok(ended?),
                () = caller.cancelled().cancelled() => {
                    break Err(ApiError::bad_request(
                        "the call was cancelled; git was stopped and nothing was kept",
                    ));
                }
                _ = watch.tick() => {
                    let received = folder_bytes(&fetch.pack_dir).saturating_sub(already);
                    if received > limits.max_download_bytes {
                        break Err(too_big(format!(
                            "the download passed {} (more than this server fetches); git was \
                             stopped and nothing was kept",
                            size(limits.max_download_bytes)
                        )));
                    }
                    if started.elapsed() > limits.transfer_timeout {
                        break Err(ApiError::upstream(format!(
                            "git did not finish within {}s ({} received); it was stopped and \
                             nothing was kept",
                            limits.transfer_timeout.as_secs(),
                            size(received)
                        ))
                        .with_hint("retry later; if it keeps failing, Gitea may be overloaded"));
                    }
                    if caller.wants_progress() && reported.elapsed() >= PROGRESS_EVERY {
                        reported = Instant::now();
                        step += 1;
                        caller.progress(step, format!("{} received", size(received))).await;
                    }
                }
            }
        };
        let ended = match stopped {
            Ok(ended) => ended,
            Err(e) => {
                running.stop().await;
                remove_partial_packs(&fetch.pack_dir);
                return Err(e);
            }
        };
        if ended.code != Some(0) {
            // A fetch refused on the way in (git's integrity checks) leaves its
            // half-written pack behind too.
            remove_partial_packs(&fetch.pack_dir);
        }
        let stdout = stdout.await.unwrap_or_default();
        let stderr = stderr.await.unwrap_or_default();
        Ok(GitRun {
            ok: ended.code == Some(0),
            code: ended.code,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        })
    }

    /// Refuse a finished clone whose packs in `pack_dir` outgrew the download limit.
    pub(super) fn check_download(&self, pack_dir: &Path) -> Result<(), ApiError> {
        let max = self.config().git_limits.max_download_bytes;
        if folder_bytes(pack_dir) > max {
            return Err(too_big(format!(
                "the download passed {} (more than this server fetches); nothing was kept",
                size(max)
            )));
        }
        Ok(())
    }

    /// Refuse to check out `commit` of the repository at `tree` (absolute) when its files
    /// would add up to more than the limits; read as a stream, stopped at the limit.
    /// `then` says what became of the fetch when it is refused.
    pub(super) async fn check_tree_size(
        &self,
        tree: &Path,
        commit: &str,
        then: &str,
    ) -> Result<TreeSize, ApiError> {
        let limits = self.config().git_limits;
        // `-l` (not `--format`, git 2.36+): `<mode> <type> <object> <size>\t<path>\0`.
        let args = ["ls-tree", "-r", "-l", "-z", commit].map(OsString::from);
        let mut running = self.spawn_git(Repo::At(tree), &args, &[])?;
        let stderr = tokio::spawn(read_all(running.stderr()));
        let mut total = TreeSize { bytes: 0, files: 0 };
        let mut over = None;
        if let Some(stdout) = running.stdout() {
            let mut lines = BufReader::new(stdout);
            let mut entry = Vec::new();
            let read = async {
                loop {
                    entry.clear();
                    match lines.read_until(0, &mut entry).await {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {}
                    }
                    // Submodule entries print "-": they are not checked out.
                    let Some(bytes) = entry_size(&entry) else {
                        continue;
                    };
                    total.files += 1;
                    total.bytes = total.bytes.saturating_add(bytes);
                    if total.files > limits.max_checkout_files {
                        over = Some(format!(
                            "its tree holds more than {} files",
                            limits.max_checkout_files
                        ));
                        break;
                    }
                    if total.bytes > limits.max_checkout_bytes {
                        over = Some(format!(
                            "its files add up to more than {}",
                            size(limits.max_checkout_bytes)
                        ));
                        break;
                    }
                }
            };
            if tokio::time::timeout(GIT_TIMEOUT, read).await.is_err() {
                running.stop().await;
                return Err(ApiError::upstream("listing the tree timed out"));
            }
        }
        if let Some(why) = over {
            running.stop().await;
            return Err(too_big(format!(
                "the repository is too large to check out here: {why}; {then}"
            )));
        }
        let ended = running.wait().await?;
        if ended.code != Some(0) {
            let stderr = stderr.await.unwrap_or_default();
            return Err(ApiError::internal(format!(
                "cannot list the fetched tree: {}",
                cut(self.clean(&String::from_utf8_lossy(&stderr)))
            )));
        }
        Ok(total)
    }
}

/// What the model reads when a fetch failed; `output` is git's (cleaned) messages,
/// `repo` the `owner/name` and `branch` the branch asked for.
pub(super) fn fetch_error(output: &str, repo: &str, branch: Option<&str>) -> ApiError {
    let detail = cut(output.to_string());
    let lower = output.to_ascii_lowercase();
    if lower.contains("couldn't find remote ref") || lower.contains("remote branch") {
        let branch = branch.unwrap_or("the branch asked for");
        return ApiError::not_found(format!("{repo} has no branch {branch} on Gitea: {detail}"))
            .with_hint("check the branch name, or omit it to use the repository's default branch");
    }
    if lower.contains("fsck") || lower.contains("disallowed submodule") {
        return ApiError::unprocessable(format!(
            "{repo} failed git's integrity checks, so nothing of it was kept: {detail}"
        ))
        .with_hint(
            "its objects are malformed or crafted to attack git (for example a .gitmodules \
             URL that starts with '-'); do not retry, tell the user",
        );
    }
    if lower.contains("not found") {
        return ApiError::not_found(format!(
            "no repository {repo} on Gitea that these credentials can read: {detail}"
        ))
        .with_hint("check owner/name (Gitea's repository list shows the names you can use)");
    }
    if lower.contains("authentication failed") || lower.contains(" 401") || lower.contains(" 403") {
        return ApiError::upstream(format!("Gitea refused the credentials: {detail}"))
            .with_hint("tell the user: the Gitea token may be revoked or lack read access");
    }
    ApiError::upstream(format!("fetching {repo} failed: {detail}"))
        .with_hint("retry later; nothing was changed")
}

/// The size of one `ls-tree -l -z` entry (`<mode> <type> <object> <size>\t<path>\0`);
/// `None` for a submodule (size `-`) or a line it cannot read.
fn entry_size(entry: &[u8]) -> Option<u64> {
    let tab = entry.iter().position(|b| *b == b'\t')?;
    let head = std::str::from_utf8(&entry[..tab]).ok()?;
    head.split_whitespace().nth(3)?.parse().ok()
}

/// The 422 for a repository larger than this server takes.
fn too_big(message: String) -> ApiError {
    ApiError::unprocessable(message).with_hint(
        "this repository is larger than the workspace server clones; read single files with \
         the Gitea server's read_repo_file, or ask the operator",
    )
}

/// Remove the half-written packs a stopped git left (`tmp_pack_*`, `tmp_idx_*`…): git
/// renames a pack into place only once it is complete, so these hold nothing in use.
fn remove_partial_packs(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let partial = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with("tmp_"));
        if partial && entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Bytes of the files directly in `dir` (the pack folder is flat); 0 when it is missing.
fn folder_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

/// A byte count in words.
fn size(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{} KiB", bytes.div_ceil(1024))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn login() -> GiteaLogin {
        GiteaLogin {
            username: "bot".into(),
            token: SecretString::from("tok-abcdef".to_string()),
        }
    }

    #[test]
    fn credentials_are_scoped_to_the_gitea_host_and_never_in_arguments() {
        let (args, env) = credentials("http://127.0.0.1:3000/o/r.git", &login());
        let args: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(args[1], "credential.helper=");
        assert!(
            args[3].starts_with("credential.http://127.0.0.1:3000.helper=!"),
            "{}",
            args[3]
        );
        assert_eq!(args[5], "protocol.http.allow=always");
        assert!(!args.iter().any(|a| a.contains("tok-abcdef")));
        assert!(env.contains(&("VIBN_GIT_PASSWORD", "tok-abcdef".to_string())));

        let (args, _) = credentials("https://git.x.io/o/r.git", &login());
        let args: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert!(args[3].starts_with("credential.https://git.x.io.helper="));
        assert_eq!(args[5], "protocol.https.allow=always");
    }

    #[test]
    fn fetch_failures_map_to_what_the_model_should_do() {
        let table = [
            ("fatal: repository 'http://h/o/r.git/' not found", None, 404),
            (
                "fatal: Remote branch dev not found in upstream origin",
                Some("dev"),
                404,
            ),
            (
                "fatal: couldn't find remote ref refs/heads/dev",
                Some("dev"),
                404,
            ),
            (
                "error: object 69bc: gitmodulesUrl: disallowed submodule url: -u./x\n\
                 fatal: fsck error in packed object",
                None,
                422,
            ),
            (
                "fatal: Authentication failed for 'http://h/o/r.git/'",
                None,
                502,
            ),
            ("fatal: unable to access: Connection refused", None, 502),
        ];
        for (output, branch, status) in table {
            assert_eq!(
                fetch_error(output, "o/r", branch).status(),
                status,
                "{output}"
            );
        }
    }

    #[test]
    fn tree_entries_give_their_size() {
        let table: [(&[u8], Option<u64>); 5] = [
            (
                b"100644 blob 8c3c7fbcd903744b20fd7567a1fcefa99133b5bc     12\tREADME.md\0",
                Some(12),
            ),
            (
                b"120000 blob 1234567890abcdef1234567890abcdef12345678      3\tlink\0",
                Some(3),
            ),
            (
                b"160000 commit 1234567890abcdef1234567890abcdef12345678       -\tsub\0",
                None,
            ),
            (b"100644 blob 8c3c 7\ta name\twith tabs\0", Some(7)),
            (b"garbage", None),
        ];
        for (entry, want) in table {
            assert_eq!(
                entry_size(entry),
                want,
                "{}",
                String::from_utf8_lossy(entry)
            );
        }
    }

    #[test]
    fn sizes_read_in_kib_or_mib() {
        assert_eq!(size(0), "0 KiB");
        assert_eq!(size(1), "1 KiB");
        assert_eq!(size(3 * 1024 * 1024 + 5), "3 MiB");
    }
}
