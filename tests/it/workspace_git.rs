//! git_commit_and_push against a real git smart-HTTP server with Basic auth: the push
//! works, the token never shows in argv, URLs, traces or results, and protected or
//! foreign targets are refused before anything is committed.

use std::path::{Path, PathBuf};

use serde_json::json;
use vibn::config::{GitLimits, ToolFilter, WorkspaceConfig};
use vibn::policy::protected::ProtectedList;
use vibn_sandbox::git_http::{self, GitHttpState};

use crate::support::{
    Client, Workspace, call, err_message, err_status, git, gitea, ok, seed, serve_workspace,
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
    for (tool, args) in [
        ("git_pull", json!({})),
        ("git_clone", json!({"repo": "acme/site", "dir": "x"})),
    ] {
        let r = call(&client, tool, args).await;
        assert_eq!(err_status(&r), 503, "{tool}");
        assert!(
            crate::support::err_body(&r)["hint"]
                .as_str()
                .unwrap()
                .contains("GITEA_API_URL"),
            "{tool}"
        );
    }
    assert!(!ws.root().join("x").exists());
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

// ---- git_clone and git_pull (issue 12 item 6) ----

/// An empty workspace served with the operator's Gitea credentials over a remote holding
/// `acme/site` (README.md and src/a.txt on main, notes.txt on dev).
struct Cloning {
    ws: Workspace,
    remote: Remote,
    client: Client,
    main: String,
}

async fn cloning(protected: &str, limits: Option<GitLimits>) -> Cloning {
    let remote = remote("acme/site").await;
    let main = seed(
        &remote.bare,
        "main",
        &[("README.md", "# site\n"), ("src/a.txt", "a\n")],
        "initial",
    );
    seed(&remote.bare, "dev", &[("notes.txt", "dev\n")], "dev work");
    // The bare repository's HEAD names main, as Gitea's default branch.
    let ws = Workspace::new();
    let mut config = WorkspaceConfig::new(
        &ws.root(),
        Some(gitea(&remote.base_url, USER, TOKEN)),
        ProtectedList::parse("VIBN_PROTECTED_REPOS", protected).unwrap(),
    )
    .unwrap();
    if let Some(limits) = limits {
        config.git_limits = limits;
    }
    let client = serve_workspace(config, &ToolFilter::default()).await;
    Cloning {
        ws,
        remote,
        client,
        main,
    }
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A clone into the empty root checks out the default branch with origin set to the
/// repository's URL (no credentials); git_pull then keeps it up to date, and
/// git_commit_and_push pushes from it.
#[tokio::test]
async fn clone_pull_and_push_round_trip() {
    let c = cloning("", None).await;
    let r = call(&c.client, "git_clone", json!({"repo": "acme/site"})).await;
    let out = ok(&r).clone();
    let origin = format!("{}/acme/site.git", c.remote.base_url);
    assert_eq!(out["repo"], "acme/site");
    assert_eq!(out["dir"], ".");
    assert_eq!(out["origin"], origin);
    assert_eq!(out["branch"], "main");
    assert_eq!(out["commit"], c.main);
    assert_eq!(out["files"], 2);
    assert_eq!(out["protected"], false);
    let root = c.ws.root();
    assert_eq!(c.ws.read("src/a.txt"), "a\n");
    assert_eq!(git(&root, &["status", "--porcelain"]), "");
    assert_eq!(git(&root, &["remote", "get-url", "origin"]), origin);
    assert_eq!(git(&root, &["rev-parse", "origin/main"]), c.main);
    let config = std::fs::read_to_string(root.join(".git/config")).unwrap();
    assert!(!config.contains(TOKEN) && !config.contains('@'), "{config}");
    let attempts = c.remote.state.attempts();
    assert!(!attempts.is_empty());
    assert!(
        attempts
            .iter()
            .all(|a| a.accepted && a.username.as_deref() == Some(USER)),
        "{attempts:?}"
    );

    let r = call(&c.client, "git_pull", json!({})).await;
    let out = ok(&r).clone();
    assert_eq!(out["outcome"], "up_to_date");
    assert_eq!(out["commit"], c.main);
    assert_eq!(
        (out["ahead"].as_u64(), out["behind"].as_u64()),
        (Some(0), Some(0))
    );

    let next = seed(&c.remote.bare, "main", &[("new.txt", "new\n")], "more");
    let r = call(&c.client, "git_pull", json!({})).await;
    let out = ok(&r).clone();
    assert_eq!(out["outcome"], "fast_forwarded");
    assert_eq!(out["before"], c.main);
    assert_eq!(out["commit"], next);
    assert_eq!(out["remote_commit"], next);
    assert_eq!(out["repo"], "acme/site");
    assert_eq!(out["branch"], "main");
    assert_eq!(c.ws.read("new.txt"), "new\n");
    assert_eq!(git(&root, &["status", "--porcelain"]), "");

    ok(&call(
        &c.client,
        "write_file",
        json!({"path": "mine.txt", "content": "mine\n"}),
    )
    .await);
    let r = call(&c.client, "git_commit_and_push", json!({"message": "mine"})).await;
    let out = ok(&r).clone();
    assert_eq!(out["pushed"], true);
    assert_eq!(
        remote_head(&c.remote.bare, "main").as_deref(),
        out["commit"].as_str()
    );
}

/// A branch, a URL on the Gitea host, and a new nested folder.
#[tokio::test]
async fn clone_a_branch_by_url_into_a_new_folder() {
    let c = cloning("", None).await;
    let r = call(
        &c.client,
        "git_clone",
        json!({
            "repo": format!("{}/acme/site.git", c.remote.base_url),
            "branch": "dev",
            "dir": "work/site"
        }),
    )
    .await;
    let out = ok(&r).clone();
    assert_eq!(out["dir"], "work/site");
    assert_eq!(out["branch"], "dev");
    assert_eq!(c.ws.read("work/site/notes.txt"), "dev\n");
    let clone = c.ws.root().join("work/site");
    assert_eq!(git(&clone, &["symbolic-ref", "--short", "HEAD"]), "dev");
    // A bare name belongs to the operator's own account when not pinned.
    let r = call(&c.client, "git_clone", json!({"repo": "site", "dir": "x"})).await;
    assert_eq!(err_status(&r), 404, "{:?}", r.structured_content);
    assert!(err_message(&r).contains(&format!("{USER}/site")));
}

/// An empty repository clones to a branch with no commit yet.
#[tokio::test]
async fn clone_an_empty_repository() {
    let c = cloning("", None).await;
    c.remote.state.create_repo("acme/empty").unwrap();
    let r = call(
        &c.client,
        "git_clone",
        json!({"repo": "acme/empty", "dir": "e"}),
    )
    .await;
    let out = ok(&r).clone();
    assert_eq!(out["files"], 0);
    assert!(out.get("commit").is_none(), "{out}");
    assert_eq!(out["branch"], "main");
    assert!(c.ws.root().join("e/.git").is_dir());
}

/// A clone that fails — no such repository, no such branch — leaves the workspace as it
/// found it: folders it created are removed, an empty root stays empty.
#[tokio::test]
async fn failed_clones_leave_nothing_behind() {
    let c = cloning("", None).await;
    let r = call(
        &c.client,
        "git_clone",
        json!({"repo": "acme/nope", "dir": "a/b"}),
    )
    .await;
    assert_eq!(err_status(&r), 404, "{:?}", r.content);
    assert!(!c.ws.root().join("a").exists());
    let r = call(
        &c.client,
        "git_clone",
        json!({"repo": "acme/site", "branch": "nope"}),
    )
    .await;
    assert_eq!(err_status(&r), 404, "{:?}", r.content);
    assert!(err_message(&r).contains("nope"));
    assert!(
        entries(&c.ws.root()).is_empty(),
        "{:?}",
        entries(&c.ws.root())
    );
    std::fs::create_dir(c.ws.root().join("empty")).unwrap();
    let r = call(
        &c.client,
        "git_clone",
        json!({"repo": "acme/site", "branch": "nope", "dir": "empty"}),
    )
    .await;
    assert_eq!(err_status(&r), 404);
    assert!(entries(&c.ws.root().join("empty")).is_empty());
}

/// A folder with files in it — or the root holding a repository — is refused and left
/// untouched, before anything is fetched.
#[tokio::test]
async fn a_folder_that_is_not_empty_is_refused_untouched() {
    let c = cloning("", None).await;
    c.ws.write("site/keep.txt", "keep");
    let r = call(
        &c.client,
        "git_clone",
        json!({"repo": "acme/site", "dir": "site"}),
    )
    .await;
    assert_eq!(err_status(&r), 400);
    assert_eq!(entries(&c.ws.root().join("site")), ["keep.txt"]);
    let r = call(&c.client, "git_clone", json!({"repo": "acme/site"})).await;
    assert_eq!(err_status(&r), 400);
    let r = call(
        &c.client,
        "git_clone",
        json!({"repo": "acme/site", "dir": "site/keep.txt"}),
    )
    .await;
    assert_eq!(err_status(&r), 400);
    assert_eq!(c.ws.read("site/keep.txt"), "keep");
    assert!(c.remote.state.attempts().is_empty(), "nothing was fetched");
    // A root that already holds a repository is pointed at git_pull.
    let c = cloning("", None).await;
    ok(&call(&c.client, "git_clone", json!({"repo": "acme/site"})).await);
    let r = call(&c.client, "git_clone", json!({"repo": "acme/site"})).await;
    assert_eq!(err_status(&r), 400);
    assert!(
        crate::support::err_body(&r)["hint"]
            .as_str()
            .unwrap()
            .contains("git_pull")
    );
}

/// Local commits the remote lacks: "ahead". Both sides moved: "diverged", nothing
/// merged, the remote's commits in origin/main.
#[tokio::test]
async fn pull_reports_ahead_and_diverged_without_merging() {
    let c = cloning("", None).await;
    ok(&call(&c.client, "git_clone", json!({"repo": "acme/site"})).await);
    c.ws.write("local.txt", "l");
    ok(&call(
        &c.client,
        "git_commit_and_push",
        json!({"message": "local", "push": false}),
    )
    .await);
    let local = git(&c.ws.root(), &["rev-parse", "HEAD"]);
    let r = call(&c.client, "git_pull", json!({})).await;
    let out = ok(&r).clone();
    assert_eq!(out["outcome"], "ahead");
    assert_eq!(
        (out["ahead"].as_u64(), out["behind"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(out["commit"], local);

    let theirs = seed(&c.remote.bare, "main", &[("theirs.txt", "t")], "theirs");
    let r = call(&c.client, "git_pull", json!({})).await;
    let out = ok(&r).clone();
    assert_eq!(out["outcome"], "diverged");
    assert_eq!(
        (out["ahead"].as_u64(), out["behind"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(out["commit"], local);
    assert_eq!(out["remote_commit"], theirs);
    assert!(
        out["output"]
            .as_str()
            .unwrap()
            .contains("git rebase origin/main")
    );
    assert_eq!(git(&c.ws.root(), &["rev-parse", "HEAD"]), local);
    assert_eq!(git(&c.ws.root(), &["rev-parse", "origin/main"]), theirs);
    assert!(!c.ws.root().join("theirs.txt").exists());
}

/// Uncommitted changes a fast-forward would overwrite stop it; nothing is lost.
#[tokio::test]
async fn pull_never_overwrites_local_changes() {
    let c = cloning("", None).await;
    ok(&call(&c.client, "git_clone", json!({"repo": "acme/site"})).await);
    c.ws.write("README.md", "my edit\n");
    seed(
        &c.remote.bare,
        "main",
        &[("README.md", "their edit\n")],
        "theirs",
    );
    let r = call(&c.client, "git_pull", json!({})).await;
    assert_eq!(err_status(&r), 400);
    assert!(
        err_message(&r).contains("overwritten"),
        "{}",
        err_message(&r)
    );
    assert_eq!(c.ws.read("README.md"), "my edit\n");
    assert_eq!(git(&c.ws.root(), &["rev-parse", "HEAD"]), c.main);
}

/// A branch Gitea does not have yet: a 404 pointing at git_commit_and_push. A detached
/// HEAD: a 400.
#[tokio::test]
async fn pull_of_a_branch_gitea_lacks_or_a_detached_head() {
    let c = cloning("", None).await;
    ok(&call(&c.client, "git_clone", json!({"repo": "acme/site"})).await);
    git(&c.ws.root(), &["switch", "-q", "-c", "feature"]);
    let r = call(&c.client, "git_pull", json!({})).await;
    assert_eq!(err_status(&r), 404);
    assert!(
        crate::support::err_body(&r)["hint"]
            .as_str()
            .unwrap()
            .contains("git_commit_and_push")
    );
    git(&c.ws.root(), &["switch", "-q", "--detach", "main"]);
    let r = call(&c.client, "git_pull", json!({})).await;
    assert_eq!(err_status(&r), 400);
}

/// A repository whose tree or download is larger than the limits is refused (422), and
/// nothing of it is kept; a pull keeps the fetched branch but checks nothing out.
#[tokio::test]
async fn clone_and_pull_respect_the_size_limits() {
    let tight = GitLimits {
        max_checkout_files: 2,
        ..GitLimits::default()
    };
    let c = cloning("", Some(tight)).await;
    ok(&call(
        &c.client,
        "git_clone",
        json!({"repo": "acme/site", "dir": "ok"}),
    )
    .await);
    seed(&c.remote.bare, "main", &[("third.txt", "3")], "third");
    let r = call(
        &c.client,
        "git_clone",
        json!({"repo": "acme/site", "dir": "big"}),
    )
    .await;
    assert_eq!(err_status(&r), 422, "{:?}", r.content);
    assert!(
        err_message(&r).contains("more than 2 files"),
        "{}",
        err_message(&r)
    );
    assert!(!c.ws.root().join("big").exists());
    assert_eq!(entries(&c.ws.root()), ["ok"]);

    let c = cloning("", Some(tight)).await;
    ok(&call(&c.client, "git_clone", json!({"repo": "acme/site"})).await);
    let third = seed(&c.remote.bare, "main", &[("third.txt", "3")], "third");
    let r = call(&c.client, "git_pull", json!({})).await;
    assert_eq!(err_status(&r), 422);
    assert!(
        err_message(&r).contains("origin/main"),
        "{}",
        err_message(&r)
    );
    assert_eq!(git(&c.ws.root(), &["rev-parse", "HEAD"]), c.main);
    assert_eq!(git(&c.ws.root(), &["rev-parse", "origin/main"]), third);
    assert!(!c.ws.root().join("third.txt").exists());

    let small_download = GitLimits {
        max_download_bytes: 64 * 1024,
        ..GitLimits::default()
    };
    let c = cloning("", Some(small_download)).await;
    // Letters from xorshift: barely compressible, so the pack stays far above 64 KiB.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let noise: String = (0..400_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'a' + (x % 26) as u8)
        })
        .collect();
    seed(&c.remote.bare, "main", &[("noise.txt", &noise)], "noise");
    let r = call(
        &c.client,
        "git_clone",
        json!({"repo": "acme/site", "dir": "n"}),
    )
    .await;
    assert_eq!(err_status(&r), 422, "{:?}", r.content);
    assert!(err_message(&r).contains("download"), "{}", err_message(&r));
    assert!(entries(&c.ws.root()).is_empty());
}

/// Protected repositories are read-only for agents, not hidden: they clone and pull
/// (and say they are protected), but never push.
#[tokio::test]
async fn protected_repositories_clone_and_pull_but_never_push() {
    let c = cloning("ACME/*", None).await;
    let r = call(&c.client, "git_clone", json!({"repo": "acme/site"})).await;
    assert_eq!(ok(&r)["protected"], true);
    let r = call(&c.client, "git_pull", json!({})).await;
    assert_eq!(ok(&r)["protected"], true);
    c.ws.write("x.txt", "x");
    let r = call(&c.client, "git_commit_and_push", json!({"message": "x"})).await;
    assert_eq!(err_status(&r), 403);
    assert_eq!(
        remote_head(&c.remote.bare, "main").as_deref(),
        Some(c.main.as_str())
    );
}

/// Neither the token nor a URL with credentials shows in results, the clone's config
/// or any command line git ran (GIT_TRACE records each with its arguments).
#[tokio::test]
async fn clone_and_pull_never_show_the_token() {
    let remote = remote("acme/site").await;
    seed(&remote.bare, "main", &[("a.txt", "a")], "a");
    let ws = Workspace::new();
    let trace = ws.root().join("trace.log");
    let mut config = WorkspaceConfig::new(
        &ws.root(),
        Some(gitea(&remote.base_url, USER, TOKEN)),
        ProtectedList::empty(),
    )
    .unwrap();
    config
        .child_env
        .push(("GIT_TRACE".into(), trace.clone().into()));
    let client = serve_workspace(config, &ToolFilter::default()).await;
    let clone = call(
        &client,
        "git_clone",
        json!({"repo": "acme/site", "dir": "site"}),
    )
    .await;
    ok(&clone);
    // Make the clone the root's repository for the pull: move it up.
    std::fs::rename(ws.root().join("site/.git"), ws.root().join(".git")).unwrap();
    git(&ws.root(), &["checkout", "-q", "--", "."]);
    seed(&remote.bare, "main", &[("b.txt", "b")], "b");
    let pull = call(&client, "git_pull", json!({})).await;
    assert_eq!(ok(&pull)["outcome"], "fast_forwarded");
    for (what, result) in [("clone", &clone), ("pull", &pull)] {
        let text = format!("{result:?}");
        assert!(!text.contains(TOKEN), "token in the {what} result");
        assert!(
            !text.contains(&format!("{USER}:")),
            "credentials in the {what} result"
        );
    }
    let traced = std::fs::read_to_string(&trace).unwrap();
    assert!(
        traced.contains("VIBN_GIT_PASSWORD"),
        "the helper ran: {traced}"
    );
    assert!(!traced.contains(TOKEN), "token in a traced command line");
    let config = std::fs::read_to_string(ws.root().join(".git/config")).unwrap();
    assert!(!config.contains(TOKEN) && !config.contains('@'), "{config}");
}
