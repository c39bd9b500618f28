//! Web search providers: a SearXNG instance's JSON API, or the Brave Search API. Both
//! are normalised to `{title, url, snippet}`.

use std::sync::Arc;

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::http::{Auth, Call, ClientError, Http, HttpConfig};

/// Where Brave's API lives unless configured otherwise.
pub const BRAVE_API_URL: &str = "https://api.search.brave.com";

/// One search result.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct SearchHit {
    /// Page title.
    pub title: String,
    /// Page URL.
    pub url: String,
    /// Text around the match.
    pub snippet: String,
}

/// A configured search provider.
#[derive(Debug, Clone)]
pub enum SearchClient {
    /// A SearXNG instance (`/search?format=json`).
    Searxng { http: Arc<Http> },
    /// The Brave Search API (`/res/v1/web/search`, `X-Subscription-Token`).
    Brave { http: Arc<Http>, key: SecretString },
}

impl SearchClient {
    /// A SearXNG instance at `base_url`.
    pub fn searxng(base_url: &str, config: HttpConfig) -> Self {
        SearchClient::Searxng {
            http: Http::new("SearXNG", base_url, Auth::None, config),
        }
    }

    /// The Brave Search API at `base_url` with `key`.
    pub fn brave(base_url: &str, key: SecretString, config: HttpConfig) -> Self {
        SearchClient::Brave {
            http: Http::new("Brave Search", base_url, Auth::None, config),
            key,
        }
    }

    /// The provider's name.
    pub fn provider(&self) -> &'static str {
        match self {
            SearchClient::Searxng { .. } => "searxng",
            SearchClient::Brave { .. } => "brave",
        }
    }

    /// Search for `query`; at most `limit` hits.
    pub async fn search(&self, query: &str, limit: usize) -> Result<Vec<SearchHit>, ClientError> {
        match self {
            SearchClient::Searxng { http } => {
                let call = Call::new(Method::GET, &["search"])
                    .query("q", query)
                    .query("format", "json");
                let v: Value = http.json(call).await?;
                Ok(hits(&v, &["results"], "content", limit))
            }
            SearchClient::Brave { http, key } => {
                let call = Call::new(Method::GET, &["res", "v1", "web", "search"])
                    .query("q", query)
                    .query("count", limit.clamp(1, 20))
                    .header("X-Subscription-Token", key.expose_secret());
                let v: Value = http.json(call).await?;
                Ok(hits(&v, &["web", "results"], "description", limit))
            }
        }
    }
}

fn hits(v: &Value, path: &[&str], snippet_field: &str, limit: usize) -> Vec<SearchHit> {
    let mut node = v;
    for key in path {
        node = node.get(*key).unwrap_or(&Value::Null);
    }
    let text = |item: &Value, key: &str| {
        item.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    node.as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| SearchHit {
                    title: text(item, "title"),
                    url: text(item, "url"),
                    snippet: strip_tags(&text(item, snippet_field)),
                })
                .filter(|h| !h.url.is_empty())
                .take(limit)
                .collect()
        })
        .unwrap_or_default()
}

/// Brave marks matches with `<strong>`; drop such markup from snippets.
fn strip_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn both_provider_shapes_normalise_to_hits() {
        let searx = json!({"results": [{"title": "A", "url": "https://a", "content": "about a"}, {"title": "no url"}]});
        assert_eq!(
            hits(&searx, &["results"], "content", 10),
            vec![SearchHit {
                title: "A".into(),
                url: "https://a".into(),
                snippet: "about a".into()
            }]
        );
        let brave = json!({"web": {"results": [{"title": "B", "url": "https://b", "description": "the <strong>b</strong> page"}]}});
        assert_eq!(
            hits(&brave, &["web", "results"], "description", 10)[0].snippet,
            "the b page"
        );
        assert!(hits(&json!({}), &["results"], "content", 10).is_empty());
        assert_eq!(
            hits(
                &json!({"results": [{"url": "1"}, {"url": "2"}]}),
                &["results"],
                "content",
                1
            )
            .len(),
            1
        );
    }
}
