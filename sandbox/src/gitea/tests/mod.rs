//! Behaviour tests of the Gitea sandbox: a sandbox on 127.0.0.1:0 per test, driven over
//! HTTP with reqwest (redirects not followed) and seeded through the test controls.

mod auth;
mod contents;
mod git;
mod issues;
mod provisioning;
mod repos;

use std::sync::Arc;

use reqwest::{Client, Method, StatusCode};
use serde_json::Value;

use super::{GiteaSandbox, GiteaState};

/// Who a request is sent as.
#[derive(Debug, Clone, Copy)]
pub(super) enum As<'a> {
    /// The seeded admin's token.
    Admin,
    /// `Authorization: token …`.
    Token(&'a str),
    /// `Authorization: Bearer …`.
    Bearer(&'a str),
    /// HTTP Basic.
    Basic(&'a str, &'a str),
    /// A raw `Authorization` header value.
    Header(&'a str),
    /// No credentials.
    Anon,
}

/// A started sandbox and an HTTP client.
pub(super) struct Env {
    pub sb: GiteaSandbox,
    pub http: Client,
    pub dir: tempfile::TempDir,
}

/// An answer: status, headers and the body as JSON (`Null` when not JSON).
pub(super) struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }

    pub fn message(&self) -> String {
        self.body["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

impl Env {
    pub async fn new() -> Env {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().unwrap();
        let sb = GiteaSandbox::start(dir.path(), 0).await.unwrap();
        let http = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Env { sb, http, dir }
    }

    pub fn state(&self) -> &Arc<GiteaState> {
        self.sb.state()
    }

    /// `path` relative to `/api/v1` unless it starts with `/` + `api` or `http`.
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else if path.starts_with("/api/") || path.ends_with(".git") || path.contains(".git/") {
            format!("{}{path}", self.sb.base_url())
        } else {
            format!("{}{path}", self.sb.api_url())
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        who: As<'_>,
        body: Option<Value>,
    ) -> Answer {
        let mut rb = self.http.request(method, self.url(path));
        rb = match who {
            As::Admin => rb.header("Authorization", format!("token {}", self.sb.admin_token())),
            As::Token(t) => rb.header("Authorization", format!("token {t}")),
            As::Bearer(t) => rb.header("Authorization", format!("Bearer {t}")),
            As::Basic(u, p) => rb.basic_auth(u, Some(p)),
            As::Header(h) => rb.header("Authorization", h),
            As::Anon => rb,
        };
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, As::Admin, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path, As::Admin, Some(body)).await
    }

    /// A user with a password and no must-change-password; returns its token of
    /// `scopes`.
    pub fn user(&self, login: &str, scopes: &[&str]) -> String {
        self.state().create_user(
            login,
            &format!("{login}@example.com"),
            "password-123",
            false,
            false,
        );
        self.state().create_token(login, "t", scopes)
    }
}
