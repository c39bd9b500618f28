//! Plumbing shared by the Gitea sandbox handlers: Gitea's error body, JSON replies, query
//! and body parsing, pagination (`page`/`limit`, `X-Total-Count`, `Link`), percent
//! decoding and time formatting. No state, no routing, no git.

use std::time::SystemTime;

use axum::body::Body;
use axum::http::{HeaderValue, Response, StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

pub(crate) use crate::plumbing::{Reply, percent_decode, percent_encode};
use crate::plumbing::{query_pairs, reply, status_code};

/// What a handler answers.
pub(crate) type ApiResult = Result<Reply, ApiErr>;

/// `[api] DEFAULT_PAGING_NUM`: the page size when `limit` is absent or ≤ 0.
pub(crate) const DEFAULT_PAGING_NUM: usize = 30;
/// `[api] MAX_RESPONSE_ITEMS`: larger `limit`s are silently capped to this.
pub(crate) const MAX_RESPONSE_ITEMS: usize = 50;

/// A refusal, rendered the way Gitea renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ApiErr {
    /// `{"message": …, "url": "<base>/api/swagger"}` (`APIError`), or only
    /// `{"message": …}` when `url` is false (middleware refusals such as
    /// must-change-password).
    Json {
        status: u16,
        message: String,
        url: bool,
    },
    /// A status with an empty body (`ctx.Status(403)`).
    Empty(u16),
    /// 301 to another path (renamed repository).
    Redirect(String),
}

impl ApiErr {
    /// `APIError(status, message)`.
    pub(crate) fn new(status: u16, message: impl Into<String>) -> Self {
        ApiErr::Json {
            status,
            message: message.into(),
            url: true,
        }
    }

    /// A refusal carrying only `message` (no `url`), as Gitea's auth middleware answers.
    pub(crate) fn bare(status: u16, message: impl Into<String>) -> Self {
        ApiErr::Json {
            status,
            message: message.into(),
            url: false,
        }
    }

    /// `APIErrorNotFound()`: 404 `{"message":"not found"}`.
    pub(crate) fn not_found() -> Self {
        ApiErr::new(404, "not found")
    }

    /// 422 with a binding-style or validation message.
    pub(crate) fn unprocessable(message: impl Into<String>) -> Self {
        ApiErr::new(422, message)
    }

    /// 403 with a message.
    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        ApiErr::new(403, message)
    }

    /// 500 for a sandbox-side failure (git, disk).
    pub(crate) fn internal(message: impl std::fmt::Display) -> Self {
        ApiErr::new(500, message.to_string())
    }

    /// 422 `[Field]: Required`, the binding failure for a missing required field.
    pub(crate) fn required(field: &str) -> Self {
        ApiErr::unprocessable(format!("[{field}]: Required"))
    }

    /// The HTTP answer; `base` is the server root URL (for the swagger link).
    pub(crate) fn into_reply(self, base: &str) -> Reply {
        match self {
            ApiErr::Json {
                status,
                message,
                url,
            } => {
                let body = if url {
                    json!({ "message": message, "url": format!("{base}/api/swagger") })
                } else {
                    json!({ "message": message })
                };
                json_reply(status, &body)
            }
            ApiErr::Empty(status) => Response::builder()
                .status(status_code(status))
                .body(Body::empty())
                .unwrap_or_default(),
            ApiErr::Redirect(location) => Response::builder()
                .status(StatusCode::MOVED_PERMANENTLY)
                .header(header::LOCATION, location)
                .body(Body::empty())
                .unwrap_or_default(),
        }
    }
}

impl From<std::io::Error> for ApiErr {
    fn from(e: std::io::Error) -> Self {
        ApiErr::internal(e)
    }
}

/// A JSON answer with `status`.
pub(crate) fn json_reply(status: u16, body: &Value) -> Reply {
    reply(status, "application/json;charset=utf-8", body.to_string())
}

/// `Ok` JSON answer.
pub(crate) fn ok_json(status: u16, body: Value) -> ApiResult {
    Ok(json_reply(status, &body))
}

/// 204 No Content.
pub(crate) fn no_content() -> ApiResult {
    Ok(Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Body::empty())
        .unwrap_or_default())
}

/// The query string of a request, parsed once.
#[derive(Debug, Clone, Default)]
pub(crate) struct Query {
    /// Decoded pairs in order.
    pub pairs: Vec<(String, String)>,
}

impl Query {
    /// Parse a raw query string (`a=1&b=x`).
    pub(crate) fn parse(raw: &str) -> Query {
        Query {
            pairs: query_pairs(raw),
        }
    }

    /// The first value of `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `key`, trimmed, empty when absent (`FormTrim`).
    pub(crate) fn trimmed(&self, key: &str) -> &str {
        self.get(key).map(str::trim).unwrap_or_default()
    }

    /// Gitea's `FormInt`/`FormInt64`: the value as an integer, **0 when absent or not a
    /// number** (Gitea ignores the parse error; it never answers 400/422 for these).
    pub(crate) fn int(&self, key: &str) -> i64 {
        self.get(key)
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0)
    }

    /// `FormBool`-like: `Some(true|false)` when present and parseable.
    pub(crate) fn bool(&self, key: &str) -> Option<bool> {
        match self.get(key)?.trim() {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
            "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
            _ => None,
        }
    }
}

/// A page request as `utils.GetListOptions` reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Paging {
    /// 1-based page.
    pub page: usize,
    /// Page size after defaulting and capping.
    pub limit: usize,
    /// The raw `page` as sent (0 when absent), used for the Link header like Gitea.
    pub raw_page: i64,
}

impl Paging {
    /// From `page` and `limit`: `limit` ≤ 0 → 30, `limit` > 50 → 50, `page` ≤ 0 → 1.
    pub(crate) fn from_query(q: &Query) -> Paging {
        let raw_page = q.int("page");
        let limit = q.int("limit");
        let limit = if limit <= 0 {
            DEFAULT_PAGING_NUM
        } else {
            (limit as usize).min(MAX_RESPONSE_ITEMS)
        };
        Paging {
            page: raw_page.max(1) as usize,
            limit,
            raw_page,
        }
    }

    /// The items of this page.
    pub(crate) fn slice<T: Clone>(&self, items: &[T]) -> Vec<T> {
        let start = (self.page - 1).saturating_mul(self.limit);
        items.iter().skip(start).take(self.limit).cloned().collect()
    }
}

/// Where a list answer's `Link` URLs point: server root, request path and query.
pub(crate) struct LinkBase<'a> {
    pub base: &'a str,
    pub path: &'a str,
    pub query: &'a Query,
}

/// A list answer with `X-Total-Count` and, when there is more than one page, `Link`
/// (`rel="next"`, `"last"`, `"first"`, `"prev"`; absolute URLs built from the server
/// root like Gitea's `genAPILinks`, joined with `,`).
pub(crate) fn paged_reply(at: &LinkBase<'_>, total: usize, paging: Paging, body: Value) -> Reply {
    let mut reply = json_reply(200, &body);
    let headers = reply.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&total.to_string()) {
        headers.insert("x-total-count", v);
    }
    let links = link_header(at, total, paging.limit, paging.raw_page);
    let mut expose = "X-Total-Count".to_string();
    if let Some(links) = links.and_then(|l| HeaderValue::from_str(&l).ok()) {
        headers.insert(header::LINK, links);
        expose.push_str(", Link");
    }
    if let Ok(v) = HeaderValue::from_str(&expose) {
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, v);
    }
    reply
}

/// Gitea's paginator (`modules/paginator`) applied to `genAPILinks`.
fn link_header(at: &LinkBase<'_>, total: usize, page_size: usize, raw_page: i64) -> Option<String> {
    let page_size = page_size.max(1);
    let total_pages = if total == 0 {
        1
    } else {
        total.div_ceil(page_size)
    };
    let current = (raw_page.max(1) as usize).min(total_pages);
    let has_next = total > current * page_size;
    let is_last = total == 0 || (total > (current - 1) * page_size && !has_next);
    let mut links = Vec::new();
    let url_for = |page: usize| {
        let mut pairs: Vec<(String, String)> = at
            .query
            .pairs
            .iter()
            .filter(|(k, _)| k != "page")
            .cloned()
            .collect();
        pairs.push(("page".to_string(), page.to_string()));
        // url.Values.Encode sorts by key (stable for repeated keys).
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        let query = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        format!("{}{}?{}", at.base, at.path, query)
    };
    if has_next {
        links.push(format!("<{}>; rel=\"next\"", url_for(current + 1)));
    }
    if !is_last {
        links.push(format!("<{}>; rel=\"last\"", url_for(total_pages)));
    }
    if current != 1 {
        links.push(format!("<{}>; rel=\"first\"", url_for(1)));
    }
    if current > 1 {
        links.push(format!("<{}>; rel=\"prev\"", url_for(current - 1)));
    }
    (!links.is_empty()).then(|| links.join(","))
}

/// Decode a JSON body; an empty body reads as `{}`. Malformed JSON or a field of the
/// wrong type is a binding failure: 422.
pub(crate) fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiErr> {
    let text = if body.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        body
    };
    serde_json::from_slice(text).map_err(|e| ApiErr::unprocessable(format!("[]: Json: {e}")))
}

/// A required string field: absent or empty → 422 `[Field]: Required`.
pub(crate) fn required<'a>(field: &str, value: &'a Option<String>) -> Result<&'a str, ApiErr> {
    match value.as_deref() {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(ApiErr::required(field)),
    }
}

/// Encode a query key or value as Go's `url.QueryEscape` (space as `+`).
fn form_encode(s: &str) -> String {
    percent_encode(s).replace("%20", "+")
}

/// RFC 3339 in UTC, seconds precision (`2026-08-01T12:00:00Z`), as Gitea's JSON times.
pub(crate) fn fmt_time(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(query: &str, total: usize, limit: usize) -> Option<String> {
        let q = Query::parse(query);
        let paging = Paging::from_query(&q);
        let at = LinkBase {
            base: "http://h",
            path: "/api/v1/x",
            query: &q,
        };
        link_header(&at, total, limit, paging.raw_page)
    }

    #[test]
    fn limit_defaults_to_30_and_caps_at_50_and_bad_numbers_read_as_zero() {
        let p = |q: &str| Paging::from_query(&Query::parse(q));
        assert_eq!(p("").limit, 30);
        assert_eq!(p("limit=0").limit, 30);
        assert_eq!(p("limit=-4").limit, 30);
        assert_eq!(p("limit=100").limit, 50);
        assert_eq!(p("limit=7").limit, 7);
        assert_eq!(
            p("limit=abc&page=xyz"),
            Paging {
                page: 1,
                limit: 30,
                raw_page: 0
            }
        );
        assert_eq!(p("page=3").page, 3);
    }

    #[test]
    fn link_header_names_next_last_first_prev_like_gitea() {
        assert_eq!(
            links("limit=50", 60, 50).as_deref(),
            Some(
                "<http://h/api/v1/x?limit=50&page=2>; rel=\"next\",<http://h/api/v1/x?limit=50&page=2>; rel=\"last\""
            )
        );
        assert_eq!(
            links("page=2&limit=50", 60, 50).as_deref(),
            Some(
                "<http://h/api/v1/x?limit=50&page=1>; rel=\"first\",<http://h/api/v1/x?limit=50&page=1>; rel=\"prev\""
            )
        );
        assert_eq!(links("", 3, 30), None);
        assert_eq!(links("", 0, 30), None);
    }

    #[test]
    fn percent_decoding_keeps_invalid_escapes() {
        assert_eq!(percent_decode("a%20b%2Fc"), "a b/c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_encode("a b/c"), "a%20b%2Fc");
    }
}
