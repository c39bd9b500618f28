//! The Gitea server's tools against the Gitea sandbox, through rmcp's client.

use serde_json::json;
use vibn::api::caller::Pinning;

use crate::gitea_support::Gitea;
use crate::support::{call, err_message, err_status, ok};

async fn seeded_with_issues() -> Gitea {
    let g = Gitea::seeded().await;
    let c = g.admin_client();
    c.create_label("acme", "site", "bug", "ee0701")
        .await
        .unwrap();
    c.create_label("acme", "site", "ui", "0000ff")
        .await
        .unwrap();
    for (title, labels) in [
        ("Broken link", vec![]),
        ("Button misaligned", vec!["ui"]),
        ("Crash on save", vec!["bug"]),
    ] {
        let ids: Vec<i64> = {
            let all = c.list_labels("acme", "site").await.unwrap();
            all.iter()
                .filter(|l| labels.contains(&l.name.as_str()))
                .map(|l| l.id)
                .collect()
        };
        c.create_issue("acme", "site", title, "details", &ids)
            .await
            .unwrap();
    }
    c.create_issue("acme", "api", "Add auth", "", &[])
        .await
        .unwrap();
    g.state()
        .create_pull_request("acme", "site", "A pull request");
    g
}

/// list_repos lists an org's repositories, one page at a time.
#[tokio::test]
async fn list_repos_pages_an_orgs_repositories() {
    let g = Gitea::seeded().await;
    for i in 0..3 {
        g.state()
            .create_repo("acme", &format!("extra{i}"), false)
            .unwrap();
    }
    let client = g.mcp("", Pinning::operator()).await;
    let r = call(&client, "list_repos", json!({"owner": "acme", "limit": 2})).await;
    let out = ok(&r);
    assert_eq!(out["repos"].as_array().unwrap().len(), 2);
    assert_eq!(out["total"], 5);
    assert_eq!(out["next_page"], 2);
    let r = call(
        &client,
        "list_repos",
        json!({"owner": "acme", "limit": "2", "page": "3"}),
    )
    .await;
    let out = ok(&r);
    assert_eq!(out["repos"].as_array().unwrap().len(), 1);
    assert!(out.get("next_page").is_none());
    let r = call(&client, "list_repos", json!({"owner": "acme"})).await;
    let names: Vec<String> = ok(&r)["repos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["full_name"].as_str().unwrap().to_string())
        .collect();
    assert!(
        names.contains(&"acme/site".to_string()) && names.contains(&"acme/api".to_string()),
        "{names:?}"
    );
}

/// Without an owner, the operator sees the repositories they can use; a user's name
/// (not an org) lists that user's repositories.
#[tokio::test]
async fn list_repos_of_the_operator_and_of_a_user() {
    let g = Gitea::seeded().await;
    let admin = g.sandbox.admin_login();
    g.state().create_repo(&admin, "notes", true).unwrap();
    let client = g.mcp("", Pinning::operator()).await;
    let r = call(&client, "list_repos", json!({})).await;
    let names: Vec<String> = ok(&r)["repos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["full_name"].as_str().unwrap().to_string())
        .collect();
    assert!(names.contains(&format!("{admin}/notes")), "{names:?}");
    assert!(
        names.contains(&"acme/site".to_string()),
        "member repositories too: {names:?}"
    );
    let r = call(&client, "list_repos", json!({"owner": admin})).await;
    let names: Vec<String> = ok(&r)["repos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["full_name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, [format!("{admin}/notes")]);
}

/// An unknown owner is a 404 with a hint, not a crash.
#[tokio::test]
async fn list_repos_of_an_unknown_owner_is_not_found() {
    let g = Gitea::seeded().await;
    let client = g.mcp("", Pinning::operator()).await;
    let r = call(&client, "list_repos", json!({"owner": "ghost"})).await;
    assert_eq!(err_status(&r), 404);
    let r = call(&client, "list_repos", json!({"owner": "../etc"})).await;
    assert_eq!(err_status(&r), 400);
}

/// list_issues excludes pull requests and filters by state and label names.
#[tokio::test]
async fn list_issues_excludes_pull_requests_and_filters() {
    let g = seeded_with_issues().await;
    let client = g.mcp("", Pinning::operator()).await;
    let r = call(&client, "list_issues", json!({"repo": "acme/site"})).await;
    let titles: Vec<String> = ok(&r)["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(titles.len(), 3, "{titles:?}");
    assert!(!titles.contains(&"A pull request".to_string()));
    let r = call(
        &client,
        "list_issues",
        json!({"repo": "acme/site", "labels": "bug"}),
    )
    .await;
    let issues = ok(&r)["issues"].as_array().unwrap().clone();
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0]["title"], "Crash on save");
    assert_eq!(issues[0]["labels"], json!(["bug"]));
    let r = call(
        &client,
        "list_issues",
        json!({"repo": "acme/site", "state": "closed"}),
    )
    .await;
    assert_eq!(ok(&r)["issues"].as_array().unwrap().len(), 0);
    let r = call(
        &client,
        "list_issues",
        json!({"repo": "acme/site", "state": "sideways"}),
    )
    .await;
    assert_eq!(r.is_error, Some(true));
    let r = call(&client, "list_issues", json!({"repo": "acme/nope"})).await;
    assert_eq!(err_status(&r), 404);
}

/// list_all_issues gathers issues from every repository, newest first.
#[tokio::test]
async fn list_all_issues_fans_out_over_repositories() {
    let g = seeded_with_issues().await;
    let client = g.mcp("", Pinning::operator()).await;
    let r = call(&client, "list_all_issues", json!({})).await;
    let out = ok(&r);
    let issues = out["issues"].as_array().unwrap();
    assert_eq!(issues.len(), 4, "{out}");
    assert!(
        issues
            .iter()
            .any(|i| i["repo"] == "acme/api" && i["title"] == "Add auth")
    );
    assert!(out["repos_scanned"].as_u64().unwrap() >= 2);
    assert_eq!(out["failed"], json!([]));
}

/// A repository that fails is reported; the others are still listed.
#[tokio::test]
async fn list_all_issues_reports_failing_repositories() {
    let g = seeded_with_issues().await;
    g.state().inject_fault(vibn_sandbox::gitea::Fault::Status {
        method: None,
        path_prefix: "/api/v1/repos/acme/api/issues".into(),
        status: 500,
        times: 10,
        retry_after: None,
    });
    let client = g.mcp("", Pinning::operator()).await;
    let r = call(&client, "list_all_issues", json!({})).await;
    let out = ok(&r);
    assert_eq!(out["failed"].as_array().unwrap().len(), 1);
    assert_eq!(out["failed"][0]["repo"], "acme/api");
    assert_eq!(out["issues"].as_array().unwrap().len(), 3);
}

/// create_issue resolves label names to ids; unknown names are listed with the real ones.
#[tokio::test]
async fn create_issue_with_label_names() {
    let g = seeded_with_issues().await;
    let client = g.mcp("", Pinning::operator()).await;
    let r = call(
        &client,
        "create_issue",
        json!({"repo": "acme/site", "title": "New", "body": "b", "labels": ["bug", "UI"]}),
    )
    .await;
    let out = ok(&r);
    assert_eq!(out["repo"], "acme/site");
    let mut labels: Vec<String> = out["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    labels.sort();
    assert_eq!(labels, ["bug", "ui"]);
    let number = out["number"].as_u64().unwrap();
    let listed = ok(&call(&client, "list_issues", json!({"repo": "acme/site"})).await).clone();
    assert!(
        listed["issues"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["number"] == number)
    );
    let r = call(
        &client,
        "create_issue",
        json!({"repo": "acme/site", "title": "x", "labels": ["nope"]}),
    )
    .await;
    assert_eq!(err_status(&r), 400);
    let hint = crate::support::err_body(&r)["hint"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(hint.contains("bug") && hint.contains("ui"), "{hint}");
    let r = call(
        &client,
        "create_issue",
        json!({"repo": "acme/site", "title": "  "}),
    )
    .await;
    assert_eq!(err_status(&r), 400);
}

/// close_issue comments, closes, and refuses pull requests and unknown numbers.
#[tokio::test]
async fn close_issue_comments_then_closes() {
    let g = seeded_with_issues().await;
    let client = g.mcp("", Pinning::operator()).await;
    let r = call(
        &client,
        "close_issue",
        json!({"repo": "acme/site", "number": "1", "comment": "Fixed in main"}),
    )
    .await;
    let out = ok(&r);
    assert_eq!(out["state"], "closed");
    assert_eq!(out["commented"], true);
    let closed = g.admin_client().get_issue("acme", "site", 1).await.unwrap();
    assert_eq!(closed.state, "closed");
    assert_eq!(closed.comments, 1);
    let r = call(
        &client,
        "close_issue",
        json!({"repo": "acme/site", "number": 999}),
    )
    .await;
    assert_eq!(err_status(&r), 404);
    let pr_number = g
        .admin_client()
        .list_issues(
            "acme",
            "site",
            vibn::clients::gitea::IssueState::All,
            &[],
            1,
            50,
        )
        .await
        .unwrap()
        .items
        .len() as u64
        + 1;
    let r = call(
        &client,
        "close_issue",
        json!({"repo": "acme/site", "number": pr_number}),
    )
    .await;
    assert!(
        r.is_error == Some(true),
        "a pull request must not be closed as an issue"
    );
}

/// read_repo_file pages a file by lines and refuses directories and binaries.
#[tokio::test]
async fn read_repo_file_reads_by_lines() {
    let g = Gitea::seeded().await;
    let c = g.admin_client();
    let text: String = (1..=50).map(|i| format!("line {i}\n")).collect();
    for (path, content) in [
        ("src/lib.rs", text.as_bytes()),
        ("logo.png", b"\x89PNG\0\0\x01".as_slice()),
    ] {
        let change = vibn::clients::gitea::FileChange {
            path,
            content,
            message: "add",
            branch: None,
        };
        c.create_file("acme", "site", &change).await.unwrap();
    }
    let client = g.mcp("", Pinning::operator()).await;
    let r = call(
        &client,
        "read_repo_file",
        json!({"repo": "acme/site", "path": "src/lib.rs", "offset": 10, "limit": 2}),
    )
    .await;
    let out = ok(&r);
    assert_eq!(out["content"], "line 10\nline 11\n");
    assert_eq!(out["total_lines"], 50);
    assert_eq!(out["next_offset"], 12);
    let r = call(
        &client,
        "read_repo_file",
        json!({"repo": "acme/site", "path": "src"}),
    )
    .await;
    assert_eq!(err_status(&r), 400);
    assert!(
        crate::support::err_body(&r)["hint"]
            .as_str()
            .unwrap()
            .contains("lib.rs")
    );
    let r = call(
        &client,
        "read_repo_file",
        json!({"repo": "acme/site", "path": "logo.png"}),
    )
    .await;
    assert_eq!(err_status(&r), 400);
    let r = call(
        &client,
        "read_repo_file",
        json!({"repo": "acme/site", "path": "nope.txt"}),
    )
    .await;
    assert_eq!(err_status(&r), 404);
    let r = call(
        &client,
        "read_repo_file",
        json!({"repo": "acme/site", "path": "../../etc/passwd"}),
    )
    .await;
    assert_eq!(err_status(&r), 400);
    let r = call(
        &client,
        "read_repo_file",
        json!({"repo": "acme/site", "path": "README.md", "ref": "main"}),
    )
    .await;
    assert!(ok(&r)["content"].as_str().unwrap().contains("site"));
}

/// Protected repositories are readable but every write is refused before any request.
#[tokio::test]
async fn protected_repositories_refuse_writes_without_an_upstream_call() {
    let g = seeded_with_issues().await;
    let client = g.mcp("acme/site", Pinning::operator()).await;
    g.state().clear_requests();
    let r = call(
        &client,
        "create_issue",
        json!({"repo": "acme/site", "title": "x"}),
    )
    .await;
    assert_eq!(err_status(&r), 403);
    assert!(err_message(&r).contains("acme/site"));
    let r = call(
        &client,
        "close_issue",
        json!({"repo": "ACME/Site", "number": 1}),
    )
    .await;
    assert_eq!(err_status(&r), 403);
    assert!(
        g.state().requests().is_empty(),
        "no request may reach Gitea: {:?}",
        g.state().requests()
    );
    ok(&call(&client, "list_issues", json!({"repo": "acme/site"})).await);
    ok(&call(
        &client,
        "create_issue",
        json!({"repo": "acme/api", "title": "allowed"}),
    )
    .await);
}

/// Without Gitea settings every tool says what to set.
#[tokio::test]
async fn unconfigured_gitea_names_the_variables() {
    let api = vibn::api::gitea_api::GiteaApi::with_client(
        None,
        None,
        vibn::policy::protected::ProtectedList::empty(),
    );
    let server = vibn::mcp::gitea_server::GiteaServer::new(
        api,
        Pinning::operator(),
        &vibn::config::ToolFilter::default(),
    )
    .unwrap();
    let (a, b) = tokio::io::duplex(1 << 16);
    tokio::spawn(async move {
        use rmcp::ServiceExt;
        if let Ok(r) = server.serve(a).await {
            let _ = r.waiting().await;
        }
    });
    use rmcp::ServiceExt;
    let client = ().serve(b).await.unwrap();
    let r = call(&client, "list_repos", json!({})).await;
    assert_eq!(err_status(&r), 503);
    assert!(
        crate::support::err_body(&r)["hint"]
            .as_str()
            .unwrap()
            .contains("GITEA_API_TOKEN")
    );
}
