//! Issue, label and comment endpoints.

use reqwest::Method;
use serde_json::json;

use super::*;
use crate::clients::http::{Call, ClientError};

impl GiteaClient {
    /// `GET /repos/{owner}/{repo}/issues?type=issues` (pull requests excluded).
    pub async fn list_issues(
        &self,
        owner: &str,
        repo: &str,
        state: IssueState,
        labels: &[String],
        page: u32,
        limit: u32,
    ) -> Result<Page<Issue>, ClientError> {
        let mut call = Call::new(Method::GET, &["repos", owner, repo, "issues"])
            .query("type", "issues")
            .query("state", state.as_str());
        if !labels.is_empty() {
            call = call.query("labels", labels.join(","));
        }
        self.page(call, page, limit).await
    }

    /// `GET /repos/{owner}/{repo}/labels` (all pages).
    pub async fn list_labels(&self, owner: &str, repo: &str) -> Result<Vec<Label>, ClientError> {
        self.all(
            Call::new(Method::GET, &["repos", owner, repo, "labels"]),
            1000,
        )
        .await
    }

    /// `POST /repos/{owner}/{repo}/labels`.
    pub async fn create_label(
        &self,
        owner: &str,
        repo: &str,
        name: &str,
        color: &str,
    ) -> Result<Label, ClientError> {
        let body = json!({"name": name, "color": color});
        self.http
            .json(Call::new(Method::POST, &["repos", owner, repo, "labels"]).json(body))
            .await
    }

    /// `POST /repos/{owner}/{repo}/issues`; `label_ids` are label ids, not names.
    pub async fn create_issue(
        &self,
        owner: &str,
        repo: &str,
        title: &str,
        body: &str,
        label_ids: &[i64],
    ) -> Result<Issue, ClientError> {
        let mut payload = json!({"title": title, "body": body});
        if !label_ids.is_empty() {
            payload["labels"] = json!(label_ids);
        }
        self.http
            .json(Call::new(Method::POST, &["repos", owner, repo, "issues"]).json(payload))
            .await
    }

    /// `GET /repos/{owner}/{repo}/issues/{number}`.
    pub async fn get_issue(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
    ) -> Result<Issue, ClientError> {
        let n = number.to_string();
        self.http
            .json(Call::new(
                Method::GET,
                &["repos", owner, repo, "issues", &n],
            ))
            .await
    }

    /// `PATCH /repos/{owner}/{repo}/issues/{number}` to `state` (answers 201).
    pub async fn set_issue_state(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
        state: IssueState,
    ) -> Result<Issue, ClientError> {
        let n = number.to_string();
        let body = json!({"state": state.as_str()});
        self.http
            .json(Call::new(Method::PATCH, &["repos", owner, repo, "issues", &n]).json(body))
            .await
    }

    /// `POST /repos/{owner}/{repo}/issues/{number}/comments`.
    pub async fn create_comment(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
        body: &str,
    ) -> Result<Comment, ClientError> {
        let n = number.to_string();
        let payload = json!({"body": body});
        self.http
            .json(
                Call::new(
                    Method::POST,
                    &["repos", owner, repo, "issues", &n, "comments"],
                )
                .json(payload),
            )
            .await
    }
}
