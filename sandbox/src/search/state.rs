//! The search sandbox's state and test controls: the corpus, the Brave subscription key,
//! whether SearXNG's JSON format is enabled, the request log and injected faults. No
//! HTTP here.

use std::sync::Mutex;

use super::corpus::{self, Document};
use crate::faults::{self, Fault, Observer};
use crate::relock;

/// One request the sandbox answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path as sent (e.g. `/search`, `/res/v1/web/search`).
    pub path: String,
    /// The raw query string (empty when none).
    pub query: String,
    /// The raw form body of a `POST /search` (`None` for reads and empty bodies).
    pub body: Option<String>,
    /// The `X-Subscription-Token` header sent (Brave's credential), if any.
    pub subscription_token: Option<String>,
    /// The status answered; 0 while still running (or when the client gave up first).
    pub status: u16,
}

/// The whole sandbox state, shared by the server and the test that started it.
#[derive(Debug)]
pub struct SearchState {
    brave_key: String,
    docs: Mutex<Vec<Document>>,
    json_enabled: Mutex<bool>,
    /// The request log and injected faults.
    pub(crate) observer: Observer<RecordedRequest>,
}

impl SearchState {
    /// The built-in corpus, JSON enabled, Brave key `brave_key`.
    pub(crate) fn new(brave_key: String) -> SearchState {
        SearchState {
            brave_key,
            docs: Mutex::new(corpus::builtin()),
            json_enabled: Mutex::new(true),
            observer: Observer::new(),
        }
    }

    /// The key the Brave route accepts in `X-Subscription-Token` (random per start).
    pub fn brave_key(&self) -> String {
        self.brave_key.clone()
    }

    /// Add a document after the others (engine `sandbox`, category `general`, no age);
    /// it is found like the built-in ones.
    pub fn add_document(&self, title: &str, url: &str, text: &str) {
        relock(&self.docs).push(Document {
            title: title.to_string(),
            url: url.to_string(),
            text: text.to_string(),
            engine: "sandbox".to_string(),
            category: "general".to_string(),
            age: None,
        });
    }

    /// Remove every document, built-in ones included (then only added ones are found).
    pub fn clear_documents(&self) {
        relock(&self.docs).clear();
    }

    /// How many documents can be found.
    pub fn document_count(&self) -> usize {
        relock(&self.docs).len()
    }

    /// Enable or disable SearXNG's `json` output format (enabled at start); disabled,
    /// `format=json` answers 403 like an instance whose `search.formats` lacks it.
    pub fn set_json_enabled(&self, enabled: bool) {
        *relock(&self.json_enabled) = enabled;
    }

    pub(crate) fn json_enabled(&self) -> bool {
        *relock(&self.json_enabled)
    }

    /// A snapshot of the corpus (no lock held afterwards).
    pub(crate) fn documents(&self) -> Vec<Document> {
        relock(&self.docs).clone()
    }
}

faults::observer_controls!(
    SearchState,
    RecordedRequest,
    Fault,
    "A `Status` fault answers, on the Brave route, Brave's `ErrorResponse` (429 → \
    `RATE_LIMITED`), elsewhere the status text as SearXNG's limiter and proxies answer \
    it; prefixes match the path as sent (e.g. `/search`, `/res/v1/`)."
);
