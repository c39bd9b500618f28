//! vibn's stdio transport: rmcp's `Transport<RoleServer>` over a byte stream (stdin and
//! stdout through rmcp's non-blocking pipes), with the guarantees rmcp's own line codec
//! lacks (DESIGN §3):
//!
//! - every line it cannot use gets its JSON-RPC error answer (`-32700` for text that is
//!   not JSON, `-32600` for JSON that is not a request, `-32602` for params that do not fit
//!   the method), to the request's id when one can be read, else to `"id": null`, and is
//!   logged at warn without its content; rmcp's codec drops unparsable lines silently;
//! - a second `initialize` is refused (`-32600`) instead of being answered again;
//! - a line is at most `MAX_LINE_BYTES`; a longer one is answered and skipped without
//!   being held in memory;
//! - at most `MAX_IN_FLIGHT` requests are with rmcp at once; more wait in a bounded queue,
//!   and past that bound a request is answered `-32000` (busy) at once, so memory stays
//!   bounded whatever a client pipelines. Notifications and cancellations always pass.
//!
//! A request counts until its answer has been written to stdout, or until the client
//! cancels it (rmcp then drops the answer). Answers are written by one task, in the order
//! rmcp hands them over. No MCP logic here beyond reading the envelope of a message.

mod classify;
mod frame;

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rmcp::RoleServer;
use rmcp::model::{
    ClientJsonRpcMessage, ClientNotification, ClientRequest, ErrorCode, GetMeta, JsonRpcMessage,
    ProtocolVersion, RequestId, ServerJsonRpcMessage,
};
use rmcp::transport::Transport;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

use classify::{Reply, Verdict, classify, id_of_cut_line, is_initialize};
use frame::{Frame, LineReader};

/// Longest line accepted (bytes). `write_file` takes up to 16 MiB of content
/// (`workspace_api::MAX_FILE_BYTES`); JSON escaping (`\n`, `\"`, `\\`) at most doubles
/// ordinary text, so every such call fits.
pub const MAX_LINE_BYTES: usize = 32 * 1024 * 1024;
/// Requests with rmcp at once; more wait in the queue.
pub const MAX_IN_FLIGHT: usize = 64;
/// Bytes of requests with rmcp at once (one request is always let through).
pub const MAX_IN_FLIGHT_BYTES: usize = 64 * 1024 * 1024;
/// Requests waiting for a slot; past this a request is answered busy.
pub const MAX_QUEUED: usize = 1024;
/// Bytes of requests waiting for a slot; past this a request is answered busy.
pub const MAX_QUEUED_BYTES: usize = 64 * 1024 * 1024;
/// Bytes written by rmcp or the transport and not yet taken by stdout past which no
/// further line is read: a client that does not read its answers is not read from.
pub const MAX_BACKLOG_BYTES: usize = 8 * 1024 * 1024;
/// The JSON-RPC code of the busy answer (implementation-defined server error range).
pub const BUSY: ErrorCode = ErrorCode(-32000);
/// How long `close` waits for answers still being written.
const CLOSE_WAIT: Duration = Duration::from_secs(5);
/// Lines written before the writer flushes and releases their requests.
const WRITE_BATCH: usize = 64;

/// A line for the writer task, with the request it answers (if it answers one).
struct Outgoing {
    line: Vec<u8>,
    answers: Option<RequestId>,
}

/// State shared by the reading side and the writer task.
#[derive(Default)]
struct Counters {
    /// Requests with rmcp, by id, with their size in bytes.
    in_flight: HashMap<RequestId, usize>,
    in_flight_bytes: usize,
    /// Bytes handed to the writer and not yet written.
    backlog_bytes: usize,
    /// Set once stdout failed: nothing more can be written.
    broken: bool,
}

struct Shared {
    counters: Mutex<Counters>,
    /// Wakes the reading side when a request was answered or the backlog shrank.
    progress: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Counters> {
        // A panic while holding this lock cannot leave the counters half-updated in a
        // way that matters more than stopping would, so a poisoned lock is used as is.
        self.counters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Forget request `id` (answered or cancelled) and wake the reading side.
    fn release(&self, id: &RequestId) {
        let mut c = self.lock();
        if let Some(bytes) = c.in_flight.remove(id) {
            c.in_flight_bytes -= bytes;
        }
        drop(c);
        self.progress.notify_one();
    }
}

/// A request read but not yet handed to rmcp.
struct Queued {
    id: RequestId,
    bytes: usize,
    message: ClientJsonRpcMessage,
}

/// The stdio transport of every vibn server; see the module documentation.
pub struct StdioTransport<R> {
    reader: LineReader<R>,
    out: Option<mpsc::UnboundedSender<Outgoing>>,
    writer: Option<JoinHandle<()>>,
    shared: Arc<Shared>,
    queue: VecDeque<Queued>,
    queued_bytes: usize,
    eof: bool,
    /// An `initialize` request has been read: a second one is refused.
    initialize_seen: bool,
    /// Requests refused busy since the last one was let through (logged once per run).
    busy_streak: usize,
    /// rmcp has left its handshake (an `initialize`, or a request of the 2026-07-28 era
    /// with its metadata, went through): until then a notification would end the
    /// session (rmcp expects a request), so it is skipped.
    session_started: bool,
}

impl<R: AsyncRead + Unpin + Send> StdioTransport<R> {
    /// A transport reading `read` and writing `write` (spawns the writer task).
    pub fn new<W: AsyncWrite + Unpin + Send + 'static>(read: R, write: W) -> Self {
        let shared = Arc::new(Shared {
            counters: Mutex::new(Counters::default()),
            progress: Notify::new(),
        });
        let (out, rx) = mpsc::unbounded_channel();
        let writer = tokio::spawn(write_loop(write, rx, shared.clone()));
        StdioTransport {
            reader: LineReader::new(read, MAX_LINE_BYTES),
            out: Some(out),
            writer: Some(writer),
            shared,
            queue: VecDeque::new(),
            queued_bytes: 0,
            eof: false,
            initialize_seen: false,
            session_started: false,
            busy_streak: 0,
        }
    }

    /// Hand `line` to the writer (synchronously, so the order of calls is the order on
    /// stdout).
    fn push(&self, line: Vec<u8>, answers: Option<RequestId>) -> io::Result<()> {
        let closed = || io::Error::new(io::ErrorKind::BrokenPipe, "stdout is closed");
        let out = self.out.as_ref().ok_or_else(closed)?;
        let len = line.len();
        {
            let mut c = self.shared.lock();
            if c.broken {
                return Err(closed());
            }
            c.backlog_bytes += len;
        }
        out.send(Outgoing { line, answers }).map_err(|_| closed())
    }

    /// Write a JSON-RPC error answer of the transport's own.
    fn answer(&self, reply: &Reply) {
        if let Err(e) = self.push(reply.to_line(), None) {
            tracing::debug!(error = %e, "could not answer an unusable line");
        }
    }

    /// True when a request of `bytes` may go to rmcp now.
    fn slot_free(&self, bytes: usize) -> bool {
        let c = self.shared.lock();
        c.in_flight.len() < MAX_IN_FLIGHT
            && (c.in_flight.is_empty() || c.in_flight_bytes + bytes <= MAX_IN_FLIGHT_BYTES)
    }

    /// Count request `id` as with rmcp and return its message.
    fn admit(
        &mut self,
        id: RequestId,
        bytes: usize,
        message: ClientJsonRpcMessage,
    ) -> ClientJsonRpcMessage {
        let mut c = self.shared.lock();
        c.in_flight.insert(id, bytes);
        c.in_flight_bytes += bytes;
        drop(c);
        if let JsonRpcMessage::Request(r) = &message {
            self.session_started |= starts_session(&r.request);
        }
        if self.busy_streak > 0 {
            tracing::warn!(
                refused = self.busy_streak,
                "requests are let through again after refusing some as busy"
            );
            self.busy_streak = 0;
        }
        message
    }

    /// The head of the queue, if a slot is free for it.
    fn admit_queued(&mut self) -> Option<ClientJsonRpcMessage> {
        let bytes = self.queue.front()?.bytes;
        if !self.slot_free(bytes) {
            return None;
        }
        let q = self.queue.pop_front()?;
        self.queued_bytes -= q.bytes;
        Some(self.admit(q.id, q.bytes, q.message))
    }

    fn backlog_full(&self) -> bool {
        let c = self.shared.lock();
        c.backlog_bytes > MAX_BACKLOG_BYTES && !c.broken
    }

    /// What to do with one line: a message for rmcp now, or nothing (answered, queued or
    /// skipped).
    fn take_line(&mut self, line: Vec<u8>) -> Option<ClientJsonRpcMessage> {
        let bytes = line.len();
        let message = match classify(&line) {
            Verdict::Message(message) => *message,
            Verdict::Reply(reply) => {
                warn_unusable(&reply, bytes);
                self.answer(&reply);
                return None;
            }
            Verdict::Skip(reason) => {
                if reason != "blank line" {
                    tracing::warn!(bytes, reason, "skipped an unusable notification");
                }
                return None;
            }
        };
        drop(line);
        match message {
            JsonRpcMessage::Request(request) => {
                let id = request.id.clone();
                let message = JsonRpcMessage::Request(request);
                self.take_request(id, bytes, message)
            }
            JsonRpcMessage::Notification(n) => {
                if let ClientNotification::CancelledNotification(c) = &n.notification
                    && let Some(id) = &c.params.request_id
                {
                    self.cancel(id);
                }
                if !self.session_started {
                    // rmcp's handshake ends the session on anything but a request.
                    tracing::warn!("skipped a notification sent before the session started");
                    return None;
                }
                Some(JsonRpcMessage::Notification(n))
            }
            // Answers to requests of ours (none today) and errors pass as they are.
            other => self.session_started.then_some(other),
        }
    }

    /// A request read from the client: refuse, queue or hand it over.
    fn take_request(
        &mut self,
        id: RequestId,
        bytes: usize,
        message: ClientJsonRpcMessage,
    ) -> Option<ClientJsonRpcMessage> {
        let refuse = |this: &Self, message: &str| {
            let reply = Reply::new(Some(id.clone()), ErrorCode::INVALID_REQUEST, message);
            warn_unusable(&reply, bytes);
            this.answer(&reply);
            None
        };
        if is_initialize(&message) {
            if self.initialize_seen {
                return refuse(self, "Invalid Request: the session is already initialized");
            }
            self.initialize_seen = true;
        }
        let in_use =
            self.shared.lock().in_flight.contains_key(&id) || self.queue.iter().any(|q| q.id == id);
        if in_use {
            return refuse(
                self,
                "Invalid Request: a request with this id is still in progress",
            );
        }
        if self.queue.is_empty() && self.slot_free(bytes) {
            return Some(self.admit(id, bytes, message));
        }
        if self.queue.len() < MAX_QUEUED
            && (self.queue.is_empty() || self.queued_bytes + bytes <= MAX_QUEUED_BYTES)
        {
            self.queued_bytes += bytes;
            self.queue.push_back(Queued { id, bytes, message });
            return None;
        }
        let reply = Reply::new(
            Some(id),
            BUSY,
            format!(
                "server busy: {MAX_IN_FLIGHT} requests in progress and {} waiting; send more \
                 after some answers have arrived",
                self.queue.len()
            ),
        );
        // One warning per run of refusals (a pipelining client can cause thousands).
        if self.busy_streak == 0 {
            tracing::warn!(
                code = BUSY.0,
                id = %display_id(reply.id.as_ref()),
                "refusing requests: {MAX_IN_FLIGHT} in progress and {MAX_QUEUED} waiting"
            );
        }
        self.busy_streak += 1;
        self.answer(&reply);
        None
    }

    /// The client cancelled request `id`: rmcp drops its answer, so it no longer counts;
    /// if it is still queued it never reaches rmcp.
    fn cancel(&mut self, id: &RequestId) {
        if let Some(at) = self.queue.iter().position(|q| &q.id == id)
            && let Some(q) = self.queue.remove(at)
        {
            self.queued_bytes -= q.bytes;
            return;
        }
        self.shared.release(id);
    }

    /// A line over `MAX_LINE_BYTES`: answer it (to its id if its start or end shows one).
    fn take_too_long(&mut self, len: usize, head: &[u8], tail: &[u8]) {
        let reply = Reply::new(
            id_of_cut_line(head, tail),
            ErrorCode::INVALID_REQUEST,
            format!(
                "Invalid Request: the message is {len} bytes; the limit is {MAX_LINE_BYTES} bytes \
                 (32 MiB) per line"
            ),
        );
        warn_unusable(&reply, len);
        self.answer(&reply);
    }
}

/// Requests that take rmcp out of its handshake.
fn starts_session(request: &ClientRequest) -> bool {
    match request {
        ClientRequest::InitializeRequest(_) => true,
        ClientRequest::PingRequest(_) | ClientRequest::DiscoverRequest(_) => false,
        other => other
            .get_meta()
            .missing_required_keys(&ProtocolVersion::V_2026_07_28)
            .is_empty(),
    }
}

fn display_id(id: Option<&RequestId>) -> String {
    id.map_or_else(|| "null".to_string(), ToString::to_string)
}

/// Log an unusable line at warn: its size and what was wrong, never its content.
fn warn_unusable(reply: &Reply, bytes: usize) {
    tracing::warn!(
        code = reply.code.0,
        id = %display_id(reply.id.as_ref()),
        bytes,
        "answered an unusable line: {}",
        reply.message.split(':').next().unwrap_or_default()
    );
}

impl<R: AsyncRead + Unpin + Send + 'static> Transport<RoleServer> for StdioTransport<R> {
    type Error = io::Error;

    fn send(
        &mut self,
        item: ServerJsonRpcMessage,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let answers = match &item {
            JsonRpcMessage::Response(r) => Some(r.id.clone()),
            JsonRpcMessage::Error(e) => e.id.clone(),
            _ => None,
        };
        let result = serde_json::to_vec(&item)
            .map_err(io::Error::other)
            .and_then(|mut line| {
                line.push(b'\n');
                self.push(line, answers)
            });
        std::future::ready(result)
    }

    /// The next message for rmcp. Cancel-safe (rmcp polls it inside a `select!`): every
    /// state change happens synchronously and partial lines stay in the reader.
    async fn receive(&mut self) -> Option<ClientJsonRpcMessage> {
        let shared = self.shared.clone();
        loop {
            let progress = shared.progress.notified();
            if self.backlog_full() {
                progress.await;
                continue;
            }
            if let Some(message) = self.admit_queued() {
                return Some(message);
            }
            if self.eof {
                if self.queue.is_empty() {
                    return None;
                }
                progress.await;
                continue;
            }
            let frame = if self.queue.is_empty() {
                self.reader.next().await
            } else {
                tokio::select! {
                    () = progress => continue,
                    frame = self.reader.next() => frame,
                }
            };
            match frame {
                Frame::Line(line) => {
                    if let Some(message) = self.take_line(line) {
                        return Some(message);
                    }
                }
                Frame::TooLong { len, head, tail } => self.take_too_long(len, &head, &tail),
                Frame::Eof => self.eof = true,
                Frame::Io(e) => {
                    tracing::warn!(error = %e, "reading stdin failed; ending the session");
                    self.eof = true;
                }
            }
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        // Closing the channel lets the writer finish what it holds, then stop.
        self.out = None;
        if let Some(writer) = self.writer.take()
            && tokio::time::timeout(CLOSE_WAIT, writer).await.is_err()
        {
            tracing::warn!("stdout did not take the last answers in time");
        }
        Ok(())
    }
}

/// The writer task: lines in the order they were handed over, flushed in batches; a
/// request counts as answered once its line is flushed.
async fn write_loop<W: AsyncWrite + Unpin>(
    write: W,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
    shared: Arc<Shared>,
) {
    let mut write = BufWriter::with_capacity(64 * 1024, write);
    let mut answered = Vec::with_capacity(WRITE_BATCH);
    let mut broken = false;
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        let mut written = 0usize;
        let mut n = 0;
        while let Some(out) = next.take() {
            written += out.line.len();
            if !broken && let Err(e) = write.write_all(&out.line).await {
                broken = stdout_failed(&shared, &e);
            }
            answered.extend(out.answers);
            n += 1;
            if n < WRITE_BATCH {
                next = rx.try_recv().ok();
            }
        }
        if !broken && let Err(e) = write.flush().await {
            broken = stdout_failed(&shared, &e);
        }
        {
            let mut c = shared.lock();
            c.backlog_bytes -= written;
            for id in answered.drain(..) {
                if let Some(bytes) = c.in_flight.remove(&id) {
                    c.in_flight_bytes -= bytes;
                }
            }
        }
        shared.progress.notify_one();
    }
}

/// stdout failed (the client closed it): note it so nothing more is written.
fn stdout_failed(shared: &Shared, e: &io::Error) -> bool {
    tracing::warn!(error = %e, "writing to stdout failed; answers can no longer be sent");
    shared.lock().broken = true;
    true
}

#[cfg(test)]
mod tests;
