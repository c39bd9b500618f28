//! The Gitea REST client: `Authorization: token …`, one method per endpoint, pages via
//! `page`/`limit` with `X-Total-Count`/`Link`. Quirks handled here (reference gitea.md
//! §9): issue lists pass `type=issues`; issue creation takes label ids; `PATCH` of an
//! issue answers 201; content updates need the blob sha; token creation needs Basic
//! auth with a password; writes are never redirected.

mod admin;
mod issues;
mod types;

use std::sync::Arc;

use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Value, json};

pub use admin::TeamSpec;
pub use types::*;

use super::http::{Auth, Call, ClientError, Http, HttpConfig};

/// Largest page Gitea serves by default (`MAX_RESPONSE_ITEMS`).
pub const MAX_PAGE: u32 = 50;

/// A Gitea server reached with one token.
#[derive(Debug, Clone)]
pub struct GiteaClient {
    http: Arc<Http>,
    web_base: String,
}

/// A file to create or update in one commit.
#[derive(Debug, Clone, Copy)]
pub struct FileChange<'a> {
    /// Path within the repository.
    pub path: &'a str,
    /// New content (raw bytes; sent base64).
    pub content: &'a [u8],
    /// Commit message.
    pub message: &'a str,
    /// Branch (default: the default branch).
    pub branch: Option<&'a str>,
}

/// Which issues to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueState {
    /// Open only (Gitea's default).
    Open,
    /// Closed only.
    Closed,
    /// Both.
    All,
}

impl IssueState {
    fn as_str(self) -> &'static str {
        match self {
            IssueState::Open => "open",
            IssueState::Closed => "closed",
            IssueState::All => "all",
        }
    }
}

/// The API base (`…/api/v1`) and the web base for a configured Gitea URL, which may be
/// given with or without the `/api/v1` suffix.
pub fn split_base(url: &str) -> (String, String) {
    let url = url.trim().trim_end_matches('/');
    match url.strip_suffix("/api/v1") {
        Some(web) => (url.to_string(), web.to_string()),
        None => (format!("{url}/api/v1"), url.to_string()),
    }
}

fn path_segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

impl GiteaClient {
    /// A client for the Gitea at `url` (with or without `/api/v1`) using `token`.
    pub fn new(url: &str, token: SecretString, config: HttpConfig) -> Self {
        let (api, web) = split_base(url);
        Self::with_api_base(&api, &web, token, config)
    }

    /// A client whose API is at `api_base` exactly (e.g. behind a validating proxy).
    pub fn with_api_base(
        api_base: &str,
        web_base: &str,
        token: SecretString,
        config: HttpConfig,
    ) -> Self {
        GiteaClient {
            http: Http::new("Gitea", api_base, Auth::Token(token), config),
            web_base: web_base.trim_end_matches('/').to_string(),
        }
    }

    /// The same Gitea reached with another token (the bot's), same base and settings.
    pub fn with_token(&self, token: SecretString) -> GiteaClient {
        GiteaClient {
            http: self.http.with_auth(Auth::Token(token)),
            web_base: self.web_base.clone(),
        }
    }

    /// The API base URL (`…/api/v1`, or the proxy in front of it).
    pub fn api_base(&self) -> &str {
        self.http.base()
    }

    /// The web base URL (clone URLs start with it).
    pub fn web_base(&self) -> &str {
        &self.web_base
    }

    async fn page<T: serde::de::DeserializeOwned>(
        &self,
        call: Call,
        page: u32,
        limit: u32,
    ) -> Result<Page<T>, ClientError> {
        let page = page.max(1);
        let limit = limit.clamp(1, MAX_PAGE);
        let method = call.method.to_string();
        let path = format!("/{}", call.segments.join("/"));
        let answer = self
            .http
            .send(call.query("page", page).query("limit", limit))
            .await?;
        let items: Vec<T> = answer
            .json()
            .map_err(|why| ClientError::undecodable("Gitea", method, path, why))?;
        let total = answer
            .header("x-total-count")
            .and_then(|t| t.trim().parse::<u64>().ok());
        let linked_next = answer
            .header("link")
            .is_some_and(|l| l.contains("rel=\"next\""));
        let has_next = match total {
            Some(total) => u64::from(page) * u64::from(limit) < total,
            None => linked_next || items.len() as u32 >= limit,
        };
        Ok(Page {
            items,
            page,
            limit,
            total,
            has_next,
        })
    }

    /// Every page of a list, up to `max_items` items.
    async fn all<T: serde::de::DeserializeOwned>(
        &self,
        call: Call,
        max_items: usize,
    ) -> Result<Vec<T>, ClientError> {
        let mut items = Vec::new();
        let mut page = 1;
        loop {
            let got: Page<T> = self.page(call.clone(), page, MAX_PAGE).await?;
            let more = got.has_next && !got.items.is_empty();
            items.extend(got.items);
            if !more || items.len() >= max_items {
                items.truncate(max_items);
                return Ok(items);
            }
            page += 1;
        }
    }

    /// `GET /version`.
    pub async fn version(&self) -> Result<String, ClientError> {
        let v: Value = self.http.json(Call::new(Method::GET, &["version"])).await?;
        Ok(v.get("version")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string())
    }

    /// `GET /user/repos`: repositories the token's user can see as a member.
    pub async fn list_my_repos(
        &self,
        page: u32,
        limit: u32,
    ) -> Result<Page<Repository>, ClientError> {
        self.page(Call::new(Method::GET, &["user", "repos"]), page, limit)
            .await
    }

    /// `GET /orgs/{org}/repos`.
    pub async fn list_org_repos(
        &self,
        org: &str,
        page: u32,
        limit: u32,
    ) -> Result<Page<Repository>, ClientError> {
        self.page(Call::new(Method::GET, &["orgs", org, "repos"]), page, limit)
            .await
    }

    /// `GET /users/{user}/repos`.
    pub async fn list_user_repos(
        &self,
        user: &str,
        page: u32,
        limit: u32,
    ) -> Result<Page<Repository>, ClientError> {
        self.page(
            Call::new(Method::GET, &["users", user, "repos"]),
            page,
            limit,
        )
        .await
    }

    /// Every repository of an org (up to `max`).
    pub async fn all_org_repos(
        &self,
        org: &str,
        max: usize,
    ) -> Result<Vec<Repository>, ClientError> {
        self.all(Call::new(Method::GET, &["orgs", org, "repos"]), max)
            .await
    }

    /// Every repository the token's user can see (up to `max`).
    pub async fn all_my_repos(&self, max: usize) -> Result<Vec<Repository>, ClientError> {
        self.all(Call::new(Method::GET, &["user", "repos"]), max)
            .await
    }

    /// `GET /repos/{owner}/{repo}`.
    pub async fn get_repo(&self, owner: &str, repo: &str) -> Result<Repository, ClientError> {
        self.http
            .json(Call::new(Method::GET, &["repos", owner, repo]))
            .await
    }

    /// `POST /orgs/{org}/repos` (409 when the name is taken).
    pub async fn create_org_repo(
        &self,
        org: &str,
        name: &str,
        private: bool,
        auto_init: bool,
    ) -> Result<Repository, ClientError> {
        self.create_described_org_repo(org, name, private, auto_init, "")
            .await
    }

    /// `POST /orgs/{org}/repos` with a description (409 when the name is taken).
    pub async fn create_described_org_repo(
        &self,
        org: &str,
        name: &str,
        private: bool,
        auto_init: bool,
        description: &str,
    ) -> Result<Repository, ClientError> {
        let mut body = json!({"name": name, "private": private, "auto_init": auto_init, "default_branch": "main"});
        if !description.is_empty() {
            body["description"] = json!(description);
        }
        self.http
            .json(Call::new(Method::POST, &["orgs", org, "repos"]).json(body))
            .await
    }

    /// `GET /repos/{owner}/{repo}/contents/{path}?ref=`: a file (base64) or a listing.
    pub async fn get_contents(
        &self,
        owner: &str,
        repo: &str,
        path: &str,
        git_ref: Option<&str>,
    ) -> Result<ContentsAnswer, ClientError> {
        let mut segments = vec!["repos", owner, repo, "contents"];
        segments.extend(path_segments(path));
        let mut call = Call::new(Method::GET, &segments);
        if let Some(r) = git_ref {
            call = call.query("ref", r);
        }
        self.http.json_shaped(call, ContentsAnswer::read).await
    }

    /// `GET /repos/{owner}/{repo}/raw/{path}?ref=`: raw bytes (for large files).
    pub async fn get_raw(
        &self,
        owner: &str,
        repo: &str,
        path: &str,
        git_ref: Option<&str>,
    ) -> Result<bytes::Bytes, ClientError> {
        let mut segments = vec!["repos", owner, repo, "raw"];
        segments.extend(path_segments(path));
        let mut call = Call::new(Method::GET, &segments);
        if let Some(r) = git_ref {
            call = call.query("ref", r);
        }
        Ok(self.http.send(call).await?.body)
    }

    /// `POST /repos/{owner}/{repo}/contents/{path}` (create; 422 when it exists).
    pub async fn create_file(
        &self,
        owner: &str,
        repo: &str,
        change: &FileChange<'_>,
    ) -> Result<FileResponse, ClientError> {
        self.change_file(Method::POST, owner, repo, change, None)
            .await
    }

    /// `PUT /repos/{owner}/{repo}/contents/{path}` with the current blob `sha`.
    pub async fn update_file(
        &self,
        owner: &str,
        repo: &str,
        change: &FileChange<'_>,
        sha: &str,
    ) -> Result<FileResponse, ClientError> {
        self.change_file(Method::PUT, owner, repo, change, Some(sha))
            .await
    }

    async fn change_file(
        &self,
        method: Method,
        owner: &str,
        repo: &str,
        change: &FileChange<'_>,
        sha: Option<&str>,
    ) -> Result<FileResponse, ClientError> {
        use base64::Engine as _;
        let mut body = json!({
            "content": base64::engine::general_purpose::STANDARD.encode(change.content),
            "message": change.message,
        });
        if let Some(b) = change.branch {
            body["branch"] = json!(b);
        }
        if let Some(sha) = sha {
            body["sha"] = json!(sha);
        }
        let mut segments = vec!["repos", owner, repo, "contents"];
        segments.extend(path_segments(change.path));
        self.http
            .json(Call::new(method, &segments).json(body))
            .await
    }

    /// `GET /repos/{owner}/{repo}/branches`.
    pub async fn list_branches(
        &self,
        owner: &str,
        repo: &str,
        page: u32,
        limit: u32,
    ) -> Result<Page<Branch>, ClientError> {
        self.page(
            Call::new(Method::GET, &["repos", owner, repo, "branches"]),
            page,
            limit,
        )
        .await
    }

    /// `GET /repos/{owner}/{repo}/branches/{branch}`.
    pub async fn get_branch(
        &self,
        owner: &str,
        repo: &str,
        branch: &str,
    ) -> Result<Branch, ClientError> {
        let mut segments = vec!["repos", owner, repo, "branches"];
        segments.extend(path_segments(branch));
        self.http.json(Call::new(Method::GET, &segments)).await
    }

    /// `POST /repos/{owner}/{repo}/branches` (409 when it exists).
    pub async fn create_branch(
        &self,
        owner: &str,
        repo: &str,
        name: &str,
        from: Option<&str>,
    ) -> Result<Branch, ClientError> {
        let mut body = json!({"new_branch_name": name});
        if let Some(f) = from {
            body["old_ref_name"] = json!(f);
        }
        self.http
            .json(Call::new(Method::POST, &["repos", owner, repo, "branches"]).json(body))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_work_with_or_without_the_api_suffix() {
        assert_eq!(
            split_base("https://g.x"),
            ("https://g.x/api/v1".into(), "https://g.x".into())
        );
        assert_eq!(
            split_base("https://g.x/api/v1/"),
            ("https://g.x/api/v1".into(), "https://g.x".into())
        );
        assert_eq!(
            split_base("http://h:3000/sub"),
            (
                "http://h:3000/sub/api/v1".into(),
                "http://h:3000/sub".into()
            )
        );
    }

    fn contents(body: &str) -> Result<ContentsAnswer, crate::clients::http::Undecodable> {
        crate::clients::http::decode::parse(body.as_bytes()).and_then(ContentsAnswer::read)
    }

    #[test]
    fn contents_answers_decode_as_file_or_listing() {
        let file = contents(r#"{"type":"file","name":"a","path":"a","sha":"s","size":1,"content":"YQ==","encoding":"base64"}"#).unwrap();
        assert!(matches!(file, ContentsAnswer::File(f) if f.content.as_deref() == Some("YQ==")));
        let dir = contents(r#"[{"type":"dir","name":"d","path":"d"}]"#).unwrap();
        assert!(matches!(dir, ContentsAnswer::Dir(d) if d.len() == 1));
    }

    #[test]
    fn an_unreadable_contents_answer_names_the_field_not_a_type() {
        let err =
            contents(r#"[{"type":"file","name":"a"},{"type":"file","size":"big"}]"#).unwrap_err();
        assert_eq!(err.field, "[1].size");
        let err = contents(r#"{"type":"file","size":"big"}"#).unwrap_err();
        assert_eq!(err.field, "size");
        let err = contents(r#""just text""#).unwrap_err();
        assert_eq!(err.field, "");
        assert!(
            err.message.contains("a file object or a directory listing"),
            "{err}"
        );
        assert!(!err.to_string().contains("ContentsAnswer"), "{err}");
    }

    #[test]
    fn access_token_debug_hides_the_token() {
        let t = AccessToken {
            sha1: "0123456789abcdef".into(),
            ..Default::default()
        };
        assert!(!format!("{t:?}").contains("0123456789abcdef"));
    }
}
