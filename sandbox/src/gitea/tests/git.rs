//! Git smart HTTP at `/{owner}/{repo}.git`: clone and push with a token as the Basic
//! password, and the refusals (private without credentials, push without write).

use std::path::Path;
use std::process::{Command, Output};

use reqwest::StatusCode;

use super::{As, Env};

/// Run git isolated from the developer's configuration (blocking).
fn git(home: &Path, cwd: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .args([
            "-c",
            "user.name=Tester",
            "-c",
            "user.email=tester@example.com",
        ])
        .args(["-c", "init.defaultBranch=main", "-c", "protocol.version=2"])
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .unwrap()
}

async fn git_async(home: &Path, cwd: &Path, args: &[&str]) -> Output {
    let (home, cwd) = (home.to_path_buf(), cwd.to_path_buf());
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        git(&home, &cwd, &refs)
    })
    .await
    .unwrap()
}

fn authed_url(env: &Env, user: &str, secret: &str, path: &str) -> String {
    let base = env.sb.base_url();
    let host = base.trim_start_matches("http://");
    format!("http://{user}:{secret}@{host}{path}")
}

/// A clone with `user:token`, a commit, a push — and the contents API sees the pushed
/// file; pushing to an empty repository makes its first branch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn git_clone_and_push_over_http_are_seen_by_the_contents_api() {
    let env = Env::new().await;
    env.state().create_org("acme", "sandbox-admin");
    env.state().create_repo("acme", "site", true).unwrap();
    let token = env.sb.admin_token();
    let work = env.dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let url = authed_url(&env, "sandbox-admin", &token, "/acme/site.git");
    let out = git_async(&work, &work, &["clone", "-q", &url, "site"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let clone = work.join("site");
    assert!(clone.join("README.md").exists());
    std::fs::write(clone.join("pushed.txt"), "from git\n").unwrap();
    assert!(
        git_async(&work, &clone, &["add", "pushed.txt"])
            .await
            .status
            .success()
    );
    assert!(
        git_async(&work, &clone, &["commit", "-q", "-m", "push test"])
            .await
            .status
            .success()
    );
    let out = git_async(&work, &clone, &["push", "-q", "origin", "main"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let a = env.get("/repos/acme/site/contents/pushed.txt").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["last_commit_message"], "push test\n");
    let pushes: Vec<_> = env
        .state()
        .requests()
        .into_iter()
        .filter(|r| r.path == "/acme/site.git/git-receive-pack")
        .collect();
    assert_eq!(
        (pushes.len(), pushes[0].auth.as_str(), pushes[0].status),
        (1, "basic", 200)
    );

    // First push into an empty repository.
    env.state().create_repo("acme", "empty", false).unwrap();
    let out = git_async(
        &work,
        &clone,
        &[
            "push",
            "-q",
            &authed_url(&env, "sandbox-admin", &token, "/acme/empty.git"),
            "main:trunk",
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let a = env.get("/repos/acme/empty").await;
    assert_eq!(
        (a.body["empty"].as_bool(), a.body["default_branch"].as_str()),
        (Some(false), Some("trunk"))
    );
}

/// Private repositories ask for credentials (401 + WWW-Authenticate); a reader cannot
/// push (403); a renamed repository redirects git too (301).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn git_http_refuses_anonymous_private_reads_and_pushes_without_write() {
    let env = Env::new().await;
    env.state().create_org("acme", "sandbox-admin");
    env.state().create_repo("acme", "site", true).unwrap();
    let refs = "/acme/site.git/info/refs?service=git-upload-pack";
    let anon = env.http.get(env.url(refs)).send().await.unwrap();
    assert_eq!(anon.status(), StatusCode::OK);
    env.state().set_repo_private("acme", "site", true);
    let anon = env.http.get(env.url(refs)).send().await.unwrap();
    assert_eq!(anon.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(anon.headers()["www-authenticate"], "Basic realm=\"Gitea\"");
    let reader = env.user("reader", &["all"]);
    let team = env
        .state()
        .create_team("acme", "readers", "read", &[], false);
    env.state().add_team_member(team, "reader");
    let ok = env
        .call(
            reqwest::Method::GET,
            refs,
            As::Basic("reader", &reader),
            None,
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    let push = "/acme/site.git/info/refs?service=git-receive-pack";
    let denied = env
        .call(
            reqwest::Method::GET,
            push,
            As::Basic("reader", &reader),
            None,
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let outsider = env.user("outsider", &["all"]);
    let hidden = env
        .call(
            reqwest::Method::GET,
            refs,
            As::Basic("outsider", &outsider),
            None,
        )
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    env.state().rename_repo("acme", "site", "web");
    let moved = env.call(reqwest::Method::GET, refs, As::Admin, None).await;
    assert_eq!(moved.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        moved.header("location"),
        "/acme/web.git/info/refs?service=git-upload-pack"
    );
}
