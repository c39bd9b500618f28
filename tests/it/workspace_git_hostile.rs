//! git that the repository cannot steer (issue 9, findings 2 and 3): a corpus of
//! hostile `.git/config` files, hostile origins and hooks against a pinned workspace
//! server. The token must reach no other host and no proxy, no configured command may
//! run, and nothing may land outside the pinned org or in a protected repository.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use vibn::config::{GiteaConfig, PinConfig, ToolFilter, WorkspaceConfig};
use vibn::keystore::Store;
use vibn::policy::protected::ProtectedList;
use vibn_sandbox::git_http::{self, GitHttpState};

use crate::support::{
    Client, Workspace, call, err_message, err_status, git, ok, seed, serve_workspace, test_keyring,
};

const TOKEN: &str = "gitea-token-hostile-5150";

/// A TCP listener that only counts who connects (a would-be proxy or rogue host).
struct Trap {
    port: u16,
    hits: Arc<AtomicUsize>,
}

fn trap() -> Trap {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let seen = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            seen.fetch_add(1, Ordering::SeqCst);
            let mut stream = stream;
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf);
        }
    });
    Trap { port, hits }
}

struct Hostile {
    ws: Workspace,
    client: Client,
    state: Arc<GitHttpState>,
    base: String,
    org: String,
    repos: tempfile::TempDir,
    store: Store,
    _keystore: tempfile::TempDir,
}

impl Hostile {
    fn bare(&self, full_name: &str) -> PathBuf {
        self.repos.path().join(format!("{full_name}.git"))
    }

    fn head(&self, full_name: &str) -> Option<String> {
        let out = std::process::Command::new("git")
            .args(["rev-parse", "--verify", "-q", "refs/heads/main"])
            .current_dir(self.bare(full_name))
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    fn pwned(&self) -> PathBuf {
        self.repos.path().join("PWNED")
    }

    fn append_config(&self, text: &str) {
        let path = self.ws.root().join(".git/config");
        let mut config = std::fs::read_to_string(&path).unwrap();
        config.push_str(text);
        std::fs::write(path, config).unwrap();
    }
}

/// A pinned server over a clone of `<org>/site` on a git HTTP server that also holds
/// the org's protected `infra` and another tenant's `vibn-other/site`.
async fn hostile(filter: &ToolFilter) -> Hostile {
    let keystore = tempfile::tempdir().unwrap();
    let path = keystore.path().join("ks/keystore.db");
    let store = Store::open(&path).unwrap();
    let slug = store.create_workspace("mark@x.io", None).unwrap().slug;
    let org = store.require_workspace(&slug).unwrap().gitea_org;
    let token = store
        .mint_workspace_key(&slug, "t", None, "cli")
        .unwrap()
        .token
        .expose_secret()
        .to_string();
    let repos = tempfile::tempdir().unwrap();
    let state = GitHttpState::new(repos.path(), "bot", TOKEN);
    for name in ["site", "infra"] {
        state.create_repo(&format!("{org}/{name}")).unwrap();
    }
    state.create_repo("vibn-other/site").unwrap();
    let addr = git_http::spawn(state.clone(), 0).await.unwrap();
    let base = format!("http://{addr}");

    let ws = Workspace::new();
    let root = ws.root();
    git(&root, &["init", "-q", "-b", "main"]);
    git(&root, &["config", "user.email", "d@x.io"]);
    git(&root, &["config", "user.name", "D"]);
    git(
        &root,
        &["remote", "add", "origin", &format!("{base}/{org}/site.git")],
    );
    // Pinned: the push goes as the workspace's bot (its token sealed in the keystore).
    let ring = test_keyring();
    store
        .set_bot_token(&slug, "bot", &SecretString::from(TOKEN.to_string()), &ring)
        .unwrap();
    let mut config = WorkspaceConfig::new(
        &root,
        GiteaConfig::url_only(&base),
        ProtectedList::parse("VIBN_PROTECTED_REPOS", &format!("{org}/infra")).unwrap(),
    )
    .unwrap();
    config.pin = PinConfig {
        api_key: Some(SecretString::from(token)),
        expected_workspace: None,
        keystore: Some(path),
        keyring: Some(std::sync::Arc::new(ring)),
    };
    let client = serve_workspace(config, filter).await;
    Hostile {
        ws,
        client,
        state,
        base,
        org,
        repos,
        store,
        _keystore: keystore,
    }
}

async fn commit(h: &Hostile) -> rmcp::model::CallToolResult {
    h.ws.write("index.html", &format!("{}", rand_line()));
    call(&h.client, "git_commit_and_push", json!({"message": "page"})).await
}

fn rand_line() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// Each hostile setting, alone, is refused by name before git runs with it: nothing
/// runs, nothing reaches the trap, nothing is pushed anywhere.
#[tokio::test]
async fn every_hostile_config_key_is_refused_and_nothing_runs_or_leaves() {
    let h = hostile(&ToolFilter::default()).await;
    let t = trap();
    let pwned = h.pwned();
    let touch = format!("touch {}", pwned.display());
    let trap_url = format!("http://127.0.0.1:{}", t.port);
    let evil_include = h.repos.path().join("evil.cfg");
    std::fs::write(&evil_include, format!("[core]\n\tfsmonitor = {touch}\n")).unwrap();
    let pristine = std::fs::read_to_string(h.ws.root().join(".git/config")).unwrap();
    let cases: Vec<(&str, String)> = vec![
        ("core.fsmonitor", format!("[core]\n\tfsmonitor = {touch}\n")),
        (
            "core.hookspath",
            "[core]\n\thooksPath = evil-hooks\n".into(),
        ),
        (
            "core.sshcommand",
            format!("[core]\n\tsshCommand = {touch}\n"),
        ),
        ("http.proxy", format!("[http]\n\tproxy = {trap_url}\n")),
        (
            "http.",
            format!("[http \"{}/\"]\n\tproxy = {trap_url}\n", h.base),
        ),
        ("http.sslverify", "[http]\n\tsslVerify = false\n".into()),
        (
            "credential.helper",
            format!("[credential]\n\thelper = !{touch}\n"),
        ),
        (
            "url.",
            format!("[url \"{trap_url}/\"]\n\tinsteadOf = {}/\n", h.base),
        ),
        (
            "url.",
            format!("[url \"{trap_url}/\"]\n\tpushInsteadOf = {}/\n", h.base),
        ),
        (
            "include.path",
            format!("[include]\n\tpath = {}\n", evil_include.display()),
        ),
        (
            "includeif.",
            format!(
                "[includeIf \"gitdir:/\"]\n\tpath = {}\n",
                evil_include.display()
            ),
        ),
        (
            "filter.x.clean",
            format!("[filter \"x\"]\n\tclean = {touch}\n"),
        ),
        ("diff.external", format!("[diff]\n\texternal = {touch}\n")),
        (
            "gpg.program",
            format!("[commit]\n\tgpgSign = true\n[gpg]\n\tprogram = {touch}\n"),
        ),
        (
            "protocol.ext.allow",
            "[protocol \"ext\"]\n\tallow = always\n".into(),
        ),
        (
            "remote.origin.receivepack",
            format!("[remote \"origin\"]\n\treceivepack = {touch}\n"),
        ),
        ("core.worktree", "[core]\n\tworktree = /\n".into()),
    ];
    h.ws.write(".gitattributes", "* filter=x\n");
    for (key, text) in &cases {
        std::fs::write(h.ws.root().join(".git/config"), &pristine).unwrap();
        h.append_config(text);
        let r = commit(&h).await;
        assert_eq!(err_status(&r), 403, "{key}: {:?}", r.structured_content);
        let message = err_message(&r).to_ascii_lowercase();
        assert!(message.contains(key), "{key} not named: {message}");
        assert!(!pwned.exists(), "{key}: a configured command ran");
    }
    assert_eq!(t.hits.load(Ordering::SeqCst), 0, "the trap was contacted");
    assert_eq!(
        h.head(&format!("{}/site", h.org)),
        None,
        "something was pushed"
    );
    assert!(h.state.attempts().is_empty(), "credentials were offered");

    // Several at once: every one is named.
    std::fs::write(h.ws.root().join(".git/config"), &pristine).unwrap();
    h.append_config(&format!(
        "[core]\n\tfsmonitor = {touch}\n[http]\n\tproxy = {trap_url}\n[credential]\n\thelper = x\n"
    ));
    let r = commit(&h).await;
    let message = err_message(&r).to_ascii_lowercase();
    for key in ["core.fsmonitor", "http.proxy", "credential.helper"] {
        assert!(message.contains(key), "{key} not named: {message}");
    }
    // Once the config is clean again, the same workspace pushes.
    std::fs::write(h.ws.root().join(".git/config"), &pristine).unwrap();
    std::fs::remove_file(h.ws.root().join(".gitattributes")).unwrap();
    let r = commit(&h).await;
    assert_eq!(ok(&r)["pushed"], true);
    assert!(!pwned.exists());
}

/// Extra push URLs (another tenant's org, a protected repository) are ignored: the push
/// lands only in origin's repository, and the audit row names it.
#[tokio::test]
async fn push_urls_in_the_config_are_ignored() {
    let h = hostile(&ToolFilter::default()).await;
    h.append_config(&format!(
        "[remote \"origin\"]\n\tpushurl = {0}/vibn-other/site.git\n\tpushurl = {0}/{1}/infra.git\n",
        h.base, h.org
    ));
    let r = commit(&h).await;
    let out = ok(&r);
    assert_eq!(out["repo"], format!("{}/site", h.org));
    assert!(h.head(&format!("{}/site", h.org)).is_some());
    assert_eq!(
        h.head("vibn-other/site"),
        None,
        "pushed into another tenant"
    );
    assert_eq!(
        h.head(&format!("{}/infra", h.org)),
        None,
        "pushed into infra"
    );
    let events = h.store.list_audit(None, 10).unwrap();
    let push = events
        .iter()
        .find(|e| e.tool == "git_commit_and_push")
        .unwrap();
    assert!(
        push.target.contains(&format!("{}/site", h.org)),
        "{}",
        push.target
    );
}

/// Origins spelled to slip past the guards — percent-encoded, upper case, trailing
/// slashes — are normalized before the protected list and the org pin see them.
#[tokio::test]
async fn oddly_spelled_origins_cannot_reach_protected_or_foreign_repositories() {
    let h = hostile(&ToolFilter::default()).await;
    let upper_org = h.org.to_ascii_uppercase();
    let origins = [
        format!("{}/{}/%69nfra.git", h.base, h.org),
        format!("{}/{}/INFRA.GIT", h.base, h.org),
        format!("{}/{}/infra/", h.base, h.org),
        format!("{}/{upper_org}/Infra", h.base),
        format!("{}/%76ibn-other/site.git", h.base),
        format!("{}/VIBN-OTHER/site.git", h.base),
    ];
    for origin in &origins {
        git(&h.ws.root(), &["remote", "set-url", "origin", origin]);
        let r = commit(&h).await;
        assert_eq!(err_status(&r), 403, "{origin}");
    }
    assert_eq!(h.head(&format!("{}/infra", h.org)), None);
    assert_eq!(h.head("vibn-other/site"), None);
    assert!(h.state.attempts().is_empty());
}

/// Hooks in the repository never run (none of vibn's git commands use them).
#[tokio::test]
async fn hooks_in_the_repository_never_run() {
    let h = hostile(&ToolFilter::default()).await;
    let pwned = h.pwned();
    for hook in [
        "pre-commit",
        "commit-msg",
        "post-commit",
        "pre-push",
        "prepare-commit-msg",
    ] {
        let path = h.ws.root().join(".git/hooks").join(hook);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, format!("#!/bin/sh\ntouch {}\n", pwned.display())).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let r = commit(&h).await;
    assert_eq!(ok(&r)["pushed"], true);
    assert!(!pwned.exists(), "a hook ran");
}

/// With execute_command excluded, a repository config still cannot run a command
/// during a commit.
#[tokio::test]
async fn without_execute_command_the_config_cannot_run_one_either() {
    let filter = ToolFilter {
        exclude: vec!["execute_command".into()],
        ..ToolFilter::default()
    };
    let h = hostile(&filter).await;
    h.append_config(&format!(
        "[core]\n\tfsmonitor = touch {}\n",
        h.pwned().display()
    ));
    let r = commit(&h).await;
    assert_eq!(err_status(&r), 403);
    assert!(!h.pwned().exists());
}

/// `.git` must be the repository's own folder: a `gitdir:` file or a symlink pointing
/// elsewhere is refused.
#[tokio::test]
async fn a_git_dir_elsewhere_is_refused() {
    let h = hostile(&ToolFilter::default()).await;
    let root = h.ws.root();
    std::fs::rename(root.join(".git"), h.repos.path().join("moved.git")).unwrap();
    std::fs::write(
        root.join(".git"),
        format!("gitdir: {}\n", h.repos.path().join("moved.git").display()),
    )
    .unwrap();
    let r = commit(&h).await;
    assert_eq!(err_status(&r), 403);
    std::fs::remove_file(root.join(".git")).unwrap();
    std::os::unix::fs::symlink(h.repos.path().join("moved.git"), root.join(".git")).unwrap();
    let r = commit(&h).await;
    assert_eq!(err_status(&r), 403);
    let r = call(&h.client, "git_pull", json!({})).await;
    assert_eq!(err_status(&r), 403, "git_pull too");
    assert!(h.state.attempts().is_empty());
}

/// The file tools never write under `.git/` (the agent commits through
/// git_commit_and_push), whatever the spelling.
#[tokio::test]
async fn file_tools_never_write_under_dot_git() {
    let h = hostile(&ToolFilter::default()).await;
    let config_before = std::fs::read_to_string(h.ws.root().join(".git/config")).unwrap();
    std::fs::create_dir(h.ws.root().join("sub")).unwrap();
    std::os::unix::fs::symlink(h.ws.root().join(".git"), h.ws.root().join("gitlink")).unwrap();
    for path in [
        ".git/config",
        "./.git/config",
        ".GIT/config",
        "sub/../.git/hooks/pre-commit",
        "sub/.git/config",
        "gitlink/config",
        ".git",
    ] {
        let r = call(
            &h.client,
            "write_file",
            json!({"path": path, "content": "[core]\n\tfsmonitor = x\n"}),
        )
        .await;
        assert_eq!(err_status(&r), 403, "write_file {path}");
    }
    let r = call(
        &h.client,
        "replace_in_file",
        json!({"path": ".git/config", "old": "[core]", "new": "[core]\n\tfsmonitor = x"}),
    )
    .await;
    assert_eq!(err_status(&r), 403);
    assert_eq!(
        std::fs::read_to_string(h.ws.root().join(".git/config")).unwrap(),
        config_before
    );
    assert!(!Path::new(&h.ws.root().join("sub/.git")).exists());
}

// ---- git_clone and git_pull (issue 12 item 6) ----

/// Give `<org>/<name>` a first commit on main (the fixture's repositories are empty).
fn seeded(h: &Hostile, name: &str) -> String {
    seed(
        &h.bare(&format!("{}/{name}", h.org)),
        "main",
        &[("index.html", "<h1>site</h1>\n")],
        "first",
    )
}

/// Names of the root's entries, sorted (to show a refused call created nothing).
fn root_entries(h: &Hostile) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(h.ws.root())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Pinned, git_clone reaches only the workspace org: another tenant's repository —
/// however it is spelled — and sources that are not an owner/name on the Gitea host are
/// refused before any request leaves, and nothing is created or run.
#[tokio::test]
async fn pinned_clone_refuses_other_tenants_and_hostile_sources_before_any_request() {
    let h = hostile(&ToolFilter::default()).await;
    seeded(&h, "site");
    seed(&h.bare("vibn-other/site"), "main", &[("secret", "s")], "s");
    let t = trap();
    let touch = format!("touch {}", h.pwned().display());
    let host = h.base.trim_start_matches("http://");
    let before = root_entries(&h);
    let cases: Vec<(String, u64)> = vec![
        ("vibn-other/site".into(), 403),
        ("VIBN-OTHER/site".into(), 403),
        (format!("{}/vibn-other/site.git", h.base), 403),
        (format!("{}/%76ibn-other/site.git", h.base), 403),
        (format!("{}/x/vibn-other/site", h.base), 403),
        ("%76ibn-other/site".into(), 400),
        (format!("{}/%2e%2e", h.org), 400),
        (format!("{}/site/../../vibn-other/site", h.org), 400),
        ("../vibn-other/site".into(), 400),
        (format!("http://bot:{TOKEN}@{host}/{}/site.git", h.org), 400),
        (format!("bot@{host}:{}/site.git", h.org), 400),
        (format!("ssh://{host}/{}/site.git", h.org), 400),
        (
            format!("http://127.0.0.1:{}/{}/site.git", t.port, h.org),
            403,
        ),
        (
            format!("file://{}", h.bare(&format!("{}/site", h.org)).display()),
            400,
        ),
        (format!("ext::sh -c {touch}"), 400),
        (format!("--upload-pack={touch}"), 400),
        ("-u/site".into(), 400),
    ];
    for (repo, status) in &cases {
        let r = call(
            &h.client,
            "git_clone",
            json!({"repo": repo, "dir": "clone"}),
        )
        .await;
        assert_eq!(err_status(&r), *status, "{repo}: {:?}", r.content);
        assert!(!format!("{r:?}").contains(TOKEN), "{repo}: token echoed");
    }
    assert!(
        h.state.attempts().is_empty(),
        "a request left: {:?}",
        h.state.attempts()
    );
    assert_eq!(t.hits.load(Ordering::SeqCst), 0, "the trap was contacted");
    assert!(!h.pwned().exists(), "a command ran");
    assert_eq!(root_entries(&h), before, "something was created");
    // The workspace's own repository clones, as the bot.
    let r = call(
        &h.client,
        "git_clone",
        json!({"repo": "site", "dir": "clone"}),
    )
    .await;
    assert_eq!(ok(&r)["repo"], format!("{}/site", h.org));
    let users: Vec<_> = h.state.attempts().into_iter().map(|a| a.username).collect();
    assert!(
        !users.is_empty() && users.iter().all(|u| u.as_deref() == Some("bot")),
        "{users:?}"
    );
}

/// The folder a clone goes into must lie in the root and outside any `.git`, however it
/// is spelled or reached (symlinks resolved); nothing is fetched for a refused one.
#[tokio::test]
async fn clone_dirs_outside_the_root_or_inside_git_are_refused() {
    let h = hostile(&ToolFilter::default()).await;
    seeded(&h, "site");
    let root = h.ws.root();
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.join("sub")).unwrap();
    std::fs::create_dir(root.join("inside")).unwrap();
    std::os::unix::fs::symlink(outside.path(), root.join("out")).unwrap();
    std::os::unix::fs::symlink(root.join(".git"), root.join("gitlink")).unwrap();
    std::os::unix::fs::symlink("inside", root.join("link")).unwrap();
    h.ws.write("file.txt", "f");
    let config = std::fs::read_to_string(root.join(".git/config")).unwrap();
    let outside_dir = outside.path().join("x").display().to_string();
    for (dir, status) in [
        ("../x", 403),
        ("sub/../../x", 403),
        (outside_dir.as_str(), 403),
        (".git", 403),
        (".git/x", 403),
        (".GIT/hooks", 403),
        ("sub/.git", 403),
        ("gitlink", 403),
        ("gitlink/x", 403),
        ("out", 403),
        ("out/x", 403),
        ("file.txt", 400),
        ("file.txt/x", 400),
    ] {
        let r = call(&h.client, "git_clone", json!({"repo": "site", "dir": dir})).await;
        assert_eq!(err_status(&r), status, "{dir}: {:?}", r.content);
    }
    assert!(h.state.attempts().is_empty(), "nothing may be fetched");
    assert!(std::fs::read_dir(outside.path()).unwrap().next().is_none());
    assert_eq!(
        std::fs::read_to_string(root.join(".git/config")).unwrap(),
        config
    );
    assert!(!root.join("sub/.git").exists() && !root.join("sub/x").exists());
    // A symlink to an empty folder inside the root is followed, and the result says where.
    let r = call(
        &h.client,
        "git_clone",
        json!({"repo": "site", "dir": "link"}),
    )
    .await;
    assert_ne!(r.is_error, Some(true), "{:?}", r.content);
    assert_eq!(ok(&r)["dir"], "inside");
    assert!(root.join("inside/index.html").exists());
}

/// Each hostile setting in the root repository's config, alone, stops git_pull by name
/// before git runs with it: nothing runs, nothing reaches the trap, no credentials are
/// offered. Once the config is clean the same pull works, and no hook runs.
#[tokio::test]
async fn pull_refuses_every_hostile_config_key_and_nothing_runs_or_leaves() {
    let h = hostile(&ToolFilter::default()).await;
    let first = seeded(&h, "site");
    let t = trap();
    let pwned = h.pwned();
    let touch = format!("touch {}", pwned.display());
    let trap_url = format!("http://127.0.0.1:{}", t.port);
    let evil_include = h.repos.path().join("evil.cfg");
    std::fs::write(&evil_include, format!("[core]\n\tfsmonitor = {touch}\n")).unwrap();
    let pristine = std::fs::read_to_string(h.ws.root().join(".git/config")).unwrap();
    let cases: Vec<(&str, String)> = vec![
        ("http.proxy", format!("[http]\n\tproxy = {trap_url}\n")),
        (
            "http.",
            format!("[http \"{}/\"]\n\tproxy = {trap_url}\n", h.base),
        ),
        (
            "http.extraheader",
            "[http]\n\textraHeader = X-Evil: 1\n".into(),
        ),
        (
            "url.",
            format!("[url \"{trap_url}/\"]\n\tinsteadOf = {}/\n", h.base),
        ),
        ("core.fsmonitor", format!("[core]\n\tfsmonitor = {touch}\n")),
        (
            "core.hookspath",
            "[core]\n\thooksPath = evil-hooks\n".into(),
        ),
        ("core.askpass", format!("[core]\n\taskPass = {touch}\n")),
        ("core.gitproxy", format!("[core]\n\tgitProxy = {touch}\n")),
        (
            "credential.helper",
            format!("[credential]\n\thelper = !{touch}\n"),
        ),
        (
            "include.path",
            format!("[include]\n\tpath = {}\n", evil_include.display()),
        ),
        (
            "remote.origin.uploadpack",
            format!("[remote \"origin\"]\n\tuploadpack = {touch}\n"),
        ),
        (
            "remote.origin.proxy",
            format!("[remote \"origin\"]\n\tproxy = {trap_url}\n"),
        ),
        (
            "transfer.fsckobjects",
            "[transfer]\n\tfsckObjects = false\n".into(),
        ),
        (
            "fetch.fsck.gitmodulesurl",
            "[fetch \"fsck\"]\n\tgitmodulesUrl = ignore\n".into(),
        ),
        (
            "merge.x.driver",
            format!("[merge \"x\"]\n\tdriver = {touch}\n"),
        ),
        (
            "fetch.bundleuri",
            format!("[fetch]\n\tbundleURI = {trap_url}/x.bundle\n"),
        ),
        (
            "filter.x.smudge",
            format!("[filter \"x\"]\n\tsmudge = {touch}\n"),
        ),
    ];
    for (key, text) in &cases {
        std::fs::write(h.ws.root().join(".git/config"), &pristine).unwrap();
        h.append_config(text);
        let r = call(&h.client, "git_pull", json!({})).await;
        assert_eq!(err_status(&r), 403, "{key}: {:?}", r.content);
        let message = err_message(&r).to_ascii_lowercase();
        assert!(message.contains(key), "{key} not named: {message}");
        assert!(!pwned.exists(), "{key}: a configured command ran");
    }
    assert_eq!(t.hits.load(Ordering::SeqCst), 0, "the trap was contacted");
    assert!(h.state.attempts().is_empty(), "credentials were offered");
    assert!(
        !h.ws.root().join("index.html").exists(),
        "something was pulled"
    );

    // Clean again, with hooks planted that a checkout or merge would run: the pull
    // fast-forwards the unborn branch, as the bot, and no hook runs.
    std::fs::write(h.ws.root().join(".git/config"), &pristine).unwrap();
    for hook in [
        "post-checkout",
        "post-merge",
        "reference-transaction",
        "pre-merge-commit",
    ] {
        let path = h.ws.root().join(".git/hooks").join(hook);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, format!("#!/bin/sh\n{touch}\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let r = call(&h.client, "git_pull", json!({})).await;
    let out = ok(&r);
    assert_eq!(out["outcome"], "fast_forwarded");
    assert_eq!(out["commit"], first);
    assert!(out.get("before").is_none());
    assert!(h.ws.root().join("index.html").exists());
    assert!(!pwned.exists(), "a hook ran");
    let users: Vec<_> = h.state.attempts().into_iter().map(|a| a.username).collect();
    assert!(
        users.iter().all(|u| u.as_deref() == Some("bot")),
        "{users:?}"
    );
}

/// git_pull fetches from the URL vibn builds from origin's validated name, never from
/// the remote the repository configures: its refspecs are ignored, an origin in another
/// tenant's org (however spelled) or on another host is refused with no request, and a
/// protected repository of the org may be pulled (read-only, not hidden).
#[tokio::test]
async fn pull_fetches_only_from_origins_validated_repository() {
    let h = hostile(&ToolFilter::default()).await;
    seeded(&h, "site");
    seeded(&h, "infra");
    seed(&h.bare("vibn-other/site"), "main", &[("secret", "s")], "s");
    let t = trap();
    let root = h.ws.root();
    for origin in [
        format!("{}/vibn-other/site.git", h.base),
        format!("{}/%76ibn-other/site.git", h.base),
        format!("{}/VIBN-OTHER/site", h.base),
        format!("http://127.0.0.1:{}/{}/site.git", t.port, h.org),
        format!(
            "ssh://{}/{}/site.git",
            h.base.trim_start_matches("http://"),
            h.org
        ),
    ] {
        git(&root, &["remote", "set-url", "origin", &origin]);
        let r = call(&h.client, "git_pull", json!({})).await;
        assert_eq!(err_status(&r), 403, "{origin}: {:?}", r.content);
    }
    git(&root, &["remote", "remove", "origin"]);
    let r = call(&h.client, "git_pull", json!({})).await;
    assert_eq!(err_status(&r), 403, "no origin, pinned");
    assert!(h.state.attempts().is_empty(), "a request left");
    assert_eq!(t.hits.load(Ordering::SeqCst), 0);
    assert!(!root.join("secret").exists());

    // The configured fetch refspecs and push URLs play no part.
    git(
        &root,
        &[
            "remote",
            "add",
            "origin",
            &format!("{}/{}/site.git", h.base, h.org),
        ],
    );
    h.append_config(&format!(
        "[remote \"origin\"]\n\tfetch = +refs/heads/*:refs/heads/evil/*\n\tpushurl = {}/vibn-other/site.git\n",
        h.base
    ));
    let r = call(&h.client, "git_pull", json!({})).await;
    assert_eq!(ok(&r)["repo"], format!("{}/site", h.org));
    assert_eq!(ok(&r)["protected"], false);
    let refs = git(&root, &["for-each-ref", "--format=%(refname)"]);
    assert!(!refs.contains("evil"), "{refs}");

    // The org's protected repository can be read.
    let infra = format!("{}/{}/infra.git", h.base, h.org);
    git(&root, &["remote", "set-url", "origin", &infra]);
    let r = call(&h.client, "git_pull", json!({})).await;
    let out = ok(&r);
    assert_eq!(out["repo"], format!("{}/infra", h.org));
    assert_eq!(out["protected"], true);
}

/// A repository crafted to attack git (a `.gitmodules` whose URL is an option) fails
/// git's integrity checks on the way in — even when the repository's config turns
/// `fetch.fsckObjects` off — and nothing of it is kept.
#[tokio::test]
async fn a_repository_crafted_to_attack_git_is_refused_and_nothing_kept() {
    let h = hostile(&ToolFilter::default()).await;
    let bare = h.bare(&format!("{}/site", h.org));
    seed(
        &bare,
        "main",
        &[
            (
                ".gitmodules",
                &format!(
                    "[submodule \"x\"]\n\tpath = x\n\turl = --upload-pack=touch {}\n",
                    h.pwned().display()
                ),
            ),
            ("index.html", "hi"),
        ],
        "crafted",
    );
    let r = call(&h.client, "git_clone", json!({"repo": "site", "dir": "c"})).await;
    assert_eq!(err_status(&r), 422, "{:?}", r.content);
    assert!(!h.ws.root().join("c").exists());

    h.append_config("[fetch]\n\tfsckObjects = false\n");
    let r = call(&h.client, "git_pull", json!({})).await;
    assert_eq!(err_status(&r), 422, "{:?}", r.content);
    let root = h.ws.root();
    assert!(!root.join("index.html").exists());
    let refs = git(&root, &["for-each-ref", "--format=%(refname)"]);
    assert_eq!(refs, "", "no ref was updated");
    let packs = root.join(".git/objects/pack");
    let left: Vec<_> = std::fs::read_dir(&packs)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    assert!(!h.pwned().exists());
}

/// The bot's token is in no result, no `.git/config` and no audit row of git_clone and
/// git_pull; each call is audited with the repository it reached.
#[tokio::test]
async fn clone_and_pull_keep_the_token_out_of_configs_results_and_the_audit() {
    let h = hostile(&ToolFilter::default()).await;
    seeded(&h, "site");
    let clone = call(
        &h.client,
        "git_clone",
        json!({"repo": "site", "dir": "copy"}),
    )
    .await;
    ok(&clone);
    let pull = call(&h.client, "git_pull", json!({})).await;
    ok(&pull);
    let refused = call(&h.client, "git_clone", json!({"repo": "vibn-other/site"})).await;
    assert_eq!(err_status(&refused), 403);
    for result in [&clone, &pull, &refused] {
        assert!(!format!("{result:?}").contains(TOKEN));
    }
    for config in ["copy/.git/config", ".git/config"] {
        let text = std::fs::read_to_string(h.ws.root().join(config)).unwrap();
        assert!(
            !text.contains(TOKEN) && !text.contains("bot@"),
            "{config}: {text}"
        );
    }
    let events = h.store.list_audit(None, 20).unwrap();
    assert!(events.iter().all(|e| !e.target.contains(TOKEN)));
    let site = format!("{}/site", h.org);
    let clones: Vec<_> = events.iter().filter(|e| e.tool == "git_clone").collect();
    assert!(
        clones
            .iter()
            .any(|e| e.target.contains(&site) && e.target.contains("copy")),
        "{clones:?}"
    );
    assert!(
        clones.iter().any(|e| e.target.starts_with("refused")),
        "{clones:?}"
    );
    let pulls: Vec<_> = events.iter().filter(|e| e.tool == "git_pull").collect();
    assert!(pulls.iter().any(|e| e.target.contains(&site)), "{pulls:?}");
}
