//! The CLI's only printing module: results on stdout (text or JSON), notes and errors
//! on stderr. Server code never prints; it logs through `tracing`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::time::{Duration, UNIX_EPOCH};

use serde::Serialize;

/// Print a value as pretty JSON on stdout.
pub fn json<T: Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => line(&text),
        Err(e) => eprintln!("vibn: cannot encode the result as JSON: {e}"),
    }
}

/// Print one line on stdout. A reader that went away (`| head`) is not an error worth
/// a panic: the rest of the output is dropped.
pub fn line(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}").and_then(|()| stdout.flush());
}

/// Print a note for the human on stderr (keeps stdout capturable).
pub fn note(text: &str) {
    eprintln!("{text}");
}

/// Print an error on stderr.
pub fn error(text: &str) {
    eprintln!("vibn: {text}");
}

/// Print rows as an aligned table with a header.
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let render = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        out.trim_end().to_string()
    };
    println!("{}", render(header.to_vec()));
    for row in rows {
        println!("{}", render(row.iter().map(String::as_str).collect()));
    }
}

/// A unix-ms time as RFC 3339 (UTC, seconds), or `-`.
pub fn time(ms: Option<i64>) -> String {
    match ms {
        Some(ms) if ms >= 0 => {
            humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(ms as u64))
                .to_string()
        }
        _ => "-".to_string(),
    }
}
