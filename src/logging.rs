//! Logging set-up: `tracing` to stderr (or a file), never to stdout, which carries the
//! MCP protocol.

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

/// Install the global subscriber: `filter` is a tracing directive (`warn`, `vibn=debug`),
/// `file` an optional log file opened for appending (created 0600).
pub fn init(filter: &str, file: Option<&Path>) -> Result<(), String> {
    let env_filter =
        EnvFilter::try_new(filter).map_err(|e| format!("invalid log filter {filter:?}: {e}"))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(env_filter)
        .with_ansi(false);
    let result = match file {
        Some(path) => {
            let log = OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| format!("cannot open log file {}: {e}", path.display()))?;
            builder.with_writer(Mutex::new(log)).try_init()
        }
        None => builder.with_writer(std::io::stderr).try_init(),
    };
    result.map_err(|e| format!("cannot install the logger: {e}"))
}
