//! SearXNG's search endpoint (`/search` and `/`, GET query or POST form): the format
//! check (403 unless `format=json` and JSON is enabled), the query check (400
//! `{"error":"No query"}`), `pageno` validation (400 `Invalid value "…" for parameter
//! pageno`), the `categories` filter and the JSON result page. No routing, no logging.

use serde_json::{Value, json};

use super::corpus::{self, Document};
use super::state::SearchState;
use super::{Params, Reply, json_reply, text_reply, url_parts};

/// Results per page (SearXNG's default engines give about this many).
pub(crate) const PAGE_SIZE: usize = 10;

/// SearXNG's category names; others in `categories` are ignored.
const KNOWN_CATEGORIES: &[&str] = &[
    "general",
    "images",
    "videos",
    "news",
    "map",
    "music",
    "it",
    "science",
    "files",
    "social media",
];

/// `GET|POST /search`.
pub(crate) fn search(state: &SearchState, params: &Params) -> Reply {
    let format = params.get("format").unwrap_or("html");
    if format != "json" || !state.json_enabled() {
        // flask.abort(403): the format is not in settings.yml's search.formats.
        return text_reply(403, "Forbidden");
    }
    let query = params.get("q").unwrap_or_default();
    if query.is_empty() {
        return json_reply(400, &json!({ "error": "No query" }));
    }
    let pageno_raw = params.get("pageno").unwrap_or("1");
    let pageno = match pageno_raw.parse::<usize>() {
        Ok(n) if n >= 1 && pageno_raw.bytes().all(|b| b.is_ascii_digit()) => n,
        _ => {
            return json_reply(
                400,
                &json!({ "error": format!("Invalid value \"{pageno_raw}\" for parameter pageno") }),
            );
        }
    };
    let categories: Vec<&str> = params
        .get("categories")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|c| KNOWN_CATEGORIES.contains(c))
        .collect();
    let docs: Vec<Document> = state
        .documents()
        .into_iter()
        .filter(|d| categories.is_empty() || categories.contains(&d.category.as_str()))
        .collect();
    let hits = corpus::rank(&docs, &corpus::query_terms(query));
    let results: Vec<Value> = hits
        .iter()
        .enumerate()
        .skip((pageno - 1).saturating_mul(PAGE_SIZE))
        .take(PAGE_SIZE)
        .map(|(i, hit)| {
            let d = hit.doc;
            let (scheme, netloc, path) = url_parts(&d.url);
            json!({
                "url": d.url,
                "title": d.title,
                "content": d.text,
                "engine": d.engine,
                "parsed_url": [scheme, netloc, path, "", "", ""],
                "template": "default.html",
                "engines": [d.engine],
                "positions": [i + 1],
                "score": hit.score,
                "category": d.category,
                "publishedDate": null,
            })
        })
        .collect();
    json_reply(
        200,
        &json!({
            "query": query,
            "number_of_results": hits.len(),
            "results": results,
            "answers": [],
            "corrections": [],
            "infoboxes": [],
            "suggestions": [],
            "unresponsive_engines": [],
        }),
    )
}
