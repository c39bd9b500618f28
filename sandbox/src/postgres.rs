//! A real PostgreSQL server for tests: `initdb` on a temp dir, `pg_ctl start` on a free
//! TCP port of 127.0.0.1 with its unix socket in that dir and trust authentication, one
//! server per test process (`shared()`), a fresh database per caller (`fresh_database`).
//! The binaries come from Debian's `postgresql` package (`/usr/lib/postgresql/*/bin`);
//! when none is installed `shared()` answers `None` after printing why to stderr, unless
//! `VIBN_REQUIRE_POSTGRES=1` (scripts/test sets it), where a missing server is a failure.
//!
//! `initdb` and the server refuse to run as root. As root (CI containers) every
//! PostgreSQL command runs as the `postgres` user the package creates, through
//! `runuser -u postgres --`, and the data dir is handed to that user first; as any other
//! user they run directly. A watcher process stops the server (`pg_ctl stop -m
//! immediate`) and removes the dir once the test process is gone, so no server outlives
//! its tests even when they panic.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// A running test server.
#[derive(Debug)]
pub struct PgServer {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    run_as_postgres: bool,
}

static SERVER: OnceLock<Option<PgServer>> = OnceLock::new();

/// The process's shared server, started on first call; `None` (with the reason on
/// stderr) when PostgreSQL is not installed and `VIBN_REQUIRE_POSTGRES` is not `1`.
// Test support: the skip must be visible in the test's output, and the switch that
// turns it into a failure is a test-run setting, not part of vibn's configuration.
#[allow(clippy::print_stderr, clippy::disallowed_methods)]
pub fn shared() -> Option<&'static PgServer> {
    SERVER
        .get_or_init(|| match PgServer::start() {
            Ok(server) => Some(server),
            Err(why) if std::env::var("VIBN_REQUIRE_POSTGRES").as_deref() == Ok("1") => {
                panic!("VIBN_REQUIRE_POSTGRES=1 but no PostgreSQL test server: {why}")
            }
            Err(why) => {
                eprintln!(
                    "SKIPPING the PostgreSQL runs of the keystore tests: {why} \
                     (apt-get install postgresql; set VIBN_REQUIRE_POSTGRES=1 to fail instead)"
                );
                None
            }
        })
        .as_ref()
}

/// The newest `/usr/lib/postgresql/<major>/bin` holding `initdb`.
fn find_bin() -> Result<PathBuf, String> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| format!("no /usr/lib/postgresql ({e})"))?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let major = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((major, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| "no /usr/lib/postgresql/*/bin/initdb".to_string())
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

impl PgServer {
    fn start() -> Result<PgServer, String> {
        let bin = find_bin()?;
        // /proc/self belongs to this process's effective uid: 0 is root.
        let run_as_postgres = std::fs::metadata("/proc/self")
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
            .unwrap_or(false);
        let dir = std::env::temp_dir().join(format!(
            "vibn-pg-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        if run_as_postgres {
            let status = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&dir)
                .status()
                .map_err(|e| format!("chown: {e}"))?;
            if !status.success() {
                return Err("cannot hand the data dir to the postgres user (no such user?)".into());
            }
        }
        let port = free_port()?;
        let server = PgServer {
            bin,
            dir,
            port,
            run_as_postgres,
        };
        let data = server.dir.join("data");
        server.run(
            "initdb",
            &[
                "-D",
                path_str(&data)?,
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ],
        )?;
        let options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off \
             -c max_connections=200",
            path_str(&server.dir)?
        );
        server.run(
            "pg_ctl",
            &[
                "-D",
                path_str(&data)?,
                "-o",
                &options,
                "-l",
                path_str(&server.dir.join("log"))?,
                "-w",
                "-t",
                "60",
                "start",
            ],
        )?;
        server.watch(std::process::id(), &data)?;
        Ok(server)
    }

    /// Stop the server and remove its dir once process `pid` has exited.
    fn watch(&self, pid: u32, data: &Path) -> Result<(), String> {
        let script = format!(
            // Not `kill -0`: the postgres user may not signal a root test process.
            "while [ -d /proc/{pid} ]; do sleep 0.5; done; \
             {} -D {} stop -m immediate >/dev/null 2>&1; rm -rf {}",
            shlex::try_quote(path_str(&self.bin.join("pg_ctl"))?).map_err(|e| e.to_string())?,
            shlex::try_quote(path_str(data)?).map_err(|e| e.to_string())?,
            shlex::try_quote(path_str(&self.dir)?).map_err(|e| e.to_string())?,
        );
        let mut watcher = if self.run_as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", "sh", "-c", &script]);
            c
        } else {
            let mut c = Command::new("sh");
            c.args(["-c", &script]);
            c
        };
        watcher
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map(drop)
            .map_err(|e| format!("cannot start the server's watcher: {e}"))
    }

    /// Run PostgreSQL tool `tool` with `args` (as the postgres user when root).
    fn run(&self, tool: &str, args: &[&str]) -> Result<(), String> {
        let program = self.bin.join(tool);
        let mut command = if self.run_as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let out = command
            .args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {tool}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{tool} failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// The port the server listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A new empty database; answers its `postgres://` URL.
    pub fn fresh_database(&self) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "vibn_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        );
        let port = self.port.to_string();
        self.run(
            "createdb",
            &["-h", "127.0.0.1", "-p", &port, "-U", "postgres", &name],
        )
        .unwrap_or_else(|e| panic!("cannot create a test database: {e}"));
        self.url(&name)
    }

    /// The URL of database `name` on this server.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }
}

fn path_str(p: &Path) -> Result<&str, String> {
    p.to_str()
        .ok_or_else(|| format!("{} is not UTF-8", p.display()))
}
