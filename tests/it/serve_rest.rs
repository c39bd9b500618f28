//! `vibn serve`'s REST surface (seed 003 §4) and admin routes over real HTTP: every
//! route's happy path with the MCP tool's shapes, the status codes of §9 (401, 403, 404,
//! 409, 400, 422), the cross-tenant matrix, `POST`/`GET /api/mcp`, org tokens, keys,
//! `bootstrap.sh` (run with sh), and `--read-only` holding over REST too.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::serve_support::Served;

const M: &str = "/api/workspaces/mark";

/// Every workspace route, as the workspace's key: the same results the tools give.
#[tokio::test]
async fn every_rest_route_works_with_the_workspaces_key() {
    let s = Served::start(&[]).await;
    let k = Some(s.mark_key());
    let ok = |(status, body): (StatusCode, Value)| {
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    };
    let ws = ok(s.rest(Method::GET, M, k, None).await);
    assert_eq!(ws["slug"], "mark");
    let creds = ok(s
        .rest(Method::GET, &format!("{M}/gitea-credentials"), k, None)
        .await);
    assert_eq!(creds["bot"]["token"], s.cp.bot_token("mark"));
    ok(s.rest(Method::GET, &format!("{M}/projects"), k, None).await);
    let repo = ok(s
        .rest(
            Method::POST,
            &format!("{M}/repos"),
            k,
            Some(json!({"name": "site"})),
        )
        .await);
    assert_eq!(repo["full_name"], "vibn-mark/site");
    let repos = ok(s.rest(Method::GET, &format!("{M}/repos"), k, None).await);
    assert!(repos.to_string().contains("vibn-mark/site"), "{repos}");

    let app = ok(s
        .rest(
            Method::POST,
            &format!("{M}/apps"),
            k,
            Some(json!({"repo": "site"})),
        )
        .await);
    let uuid = app["uuid"].as_str().unwrap().to_string();
    let a = format!("{M}/apps/{uuid}");
    let list = ok(s.rest(Method::GET, &format!("{M}/apps"), k, None).await);
    assert_eq!(list["apps"][0]["uuid"], uuid.as_str());
    let got = ok(s.rest(Method::GET, &a, k, None).await);
    assert_eq!(got["name"], "mark-site");
    let patched = ok(s
        .rest(
            Method::PATCH,
            &a,
            k,
            Some(json!({"description": "the site"})),
        )
        .await);
    assert!(patched.to_string().contains("description"), "{patched}");
    ok(s.rest(Method::POST, &format!("{a}/rewire-git"), k, None)
        .await);
    let domains = ok(s.rest(Method::GET, &format!("{a}/domains"), k, None).await);
    assert_eq!(domains["domains"], json!(["site.mark.vibnai.com"]));
    let set = ok(s
        .rest(
            Method::PATCH,
            &format!("{a}/domains"),
            k,
            Some(json!(["site.mark.vibnai.com", "api.mark.vibnai.com"])),
        )
        .await);
    assert_eq!(set["domains"].as_array().unwrap().len(), 2, "{set}");
    let bulk = ok(s
        .rest(
            Method::PATCH,
            &format!("{a}/envs"),
            k,
            Some(json!({"envs": [{"key": "A_ONE", "value": "1"}, {"key": "B_TWO", "value": "2"}]})),
        )
        .await);
    assert_eq!(bulk["upserted"], 2);
    ok(s.rest(
        Method::PATCH,
        &format!("{a}/envs"),
        k,
        Some(json!({"key": "C_THREE", "value": "3"})),
    )
    .await);
    let envs = ok(s.rest(Method::GET, &format!("{a}/envs"), k, None).await);
    for key in ["A_ONE", "B_TWO", "C_THREE"] {
        assert!(envs.to_string().contains(key), "{key}: {envs}");
    }
    let deleted = ok(s
        .rest(Method::DELETE, &format!("{a}/envs?key=A_ONE"), k, None)
        .await);
    assert_eq!(deleted["key"], "A_ONE");
    let deploy = ok(s.rest(Method::POST, &format!("{a}/deploy"), k, None).await);
    let deployment = deploy["deployment_uuid"].as_str().unwrap().to_string();
    let deployments = ok(s
        .rest(Method::GET, &format!("{a}/deployments?limit=5"), k, None)
        .await);
    assert!(
        deployments.to_string().contains(&deployment),
        "{deployments}"
    );
    let logs = ok(s
        .rest(
            Method::GET,
            &format!("{M}/deployments/{deployment}/logs"),
            k,
            None,
        )
        .await);
    assert!(logs.is_object(), "{logs}");
    s.cp.coolify
        .state()
        .set_app_status(&uuid, "running:healthy");
    let logs = ok(s
        .rest(Method::GET, &format!("{a}/logs?lines=5"), k, None)
        .await);
    assert!(logs.is_object(), "{logs}");

    let db = ok(s
        .rest(
            Method::POST,
            &format!("{M}/databases"),
            k,
            Some(json!({"type": "postgresql", "name": "db"})),
        )
        .await);
    let db_uuid = db["uuid"].as_str().unwrap().to_string();
    let d = format!("{M}/databases/{db_uuid}");
    assert_eq!(
        ok(s.rest(Method::GET, &format!("{M}/databases"), k, None)
            .await)["databases"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let got = ok(s.rest(Method::GET, &d, k, None).await);
    assert!(got["internal_url"].is_string(), "{got}");
    ok(s.rest(
        Method::PATCH,
        &d,
        k,
        Some(json!({"patch": {"description": "x"}})),
    )
    .await);
    let name = got["name"].as_str().unwrap().to_string();
    ok(
        s.rest(Method::DELETE, &format!("{d}?confirm={name}"), k, None)
            .await,
    );

    let auth = ok(s.rest(Method::GET, &format!("{M}/auth"), k, None).await);
    assert!(
        auth["allowed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "pocketbase"),
        "{auth}"
    );
    let created = ok(s
        .rest(
            Method::POST,
            &format!("{M}/auth"),
            k,
            Some(json!({"provider": "pocketbase", "name": "auth"})),
        )
        .await);
    let svc = created["uuid"].as_str().unwrap().to_string();
    let one = ok(s
        .rest(Method::GET, &format!("{M}/auth/{svc}"), k, None)
        .await);
    assert_eq!(one["provider"], "pocketbase");
    let svc_name = one["name"].as_str().unwrap().to_string();
    ok(s.rest(
        Method::DELETE,
        &format!("{M}/auth/{svc}?confirm={svc_name}"),
        k,
        None,
    )
    .await);

    ok(
        s.rest(Method::DELETE, &format!("{a}?confirm=mark-site"), k, None)
            .await,
    );
}

/// The status codes of seed 003 §9 over REST, each the tool's.
#[tokio::test]
async fn rest_errors_carry_the_tools_status_codes() {
    let s = Served::start(&[]).await;
    let k = Some(s.mark_key());
    s.rest(
        Method::POST,
        &format!("{M}/repos"),
        k,
        Some(json!({"name": "site"})),
    )
    .await;
    let (_, app) = s
        .rest(
            Method::POST,
            &format!("{M}/apps"),
            k,
            Some(json!({"repo": "site"})),
        )
        .await;
    let uuid = app["uuid"].as_str().unwrap().to_string();
    type Case<'a> = (Method, String, Option<&'a str>, Option<Value>, u16);
    let cases: Vec<Case> = vec![
        (Method::GET, format!("{M}/apps"), None, None, 401),
        (
            Method::GET,
            format!("{M}/apps"),
            Some("vibn_sk_nope"),
            None,
            401,
        ),
        (Method::DELETE, format!("{M}/apps/{uuid}"), k, None, 409),
        (
            Method::DELETE,
            format!("{M}/apps/{uuid}?confirm=wrong"),
            k,
            None,
            409,
        ),
        (
            Method::POST,
            format!("{M}/apps"),
            k,
            Some(json!({"repo": 5})),
            400,
        ),
        (
            Method::POST,
            format!("{M}/databases"),
            k,
            Some(json!({"type": "oracle"})),
            400,
        ),
        (
            Method::PATCH,
            format!("{M}/apps/{uuid}/envs"),
            k,
            Some(json!({"key": "bad key", "value": "x"})),
            400,
        ),
        (
            Method::PATCH,
            format!("{M}/apps/{uuid}/domains"),
            k,
            Some(json!(["evil.com"])),
            403,
        ),
        (
            Method::GET,
            format!("{M}/apps/not-there-at-all"),
            k,
            None,
            403,
        ),
        (
            Method::GET,
            format!("{M}/apps/{uuid}?uuid=other"),
            k,
            None,
            400,
        ),
        (Method::GET, format!("{M}/nothing-here"), k, None, 404),
    ];
    for (method, path, key, body, want) in cases {
        let (status, answer) = s.rest(method.clone(), &path, key, body).await;
        assert_eq!(status.as_u16(), want, "{method} {path}: {answer}");
        assert_eq!(answer["status"], want, "{method} {path}: {answer}");
    }
    s.cp.coolify.state().set_server_proxy(false);
    let (status, body) = s
        .rest(
            Method::PATCH,
            &format!("{M}/apps/{uuid}/domains"),
            k,
            Some(json!({"domains": ["x.mark.vibnai.com"]})),
        )
        .await;
    assert_eq!(status.as_u16(), 422, "{body}");
    let (status, body) = s
        .rest(
            Method::PATCH,
            &format!("{M}/apps/{uuid}"),
            k,
            Some(json!({"uuid": "other", "patch": {}})),
        )
        .await;
    assert_eq!(
        status.as_u16(),
        400,
        "a body contradicting the path: {body}"
    );
}

/// Workspace A's key against workspace B: B's slug is 403 on every route (whether or
/// not it exists), B's app, database and deployment through A's slug are 403, and
/// nothing of B's is changed.
#[tokio::test]
async fn one_workspaces_key_cannot_reach_another() {
    let s = Served::start(&[]).await;
    let j = Some(s.justine_key());
    s.rest(
        Method::POST,
        "/api/workspaces/justine/repos",
        j,
        Some(json!({"name": "jsite"})),
    )
    .await;
    let (_, app) = s
        .rest(
            Method::POST,
            "/api/workspaces/justine/apps",
            j,
            Some(json!({"repo": "jsite"})),
        )
        .await;
    let japp = app["uuid"].as_str().unwrap().to_string();
    let (_, db) = s
        .rest(
            Method::POST,
            "/api/workspaces/justine/databases",
            j,
            Some(json!({"type": "redis"})),
        )
        .await;
    let jdb = db["uuid"].as_str().unwrap().to_string();
    let (_, deploy) = s
        .rest(
            Method::POST,
            &format!("/api/workspaces/justine/apps/{japp}/deploy"),
            j,
            None,
        )
        .await;
    let jdep = deploy["deployment_uuid"].as_str().unwrap().to_string();
    s.cp.clear_logs();
    let k = Some(s.mark_key());
    for slug in ["justine", "nobody"] {
        let w = format!("/api/workspaces/{slug}");
        for (method, path) in [
            (Method::GET, w.clone()),
            (Method::GET, format!("{w}/apps")),
            (Method::GET, format!("{w}/apps/{japp}")),
            (
                Method::DELETE,
                format!("{w}/apps/{japp}?confirm=justine-jsite"),
            ),
            (Method::GET, format!("{w}/gitea-credentials")),
            (Method::GET, format!("{w}/keys")),
            (Method::POST, format!("{w}/keys")),
            (Method::GET, format!("{w}/databases")),
            (Method::GET, format!("{w}/auth")),
            (Method::GET, format!("{w}/bootstrap.sh")),
            (Method::POST, format!("{w}/provision")),
        ] {
            let (status, body) = s
                .rest(method.clone(), &path, k, Some(json!({"name": "x"})))
                .await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {body}");
        }
    }
    for (method, path) in [
        (Method::GET, format!("{M}/apps/{japp}")),
        (Method::PATCH, format!("{M}/apps/{japp}/envs")),
        (
            Method::DELETE,
            format!("{M}/apps/{japp}?confirm=justine-jsite"),
        ),
        (Method::GET, format!("{M}/databases/{jdb}")),
        (Method::GET, format!("{M}/deployments/{jdep}/logs")),
    ] {
        let (status, body) = s
            .rest(
                method.clone(),
                &path,
                k,
                Some(json!({"key": "X", "value": "y"})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {body}");
    }
    assert!(
        s.cp.upstream_writes().is_empty(),
        "{:?}",
        s.cp.upstream_writes()
    );
    let (_, listed) = s
        .rest(Method::GET, "/api/workspaces/justine/apps", j, None)
        .await;
    assert_eq!(listed["apps"].as_array().unwrap().len(), 1);
}

/// `GET /api/mcp` describes the served tools (with aliases); `POST /api/mcp {tool,
/// params}` calls one by either name as the key's workspace; unknown tools are 404,
/// bad bodies 400, no key 401.
#[tokio::test]
async fn api_mcp_describes_and_calls_the_tools() {
    let s = Served::start(&[]).await;
    let (status, d) = s.rest(Method::GET, "/api/mcp", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(d["version"], env!("CARGO_PKG_VERSION"));
    let tools = d["tools"].as_array().unwrap();
    assert_eq!(
        tools.len(),
        vibn::mcp::control_plane_server::TOOL_NAMES.len()
    );
    let envs = tools
        .iter()
        .find(|t| t["name"] == "apps_envs_upsert")
        .unwrap();
    assert_eq!(envs["aliases"], json!(["apps.envs.upsert"]));
    assert!(d["mcp"]["url"].as_str().unwrap().ends_with("/mcp"));
    let call = |tool: &str, params: Value| json!({"tool": tool, "params": params});
    let (status, r) = s
        .rest(
            Method::POST,
            "/api/mcp",
            Some(s.mark_key()),
            Some(call("workspace.describe", json!({}))),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["slug"], "mark");
    let (status, r) = s
        .rest(
            Method::POST,
            "/api/mcp",
            Some(s.justine_key()),
            Some(call("apps_list", json!({}))),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    for (key, body, want) in [
        (Some(s.mark_key()), call("apps.nope", json!({})), 404),
        (
            Some(s.mark_key()),
            call("auth_get", json!({"uuid": "x"})),
            404,
        ),
        (Some(s.mark_key()), json!({"params": {}}), 400),
        (
            Some(s.mark_key()),
            call("apps_get", json!({"uuid": 7})),
            400,
        ),
        (Some(s.mark_key()), call("apps_get", json!("x")), 400),
        (None, call("apps_list", json!({})), 401),
    ] {
        let (status, r) = s
            .rest(Method::POST, "/api/mcp", key, Some(body.clone()))
            .await;
        assert_eq!(status.as_u16(), want, "{body}: {r}");
    }
}

/// Org tokens (seed 004, without its fail-open tiers): only an org token lists, mints
/// or revokes them; the workspace list, provisioning and minting keys for another
/// workspace are theirs; a workspace key manages its own workspace's keys; a revoked org
/// token is 401 at once.
#[tokio::test]
async fn org_tokens_open_the_admin_routes_and_nothing_else_does() {
    let s = Served::start(&[]).await;
    for key in [None, Some(s.mark_key())] {
        let (status, _) = s.rest(Method::GET, "/org/tokens", key, None).await;
        assert!(matches!(status.as_u16(), 401 | 403), "{key:?}: {status}");
        let (status, _) = s
            .rest(Method::POST, "/org/tokens", key, Some(json!({"name": "x"})))
            .await;
        assert!(matches!(status.as_u16(), 401 | 403), "{key:?}: {status}");
    }
    let (status, _) = s.rest(Method::GET, "/org/tokens", None, None).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "no fail-open bootstrap with no tokens"
    );
    let org = s.org_token();
    let (status, minted) = s
        .rest(
            Method::POST,
            "/org/tokens",
            Some(&org),
            Some(json!({"name": "ci", "expires_in": "1d"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{minted}");
    let second = minted["token"].as_str().unwrap().to_string();
    assert!(second.starts_with("vibn_at_"));
    assert!(
        minted["created_by"]
            .as_str()
            .unwrap()
            .starts_with("org-token:")
    );
    let (_, list) = s
        .rest(Method::GET, "/org/tokens", Some(&second), None)
        .await;
    assert_eq!(list["tokens"].as_array().unwrap().len(), 2);
    assert!(
        !list.to_string().contains(&second),
        "listing never shows a token"
    );

    let (_, all) = s
        .rest(Method::GET, "/api/workspaces", Some(&org), None)
        .await;
    assert_eq!(all["workspaces"].as_array().unwrap().len(), 2);
    let (_, own) = s
        .rest(Method::GET, "/api/workspaces", Some(s.mark_key()), None)
        .await;
    assert_eq!(own["workspaces"].as_array().unwrap().len(), 1);
    assert_eq!(own["workspaces"][0]["slug"], "mark");
    let (status, _) = s.rest(Method::GET, "/api/workspaces", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, rec) = s
        .rest(Method::GET, "/api/workspaces/justine", Some(&org), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rec["gitea_org"], "vibn-justine");
    let (status, _) = s
        .rest(
            Method::GET,
            "/api/workspaces/justine/apps",
            Some(&org),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "an org token does not act as a workspace"
    );

    let (status, key) = s
        .rest(
            Method::POST,
            "/api/workspaces/justine/keys",
            Some(&org),
            Some(json!({"name": "agent"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{key}");
    let new_key = key["token"].as_str().unwrap().to_string();
    let (status, _) = s
        .rest(
            Method::GET,
            "/api/workspaces/justine/apps",
            Some(&new_key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, own_key) = s
        .rest(
            Method::POST,
            "/api/workspaces/mark/keys",
            Some(s.mark_key()),
            Some(json!({"name": "laptop"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{own_key}");
    let (_, keys) = s
        .rest(
            Method::GET,
            "/api/workspaces/mark/keys",
            Some(s.mark_key()),
            None,
        )
        .await;
    assert_eq!(keys["keys"].as_array().unwrap().len(), 2);
    assert!(!keys.to_string().contains(s.mark_key()));
    let (status, _) = s
        .rest(
            Method::DELETE,
            &format!("/api/workspaces/mark/keys/{}", key["id"].as_str().unwrap()),
            Some(s.mark_key()),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "justine's key is not one of mark's"
    );
    let (status, _) = s
        .rest(
            Method::POST,
            "/api/workspaces/mark/keys",
            Some(&org),
            Some(json!({"name": "x", "extra": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, _) = s
        .rest(
            Method::DELETE,
            &format!("/org/tokens/{}", minted["id"].as_str().unwrap()),
            Some(&org),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s
        .rest(Method::GET, "/org/tokens", Some(&second), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "revoked at once");
}

/// `bootstrap.sh` with the workspace's key embeds it; without a bearer it takes
/// VIBN_API_KEY at run time; another workspace's key is 403. Run with sh, it writes the
/// remote MCP config and the rules.
#[tokio::test]
async fn bootstrap_sh_writes_the_remote_config_with_the_callers_key() {
    let s = Served::start(&[]).await;
    let path = "/api/workspaces/mark/bootstrap.sh";
    let text = |key: Option<&str>| {
        let mut req = s.http.get(format!("{}{path}", s.base));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        async move {
            let r = req.send().await.unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    let (status, embedded) = text(Some(s.mark_key())).await;
    assert_eq!(status, StatusCode::OK);
    assert!(embedded.contains(s.mark_key()));
    let (status, anonymous) = text(None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!anonymous.contains("vibn_sk_") || !anonymous.contains(s.mark_key()));
    assert!(!anonymous.contains(s.mark_key()));
    let (status, _) = text(Some(s.justine_key())).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = s
        .rest(
            Method::GET,
            "/api/workspaces/Bad;rm/bootstrap.sh",
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let dir = tempfile::tempdir().unwrap();
    let run = std::process::Command::new("sh")
        .arg("-c")
        .arg(&embedded)
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let mcp: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(".cursor/mcp.json")).unwrap(),
    )
    .unwrap();
    let entry = &mcp["mcpServers"]["vibn-mark"];
    assert_eq!(entry["url"], format!("{}/mcp", s.base));
    assert_eq!(
        entry["headers"]["Authorization"],
        format!("Bearer {}", s.mark_key())
    );
    let rules =
        std::fs::read_to_string(dir.path().join(".cursor/rules/vibn-workspace.mdc")).unwrap();
    assert!(rules.contains("workspace `mark`"), "{rules}");
    let env = std::fs::read_to_string(dir.path().join(".env.local")).unwrap();
    assert!(env.contains("VIBN_WORKSPACE=mark"), "{env}");

    let run = std::process::Command::new("sh")
        .arg("-c")
        .arg(&anonymous)
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("VIBN_API_KEY", "vibn_sk_x\"; rm -rf /")
        .output()
        .unwrap();
    assert!(
        !run.status.success(),
        "a key with foreign characters is refused"
    );
}

/// `--read-only` holds over every route: write routes are 404 like unknown tools, reads
/// work, and the description lists only read tools.
#[tokio::test]
async fn read_only_serve_refuses_writes_on_every_route() {
    let s = Served::start(&["--read-only"]).await;
    let (status, body) = s
        .rest(
            Method::POST,
            &format!("{M}/repos"),
            Some(s.mark_key()),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = s
        .rest(
            Method::POST,
            "/api/mcp",
            Some(s.mark_key()),
            Some(json!({"tool": "repos_create", "params": {"name": "x"}})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = s
        .rest(Method::GET, &format!("{M}/apps"), Some(s.mark_key()), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, d) = s.rest(Method::GET, "/api/mcp", None, None).await;
    assert!(
        d["tools"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["read_only"] == true),
        "{d}"
    );
    assert!(s.cp.upstream_writes().is_empty());
}

/// `vibn setup <client> --remote URL` on a machine with no keystore: the entry is the
/// server's /mcp with the key as a bearer header and nothing else (no operator token,
/// no keystore path); the key is checked by the server (a revoked one is refused and
/// nothing is written); Claude Desktop is told to use a connector.
#[tokio::test]
async fn setup_remote_writes_the_url_and_the_key_only() {
    let s = Served::start(&[]).await;
    let home = tempfile::tempdir().unwrap();
    let project = home.path().join("p");
    std::fs::create_dir_all(&project).unwrap();
    let setup = |client: &str, key: &str, extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_vibn"))
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", home.path())
            .env("VIBN_API_KEY", key)
            .env("COOLIFY_API_TOKEN", "operator-secret-token")
            .current_dir(&project)
            .args(["setup", client, "--remote", &format!("{}/mcp", s.base)])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = setup("cursor", s.mark_key(), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = std::fs::read_to_string(project.join(".cursor/mcp.json")).unwrap();
    let config: Value = serde_json::from_str(&written).unwrap();
    assert_eq!(
        config["mcpServers"]["vibn-control-plane"],
        json!({"url": format!("{}/mcp", s.base), "headers": {"Authorization": format!("Bearer {}", s.mark_key())}})
    );
    assert!(!written.contains("operator-secret-token") && !written.contains("VIBN_KEYSTORE"));
    let rules = std::fs::read_to_string(project.join(".cursor/rules/vibn-workspace.mdc")).unwrap();
    assert!(rules.contains("workspace `mark`"), "{rules}");

    let out = setup("claude-code", s.justine_key(), &["--scope", "project"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shared: Value =
        serde_json::from_str(&std::fs::read_to_string(project.join(".mcp.json")).unwrap()).unwrap();
    let entry = &shared["mcpServers"]["vibn-control-plane"];
    assert_eq!(entry["type"], "http");
    assert_eq!(
        entry["headers"]["Authorization"], "Bearer ${VIBN_API_KEY}",
        "the shared file holds no key"
    );

    let out = setup("claude-desktop", s.mark_key(), &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("connector"));

    s.cp.store
        .revoke_workspace_key("mark", &s.cp.mark.key_id)
        .unwrap();
    let before = std::fs::read_to_string(project.join(".cursor/mcp.json")).unwrap();
    let out = setup("cursor", s.mark_key(), &[]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not accept"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(project.join(".cursor/mcp.json")).unwrap(),
        before
    );
}

#[tokio::test]
async fn domain_and_storage_routes_answer_for_the_keys_own_workspace_only() {
    let s = Served::start(&[]).await;
    let (k, j) = (Some(s.mark_key()), Some(s.justine_key()));
    let (status, listed) = s.rest(Method::GET, &format!("{M}/domains"), k, None).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert!(listed.to_string().contains("[]"), "{listed}");
    // No registrar or Google settings in this server: the tools say what to set.
    let (status, search) = s
        .rest(
            Method::POST,
            &format!("{M}/domains/search"),
            k,
            Some(json!({"names": ["mark-site.com"]})),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{search}");
    assert!(search.to_string().contains("OPENSRS_"), "{search}");
    let (status, storage) = s.rest(Method::GET, &format!("{M}/storage"), k, None).await;
    assert_ne!(status, StatusCode::NOT_FOUND, "{storage}");
    for (method, path) in [
        (Method::GET, format!("{M}/domains")),
        (Method::GET, format!("{M}/domains/mark-site.com")),
        (Method::GET, format!("{M}/storage")),
        (Method::POST, format!("{M}/storage/provision")),
    ] {
        let (status, body) = s.rest(method.clone(), &path, j, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {body}");
    }
}
