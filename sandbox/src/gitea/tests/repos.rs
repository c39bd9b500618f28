//! Repositories, orgs and teams: pagination, conflicts, renames, archives, visibility.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{As, Env};

/// `limit` is capped at 50 (default 30, bad numbers read as 0), `X-Total-Count` is the
/// total, and `Link` names next/last (first/prev from page 2) with absolute URLs.
#[tokio::test]
async fn pagination_caps_limit_and_sets_total_count_and_links() {
    let env = Env::new().await;
    env.state().create_org("bulk", "sandbox-admin");
    for i in 0..60 {
        env.state()
            .create_repo("bulk", &format!("r{i:02}"), false)
            .unwrap();
    }
    let a = env.get("/orgs/bulk/repos?limit=100").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body.as_array().unwrap().len(), 50);
    assert_eq!(a.header("x-total-count"), "60");
    let api = env.sb.api_url();
    assert_eq!(
        a.header("link"),
        format!(
            "<{api}/orgs/bulk/repos?limit=100&page=2>; rel=\"next\",<{api}/orgs/bulk/repos?limit=100&page=2>; rel=\"last\""
        )
    );
    let a = env.get("/orgs/bulk/repos?limit=100&page=2").await;
    assert_eq!(a.body.as_array().unwrap().len(), 10);
    assert!(a.header("link").contains("rel=\"first\""));
    assert!(a.header("link").contains("rel=\"prev\""));
    assert!(!a.header("link").contains("rel=\"next\""));
    let a = env.get("/orgs/bulk/repos").await;
    assert_eq!(a.body.as_array().unwrap().len(), 30);
    let a = env.get("/orgs/bulk/repos?limit=abc&page=zz").await;
    assert_eq!(
        (a.status, a.body.as_array().unwrap().len()),
        (StatusCode::OK, 30)
    );
    // Repository JSON carries what clients read.
    let r = &env.get("/orgs/bulk/repos?limit=1").await.body[0];
    assert_eq!(r["full_name"], "bulk/r00");
    assert_eq!(
        r["clone_url"],
        format!("{}/bulk/r00.git", env.sb.base_url())
    );
    assert_eq!(r["empty"], true);
    assert_eq!(r["owner"]["login"], "bulk");
    assert_eq!(
        r["permissions"],
        json!({"admin": true, "push": true, "pull": true})
    );
}

/// A taken repository name is 409, a taken org name 422; missing names 422.
#[tokio::test]
async fn repo_exists_is_409_while_org_exists_is_422() {
    let env = Env::new().await;
    let a = env
        .post(
            "/orgs",
            json!({"username": "acme", "visibility": "private"}),
        )
        .await;
    assert_eq!(
        (a.status, a.body["visibility"].as_str()),
        (StatusCode::CREATED, Some("private"))
    );
    let a = env.post("/orgs", json!({"username": "ACME"})).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let a = env.post("/orgs", json!({})).await;
    assert_eq!(
        (a.status, a.message().as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "[UserName]: Required")
    );
    let a = env
        .post(
            "/orgs/acme/repos",
            json!({"name": "site", "auto_init": true, "private": true}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(
        (a.body["empty"].as_bool(), a.body["default_branch"].as_str()),
        (Some(false), Some("main"))
    );
    let a = env.post("/orgs/acme/repos", json!({"name": "Site"})).await;
    assert_eq!(
        (a.status, a.message().as_str()),
        (
            StatusCode::CONFLICT,
            "The repository with the same name already exists."
        )
    );
    let a = env.post("/orgs/acme/repos", json!({"name": "x.git"})).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let a = env.post("/orgs/nope/repos", json!({"name": "x"})).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

/// After a rename the old path answers 301 to the new one — for reads and for writes,
/// keeping the rest of the path and the query.
#[tokio::test]
async fn rename_answers_301_at_the_old_path_for_every_method() {
    let env = Env::new().await;
    env.state().create_org("acme", "sandbox-admin");
    env.state().create_repo("acme", "old", true).unwrap();
    let a = env
        .call(
            Method::PATCH,
            "/repos/acme/old",
            As::Admin,
            Some(json!({"name": "new"})),
        )
        .await;
    assert_eq!(
        (a.status, a.body["full_name"].as_str()),
        (StatusCode::OK, Some("acme/new"))
    );
    let a = env.get("/repos/acme/old/issues?state=all").await;
    assert_eq!(a.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        a.header("location"),
        "/api/v1/repos/acme/new/issues?state=all"
    );
    let a = env
        .post("/repos/acme/old/issues", json!({"title": "t"}))
        .await;
    assert_eq!(a.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(a.header("location"), "/api/v1/repos/acme/new/issues");
    assert!(
        env.state()
            .requests()
            .iter()
            .all(|r| r.path != "/api/v1/repos/acme/new/issues")
    );
    let a = env.get("/repos/acme/new/contents/README.md").await;
    assert_eq!(a.status, StatusCode::OK);
    // The control does the same; a new repository at the old name ends the redirect.
    env.state().rename_repo("acme", "new", "newer");
    assert_eq!(
        env.get("/repos/acme/new").await.status,
        StatusCode::MOVED_PERMANENTLY
    );
    env.state().create_repo("acme", "old", false).unwrap();
    assert_eq!(env.get("/repos/acme/old").await.status, StatusCode::OK);
}

/// Writes to an archived repository are 423; reads still work.
#[tokio::test]
async fn archived_repositories_refuse_writes_with_423() {
    let env = Env::new().await;
    env.state().create_org("acme", "sandbox-admin");
    env.state().create_repo("acme", "site", true).unwrap();
    env.state().archive_repo("acme", "site", true);
    let a = env
        .post("/repos/acme/site/issues", json!({"title": "t"}))
        .await;
    assert_eq!(
        (a.status, a.message().as_str()),
        (StatusCode::LOCKED, "acme/site is archived")
    );
    let a = env
        .post(
            "/repos/acme/site/contents/x.txt",
            json!({"content": "eA=="}),
        )
        .await;
    assert_eq!(a.status, StatusCode::LOCKED);
    let a = env.get("/repos/acme/site").await;
    assert_eq!(
        (a.status, a.body["archived"].as_bool()),
        (StatusCode::OK, Some(true))
    );
    let a = env
        .call(
            Method::PATCH,
            "/repos/acme/site",
            As::Admin,
            Some(json!({"archived": false})),
        )
        .await;
    assert_eq!(a.body["archived"], false);
    assert_eq!(
        env.post("/repos/acme/site/issues", json!({"title": "t"}))
            .await
            .status,
        StatusCode::CREATED
    );
}

/// Private repositories are 404 to outsiders and anonymous callers, visible to members.
#[tokio::test]
async fn private_repositories_are_404_to_outsiders() {
    let env = Env::new().await;
    env.state().create_org("acme", "sandbox-admin");
    env.state().create_repo("acme", "secret", true).unwrap();
    env.state().set_repo_private("acme", "secret", true);
    let outsider = env.user("eve", &["all"]);
    for who in [As::Token(&outsider), As::Anon] {
        assert_eq!(
            env.call(Method::GET, "/repos/acme/secret", who, None)
                .await
                .status,
            StatusCode::NOT_FOUND
        );
    }
    let a = env
        .call(Method::GET, "/orgs/acme/repos", As::Token(&outsider), None)
        .await;
    assert_eq!(a.body, json!([]));
    let team = env
        .state()
        .create_team("acme", "readers", "read", &[], false);
    env.state().add_team_member(team, "eve");
    let a = env
        .call(
            Method::GET,
            "/repos/acme/secret",
            As::Token(&outsider),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        a.body["permissions"],
        json!({"admin": false, "push": false, "pull": true})
    );
    let a = env
        .call(Method::GET, "/user/repos", As::Token(&outsider), None)
        .await;
    assert_eq!(a.body[0]["full_name"], "acme/secret");
}

/// `/repos/search` is wrapped in `{"ok": true, "data": […]}` and filters by owner id.
#[tokio::test]
async fn repo_search_is_wrapped_and_filters_by_owner_id() {
    let env = Env::new().await;
    let acme = env.state().create_org("acme", "sandbox-admin");
    env.state().create_org("other", "sandbox-admin");
    env.state().create_repo("acme", "site", false).unwrap();
    env.state().create_repo("acme", "api", false).unwrap();
    env.state().create_repo("other", "site", false).unwrap();
    let a = env
        .get(&format!("/repos/search?q=SITE&uid={acme}&exclusive=true"))
        .await;
    assert_eq!(a.body["ok"], true);
    let names: Vec<&str> = a.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["full_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["acme/site"]);
    assert_eq!(a.header("x-total-count"), "1");
    let all = env.get("/repos/search").await;
    assert_eq!(all.body["data"].as_array().unwrap().len(), 3);
}

/// Creating org repositories needs an owner, a site admin or a `can_create_org_repo`
/// team; teams need units (500 without); team names are unique (422); members are added
/// with 204.
#[tokio::test]
async fn org_repo_creation_follows_team_rights() {
    let env = Env::new().await;
    env.state().create_org("acme", "sandbox-admin");
    let bot = env.user(
        "bot",
        &["write:organization", "write:repository", "read:user"],
    );
    let a = env
        .post(
            "/orgs/acme/teams",
            json!({"name": "writers", "permission": "write"}),
        )
        .await;
    assert_eq!(
        (a.status, a.message().as_str()),
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "units permission should not be empty"
        )
    );
    let units = json!({"repo.code": "write", "repo.issues": "write", "repo.pulls": "write", "repo.releases": "read"});
    let a = env
        .post("/orgs/acme/teams", json!({"name": "writers", "permission": "write", "includes_all_repositories": true, "units_map": units}))
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(
        (
            a.body["permission"].as_str(),
            a.body["can_create_org_repo"].as_bool()
        ),
        (Some("read"), Some(false))
    );
    assert_eq!(a.body["units_map"]["repo.code"], "write");
    let team = a.body["id"].as_i64().unwrap();
    let a = env
        .post(
            "/orgs/acme/teams",
            json!({"name": "Writers", "units": ["repo.code"]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let a = env
        .call(
            Method::PUT,
            &format!("/teams/{team}/members/bot"),
            As::Admin,
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let a = env.get(&format!("/teams/{team}/members/bot")).await;
    assert_eq!(
        (a.status, a.body["login"].as_str()),
        (StatusCode::OK, Some("bot"))
    );
    let a = env
        .call(
            Method::POST,
            "/orgs/acme/repos",
            As::Token(&bot),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(
        (a.status, a.message().as_str()),
        (
            StatusCode::FORBIDDEN,
            "Given user is not allowed to create repository in organization."
        )
    );
    let creators = env
        .post("/orgs/acme/teams", json!({"name": "creators", "units": ["repo.code"], "permission": "write", "can_create_org_repo": true}))
        .await;
    let creators = creators.body["id"].as_i64().unwrap();
    env.state().add_team_member(creators, "bot");
    let a = env
        .call(
            Method::POST,
            "/orgs/acme/repos",
            As::Token(&bot),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(a.body["permissions"]["admin"], true);
    let teams = env.get("/orgs/acme/teams").await;
    let names: Vec<&str> = teams
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Owners", "writers", "creators"]);
}
