//! The stdio transport as a client meets it: raw bytes into the built binary's stdin,
//! JSON-RPC out of its stdout (issue 10 item 2, issue 9 item 4). Every line the server
//! cannot use is answered — to its id when one can be read — and logged without its
//! content; later requests are still served; requests in flight are bounded.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use crate::support::Workspace;

const BIN: &str = env!("CARGO_BIN_EXE_vibn");

const INIT: &str = r#"{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
/// Written into unusable lines: it must never show up in the server's log.
const MARKER: &str = "LINE-CONTENT-MARKER";

fn read_call(id: u64) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": "read_file", "arguments": {"path": "f.txt"}}})
    .to_string()
}

/// The workspace server on `ws`; `stderr` is piped (read at the end) or discarded.
fn spawn(ws: &Workspace, stderr: Stdio) -> Child {
    Command::new(BIN)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", "/tmp")
        .args(["mcp", "workspace", "--root"])
        .arg(ws.root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap()
}

/// Peak resident memory (VmHWM) of process `pid`, in KiB.
fn peak_rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

/// What one session produced.
struct Session {
    replies: Vec<Value>,
    stderr: String,
    success: bool,
    /// The server's peak RSS (VmHWM) in KiB once the last request was answered.
    peak_kb: u64,
}

impl Session {
    /// The one reply to `id`.
    fn reply(&self, id: Value) -> &Value {
        let found: Vec<&Value> = self.replies.iter().filter(|r| r["id"] == id).collect();
        assert_eq!(found.len(), 1, "one reply to {id}: {:?}", self.replies);
        found[0]
    }

    /// The error code of the one reply to `id`.
    fn code(&self, id: Value) -> i64 {
        self.reply(id.clone())["error"]["code"]
            .as_i64()
            .unwrap_or_else(|| panic!("an error reply to {id}: {:?}", self.replies))
    }

    /// Error replies with `"id": null` (the key present), by code.
    fn null_id_codes(&self) -> Vec<i64> {
        self.replies
            .iter()
            .filter(|r| r.as_object().unwrap().contains_key("id") && r["id"].is_null())
            .map(|r| r["error"]["code"].as_i64().unwrap())
            .collect()
    }
}

/// Open a session (initialize), write `lines` as they are, then one `read_file` call with
/// id 99, close stdin and collect everything.
fn session(lines: &[&[u8]]) -> Session {
    let ws = Workspace::new();
    ws.write("f.txt", "ok\n");
    let mut child = spawn(&ws, Stdio::piped());
    let mut stdin = child.stdin.take().unwrap();
    let mut input = format!("{INIT}\n{INITIALIZED}\n").into_bytes();
    for line in lines {
        input.extend_from_slice(line);
        input.push(b'\n');
    }
    input.extend_from_slice(read_call(99).as_bytes());
    input.push(b'\n');
    // A writer thread: a long input must not fill the pipe while nobody reads stdout.
    // stdin stays open until the answer to 99 is in, so the peak RSS can still be read.
    let mut writer = Some(std::thread::spawn(move || {
        stdin.write_all(&input).unwrap();
        stdin
    }));
    let pid = child.id();
    let mut replies: Vec<Value> = Vec::new();
    let mut peak_kb = 0;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let reply: Value =
            serde_json::from_str(&line.unwrap()).expect("stdout carries only JSON-RPC");
        let last = reply["id"] == 99;
        replies.push(reply);
        if last {
            peak_kb = peak_rss_kb(pid);
            drop(writer.take().map(|w| w.join().unwrap()));
        }
    }
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let success = child.wait().unwrap().success();
    let s = Session {
        replies,
        stderr,
        success,
        peak_kb,
    };
    assert_eq!(
        s.reply(json!(99))["result"]["structuredContent"]["content"],
        "ok\n",
        "the request after the bad lines is served"
    );
    assert!(s.success, "exit 0 on EOF");
    assert!(
        !s.stderr.contains(MARKER),
        "a line's content is never logged: {}",
        s.stderr
    );
    s
}

/// A line that is not JSON gets -32700 with `"id": null`, logged at warn.
#[test]
fn a_malformed_line_gets_a_parse_error_to_a_null_id() {
    let s = session(&[format!("{{\"jsonrpc\":\"2.0\",\"id\":1,{MARKER}").as_bytes()]);
    assert_eq!(s.null_id_codes(), [-32700]);
    assert!(
        s.stderr.contains("WARN") && s.stderr.contains("unusable line"),
        "logged at warn: {}",
        s.stderr
    );
}

/// Bytes that are not UTF-8 get -32700 with `"id": null`.
#[test]
fn a_line_of_invalid_utf8_gets_a_parse_error() {
    let s = session(&[b"\xff\xfe\xfd garbage"]);
    assert_eq!(s.null_id_codes(), [-32700]);
}

/// A lone UTF-16 surrogate escape (a cut emoji) fails strict parsing; the error goes to
/// the request's id so the client does not wait for an answer that never comes.
#[test]
fn a_lone_surrogate_is_answered_to_its_id() {
    let line = format!(
        r#"{{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{{"name":"read_file","arguments":{{"path":"{MARKER}\ud800"}}}}}}"#
    );
    let s = session(&[line.as_bytes()]);
    assert_eq!(s.code(json!(5)), -32700);
    assert!(s.null_id_codes().is_empty());
}

/// Invalid UTF-8 inside a string is answered to the request's id as well.
#[test]
fn invalid_utf8_in_a_string_is_answered_to_its_id() {
    let mut line =
        br#"{"jsonrpc":"2.0","id":"u8","method":"tools/call","params":{"name":"read_file","arguments":{"path":"a"#
            .to_vec();
    line.extend_from_slice(b"\xc3\x28\"}}}");
    let s = session(&[&line]);
    assert_eq!(s.code(json!("u8")), -32700);
}

/// JSON that is not a single request gets -32600, with `"id": null` where no id can be
/// read and with the id where it can.
#[test]
fn json_that_is_not_a_request_gets_invalid_request() {
    let s = session(&[
        br#"[{"jsonrpc":"2.0","id":10,"method":"ping"}]"#,
        br#"{"jsonrpc":"2.0","id":{"nested":true},"method":"ping"}"#,
        br#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
        br#"42"#,
        br#"{"id":11,"method":"ping"}"#,
        br#"{"jsonrpc":"2.0","id":12}"#,
    ]);
    assert_eq!(s.null_id_codes(), [-32600; 4]);
    assert_eq!(s.code(json!(11)), -32600, "missing jsonrpc, id readable");
    assert_eq!(s.code(json!(12)), -32600, "no method");
    assert!(
        !s.replies.iter().any(|r| r["id"] == 10),
        "nothing inside a batch is run"
    );
}

/// A second `initialize` is refused instead of re-initializing the session.
#[test]
fn a_second_initialize_is_refused() {
    let again = INIT.replace("\"init\"", "\"again\"");
    let s = session(&[again.as_bytes()]);
    assert_eq!(s.code(json!("again")), -32600);
}

/// A line over the limit is answered (to the id at its start) and skipped up to its
/// newline without being held whole; the session goes on.
#[test]
fn a_too_long_line_is_answered_and_skipped() {
    let filler = "x".repeat(100 * 1024 * 1024);
    let line = format!(
        r#"{{"jsonrpc":"2.0","id":77,"method":"tools/call","params":{{"name":"write_file","arguments":{{"path":"big.txt","content":"{filler}"}}}}}}"#
    );
    let s = session(&[line.as_bytes()]);
    assert_eq!(s.code(json!(77)), -32600);
    assert!(
        s.reply(json!(77))["error"]["message"]
            .as_str()
            .unwrap()
            .contains("33554432 bytes"),
        "the answer names the limit"
    );
    assert!(
        s.peak_kb < 80 * 1024,
        "a 100 MiB line is not held whole: peak RSS {} MiB",
        s.peak_kb / 1024
    );
}

/// 20,000 pipelined calls: each gets exactly one answer (a result, or a busy error once
/// the queue is full), and the server's memory stays bounded (it grew to 1.77 GB before,
/// issue 9).
#[test]
fn twenty_thousand_pipelined_calls_are_answered_in_bounded_memory() {
    const CALLS: u64 = 20_000;
    let ws = Workspace::new();
    ws.write("f.txt", &"y".repeat(64 * 1024));
    let mut child = spawn(&ws, Stdio::null());
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let mut input = format!("{INIT}\n{INITIALIZED}\n");
        for id in 1..=CALLS {
            input.push_str(&read_call(id));
            input.push('\n');
        }
        stdin.write_all(input.as_bytes()).unwrap();
        stdin
    });
    let mut answered = std::collections::HashSet::new();
    let (mut results, mut busy) = (0, 0);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while answered.len() < CALLS as usize {
        let reply: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
        if reply["id"] == "init" {
            continue;
        }
        assert!(
            answered.insert(reply["id"].as_u64().unwrap()),
            "one answer per id"
        );
        if reply["error"]["code"] == -32000 {
            busy += 1;
        } else {
            assert_eq!(reply["result"]["isError"], false, "{reply}");
            results += 1;
        }
    }
    let peak_kb = peak_rss_kb(pid);
    drop(writer.join().unwrap());
    assert!(child.wait().unwrap().success());
    assert!(results > 0, "calls were served ({busy} busy)");
    assert!(
        peak_kb < 300 * 1024,
        "peak RSS {} MB under {CALLS} pipelined calls",
        peak_kb / 1024
    );
}

/// Threads of process `pid` now (idle blocking threads linger for seconds, so this still
/// counts those a burst started).
fn threads(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

/// A burst of pipelined calls that each need a blocking thread (file reads) is served by a
/// bounded pool: without the bound, tokio starts a thread per waiting call (up to 512, each
/// with its own stack and allocator arena).
#[test]
fn a_pipelined_burst_does_not_start_a_thread_per_call() {
    const CALLS: u64 = 400;
    let ws = Workspace::new();
    ws.write("f.txt", &"y".repeat(256 * 1024));
    let mut child = spawn(&ws, Stdio::null());
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    let mut input = format!("{INIT}\n{INITIALIZED}\n");
    for id in 1..=CALLS {
        input.push_str(&read_call(id));
        input.push('\n');
    }
    let writer = std::thread::spawn(move || {
        stdin.write_all(input.as_bytes()).unwrap();
        stdin
    });
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut answers = 0;
    let mut most = 0;
    while answers < CALLS + 1 {
        let reply: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
        if reply["id"] != "init" {
            assert_eq!(reply["result"]["isError"], false, "{reply}");
        }
        answers += 1;
        most = most.max(threads(pid));
    }
    drop(writer.join().unwrap());
    assert!(child.wait().unwrap().success());
    // main, the blocking pool's eight, and room for two runtime workers per core (the stdio
    // servers run one; the bound does not depend on that).
    let bound = 1 + 2 * std::thread::available_parallelism().map_or(2, |n| n.get() as u64) + 8;
    assert!(
        most <= bound,
        "{most} threads served {CALLS} pipelined reads (bound {bound})"
    );
}
