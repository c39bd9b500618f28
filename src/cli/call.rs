//! `vibn call <server> <tool> --json '{…}' [-- server flags]`: one tool call through the
//! server the registry starts for `vibn mcp <server>` (same configuration, guards and
//! pinning by `VIBN_API_KEY`), its result printed as JSON on stdout.
//!
//! Exit codes: 0 the tool succeeded; 1 the tool answered an error (its `{error, status,
//! hint}` is printed on stdout, its message on stderr) or refused the request; 2 the
//! call could not be made (bad arguments, configuration, a server that is not built).

use std::io::Read;
use std::process::ExitCode;

use clap::Parser;
use rmcp::model::JsonObject;
use serde_json::Value;

use super::output;
use crate::args::{CallArgs, CallServer};
use crate::config::{self, ToolFilter};
use crate::mcp::call::{CallOutcome, call_once};
use crate::mcp::registry;

/// The largest arguments object read from stdin (the stdio transport's line limit).
const MAX_ARGUMENTS_BYTES: u64 = 32 << 20;

/// Run `vibn call`.
pub fn run(args: CallArgs) -> ExitCode {
    let Some(entry) = registry::find(&args.server) else {
        let names: Vec<&str> = registry::SERVERS.iter().map(|s| s.name).collect();
        return usage(&format!(
            "no server {:?}; servers: {}",
            args.server,
            names.join(", ")
        ));
    };
    let parsed = CallServer::try_parse_from(
        [
            std::ffi::OsString::from("vibn call"),
            args.server.clone().into(),
        ]
        .into_iter()
        .chain(args.server_flags.iter().cloned()),
    );
    let server = match parsed {
        Ok(parsed) => parsed.server,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(2);
        }
    };
    let arguments = match arguments(&args.json) {
        Ok(arguments) => arguments,
        Err(message) => return usage(&message),
    };
    let common = server.common().clone();
    if let Err(e) = crate::logging::init(&config::log_filter(&common), common.log_file.as_deref()) {
        return usage(&e);
    }
    let servable = match registry::start(&server, &ToolFilter::from_args(&common)) {
        Ok(servable) => servable,
        Err(e) => return usage(&e.to_string()),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return usage(&format!("cannot start the async runtime: {e}")),
    };
    let answered = runtime.block_on(call_once(servable, &args.tool, arguments));
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match answered {
        Ok(CallOutcome::Done(value)) => {
            output::json(&value);
            ExitCode::SUCCESS
        }
        Ok(CallOutcome::Failed(value)) => {
            output::json(&value);
            output::error(&failure_line(&args.tool, &value));
            ExitCode::from(1)
        }
        Ok(CallOutcome::Refused(error)) => {
            let message = error.get("message").and_then(Value::as_str).unwrap_or("");
            let tools: Vec<String> = (entry.tools)().into_iter().map(|t| t.name.into()).collect();
            output::error(&format!(
                "{} refused the call: {message} ({} tools: {})",
                args.tool,
                entry.name,
                tools.join(", ")
            ));
            ExitCode::from(1)
        }
        Err(e) => usage(&e.to_string()),
    }
}

/// The tool's arguments from `--json` (`-`: stdin), which must be a JSON object.
fn arguments(json: &str) -> Result<JsonObject, String> {
    let text = if json == "-" {
        let mut text = String::new();
        std::io::stdin()
            .take(MAX_ARGUMENTS_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read the arguments from stdin: {e}"))?;
        if text.len() as u64 > MAX_ARGUMENTS_BYTES {
            return Err(format!(
                "the arguments on stdin are over {} MiB",
                MAX_ARGUMENTS_BYTES >> 20
            ));
        }
        text
    } else {
        json.to_string()
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(other) => Err(format!(
            "--json must be a JSON object of the tool's arguments, not {}",
            crate::clients::http::decode::kind_of(&other)
        )),
        Err(e) => Err(format!("--json is not valid JSON: {e}")),
    }
}

/// One line for stderr: the tool's error message and hint.
fn failure_line(tool: &str, value: &Value) -> String {
    let message = value
        .get("error")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| value.to_string());
    match value.get("hint").and_then(Value::as_str) {
        Some(hint) => format!("{tool}: {message} (hint: {hint})"),
        None => format!("{tool}: {message}"),
    }
}

fn usage(message: &str) -> ExitCode {
    output::error(message);
    ExitCode::from(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_must_be_an_object() {
        assert!(arguments(r#"{"path":"a"}"#).is_ok());
        assert!(arguments("[]").unwrap_err().contains("not an array"));
        assert!(arguments("\"x\"").unwrap_err().contains("not a string"));
        assert!(arguments("{").unwrap_err().contains("not valid JSON"));
    }

    #[test]
    fn a_failure_line_carries_message_and_hint() {
        let value = serde_json::json!({"error": "no such file", "status": 404, "hint": "list"});
        assert_eq!(
            failure_line("read_file", &value),
            "read_file: no such file (hint: list)"
        );
    }
}
