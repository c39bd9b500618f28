//! `execute_command`: `sh -c` inside the root, in the agent sandbox (`sandbox_exec`).
//!
//! Everything the command started is killed on timeout, on MCP cancellation, when the
//! call's future is dropped, and after the shell exits (so background children do not
//! outlive the call). The child's environment is the server's minus everything
//! `policy::child_env` withholds; output is captured head + tail with the middle dropped.

use std::ffi::{OsStr, OsString};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio_util::sync::CancellationToken;

use super::WorkspaceApi;
use crate::api::caller::Caller;
use crate::api::de;
use crate::error::ApiError;
use crate::sandbox_exec::{Ended, Launch};

/// Timeout when none is given, in seconds.
pub const DEFAULT_TIMEOUT_S: u64 = 60;
/// Longest timeout accepted, in seconds.
pub const MAX_TIMEOUT_S: u64 = 600;
/// Bytes kept from the start of each stream.
pub const HEAD_BYTES: usize = 16 * 1024;
/// Bytes kept from the end of each stream.
pub const TAIL_BYTES: usize = 16 * 1024;
/// How long to wait for output pipes after the group was killed.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// Parameters of `execute_command`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ExecuteCommandParams {
    /// Shell command line, run with `sh -c`.
    pub command: String,
    /// Working folder, relative to the workspace root (default: the root).
    #[serde(default)]
    pub cwd: Option<String>,
    /// Seconds before the command and all its children are killed (default 60, max 600).
    #[serde(default, deserialize_with = "de::opt_u64")]
    #[schemars(schema_with = "de::integer_schema")]
    pub timeout_s: Option<u64>,
}

/// How a command ended and what it printed.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ExecuteCommandOut {
    /// Exit code; absent when the command was killed by a signal or timed out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Signal that ended the command, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// True when the timeout expired and the process group was killed.
    pub timed_out: bool,
    /// Standard output (head and tail when long).
    pub stdout: String,
    /// Standard error (head and tail when long).
    pub stderr: String,
    /// True when the middle of stdout was dropped.
    pub stdout_truncated: bool,
    /// True when the middle of stderr was dropped.
    pub stderr_truncated: bool,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
}

impl WorkspaceApi {
    /// Run a shell command in the workspace; the call's cancellation kills it early.
    pub async fn execute_command(
        &self,
        caller: &Caller,
        p: ExecuteCommandParams,
    ) -> Result<ExecuteCommandOut, ApiError> {
        super::limits::check(&p)?;
        let target = p.command.clone();
        let result = self.execute_command_now(p, caller.cancelled()).await;
        caller.audited(&target, result).await
    }

    async fn execute_command_now(
        &self,
        p: ExecuteCommandParams,
        cancel: &CancellationToken,
    ) -> Result<ExecuteCommandOut, ApiError> {
        if p.command.trim().is_empty() {
            return Err(ApiError::bad_request("command must not be empty"));
        }
        let timeout_s = p.timeout_s.unwrap_or(DEFAULT_TIMEOUT_S);
        if timeout_s == 0 || timeout_s > MAX_TIMEOUT_S {
            return Err(ApiError::bad_request(format!(
                "timeout_s must be between 1 and {MAX_TIMEOUT_S}, got {timeout_s}"
            )));
        }
        let relative = self.confine(p.cwd.as_deref().unwrap_or(""))?;
        let cwd = self.real_dir(&relative)?;
        let _running = self.inner.exec_lock.read().await;
        let config = self.config();
        let args = [
            OsString::from("-c"),
            OsString::from("--"),
            OsString::from(&p.command),
        ];
        let writable = [config.canonical_root.clone()];
        let started = Instant::now();
        let mut running = config.exec.spawn(Launch {
            program: OsStr::new("/bin/sh"),
            args: &args,
            cwd: &cwd,
            env: &config.child_env,
            writable: &writable,
            network: config.exec.network,
        })?;
        let stdout = tokio::spawn(capture(running.stdout()));
        let stderr = tokio::spawn(capture(running.stderr()));

        let finished = tokio::select! {
            ended = running.wait() => Some(ended?),
            () = tokio::time::sleep(Duration::from_secs(timeout_s)) => None,
            () = cancel.cancelled() => {
                running.kill();
                return Err(ApiError::bad_request("the command was cancelled and killed"));
            }
        };
        let timed_out = finished.is_none();
        let ended = match finished {
            Some(ended) => ended,
            None => {
                // Everything the command started goes with it.
                running.kill();
                running.wait().await.unwrap_or(Ended {
                    code: None,
                    signal: Some(Signal::SIGKILL as i32),
                })
            }
        };
        let (stdout, stdout_truncated) = finish(stdout).await;
        let (stderr, stderr_truncated) = finish(stderr).await;
        Ok(ExecuteCommandOut {
            exit_code: if timed_out { None } else { ended.code },
            signal: ended.signal,
            timed_out,
            stdout,
            stderr,
            stdout_truncated,
            stderr_truncated,
            duration_ms: started.elapsed().as_millis() as u64,
        })
    }
}

/// The first `HEAD_BYTES` and last `TAIL_BYTES` of a stream, and how much was dropped.
#[derive(Default)]
struct HeadTail {
    head: Vec<u8>,
    tail: Vec<u8>,
    dropped: u64,
}

impl HeadTail {
    fn push(&mut self, mut bytes: &[u8]) {
        if self.head.len() < HEAD_BYTES {
            let take = bytes.len().min(HEAD_BYTES - self.head.len());
            self.head.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
        }
        self.tail.extend_from_slice(bytes);
        if self.tail.len() > 2 * TAIL_BYTES {
            let excess = self.tail.len() - TAIL_BYTES;
            self.dropped += excess as u64;
            self.tail.drain(..excess);
        }
    }

    fn into_text(mut self) -> (String, bool) {
        if self.tail.len() > TAIL_BYTES {
            let excess = self.tail.len() - TAIL_BYTES;
            self.dropped += excess as u64;
            self.tail.drain(..excess);
        }
        let head = String::from_utf8_lossy(&self.head);
        let tail = String::from_utf8_lossy(&self.tail);
        if self.dropped == 0 {
            (format!("{head}{tail}"), false)
        } else {
            (
                format!("{head}\n[… {} bytes omitted …]\n{tail}", self.dropped),
                true,
            )
        }
    }
}

async fn capture(stream: Option<impl AsyncRead + Unpin>) -> HeadTail {
    let mut out = HeadTail::default();
    let Some(mut stream) = stream else { return out };
    let mut buf = vec![0u8; 8192];
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 {
            break;
        }
        out.push(&buf[..n]);
    }
    out
}

/// The captured text of a stream; gives up on a pipe a detached process still holds.
async fn finish(task: tokio::task::JoinHandle<HeadTail>) -> (String, bool) {
    let abort = task.abort_handle();
    match tokio::time::timeout(DRAIN_GRACE, task).await {
        Ok(Ok(captured)) => captured.into_text(),
        _ => {
            abort.abort();
            (
                String::from("[output unavailable: a detached process kept the pipe open]"),
                true,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_output_is_kept_whole() {
        let mut h = HeadTail::default();
        h.push(b"hello ");
        h.push(b"world");
        assert_eq!(h.into_text(), ("hello world".to_string(), false));
    }

    #[test]
    fn long_output_keeps_head_and_tail_and_says_what_was_dropped() {
        let mut h = HeadTail::default();
        let total = HEAD_BYTES + TAIL_BYTES + 5000;
        for i in 0..total {
            h.push(&[b'a' + (i % 26) as u8]);
        }
        let (text, truncated) = h.into_text();
        assert!(truncated);
        assert!(
            text.contains("[… 5000 bytes omitted …]"),
            "{}",
            &text[HEAD_BYTES..HEAD_BYTES + 40]
        );
        assert!(text.starts_with("abcdef"));
        let last = (b'a' + ((total - 1) % 26) as u8) as char;
        assert!(text.ends_with(last));
    }
}
