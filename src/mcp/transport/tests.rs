//! The transport's bookkeeping, driven in-process over `tokio::io::duplex`: what reaches
//! rmcp, what is queued, what is answered busy, and when a request stops counting.

use std::time::Duration;

use rmcp::model::{EmptyResult, ServerResult};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines};

use super::*;

struct Harness {
    transport: StdioTransport<DuplexStream>,
    input: DuplexStream,
    output: Lines<BufReader<DuplexStream>>,
}

impl Harness {
    fn new() -> Self {
        let (input, server_in) = tokio::io::duplex(16 * 1024 * 1024);
        let (server_out, output) = tokio::io::duplex(16 * 1024 * 1024);
        Harness {
            transport: StdioTransport::new(server_in, server_out),
            input,
            output: BufReader::new(output).lines(),
        }
    }

    async fn write(&mut self, lines: &[String]) {
        let mut all = lines.join("\n");
        all.push('\n');
        self.input.write_all(all.as_bytes()).await.unwrap();
    }

    /// The next message for rmcp, or `None` when none comes within 200 ms.
    async fn receive(&mut self) -> Option<ClientJsonRpcMessage> {
        tokio::time::timeout(Duration::from_millis(200), self.transport.receive())
            .await
            .ok()
            .flatten()
    }

    async fn reply(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(5), self.output.next_line())
            .await
            .expect("a reply within 5 s")
            .unwrap()
            .expect("an open stdout");
        serde_json::from_str(&line).unwrap()
    }

    /// rmcp answers request `id`.
    async fn answer(&mut self, id: i64) {
        let response = ServerJsonRpcMessage::response(
            ServerResult::EmptyResult(EmptyResult {}),
            RequestId::Number(id),
        );
        self.transport.send(response).await.unwrap();
        assert_eq!(self.reply().await["id"], id);
    }
}

fn ping(id: usize) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "ping"}).to_string()
}

fn cancel(id: usize) -> String {
    json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": id}})
        .to_string()
}

fn request_id(m: &ClientJsonRpcMessage) -> i64 {
    match m {
        JsonRpcMessage::Request(r) => match &r.id {
            RequestId::Number(n) => *n,
            RequestId::String(s) => panic!("string id {s}"),
        },
        other => panic!("expected a request, got {other:?}"),
    }
}

/// Past the in-flight bound requests wait; past the queue bound they are answered busy
/// at once; an answer lets the next waiting request through.
#[tokio::test]
async fn requests_past_the_bounds_wait_then_are_refused_busy() {
    let mut h = Harness::new();
    let total = MAX_IN_FLIGHT + MAX_QUEUED + 1;
    h.write(&(1..=total).map(ping).collect::<Vec<_>>()).await;
    for want in 1..=MAX_IN_FLIGHT {
        let m = h.receive().await.expect("a request within the bound");
        assert_eq!(request_id(&m), want as i64);
    }
    assert!(h.receive().await.is_none(), "the bound holds the rest back");
    let busy = h.reply().await;
    assert_eq!(busy["id"], total);
    assert_eq!(busy["error"]["code"], BUSY.0);
    h.answer(1).await;
    let next = h.receive().await.expect("a slot was freed");
    assert_eq!(request_id(&next), MAX_IN_FLIGHT as i64 + 1);
}

/// A cancelled request stops counting, and a cancelled queued request never reaches rmcp.
#[tokio::test]
async fn cancelled_requests_free_their_slot_and_leave_the_queue() {
    let mut h = Harness::new();
    let mut lines: Vec<String> = (1..=MAX_IN_FLIGHT + 1).map(ping).collect();
    lines.push(cancel(MAX_IN_FLIGHT + 1));
    lines.push(ping(MAX_IN_FLIGHT + 2));
    h.write(&lines).await;
    for _ in 0..MAX_IN_FLIGHT {
        h.receive().await.unwrap();
    }
    assert!(h.receive().await.is_none());
    h.write(&[cancel(1)]).await;
    let next = h.receive().await.expect("the cancel freed a slot");
    assert_eq!(
        request_id(&next),
        MAX_IN_FLIGHT as i64 + 2,
        "the cancelled one was skipped"
    );
}

/// A request reusing the id of one still in progress is refused to that id.
#[tokio::test]
async fn a_request_id_still_in_progress_cannot_be_reused() {
    let mut h = Harness::new();
    h.write(&[ping(7), ping(7)]).await;
    assert_eq!(request_id(&h.receive().await.unwrap()), 7);
    assert!(h.receive().await.is_none());
    let refused = h.reply().await;
    assert_eq!(
        (refused["id"].clone(), refused["error"]["code"].clone()),
        (json!(7), json!(-32600))
    );
    h.answer(7).await;
    h.write(&[ping(7)]).await;
    assert_eq!(
        request_id(&h.receive().await.unwrap()),
        7,
        "answered ids may come again"
    );
}

/// The second `initialize` of a session is refused with its id.
#[tokio::test]
async fn a_second_initialize_is_refused() {
    let init = |id: u32| {
        json!({"jsonrpc": "2.0", "id": id, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "t", "version": "0"}}})
        .to_string()
    };
    let mut h = Harness::new();
    h.write(&[init(1), init(2)]).await;
    assert_eq!(request_id(&h.receive().await.unwrap()), 1);
    assert!(h.receive().await.is_none());
    let refused = h.reply().await;
    assert_eq!(refused["id"], 2);
    assert_eq!(refused["error"]["code"], -32600);
}

/// Notifications before the session started would end rmcp's handshake: skipped.
#[tokio::test]
async fn a_notification_before_the_session_is_skipped() {
    let mut h = Harness::new();
    h.write(&[
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string(),
        ping(1),
    ])
    .await;
    assert_eq!(request_id(&h.receive().await.unwrap()), 1);
}

/// Queued requests are still delivered after stdin closes; then the stream ends.
#[tokio::test]
async fn queued_requests_outlive_eof() {
    let mut h = Harness::new();
    h.write(&(1..=MAX_IN_FLIGHT + 1).map(ping).collect::<Vec<_>>())
        .await;
    h.input.shutdown().await.unwrap();
    for _ in 0..MAX_IN_FLIGHT {
        h.receive().await.unwrap();
    }
    assert!(h.receive().await.is_none(), "waits for a slot, not EOF");
    h.answer(3).await;
    assert_eq!(
        request_id(&h.receive().await.unwrap()),
        MAX_IN_FLIGHT as i64 + 1
    );
    let end = tokio::time::timeout(Duration::from_secs(1), h.transport.receive()).await;
    assert!(matches!(end, Ok(None)), "then the stream ends");
}
