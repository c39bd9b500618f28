//! Behaviour tests of the Coolify sandbox: a sandbox on 127.0.0.1:0 per test, driven
//! over HTTP with reqwest (redirects not followed) and seeded through the test controls.

mod apps;
mod auth;
mod databases;
mod deploy;
mod envs;
mod keys;
mod services;

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use super::{CoolifySandbox, CoolifyState};

/// A started sandbox, an HTTP client and the root token.
pub(super) struct Env {
    pub sb: CoolifySandbox,
    pub http: Client,
    pub root: String,
}

/// An answer: status, headers and the body as JSON (the text as a JSON string when it
/// is not JSON).
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
        let sb = CoolifySandbox::start(0).await.unwrap();
        let http = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let root = sb.root_token();
        // Fast deployments unless a test says otherwise.
        sb.state()
            .set_deploy_timing(Duration::from_millis(40), Duration::from_millis(80));
        Env { sb, http, root }
    }

    pub fn state(&self) -> &Arc<CoolifyState> {
        self.sb.state()
    }

    /// Send `method path` (relative to `/api/v1` unless it starts with `/api`) with
    /// `token` (None = no Authorization) and an optional JSON body.
    pub async fn call_as(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let url = if path.starts_with("/api") {
            format!("{}{path}", self.sb.base_url())
        } else {
            format!("{}{path}", self.sb.api_url())
        };
        let mut rb = self
            .http
            .request(method, url)
            .header("Accept", "application/json");
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call_as(Method::GET, path, Some(&self.root), None)
            .await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.call_as(Method::POST, path, Some(&self.root), Some(body))
            .await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Answer {
        self.call_as(Method::PATCH, path, Some(&self.root), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.call_as(Method::DELETE, path, Some(&self.root), None)
            .await
    }

    /// A project `name` with its production environment.
    pub fn project(&self, name: &str) -> String {
        self.state().create_project(name).0
    }

    /// The body of a public-repository application create in `project`/production.
    pub fn public_app_body(&self, project: &str, name: &str) -> Value {
        json!({
            "project_uuid": project,
            "server_uuid": self.state().server_uuid(),
            "environment_name": "production",
            "git_repository": "https://gitea.example.com/acme/site.git",
            "git_branch": "main",
            "build_pack": "nixpacks",
            "ports_exposes": "3000",
            "name": name,
        })
    }

    /// Create an application through the API; returns its uuid.
    pub async fn app(&self, project: &str, name: &str) -> String {
        let a = self
            .post("/applications/public", self.public_app_body(project, name))
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        a.body["uuid"].as_str().unwrap().to_string()
    }

    /// Poll a deployment until it reaches a terminal status (or 5 s pass).
    pub async fn wait_deployment(&self, uuid: &str) -> Value {
        for _ in 0..250 {
            let a = self.get(&format!("/deployments/{uuid}")).await;
            let status = a.body["status"].as_str().unwrap_or_default().to_string();
            if !matches!(status.as_str(), "queued" | "in_progress") {
                return a.body;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("deployment {uuid} did not finish");
    }
}
