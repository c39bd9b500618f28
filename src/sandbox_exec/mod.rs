//! The confinement of every process an agent causes to run (DESIGN §10):
//! `execute_command` and every git child of `git_commit_and_push`, `git_clone` and
//! `git_pull`.
//!
//! On Linux each such process runs under `vibn sandbox-exec` (see [`helper`]): user,
//! mount and PID namespaces with a fresh `/proc` (the command cannot see, let alone read,
//! the server's environment or memory, or any other process outside its sandbox), empty
//! mounts over the keystore, Landlock allowing writes only beneath the workspace root, a
//! private temp folder and the caches the operator names, `no_new_privs`, and optionally
//! no network. The whole process tree ends with the command, on timeout, on
//! cancellation and when the server exits.
//!
//! Why namespaces *and* Landlock: Landlock alone cannot hide a file from reads while
//! leaving the rest of the system readable (its rules only grant), and cannot hide other
//! processes' command lines; namespaces alone cannot stop a process that is root in its
//! user namespace from writing where the host user may. Together they give what Codex
//! CLI (Landlock + seccomp) and Claude Code (bubblewrap namespaces) give, with no
//! external tool to install. Where the mechanisms are missing the command is refused
//! with a 503 naming what is missing, unless the operator chose `--exec-sandbox off`.

pub mod helper;

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};

use nix::fcntl::OFlag;
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::{Pid, pipe2};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout};

use crate::error::ApiError;
use helper::{Report, STATUS_FD};

/// How long `Running::stop` waits for the helper to take the sandbox down before it
/// kills the helper itself.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// How the processes an agent causes are run.
#[derive(Debug, Clone)]
pub enum ExecMode {
    /// Inside the sandbox, started through `helper` (normally this very binary).
    Sandboxed {
        /// The `vibn` binary that provides `vibn sandbox-exec`.
        helper: PathBuf,
    },
    /// Unconfined, by the operator's explicit choice (`--exec-sandbox off`).
    Off,
    /// No sandbox helper is configured (library use without one): every command is
    /// refused.
    Unavailable,
}

/// The sandbox settings of a workspace server.
#[derive(Debug, Clone)]
pub struct ExecPolicy {
    /// Sandboxed, off, or unavailable.
    pub mode: ExecMode,
    /// Whether `execute_command` keeps the network (`--exec-network`).
    pub network: bool,
    /// Extra folders commands may write (`--exec-writable`, e.g. cargo or npm caches).
    pub writable: Vec<PathBuf>,
    /// Files and folders commands must not see (the keystore and its folder).
    pub hidden: Vec<PathBuf>,
}

impl Default for ExecPolicy {
    fn default() -> Self {
        ExecPolicy {
            mode: ExecMode::Unavailable,
            network: true,
            writable: Vec::new(),
            hidden: Vec::new(),
        }
    }
}

impl ExecPolicy {
    /// The sandbox, started through `helper` (the `vibn` binary).
    pub fn sandboxed(helper: impl Into<PathBuf>) -> Self {
        ExecPolicy {
            mode: ExecMode::Sandboxed {
                helper: helper.into(),
            },
            ..ExecPolicy::default()
        }
    }

    /// True when processes run unconfined by the operator's choice.
    pub fn is_off(&self) -> bool {
        matches!(self.mode, ExecMode::Off)
    }

    /// Start `launch`; its stdout and stderr are piped for the caller to take.
    pub fn spawn(&self, launch: Launch<'_>) -> Result<Running, ApiError> {
        if let ExecMode::Unavailable = self.mode {
            return Err(unavailable(
                "no sandbox helper is configured for this server",
            ));
        }
        let private_tmp = tempfile::Builder::new()
            .prefix("vibn-exec-")
            .tempdir()
            .map_err(|e| ApiError::internal(format!("cannot create a private temp folder: {e}")))?;
        let tmp = private_tmp.path().to_path_buf();
        match &self.mode {
            ExecMode::Unavailable => Err(unavailable(
                "no sandbox helper is configured for this server",
            )),
            ExecMode::Off => spawn_unconfined(&launch, &tmp, private_tmp),
            ExecMode::Sandboxed { helper } => {
                self.spawn_sandboxed(helper, &launch, &tmp, private_tmp)
            }
        }
    }

    fn spawn_sandboxed(
        &self,
        helper: &Path,
        launch: &Launch<'_>,
        tmp: &Path,
        private_tmp: tempfile::TempDir,
    ) -> Result<Running, ApiError> {
        let (status_read, status_write) = pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)
            .map_err(|e| ApiError::internal(format!("pipe: {e}")))?;
        let mut command = tokio::process::Command::new(helper);
        command.arg("sandbox-exec").arg("--cwd").arg(launch.cwd);
        for dir in launch.writable.iter().map(PathBuf::as_path).chain([tmp]) {
            command.arg("--writable").arg(dir);
        }
        for dir in &self.writable {
            command.arg("--writable").arg(dir);
        }
        for path in &self.hidden {
            command.arg("--hide").arg(path);
        }
        if !launch.network {
            command.arg("--no-network");
        }
        command
            .arg("--")
            .arg(launch.program)
            .args(launch.args)
            .env_clear()
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .envs(temp_env(tmp))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let status_fd = status_write.as_raw_fd();
        // SAFETY: the closure runs in the forked child before exec and only calls
        // async-signal-safe functions (dup2, fcntl) on descriptors it owns.
        unsafe {
            command.pre_exec(move || {
                if status_fd == STATUS_FD {
                    // Already in place: only the close-on-exec flag must go.
                    if nix::libc::fcntl(status_fd, nix::libc::F_SETFD, 0) == -1 {
                        return Err(std::io::Error::last_os_error());
                    }
                } else if nix::libc::dup2(status_fd, STATUS_FD) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = command.spawn().map_err(|e| {
            unavailable(&format!(
                "cannot start the sandbox helper {}: {e}",
                helper.display()
            ))
        })?;
        drop(status_write);
        let lifeline = child.stdin.take();
        Ok(Running {
            child,
            confinement: Confinement::Sandboxed {
                lifeline,
                status: status_read,
            },
            _private_tmp: private_tmp,
        })
    }
}

/// One process to start: what, where, with which environment, and what it may write.
#[derive(Debug)]
pub struct Launch<'a> {
    /// The program (looked up on `PATH`).
    pub program: &'a OsStr,
    /// Its arguments.
    pub args: &'a [OsString],
    /// The folder it starts in.
    pub cwd: &'a Path,
    /// Its whole environment (the private temp folder's variables are added).
    pub env: &'a [(OsString, OsString)],
    /// Folders it may write beneath, besides its private temp folder.
    pub writable: &'a [PathBuf],
    /// Whether it keeps the network.
    pub network: bool,
}

/// `TMPDIR` and friends pointing at the private temp folder.
fn temp_env(tmp: &Path) -> [(&'static str, &Path); 3] {
    [("TMPDIR", tmp), ("TMP", tmp), ("TEMP", tmp)]
}

fn spawn_unconfined(
    launch: &Launch<'_>,
    tmp: &Path,
    private_tmp: tempfile::TempDir,
) -> Result<Running, ApiError> {
    let mut command = tokio::process::Command::new(launch.program);
    command
        .args(launch.args)
        .current_dir(launch.cwd)
        .env_clear()
        .envs(launch.env.iter().map(|(k, v)| (k, v)))
        .envs(temp_env(tmp))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let child = command.spawn().map_err(|e| {
        ApiError::internal(format!(
            "cannot start {}: {e}",
            Path::new(launch.program).display()
        ))
    })?;
    let group = child.id().map(|id| Pid::from_raw(id as i32));
    Ok(Running {
        child,
        confinement: Confinement::Unconfined { group },
        _private_tmp: private_tmp,
    })
}

/// The 503 for a command that cannot be confined.
fn unavailable(why: &str) -> ApiError {
    ApiError::not_provisioned(format!(
        "commands cannot be sandboxed here: {why}; nothing was run"
    ))
    .with_hint(
        "the operator can fix the sandbox (see vibn doctor), or start the server with \
         --exec-sandbox off to run commands unconfined",
    )
}

enum Confinement {
    Sandboxed {
        /// Dropping it tells the helper to kill the sandbox.
        lifeline: Option<ChildStdin>,
        /// The helper's report (descriptor 3).
        status: OwnedFd,
    },
    Unconfined {
        /// The command's process group.
        group: Option<Pid>,
    },
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ended {
    /// Its exit code, when it exited.
    pub code: Option<i32>,
    /// The signal that killed it, when one did.
    pub signal: Option<i32>,
}

/// A started process; dropping it kills it and everything it started.
pub struct Running {
    child: Child,
    confinement: Confinement,
    _private_tmp: tempfile::TempDir,
}

impl Running {
    /// The process's standard output.
    pub fn stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }

    /// The process's standard error.
    pub fn stderr(&mut self) -> Option<ChildStderr> {
        self.child.stderr.take()
    }

    /// The private temp folder (writable by the process, removed after it).
    pub fn private_tmp(&self) -> &Path {
        self._private_tmp.path()
    }

    /// Wait for the process to end. In the sandbox, the whole tree is gone when this
    /// returns; unconfined, the process group is killed now.
    pub async fn wait(&mut self) -> Result<Ended, ApiError> {
        let status = self
            .child
            .wait()
            .await
            .map_err(|e| ApiError::internal(format!("waiting for the process failed: {e}")))?;
        match &mut self.confinement {
            Confinement::Unconfined { group } => {
                kill_group(*group);
                Ok(ended(status))
            }
            Confinement::Sandboxed { status: report, .. } => match read_report(report) {
                Report::Exited(code) => Ok(Ended {
                    code: Some(code),
                    signal: None,
                }),
                Report::Signaled(signal) => Ok(Ended {
                    code: None,
                    signal: Some(signal),
                }),
                Report::SetupFailed(why) => Err(unavailable(&why)),
                Report::None => Ok(ended(status)),
            },
        }
    }

    /// Kill the process and everything it started, and wait until they are gone, so
    /// that nothing it started can still write once this returns (a caller that cleans
    /// up after a killed process needs that; `kill` only sends the signals).
    pub async fn stop(&mut self) {
        match &mut self.confinement {
            Confinement::Unconfined { group } => kill_group(*group),
            Confinement::Sandboxed { lifeline, .. } => {
                // Closing the lifeline makes the helper kill the sandbox's init and wait
                // for it; the init's end takes every process of its PID namespace along,
                // so the helper's exit means the whole tree is gone.
                lifeline.take();
                if tokio::time::timeout(STOP_GRACE, self.child.wait())
                    .await
                    .is_ok()
                {
                    return;
                }
                if let Some(id) = self.child.id() {
                    let _ = kill(Pid::from_raw(id as i32), Signal::SIGKILL);
                }
            }
        }
        let _ = self.child.wait().await;
    }

    /// Kill the process and everything it started.
    pub fn kill(&mut self) {
        match &mut self.confinement {
            Confinement::Unconfined { group } => kill_group(*group),
            Confinement::Sandboxed { lifeline, .. } => {
                lifeline.take();
                if let Some(id) = self.child.id() {
                    let _ = kill(Pid::from_raw(id as i32), Signal::SIGKILL);
                }
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}

fn kill_group(group: Option<Pid>) {
    if let Some(pgid) = group {
        let _ = killpg(pgid, Signal::SIGKILL);
    }
}

fn ended(status: ExitStatus) -> Ended {
    use std::os::unix::process::ExitStatusExt;
    Ended {
        code: status.code(),
        signal: status.signal(),
    }
}

/// The helper's one-line report, read without blocking (a killed helper wrote none).
fn read_report(fd: &OwnedFd) -> Report {
    let mut file = match fd.try_clone() {
        Ok(fd) => std::fs::File::from(fd),
        Err(_) => return Report::None,
    };
    let mut text = String::new();
    let mut buf = [0u8; 1024];
    while text.len() < 64 * 1024 {
        match file.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => text.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
    helper::parse_report(&text)
}
