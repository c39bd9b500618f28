//! A minimal MCP client: initialize, call tools, hang up. `vibn call` uses it for one
//! tool call to a server in this process, served on an in-memory pipe through the same
//! transport and handler a client reaches over stdio (so the call meets the same limits,
//! guards, pinning and audit); `vibn demo` uses it over child servers' stdio.

use rmcp::model::JsonObject;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::common::Servable;

/// The protocol revision `vibn call` asks for (every vibn server speaks it).
const PROTOCOL_VERSION: &str = "2025-06-18";
/// Bytes buffered in each direction of the in-memory pipe.
const PIPE_BYTES: usize = 1 << 20;

/// What one tool call answered.
#[derive(Debug, Clone, PartialEq)]
pub enum CallOutcome {
    /// The tool's result: its structured content, or its text (as JSON when it is).
    Done(Value),
    /// An `isError` result: the error object (`{error, status, hint}`) or its text.
    Failed(Value),
    /// The request itself was refused (unknown tool, invalid arguments): JSON-RPC's
    /// error object.
    Refused(Value),
}

/// Why the call could not be made at all.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The server stopped or broke the protocol before answering.
    #[error("the server did not answer the call: {0}")]
    NoAnswer(String),
}

/// An initialized MCP session over a pair of byte streams: `vibn call` runs one on an
/// in-memory pipe, `vibn demo` on a child server's stdio.
pub struct Session<R, W> {
    lines: tokio::io::Lines<BufReader<R>>,
    write: W,
    next_id: u64,
}

impl<R, W> Session<R, W>
where
    R: tokio::io::AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    /// Initialize a session as client `client` over `read`/`write`.
    pub async fn open(read: R, write: W, client: &str) -> Result<Self, CallError> {
        let mut session = Session {
            lines: BufReader::new(read).lines(),
            write,
            next_id: 0,
        };
        let init = session
            .request(
                "initialize",
                json!({
                    "protocolVersion": PROTOCOL_VERSION,
                    "capabilities": {},
                    "clientInfo": {"name": client, "version": env!("CARGO_PKG_VERSION")}
                }),
            )
            .await?;
        if let Some(error) = init.get("error") {
            return Err(CallError::NoAnswer(format!(
                "initialize was refused: {error}"
            )));
        }
        send(
            &mut session.write,
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        )
        .await?;
        Ok(session)
    }

    /// Send a request and wait for its response (notifications are skipped).
    async fn request(&mut self, method: &str, params: Value) -> Result<Value, CallError> {
        self.next_id += 1;
        let id = self.next_id;
        send(
            &mut self.write,
            json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
        )
        .await?;
        answer(&mut self.lines, id).await
    }

    /// The server's tools as `tools/list` answers (the first page: vibn's servers do not
    /// page their lists).
    pub async fn list_tools(&mut self) -> Result<Vec<Value>, CallError> {
        let reply = self.request("tools/list", json!({})).await?;
        reply["result"]["tools"]
            .as_array()
            .cloned()
            .ok_or_else(|| CallError::NoAnswer(format!("tools/list answered {reply}")))
    }

    /// Call `tool` with `arguments`.
    pub async fn call(&mut self, tool: &str, arguments: Value) -> Result<CallOutcome, CallError> {
        let reply = self
            .request("tools/call", json!({"name": tool, "arguments": arguments}))
            .await?;
        Ok(outcome(reply))
    }

    /// Shut the write half down: EOF, on which the server stops.
    pub async fn close(mut self) {
        let _ = self.write.shutdown().await;
    }
}

/// Serve `server` in process, call `tool` with `arguments`, and close.
pub async fn call_once(
    server: Box<dyn Servable>,
    tool: &str,
    arguments: JsonObject,
) -> Result<CallOutcome, CallError> {
    let (ours, theirs) = tokio::io::duplex(PIPE_BYTES);
    let (server_read, server_write) = tokio::io::split(theirs);
    let serving = tokio::spawn(server.serve_on(Box::new(server_read), Box::new(server_write)));
    let (read, write) = tokio::io::split(ours);
    let mut session = Session::open(read, write, "vibn-call").await?;
    let outcome = session.call(tool, Value::Object(arguments)).await?;
    // EOF for the server, which then stops; it has nothing left in flight, so a server
    // slow to stop is not waited for long.
    session.close().await;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), serving).await;
    Ok(outcome)
}

/// Write one JSON-RPC message as a line.
async fn send<W: AsyncWriteExt + Unpin>(write: &mut W, message: Value) -> Result<(), CallError> {
    let mut line = message.to_string().into_bytes();
    line.push(b'\n');
    write
        .write_all(&line)
        .await
        .map_err(|e| CallError::NoAnswer(e.to_string()))
}

/// Read lines until the response to request `id` (notifications are skipped).
async fn answer<R: tokio::io::AsyncBufRead + Unpin>(
    lines: &mut tokio::io::Lines<R>,
    id: u64,
) -> Result<Value, CallError> {
    loop {
        let line = lines
            .next_line()
            .await
            .map_err(|e| CallError::NoAnswer(e.to_string()))?
            .ok_or_else(|| CallError::NoAnswer("the server closed the connection".into()))?;
        let message: Value = serde_json::from_str(&line)
            .map_err(|e| CallError::NoAnswer(format!("unreadable reply: {e}")))?;
        if message.get("id") == Some(&json!(id)) {
            return Ok(message);
        }
    }
}

/// The outcome a `tools/call` response carries.
fn outcome(reply: Value) -> CallOutcome {
    if let Some(error) = reply.get("error") {
        return CallOutcome::Refused(error.clone());
    }
    let result = reply.get("result").cloned().unwrap_or(Value::Null);
    let value = match result.get("structuredContent") {
        Some(structured) => structured.clone(),
        None => {
            let text: String = result
                .get("content")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|block| block.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n");
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        }
    };
    if result.get("isError") == Some(&Value::Bool(true)) {
        CallOutcome::Failed(value)
    } else {
        CallOutcome::Done(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_result_is_read_from_its_text() {
        let reply = json!({"id": 2, "result": {"isError": true, "content": [
            {"type": "text", "text": "{\"error\":\"no such file\",\"status\":404}"}
        ]}});
        assert_eq!(
            outcome(reply),
            CallOutcome::Failed(json!({"error": "no such file", "status": 404}))
        );
    }

    #[test]
    fn a_result_prefers_its_structured_content() {
        let reply = json!({"id": 2, "result": {
            "content": [{"type": "text", "text": "ignored"}],
            "structuredContent": {"path": "a"}
        }});
        assert_eq!(outcome(reply), CallOutcome::Done(json!({"path": "a"})));
    }

    #[test]
    fn a_protocol_error_is_a_refusal() {
        let reply = json!({"id": 2, "error": {"code": -32602, "message": "unknown tool"}});
        assert!(matches!(outcome(reply), CallOutcome::Refused(_)));
    }
}
