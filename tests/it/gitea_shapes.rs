//! Issue 10 item 5 for Gitea: answers the real server or its spec allow (signed 64-bit
//! counts, content in another encoding) are read, and an answer that still does not fit
//! is a 502 naming the endpoint and the field, with a hint, logged at warn. The stand-in
//! serves the request and a `Rewrite` fault changes one value of its real answer.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use vibn::api::caller::Caller;
use vibn::api::gitea_api::{ListIssuesParams, ListReposParams, ReadRepoFileParams};
use vibn_sandbox::gitea::{Edit, Fault};

use crate::gitea_support::Gitea;

/// An operator call (the tests call the API directly).
fn operator() -> Caller {
    Caller::operator("gitea", "test")
}

/// The most negative integer JSON tools produce exactly (Prism's random examples use it).
const MIN_SAFE: i64 = -9_007_199_254_740_991;

fn params<T: serde::de::DeserializeOwned>(args: Value) -> T {
    serde_json::from_value(args).unwrap()
}

fn rewrite(g: &Gitea, path_prefix: &str, pointer: &str, value: Value) {
    g.state().inject_fault(Fault::Rewrite {
        method: Some("GET".into()),
        path_prefix: path_prefix.into(),
        edit: Edit::Set {
            pointer: pointer.into(),
            value,
        },
        times: 1,
    });
}

/// A negative `open_issues_count` (int64 in the spec) is passed on, not refused.
#[tokio::test]
async fn negative_open_issues_count_is_read() {
    let g = Gitea::seeded().await;
    rewrite(
        &g,
        "/orgs/acme/repos",
        "/0/open_issues_count",
        json!(MIN_SAFE),
    );
    let out = g
        .api("")
        .list_repos(
            &operator(),
            params::<ListReposParams>(json!({"owner": "acme"})),
        )
        .await
        .unwrap();
    assert!(
        out.repos.iter().any(|r| r.open_issues == MIN_SAFE),
        "{:?}",
        out.repos
    );
}

/// A negative comment count (int64 in the spec) is passed on, not refused.
#[tokio::test]
async fn negative_comment_count_is_read() {
    let g = Gitea::seeded().await;
    g.admin_client()
        .create_issue("acme", "site", "One", "", &[])
        .await
        .unwrap();
    rewrite(
        &g,
        "/repos/acme/site/issues",
        "/0/comments",
        json!(MIN_SAFE),
    );
    let out = g
        .api("")
        .list_issues(
            &operator(),
            params::<ListIssuesParams>(json!({"repo": "acme/site"})),
        )
        .await
        .unwrap();
    assert_eq!(out.issues[0].comments, MIN_SAFE);
}

/// A negative file size says nothing about the file: it is read and measured.
#[tokio::test]
async fn negative_file_size_is_read_and_measured() {
    let g = Gitea::seeded().await;
    rewrite(&g, "/repos/acme/site/contents/", "/size", json!(MIN_SAFE));
    let out = g
        .api("")
        .read_repo_file(
            &operator(),
            params::<ReadRepoFileParams>(json!({"repo": "acme/site", "path": "README.md"})),
        )
        .await
        .unwrap();
    assert_eq!(out.content, "# site\n");
    assert_eq!(out.size, 7);
}

/// File content that is not base64 is fetched raw instead of failing the read.
#[tokio::test]
async fn content_that_is_not_base64_is_read_raw() {
    let g = Gitea::seeded().await;
    rewrite(
        &g,
        "/repos/acme/site/contents/",
        "/content",
        json!("not base64 at all!"),
    );
    let out = g
        .api("")
        .read_repo_file(
            &operator(),
            params::<ReadRepoFileParams>(json!({"repo": "acme/site", "path": "README.md"})),
        )
        .await
        .unwrap();
    assert_eq!(out.content, "# site\n");
}

/// A contents answer that does not fit names the endpoint and the field (never the
/// internal type), with a hint that retrying will not help.
#[tokio::test]
async fn unreadable_contents_answer_names_endpoint_and_field() {
    let g = Gitea::seeded().await;
    rewrite(&g, "/repos/acme/site/contents/", "/size", json!("big"));
    let err = g
        .api("")
        .read_repo_file(
            &operator(),
            params::<ReadRepoFileParams>(json!({"repo": "acme/site", "path": "README.md"})),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 502);
    let message = err.message();
    assert!(
        message.contains("GET /repos/acme/site/contents/README.md"),
        "{message}"
    );
    assert!(message.contains("`size`"), "{message}");
    assert!(!message.contains("ContentsAnswer"), "{message}");
    let hint = err.hint().unwrap_or_default();
    assert!(hint.contains("retrying will not help"), "{hint}");
}

/// The same failure is logged at warn, with the endpoint and the field.
#[tokio::test]
async fn unreadable_answer_is_logged_at_warn() {
    let logs = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_writer(logs.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let g = Gitea::seeded().await;
    rewrite(&g, "/orgs/acme/repos", "/0/private", json!("yes"));
    g.api("")
        .list_repos(
            &operator(),
            params::<ListReposParams>(json!({"owner": "acme"})),
        )
        .await
        .unwrap_err();
    let text = logs.text();
    let line = text
        .lines()
        .find(|l| l.contains("upstream answer not understood"))
        .unwrap_or_else(|| panic!("no warning logged: {text}"));
    assert!(line.contains("WARN"), "{line}");
    assert!(line.contains("/orgs/acme/repos"), "{line}");
    assert!(line.contains("[0].private"), "{line}");
}

/// A `MakeWriter` that keeps what the subscriber writes.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
