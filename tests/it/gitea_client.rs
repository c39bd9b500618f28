//! The Gitea client against the sandbox: every call, the status mapping, retries only
//! for reads, timeouts, redirects, and credentials that never leak.

use std::time::{Duration, Instant};

use secrecy::SecretString;
use vibn::clients::gitea::{ContentsAnswer, FileChange, IssueState};
use vibn::clients::http::{Failure, HttpConfig};
use vibn::error::ApiError;
use vibn_sandbox::gitea::Fault;

use crate::gitea_support::{Gitea, fast_http};

/// Repositories: create in an org (409 on a taken name), get, list with paging.
#[tokio::test]
async fn repositories_create_get_list() {
    let g = Gitea::seeded().await;
    let c = g.admin_client();
    let repo = c.create_org_repo("acme", "web", true, true).await.unwrap();
    assert_eq!(repo.full_name, "acme/web");
    assert!(repo.private);
    let err = c
        .create_org_repo("acme", "web", true, true)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(409));
    assert_eq!(ApiError::from(err).status(), 422);
    assert_eq!(
        c.get_repo("acme", "web").await.unwrap().default_branch,
        "main"
    );
    let err = c.get_repo("acme", "nope").await.unwrap_err();
    assert_eq!(ApiError::from(err).status(), 404);
    let page = c.list_org_repos("acme", 1, 2).await.unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.total, Some(3));
    assert!(page.has_next);
    assert_eq!(c.all_org_repos("acme", 100).await.unwrap().len(), 3);
}

/// Contents: create, read (base64 decoded by us), update with the blob sha, stale sha 422.
#[tokio::test]
async fn contents_create_read_update() {
    let g = Gitea::seeded().await;
    let c = g.admin_client();
    let change = FileChange {
        path: "docs/a b.md",
        content: b"hello\n",
        message: "add",
        branch: None,
    };
    let created = c.create_file("acme", "site", &change).await.unwrap();
    assert_eq!(created.commit.sha.len(), 40);
    let err = c.create_file("acme", "site", &change).await.unwrap_err();
    assert_eq!(err.status(), Some(422), "creating an existing file");
    let ContentsAnswer::File(file) = c
        .get_contents("acme", "site", "docs/a b.md", None)
        .await
        .unwrap()
    else {
        panic!("expected a file")
    };
    let update = FileChange {
        content: b"bye\n",
        message: "edit",
        ..change
    };
    c.update_file("acme", "site", &update, &file.sha)
        .await
        .unwrap();
    let err = c
        .update_file("acme", "site", &update, &file.sha)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(422), "a stale sha");
    let raw = c
        .get_raw("acme", "site", "docs/a b.md", Some("main"))
        .await
        .unwrap();
    assert_eq!(&raw[..], b"bye\n");
    let ContentsAnswer::Dir(entries) = c.get_contents("acme", "site", "docs", None).await.unwrap()
    else {
        panic!("expected a directory")
    };
    assert_eq!(entries[0].name, "a b.md");
}

/// Branches: create (409 when it exists), get, list.
#[tokio::test]
async fn branches_create_get_list() {
    let g = Gitea::seeded().await;
    let c = g.admin_client();
    c.create_branch("acme", "site", "feature/x", Some("main"))
        .await
        .unwrap();
    assert_eq!(
        c.create_branch("acme", "site", "feature/x", None)
            .await
            .unwrap_err()
            .status(),
        Some(409)
    );
    assert_eq!(
        c.get_branch("acme", "site", "feature/x")
            .await
            .unwrap()
            .name,
        "feature/x"
    );
    assert_eq!(
        c.list_branches("acme", "site", 1, 50)
            .await
            .unwrap()
            .items
            .len(),
        2
    );
    assert_eq!(
        c.get_branch("acme", "site", "nope")
            .await
            .unwrap_err()
            .status(),
        Some(404)
    );
}

/// Issues: create with label ids, edit answers 201, comment.
#[tokio::test]
async fn issues_labels_comments() {
    let g = Gitea::seeded().await;
    let c = g.admin_client();
    let bug = c
        .create_label("acme", "site", "bug", "ee0701")
        .await
        .unwrap();
    let issue = c
        .create_issue("acme", "site", "t", "b", &[bug.id])
        .await
        .unwrap();
    assert_eq!(issue.labels[0].name, "bug");
    let number = u64::try_from(issue.number).unwrap();
    c.create_comment("acme", "site", number, "hi")
        .await
        .unwrap();
    let closed = c
        .set_issue_state("acme", "site", number, IssueState::Closed)
        .await
        .unwrap();
    assert_eq!(closed.state, "closed");
    let listed = c
        .list_issues(
            "acme",
            "site",
            IssueState::Closed,
            &["bug".to_string()],
            1,
            10,
        )
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
}

/// Orgs and teams: create (422 when taken), team with units_map, add a member.
#[tokio::test]
async fn orgs_teams_members() {
    let g = Gitea::start().await;
    let c = g.admin_client();
    let org = c.create_org("vibn-mark", "Mark", "private").await.unwrap();
    assert_eq!(org.login(), "vibn-mark");
    assert_eq!(
        c.create_org("vibn-mark", "Mark", "private")
            .await
            .unwrap_err()
            .status(),
        Some(422)
    );
    assert_eq!(c.get_org("vibn-mark").await.unwrap().visibility, "private");
    let units =
        serde_json::json!({"repo.code": "write", "repo.issues": "write", "repo.pulls": "write"});
    let team = c
        .create_team("vibn-mark", "Writers", units, true)
        .await
        .unwrap();
    assert!(team.can_create_org_repo);
    let password = SecretString::from("bot-password-123".to_string());
    c.admin_create_user("vibn-bot-mark", "bot@mark.example", &password)
        .await
        .unwrap();
    c.add_team_member(team.id, "vibn-bot-mark").await.unwrap();
    let teams = c.list_teams("vibn-mark").await.unwrap();
    assert!(teams.iter().any(|t| t.name == "Writers"));
}

/// Provisioning a bot: the user works at once (must_change_password is sent false),
/// its token is minted with Basic auth, and the token acts as the bot.
#[tokio::test]
async fn bot_user_token_and_ssh_key() {
    let g = Gitea::seeded().await;
    let c = g.admin_client();
    let password = SecretString::from("bot-password-123".to_string());
    let bot = c
        .admin_create_user("vibn-bot-acme", "bot@acme.example", &password)
        .await
        .unwrap();
    assert_eq!(bot.login, "vibn-bot-acme");
    assert_eq!(c.get_user("vibn-bot-acme").await.unwrap().id, bot.id);
    let token = c
        .create_user_token(
            "vibn-bot-acme",
            password.clone(),
            "vibn-1",
            &[
                "write:repository",
                "write:issue",
                "write:organization",
                "read:user",
            ],
        )
        .await
        .unwrap();
    assert_eq!(token.sha1.len(), 40);
    let err = c
        .create_user_token("vibn-bot-acme", password, "vibn-1", &["read:user"])
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "token names are unique per user");
    let as_bot = g.client_with(&token.sha1, fast_http());
    assert!(as_bot.version().await.is_ok());
    let key = c
        .admin_add_user_key(
            "vibn-bot-acme",
            "deploy",
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHl4Yg2ZXDFKjq5aC6Pf6Qxg3J7vY4W0dUPpF1oHfN2L vibn",
        )
        .await
        .unwrap();
    assert!(key.id > 0);
}

/// A user created with must_change_password (Gitea's default) cannot use the API.
#[tokio::test]
async fn must_change_password_accounts_are_refused_with_403() {
    let g = Gitea::start().await;
    g.state()
        .create_user("stuck", "stuck@x.io", "pw-123456", false, true);
    let token = g.state().create_token("stuck", "t", &["all"]);
    let err = g
        .client_with(&token, fast_http())
        .get_user("stuck")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403));
}

/// A bad token is reported as Gitea refusing vibn's credentials (502), never echoing it.
#[tokio::test]
async fn a_bad_token_is_an_upstream_error_without_the_token() {
    let g = Gitea::seeded().await;
    let c = g.client_with("0000deadbeef0000deadbeef0000deadbeef0000", fast_http());
    let err = c.list_org_repos("acme", 1, 10).await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    let api = ApiError::from(err.clone());
    assert_eq!(api.status(), 502);
    assert!(!format!("{err} {api:?}").contains("0000deadbeef"));
}

/// Reads are retried on 502 and succeed; the retries are bounded.
#[tokio::test]
async fn reads_are_retried_on_transient_errors() {
    let g = Gitea::seeded().await;
    g.state().inject_fault(Fault::Status {
        method: None,
        path_prefix: "/api/v1/repos/acme/site".into(),
        status: 502,
        times: 2,
        retry_after: None,
    });
    g.state().clear_requests();
    let c = g.admin_client();
    assert_eq!(c.get_repo("acme", "site").await.unwrap().name, "site");
    assert_eq!(g.state().requests().len(), 3, "two failures, then success");
    g.state().inject_fault(Fault::Status {
        method: None,
        path_prefix: "/api/v1/repos/acme/api".into(),
        status: 503,
        times: 100,
        retry_after: None,
    });
    g.state().clear_requests();
    let err = c.get_repo("acme", "api").await.unwrap_err();
    assert_eq!(ApiError::from(err).status(), 502);
    assert_eq!(g.state().requests().len(), 3, "at most 1 + 2 retries");
}

/// Writes are never retried: one failed POST, one request.
#[tokio::test]
async fn writes_are_not_retried() {
    let g = Gitea::seeded().await;
    g.state().inject_fault(Fault::Status {
        method: Some("POST".into()),
        path_prefix: "/api/v1/repos/acme/site/issues".into(),
        status: 502,
        times: 5,
        retry_after: None,
    });
    g.state().clear_requests();
    let err = g
        .admin_client()
        .create_issue("acme", "site", "t", "", &[])
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(502));
    let posts = g
        .state()
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(posts, 1);
}

/// A hung upstream times out (502) and other calls keep working meanwhile.
#[tokio::test]
async fn a_hung_upstream_times_out_and_others_proceed() {
    let g = Gitea::seeded().await;
    g.state().inject_fault(Fault::Delay {
        path_prefix: "/api/v1/repos/acme/api".into(),
        delay: Duration::from_secs(30),
        times: 10,
    });
    let http = HttpConfig {
        timeout: Duration::from_millis(300),
        retries: 1,
        backoff: Duration::from_millis(10),
        ..fast_http()
    };
    let c = g.direct_client_with(&g.sandbox.admin_token(), http);
    let started = Instant::now();
    let (hung, fine) = tokio::join!(c.get_repo("acme", "api"), c.get_repo("acme", "site"));
    assert!(matches!(hung.unwrap_err().failure, Failure::Timeout));
    assert_eq!(fine.unwrap().name, "site");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

/// A renamed repository: reads follow the redirect, writes are refused, not replayed as GET.
#[tokio::test]
async fn redirects_are_followed_for_reads_only() {
    let g = Gitea::seeded().await;
    g.state().rename_repo("acme", "site", "website");
    let c = g.direct_client_with(&g.sandbox.admin_token(), fast_http());
    assert_eq!(c.get_repo("acme", "site").await.unwrap().name, "website");
    g.state().clear_requests();
    let err = c
        .create_issue("acme", "site", "t", "", &[])
        .await
        .unwrap_err();
    assert!(matches!(err.failure, Failure::Redirect { .. }), "{err}");
    assert!(err.to_string().contains("website"), "{err}");
    assert_eq!(ApiError::from(err).status(), 422);
    let methods: Vec<String> = g
        .state()
        .requests()
        .iter()
        .map(|r| r.method.clone())
        .collect();
    assert_eq!(
        methods,
        ["POST"],
        "the write must not be retried or turned into a GET"
    );
}

/// Pagination follows X-Total-Count across pages.
#[tokio::test]
async fn all_pages_are_collected() {
    let g = Gitea::seeded().await;
    for i in 0..57 {
        g.state()
            .create_repo("acme", &format!("r{i:02}"), false)
            .unwrap();
    }
    let all = g.admin_client().all_org_repos("acme", 1000).await.unwrap();
    assert_eq!(all.len(), 59);
    let capped = g.admin_client().all_org_repos("acme", 10).await.unwrap();
    assert_eq!(capped.len(), 10);
}
