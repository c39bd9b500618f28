//! git_commit_and_push against a real git smart-HTTP server with Basic auth: the push
//! works, the token never shows in argv, URLs, traces or results, and protected or
//! foreign targets are refused before anything is committed.

use std::path::{Path, PathBuf};

use serde_json::json;
use vibn::config::{ToolFilter, WorkspaceConfig};
use vibn::policy::protected::ProtectedList;
use vibn_sandbox::git_http::{self, GitHttpState};

use crate::support::{
    Client, Workspace, call, err_message, err_status, git, gitea, ok, serve_workspace,
};

const TOKEN: &str = "tok_9f8e7d6c5b4a39281706";
const USER: &str = "vibn-bot";

struct Remote {
    _repos: tempfile::TempDir,
    state: std::sync::Arc<GitHttpState>,
    base_url: String,
    bare: PathBuf,
}

async fn remote(full_name: &str) -> Remote {
    let repos = tempfile::tempdir().unwrap();
    let state = GitHttpState::new(repos.path(), USER, TOKEN);
    let bare = state.create_repo(full_name).unwrap();
    let addr = git_http::spawn(state.clone(), 0).await.unwrap();
    Remote {
        _repos: repos,
        state,
        base_url: format!("http://{addr}"),
        bare,
    }
}

/// A workspace that is a git clone-to-be with `origin` set to `origin`.
fn repo_workspace(origin: &str) -> Workspace {
    let ws = Workspace::new();
    let root = ws.root();
    git(&root, &["init", "-q", "-b", "main"]);
    git(&root, &["config", "user.email", "dev@example.com"]);
    git(&root, &["config", "user.name", "Dev"]);
    git(&root, &["remote", "add", "origin", origin]);
    ws
}

struct Setup {
    ws: Workspace,
    remote: Remote,
    trace: PathBuf,
    client: Client,
}

async fn setup(protected: &str) -> Setup {
    let remote = remote("acme/site").await;
    let ws = repo_workspace(&format!("{}/acme/site.git", remote.base_url));
    let trace = ws.root().join(".git/vibn-test-trace.log");
    let mut config = WorkspaceConfig::new(
        &ws.root(),
        Some(gitea(&remote.base_url, USER, TOKEN)),
        ProtectedList::parse("VIBN_PROTECTED_REPOS", protected).unwrap(),
    )
    .unwrap();
    // Record every command git runs (helpers, remote-http) to check the token's absence.
    config
        .child_env
        .push(("GIT_TRACE".into(), trace.clone().into()));
    let client = serve_workspace(config, &ToolFilter::default()).await;
    Setup {
        ws,
        remote,
        trace,
        client,
    }
}

fn remote_head(bare: &Path, branch: &str) -> Option<String> {
    let out = std::process::Command::new("git")
        .args([
            "rev-parse",
            "--verify",
            "-q",
            &format!("refs/heads/{branch}"),
        ])
        .current_dir(bare)
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn commit_count(root: &Path) -> usize {
    let out = std::process::Command::new("git")
        .args(["rev-list", "--count", "HEAD"])
        .current_dir(root)
        .output()
        .unwrap();
    if !out.status.success() {
        return 0;
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// The commit reaches the remote, authenticated with the configured user.
#[tokio::test]
async fn commit_and_push_reaches_the_remote() {
    let s = setup("").await;
    ok(&call(
        &s.client,
        "write_file",
        json!({"path": "index.html", "content": "<h1>hi</h1>\n"}),
    )
    .await);
    let r = call(
        &s.client,
        "git_commit_and_push",
        json!({"message": "Add index"}),
    )
    .await;
    let out = ok(&r).clone();
    assert_eq!(out["committed"], true);
    assert_eq!(out["pushed"], true);
    assert_eq!(out["branch"], "main");
    assert_eq!(out["repo"], "acme/site");
    let sha = out["commit"].as_str().unwrap();
    assert_eq!(remote_head(&s.remote.bare, "main").as_deref(), Some(sha));
    let attempts = s.remote.state.attempts();
    assert!(
        attempts
            .iter()
            .any(|a| a.accepted && a.username.as_deref() == Some(USER)),
        "{attempts:?}"
    );
    let message = git(&s.ws.root(), &["log", "-1", "--format=%s"]);
    assert_eq!(message, "Add index");
}

/// The token appears in no result, no git config, no remote URL and no command line
/// git ran (GIT_TRACE records every subprocess with its arguments).
#[tokio::test]
async fn token_never_appears_in_argv_urls_or_output() {
    let s = setup("").await;
    ok(&call(
        &s.client,
        "write_file",
        json!({"path": "a.txt", "content": "a"}),
    )
    .await);
    let r = call(&s.client, "git_commit_and_push", json!({"message": "a"})).await;
    let result_text = format!("{:?}", r);
    assert_eq!(ok(&r)["pushed"], true);
    assert!(!result_text.contains(TOKEN), "token in the tool result");
    let trace = std::fs::read_to_string(&s.trace).unwrap();
    assert!(
        trace.contains("VIBN_GIT_PASSWORD"),
        "the trace should show the helper ran: {trace}"
    );
    assert!(!trace.contains(TOKEN), "token in a traced command line");
    let config = std::fs::read_to_string(s.ws.root().join(".git/config")).unwrap();
    assert!(!config.contains(TOKEN), "token stored in .git/config");
    let url = git(&s.ws.root(), &["remote", "get-url", "origin"]);
    assert!(!url.contains(TOKEN) && !url.contains('@'), "{url}");
}

/// Only the given paths are staged; other changes stay uncommitted.
#[tokio::test]
async fn only_the_given_paths_are_committed() {
    let s = setup("").await;
    s.ws.write("keep.txt", "k");
    s.ws.write("skip.txt", "s");
    let r = call(
        &s.client,
        "git_commit_and_push",
        json!({"message": "keep", "paths": ["keep.txt"], "push": false}),
    )
    .await;
    assert_eq!(ok(&r)["committed"], true);
    assert_eq!(ok(&r)["pushed"], false);
    let files = git(&s.ws.root(), &["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(files, "keep.txt");
    assert_eq!(remote_head(&s.remote.bare, "main"), None);
}

/// A branch is created when missing and pushed under its name.
#[tokio::test]
async fn a_new_branch_is_created_and_pushed() {
    let s = setup("").await;
    s.ws.write("a.txt", "a");
    ok(&call(&s.client, "git_commit_and_push", json!({"message": "base"})).await);
    s.ws.write("b.txt", "b");
    let r = call(
        &s.client,
        "git_commit_and_push",
        json!({"message": "feature", "branch": "feature/x"}),
    )
    .await;
    let out = ok(&r).clone();
    assert_eq!(out["branch"], "feature/x");
    assert_eq!(
        remote_head(&s.remote.bare, "feature/x").as_deref(),
        out["commit"].as_str()
    );
    assert_eq!(
        git(&s.ws.root(), &["symbolic-ref", "--short", "HEAD"]),
        "feature/x"
    );
}

/// With nothing to commit, the call says so and still pushes HEAD.
#[tokio::test]
async fn nothing_to_commit_still_pushes() {
    let s = setup("").await;
    s.ws.write("a.txt", "a");
    ok(&call(
        &s.client,
        "git_commit_and_push",
        json!({"message": "one", "push": false}),
    )
    .await);
    let r = call(&s.client, "git_commit_and_push", json!({"message": "two"})).await;
    assert_eq!(ok(&r)["committed"], false);
    assert_eq!(ok(&r)["pushed"], true);
    assert_eq!(commit_count(&s.ws.root()), 1);
}

/// A protected repository is refused with 403 before anything is committed or pushed.
#[tokio::test]
async fn protected_repo_is_refused_before_commit() {
    let s = setup("other/x, ACME/*").await;
    s.ws.write("a.txt", "a");
    let r = call(&s.client, "git_commit_and_push", json!({"message": "nope"})).await;
    assert_eq!(err_status(&r), 403);
    assert!(err_message(&r).contains("acme/site"), "{}", err_message(&r));
    let r = call(
        &s.client,
        "git_commit_and_push",
        json!({"message": "nope", "push": false}),
    )
    .await;
    assert_eq!(err_status(&r), 403);
    assert_eq!(commit_count(&s.ws.root()), 0);
    assert_eq!(remote_head(&s.remote.bare, "main"), None);
    assert!(
        s.remote.state.attempts().is_empty(),
        "no request may reach the remote"
    );
}

/// An origin on another host never receives the Gitea token.
#[tokio::test]
async fn origin_on_another_host_is_refused() {
    let s = setup("").await;
    let other = remote("acme/site").await;
    git(
        &s.ws.root(),
        &[
            "remote",
            "set-url",
            "origin",
            &format!(
                "{}/acme/site.git",
                other.base_url.replace("127.0.0.1", "localhost")
            ),
        ],
    );
    s.ws.write("a.txt", "a");
    let r = call(&s.client, "git_commit_and_push", json!({"message": "a"})).await;
    assert_eq!(err_status(&r), 403);
    assert_eq!(commit_count(&s.ws.root()), 0);
    assert!(other.state.attempts().is_empty());
}

/// Arguments beginning with '-' never reach git as options.
#[tokio::test]
async fn dash_arguments_never_become_git_options() {
    let s = setup("").await;
    s.ws.write("a.txt", "a");
    let r = call(
        &s.client,
        "git_commit_and_push",
        json!({"message": "x", "branch": "--force"}),
    )
    .await;
    assert_eq!(err_status(&r), 400);
    let r = call(
        &s.client,
        "git_commit_and_push",
        json!({"message": "x", "paths": ["--all"], "push": false}),
    )
    .await;
    assert_eq!(
        err_status(&r),
        400,
        "a path named --all is a literal path that does not exist"
    );
    assert_eq!(commit_count(&s.ws.root()), 0);
    let r = call(
        &s.client,
        "git_commit_and_push",
        json!({"message": "--amend", "push": false}),
    )
    .await;
    assert_eq!(ok(&r)["committed"], true);
    assert_eq!(git(&s.ws.root(), &["log", "-1", "--format=%s"]), "--amend");
}

/// Paths outside the root are refused before git runs.
#[tokio::test]
async fn paths_outside_the_root_are_refused() {
    let s = setup("").await;
    let r = call(
        &s.client,
        "git_commit_and_push",
        json!({"message": "x", "paths": ["../etc"], "push": false}),
    )
    .await;
    assert_eq!(err_status(&r), 403);
}

/// A wrong token is reported as an upstream refusal with the commit kept locally.
#[tokio::test]
async fn rejected_credentials_are_reported_without_the_token() {
    let remote = remote("acme/site").await;
    let ws = repo_workspace(&format!("{}/acme/site.git", remote.base_url));
    let config = WorkspaceConfig::new(
        &ws.root(),
        Some(gitea(&remote.base_url, USER, "wrong-token-value")),
        ProtectedList::empty(),
    )
    .unwrap();
    let client = serve_workspace(config, &ToolFilter::default()).await;
    ws.write("a.txt", "a");
    let r = call(&client, "git_commit_and_push", json!({"message": "a"})).await;
    assert_eq!(err_status(&r), 502);
    let message = err_message(&r);
    assert!(
        message.contains("committed") && message.contains("locally"),
        "{message}"
    );
    assert!(!format!("{r:?}").contains("wrong-token-value"));
}

/// Without Gitea credentials a push is a clear 503 naming the variables to set.
#[tokio::test]
async fn push_without_credentials_names_the_variables() {
    let ws = repo_workspace("https://git.example.com/acme/site.git");
    let client = ws.client().await;
    ws.write("a.txt", "a");
    let r = call(&client, "git_commit_and_push", json!({"message": "a"})).await;
    assert_eq!(err_status(&r), 503);
    assert!(
        crate::support::err_body(&r)["hint"]
            .as_str()
            .unwrap()
            .contains("GITEA_API_TOKEN")
    );
    assert_eq!(commit_count(&ws.root()), 0);
}

/// A root that is not the top of a git repository is refused.
#[tokio::test]
async fn a_root_that_is_not_a_repository_is_refused() {
    let ws = Workspace::new();
    let client = ws.client().await;
    let r = call(
        &client,
        "git_commit_and_push",
        json!({"message": "x", "push": false}),
    )
    .await;
    assert_eq!(err_status(&r), 400);
    // Also when the root is a subfolder of a repository.
    let outer = repo_workspace("https://git.example.com/a/b.git");
    std::fs::create_dir(outer.root().join("sub")).unwrap();
    let config =
        WorkspaceConfig::new(&outer.root().join("sub"), None, ProtectedList::empty()).unwrap();
    let client = serve_workspace(config, &ToolFilter::default()).await;
    let r = call(
        &client,
        "git_commit_and_push",
        json!({"message": "x", "push": false}),
    )
    .await;
    assert_eq!(err_status(&r), 400);
}
