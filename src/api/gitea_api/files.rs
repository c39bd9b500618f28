//! `read_repo_file`: a file of a repository at a ref, paged by lines like the workspace
//! `read_file`; directories and binary files are refused with what to do instead.

use base64::Engine as _;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::GiteaApi;
use crate::api::caller::Caller;
use crate::api::de;
use crate::api::text::{is_binary, window};
use crate::clients::gitea::ContentsAnswer;
use crate::error::{ApiError, quote};

/// Files larger than this are not read.
pub const MAX_REPO_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// Entries of a directory named in the hint when a directory is asked for.
const DIR_HINT_ENTRIES: usize = 40;

/// Parameters of `read_repo_file`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ReadRepoFileParams {
    /// Repository as `owner/name`, or a bare name in the workspace org.
    pub repo: String,
    /// File path within the repository.
    pub path: String,
    /// Branch, tag or commit (default: the default branch).
    #[serde(default, rename = "ref")]
    pub git_ref: Option<String>,
    /// First line to return, 1-based (default 1).
    #[serde(default, deserialize_with = "de::opt_u64")]
    #[schemars(schema_with = "de::integer_schema")]
    pub offset: Option<u64>,
    /// Maximum number of lines to return (default 2000).
    #[serde(default, deserialize_with = "de::opt_u64")]
    #[schemars(schema_with = "de::integer_schema")]
    pub limit: Option<u64>,
}

/// A window of a repository file.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ReadRepoFileOut {
    /// `owner/name`.
    pub repo: String,
    /// The path.
    pub path: String,
    /// The ref read, when one was given.
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    /// Blob sha of the file.
    pub sha: String,
    /// Size in bytes.
    pub size: u64,
    /// The text of lines `start_line..=end_line`.
    pub content: String,
    /// First line returned (1-based).
    pub start_line: u64,
    /// Last line returned (0 when nothing was returned).
    pub end_line: u64,
    /// Lines in the whole file.
    pub total_lines: u64,
    /// True when lines after `end_line` were not returned.
    pub truncated: bool,
    /// Pass this as `offset` to read on; absent at the end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<u64>,
}

impl GiteaApi {
    /// Read a window of lines of a file in a repository.
    pub async fn read_repo_file(
        &self,
        caller: &Caller,
        p: ReadRepoFileParams,
    ) -> Result<ReadRepoFileOut, ApiError> {
        super::limits::check(&p)?;
        let who = caller.principal();
        let repo = self.repo(who, &p.repo)?;
        let path = p.path.trim().trim_matches('/').to_string();
        if path.is_empty()
            || path
                .split('/')
                .any(|s| s == ".." || s == "." || s.is_empty())
            || path.contains('\0')
        {
            return Err(ApiError::bad_request(format!(
                "{} is not a file path in the repository",
                quote(&p.path)
            )));
        }
        let git_ref = p
            .git_ref
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_string);
        let client = &self.client(caller).await?;
        let answer = client
            .get_contents(&repo.owner, &repo.name, &path, git_ref.as_deref())
            .await
            .map_err(|e| {
                let e: ApiError = e.into();
                if e.status() == 404 {
                    ApiError::not_found(format!(
                        "no file {path} in {}{}",
                        repo.full_name(),
                        git_ref
                            .as_deref()
                            .map(|r| format!(" at {r}"))
                            .unwrap_or_default()
                    ))
                    .with_hint("check the path and ref; the repository may also be empty")
                } else {
                    e
                }
            })?;
        let file = match answer {
            ContentsAnswer::Dir(entries) => {
                let names: Vec<String> = entries
                    .iter()
                    .take(DIR_HINT_ENTRIES)
                    .map(|e| {
                        if e.kind == "dir" {
                            format!("{}/", e.name)
                        } else {
                            e.name.clone()
                        }
                    })
                    .collect();
                return Err(
                    ApiError::bad_request(format!("{} is a directory", quote(&path)))
                        .with_hint(format!("read one of its entries: {}", names.join(", "))),
                );
            }
            ContentsAnswer::File(file) => file,
        };
        if file.kind != "file" {
            return Err(ApiError::bad_request(format!(
                "{path} is a {}, not a file",
                file.kind
            )));
        }
        // A negative size (the spec's int64 allows it) says nothing: read and measure.
        if u64::try_from(file.size).is_ok_and(|size| size > MAX_REPO_FILE_BYTES) {
            return Err(ApiError::bad_request(format!(
                "{path} is {} bytes; files over {MAX_REPO_FILE_BYTES} bytes are not read",
                file.size
            )));
        }
        let inline = file
            .content
            .as_deref()
            .filter(|c| !c.is_empty() || file.size == 0)
            .filter(|_| file.encoding.as_deref().is_none_or(|e| e == "base64"))
            .and_then(|b64| {
                let compact: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
                base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .inspect_err(|e| {
                        tracing::warn!(repo = %repo.full_name(), %path, error = %e,
                            "Gitea sent file content that is not base64; reading it raw")
                    })
                    .ok()
            });
        let bytes = match inline {
            Some(bytes) => bytes,
            // Large blobs come without content, and content in another encoding is
            // no use: fetch the file raw.
            None => client
                .get_raw(&repo.owner, &repo.name, &path, git_ref.as_deref())
                .await?
                .to_vec(),
        };
        if bytes.len() as u64 > MAX_REPO_FILE_BYTES {
            return Err(ApiError::bad_request(format!(
                "{path} is {} bytes; files over {MAX_REPO_FILE_BYTES} bytes are not read",
                bytes.len()
            )));
        }
        if is_binary(&bytes) {
            return Err(ApiError::bad_request(format!(
                "{path} is a binary file ({} bytes); read_repo_file returns text only",
                bytes.len()
            )));
        }
        let text = String::from_utf8_lossy(&bytes);
        let w = window(&text, p.offset, p.limit);
        Ok(ReadRepoFileOut {
            repo: repo.full_name(),
            path,
            git_ref,
            sha: file.sha,
            size: bytes.len() as u64,
            content: w.content,
            start_line: w.start_line,
            end_line: w.end_line,
            total_lines: w.total_lines,
            truncated: w.truncated,
            next_offset: w.next_offset,
        })
    }
}
