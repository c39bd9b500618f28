//! One tool call to a server in this process (`vibn call`): the server is served on an
//! in-memory pipe through the same transport and handler a client reaches over stdio, so
//! the call meets the same limits, guards, pinning and audit; this side speaks just
//! enough JSON-RPC to initialize, call one tool and hang up.

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

/// Serve `server` in process, call `tool` with `arguments`, and close.
pub async fn call_once(
    server: Box<dyn Servable>,
    tool: &str,
    arguments: JsonObject,
) -> Result<CallOutcome, CallError> {
    let (ours, theirs) = tokio::io::duplex(PIPE_BYTES);
    let (server_read, server_write) = tokio::io::split(theirs);
    let serving = tokio::spawn(server.serve_on(Box::new(server_read), Box::new(server_write)));
    let (read, mut write) = tokio::io::split(ours);
    let mut lines = BufReader::new(read).lines();
    send(
        &mut write,
        json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "vibn-call", "version": env!("CARGO_PKG_VERSION")}
        }
        }),
    )
    .await?;
    let init = answer(&mut lines, 1).await?;
    if let Some(error) = init.get("error") {
        return Err(CallError::NoAnswer(format!(
            "initialize was refused: {error}"
        )));
    }
    send(
        &mut write,
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await?;
    send(
        &mut write,
        json!({
        "jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": tool, "arguments": arguments}
        }),
    )
    .await?;
    let reply = answer(&mut lines, 2).await?;
    // Shutting our write half down is EOF for the server, which then stops; it has
    // nothing left in flight, so a server slow to stop is not waited for long.
    let _ = write.shutdown().await;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), serving).await;
    Ok(outcome(reply))
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
