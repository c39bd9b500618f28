//! The sandbox helper: `vibn sandbox-exec`, the process the workspace server starts in
//! place of every command and git child the agent causes.
//!
//! Two processes make the sandbox. The helper (outside) creates a user, mount and PID
//! namespace (and a network namespace when the network is off), then forks the inner
//! init, which is PID 1 of the new PID namespace. The init mounts a fresh `/proc` (so no
//! process outside the sandbox can be seen, let alone read), hides the operator's
//! secrets (the keystore) under empty mounts, restricts itself with Landlock (writes
//! only beneath the allowed folders; no signals or abstract sockets out of the sandbox;
//! `no_new_privs`), then starts the command and reaps every orphan until the command
//! ends. When PID 1 exits, the kernel kills everything left in the namespace — `setsid`
//! and double-forked children included — so the command's whole tree ends with it.
//!
//! Lifetime: the helper's stdin is a pipe whose other end only the server holds. When the
//! server drops it (timeout, cancellation, the server's own exit or crash), the helper
//! kills the init and with it the sandbox. The init also dies with the helper
//! (`PR_SET_PDEATHSIG`).
//!
//! Reporting: file descriptor 3 carries one line to the server — `exit N`, `signal N`,
//! or `error <why>` when the sandbox could not be built (the command never ran).
//!
//! This runs in a fresh, single-threaded process before any async runtime exists; it
//! forks only while single-threaded.

use std::ffi::OsString;
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use landlock::{
    ABI, AccessFs, CompatLevel, Compatible, PathBeneath, PathFd, RestrictionStatus, Ruleset,
    RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope,
};
use nix::errno::Errno;
use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};
use nix::mount::{MsFlags, mount};
use nix::poll::{PollFd, PollFlags, ppoll};
use nix::sched::{CloneFlags, unshare};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, kill, sigaction};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork, getgid, getuid, pipe2};

/// The descriptor the helper reports on.
pub const STATUS_FD: i32 = 3;
/// Exit code of the helper when the sandbox could not be built.
pub const SETUP_FAILED: u8 = 125;

/// What the helper was asked to do (parsed from its command line by the CLI).
#[derive(Debug, Clone, Default)]
pub struct HelperSpec {
    /// Folder the command starts in.
    pub cwd: PathBuf,
    /// Folders the command may write beneath.
    pub writable: Vec<PathBuf>,
    /// Files and folders hidden from the command (empty mounts over them).
    pub hidden: Vec<PathBuf>,
    /// Whether the command keeps the host's network.
    pub network: bool,
    /// The program and its arguments.
    pub argv: Vec<OsString>,
}

/// Device nodes commands commonly write to or use ioctls on.
const WRITABLE_DEVICES: [&str; 8] = [
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
    "/dev/ptmx",
    "/dev/pts",
];

impl From<crate::args::SandboxExecArgs> for HelperSpec {
    fn from(args: crate::args::SandboxExecArgs) -> Self {
        HelperSpec {
            cwd: args.cwd,
            writable: args.writable,
            hidden: args.hide,
            network: !args.no_network,
            argv: args.argv,
        }
    }
}

/// Run the helper; never returns.
pub fn run(spec: HelperSpec) -> ! {
    let status = match take_status_fd() {
        Some(fd) => File::from(fd),
        None => {
            // Started by hand: there is no server to report to.
            let _ = writeln!(
                std::io::stderr(),
                "vibn sandbox-exec: file descriptor {STATUS_FD} is not open; this command is \
                 started by the workspace server, not by hand"
            );
            std::process::exit(i32::from(SETUP_FAILED));
        }
    };
    match outer(&spec, &status) {
        Ok(code) => std::process::exit(code),
        Err(why) => fail(&status, &why),
    }
}

/// Report a setup failure to the server and exit.
fn fail(mut status: &File, why: &str) -> ! {
    let _ = writeln!(status, "error {why}");
    std::process::exit(i32::from(SETUP_FAILED));
}

/// Take descriptor 3 (the report channel), marking it close-on-exec so the command
/// never inherits it.
fn take_status_fd() -> Option<OwnedFd> {
    // SAFETY: descriptor 3 is set up by the server for this process alone; fcntl first
    // checks that it is open before ownership is taken.
    let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(STATUS_FD) };
    fcntl(borrowed, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).ok()?;
    // SAFETY: the descriptor is open (checked above) and nothing else in this process
    // owns it.
    Some(unsafe { OwnedFd::from_raw_fd(STATUS_FD) })
}

/// The outer process: namespaces, then fork the init and wait for it.
fn outer(spec: &HelperSpec, status: &File) -> Result<i32, String> {
    let uid = getuid();
    let gid = getgid();
    let mut flags = CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWPID;
    if !spec.network {
        flags |= CloneFlags::CLONE_NEWNET;
    }
    match unshare(flags | CloneFlags::CLONE_NEWUSER) {
        Ok(()) => map_ids(uid.as_raw(), gid.as_raw())?,
        // A privileged server (root) can build the namespaces without a user namespace,
        // where those are disabled.
        Err(first) if uid.is_root() => unshare(flags).map_err(|e| {
            format!("cannot create namespaces (user namespace: {first}; without one: {e})")
        })?,
        Err(e) => {
            return Err(format!(
                "user namespaces are not available ({e}); enable unprivileged user \
                 namespaces (sysctl kernel.unprivileged_userns_clone=1, or the AppArmor \
                 restriction kernel.apparmor_restrict_unprivileged_userns=0)"
            ));
        }
    }
    // The init learns from this pipe whether the helper died before it could arrange
    // to die with it.
    let (alive_read, alive_write) =
        pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK).map_err(|e| format!("pipe: {e}"))?;
    // SIGCHLD stays blocked except inside ppoll, so the init's end cannot slip between
    // a check and the wait (no thread: after unshare(CLONE_NEWPID) none can be made).
    let mut chld = SigSet::empty();
    chld.add(Signal::SIGCHLD);
    let handler = SigAction::new(
        SigHandler::Handler(on_sigchld),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: the handler does nothing; it exists so that SIGCHLD interrupts ppoll.
    unsafe { sigaction(Signal::SIGCHLD, &handler) }.map_err(|e| format!("sigaction: {e}"))?;
    let mut unblocked = SigSet::thread_get_mask().map_err(|e| format!("sigmask: {e}"))?;
    chld.thread_block().map_err(|e| format!("sigmask: {e}"))?;
    unblocked.remove(Signal::SIGCHLD);
    // SAFETY: the helper is single-threaded, so the child may run arbitrary code after
    // fork.
    match unsafe { fork() }.map_err(|e| format!("fork: {e}"))? {
        ForkResult::Child => {
            drop(alive_write);
            let _ = chld.thread_unblock();
            let code = match init(spec, status, alive_read) {
                Ok(code) => code,
                Err(why) => fail(status, &why),
            };
            std::process::exit(code);
        }
        ForkResult::Parent { child } => {
            drop(alive_read);
            let code = wait_or_lifeline(child, &unblocked)?;
            drop(alive_write);
            Ok(code)
        }
    }
}

extern "C" fn on_sigchld(_: nix::libc::c_int) {}

/// Wait for the init to end; kill it first if the server closes the helper's stdin
/// (the lifeline): on timeout, cancellation, or the server's own end.
fn wait_or_lifeline(init: Pid, unblocked: &SigSet) -> Result<i32, String> {
    let stdin = std::io::stdin();
    let mut lifeline_open = true;
    loop {
        match waitpid(init, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, code)) => return Ok(code),
            Ok(WaitStatus::Signaled(_, signal, _)) => return Ok(128 + signal as i32),
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(format!("waiting for the sandbox: {e}")),
        }
        if !lifeline_open {
            // Killed; only its end is left to wait for (SIGCHLD interrupts the poll).
            let _ = ppoll(&mut [], None, Some(*unblocked));
            continue;
        }
        let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
        match ppoll(&mut fds, None, Some(*unblocked)) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(format!("poll: {e}")),
            Ok(_) => {
                let mut buf = [0u8; 64];
                if !matches!(nix::unistd::read(stdin.as_fd(), &mut buf), Ok(n) if n > 0) {
                    lifeline_open = false;
                    let _ = kill(init, Signal::SIGKILL);
                }
            }
        }
    }
}

/// Map the server's uid and gid into the new user namespace (and nothing else).
fn map_ids(uid: u32, gid: u32) -> Result<(), String> {
    let write = |path: &str, text: &str| {
        std::fs::write(path, text).map_err(|e| format!("cannot write {path}: {e}"))
    };
    write("/proc/self/setgroups", "deny")?;
    write("/proc/self/uid_map", &format!("{uid} {uid} 1\n"))?;
    write("/proc/self/gid_map", &format!("{gid} {gid} 1\n"))
}

/// PID 1 of the sandbox: build the confinement, run the command, reap, report.
fn init(spec: &HelperSpec, status: &File, alive: OwnedFd) -> Result<i32, String> {
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(|e| format!("pdeathsig: {e}"))?;
    // The helper may have died between fork and pdeathsig; its end of the pipe is then
    // closed and a read says so.
    let mut probe = [0u8; 1];
    if nix::unistd::read(&alive, &mut probe) == Ok(0) {
        return Err("the sandbox helper ended before the command started".into());
    }
    drop(alive);
    mounts(spec)?;
    confine(spec)?;

    let mut command = Command::new(&spec.argv[0]);
    command
        .args(&spec.argv[1..])
        .current_dir(&spec.cwd)
        .stdin(Stdio::null());
    let child = command.spawn().map_err(|e| {
        format!(
            "cannot start {}: {e}",
            Path::new(&spec.argv[0]).to_string_lossy()
        )
    })?;
    let command_pid = Pid::from_raw(child.id() as i32);
    drop(child);
    // Reap everything; the command's end is the sandbox's end.
    let report = loop {
        match waitpid(None, None) {
            Ok(WaitStatus::Exited(pid, code)) if pid == command_pid => {
                break format!("exit {code}");
            }
            Ok(WaitStatus::Signaled(pid, signal, _)) if pid == command_pid => {
                break format!("signal {}", signal as i32);
            }
            Ok(_) | Err(Errno::EINTR) => continue,
            Err(e) => return Err(format!("waiting for the command: {e}")),
        }
    };
    let mut status = status;
    let _ = writeln!(status, "{report}");
    Ok(0)
}

/// The mount namespace: private propagation, a `/proc` of this PID namespace only, and
/// empty mounts over every hidden path.
fn mounts(spec: &HelperSpec) -> Result<(), String> {
    let none: Option<&str> = None;
    mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none)
        .map_err(|e| format!("cannot make the mount namespace private: {e}"))?;
    mount(
        Some("proc"),
        "/proc",
        Some("proc"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        none,
    )
    .map_err(|e| {
        format!("cannot mount /proc for the PID namespace ({e}); the host's /proc may be masked")
    })?;
    for path in &spec.hidden {
        hide(path)?;
    }
    Ok(())
}

/// Cover `path`: an empty read-only tmpfs over a folder, `/dev/null` over a file.
/// A path that does not exist has nothing to hide.
fn hide(path: &Path) -> Result<(), String> {
    let none: Option<&str> = None;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    let flags = MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    let result = if meta.is_dir() {
        mount(
            Some("tmpfs"),
            path,
            Some("tmpfs"),
            flags,
            Some("size=4k,mode=000"),
        )
    } else {
        mount(Some("/dev/null"), path, none, MsFlags::MS_BIND, none).and_then(|()| {
            mount(
                none,
                path,
                none,
                MsFlags::MS_BIND | MsFlags::MS_REMOUNT | flags,
                none,
            )
        })
    };
    result.map_err(|e| format!("cannot hide {}: {e}", path.display()))
}

/// Landlock: writes only beneath the writable folders (and to a few device nodes), no
/// signals or abstract unix sockets across the sandbox's edge, `no_new_privs`.
fn confine(spec: &HelperSpec) -> Result<RestrictionStatus, String> {
    let abi = ABI::V6;
    let write = AccessFs::from_write(abi);
    let device = AccessFs::WriteFile | AccessFs::Truncate | AccessFs::IoctlDev;
    let err = |e: landlock::RulesetError| format!("Landlock: {e}");
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(write)
        .map_err(err)?
        .scope(Scope::Signal | Scope::AbstractUnixSocket)
        .map_err(err)?
        .create()
        .map_err(err)?;
    for dir in &spec.writable {
        let fd = PathFd::new(dir).map_err(|e| format!("cannot open {}: {e}", dir.display()))?;
        ruleset = ruleset.add_rule(PathBeneath::new(fd, write)).map_err(err)?;
    }
    for node in WRITABLE_DEVICES {
        let Ok(fd) = PathFd::new(node) else { continue };
        let access = if Path::new(node).is_dir() {
            write
        } else {
            device
        };
        ruleset = ruleset
            .add_rule(PathBeneath::new(fd, access))
            .map_err(err)?;
    }
    let status = ruleset.restrict_self().map_err(err)?;
    if status.ruleset == RulesetStatus::NotEnforced {
        return Err(
            "Landlock is not available on this kernel (Linux 5.13 or later with \
                    CONFIG_SECURITY_LANDLOCK and landlock in the lsm= boot list)"
                .into(),
        );
    }
    if !status.no_new_privs {
        return Err("cannot set no_new_privs".into());
    }
    Ok(status)
}

/// Parse the `vibn sandbox-exec` report line the helper wrote on descriptor 3.
pub fn parse_report(text: &str) -> Report {
    let line = text.lines().next().unwrap_or_default();
    if let Some(why) = line.strip_prefix("error ") {
        return Report::SetupFailed(why.to_string());
    }
    if let Some(code) = line.strip_prefix("exit ").and_then(|c| c.parse().ok()) {
        return Report::Exited(code);
    }
    if let Some(signal) = line.strip_prefix("signal ").and_then(|c| c.parse().ok()) {
        return Report::Signaled(signal);
    }
    Report::None
}

/// What the helper reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// The command exited with a code.
    Exited(i32),
    /// The command was killed by a signal.
    Signaled(i32),
    /// The sandbox could not be built; the command never ran.
    SetupFailed(String),
    /// Nothing (the helper was killed).
    None,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_are_parsed() {
        assert_eq!(parse_report("exit 3\n"), Report::Exited(3));
        assert_eq!(parse_report("signal 9\n"), Report::Signaled(9));
        assert_eq!(
            parse_report("error no landlock\n"),
            Report::SetupFailed("no landlock".into())
        );
        assert_eq!(parse_report(""), Report::None);
        assert_eq!(parse_report("exit x"), Report::None);
    }
}
