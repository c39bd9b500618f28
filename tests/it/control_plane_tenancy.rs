//! Adversarial tenancy of the control plane, with two provisioned workspaces on the
//! same stand-ins: for every tool that takes an id, workspace `mark` naming a resource
//! of workspace `justine` gets a 403 that reads exactly like the one for an id that
//! does not exist, and neither stand-in's request log shows a write. Plus the other
//! ways across: a repository of the other org, the other workspace's PRD projects, and
//! lists that must not show the other's resources.

use serde_json::{Value, json};

use crate::control_plane_support::{Cp, call};
use crate::coolify_support::ProgressClient;
use crate::support::{err_body, ok};

/// An id that exists nowhere (24 lowercase alphanumerics, like Coolify's).
const MISSING: &str = "nosuchresource0000000000";

/// Justine's resources, made through her own control plane.
struct Theirs {
    app: String,
    app_name: String,
    deployment: String,
    database: String,
    database_name: String,
    service: String,
    service_name: String,
}

struct World {
    cp: Cp,
    mark: ProgressClient,
    mine: String,
    theirs: Theirs,
}

async fn world() -> World {
    let cp = Cp::new(true).await;
    let justine = cp.client(&cp.justine.key).await;
    ok(&call(&justine, "repos_create", json!({"name": "site"})).await);
    let r = call(&justine, "apps_create", json!({"repo": "site"})).await;
    let app = ok(&r)["uuid"].as_str().unwrap().to_string();
    let app_name = ok(&r)["name"].as_str().unwrap().to_string();
    ok(&call(
        &justine,
        "apps_envs_upsert",
        json!({"uuid": app, "key": "SECRET_X", "value": "justine's"}),
    )
    .await);
    let r = call(&justine, "apps_deploy", json!({"uuid": app})).await;
    let deployment = ok(&r)["deployment_uuid"].as_str().unwrap().to_string();
    let r = call(
        &justine,
        "databases_create",
        json!({"type": "postgresql", "name": "db"}),
    )
    .await;
    let (database, database_name) = (
        ok(&r)["uuid"].as_str().unwrap().to_string(),
        ok(&r)["name"].as_str().unwrap().to_string(),
    );
    let r = call(
        &justine,
        "auth_create",
        json!({"provider": "pocketbase", "name": "auth"}),
    )
    .await;
    let (service, service_name) = (
        ok(&r)["uuid"].as_str().unwrap().to_string(),
        ok(&r)["name"].as_str().unwrap().to_string(),
    );
    let justine_ws = cp.store.require_workspace(&cp.justine.slug).unwrap();
    cp.store
        .finalize_prd(
            &justine_ws.id,
            Some(&justine_ws.id),
            "secret-plan",
            "# plan",
            None,
        )
        .unwrap();
    let mark = cp.client(&cp.mark.key).await;
    ok(&call(&mark, "repos_create", json!({"name": "site"})).await);
    let r = call(&mark, "apps_create", json!({"repo": "site"})).await;
    let mine = ok(&r)["uuid"].as_str().unwrap().to_string();
    cp.clear_logs();
    World {
        cp,
        mark,
        mine,
        theirs: Theirs {
            app,
            app_name,
            deployment,
            database,
            database_name,
            service,
            service_name,
        },
    }
}

/// Call `tool` as mark with `args(theirs)` and with `args(MISSING)`: both 403, the same
/// words (the id aside), and no write upstream.
async fn refused_like_missing(
    tool: &str,
    args: impl Fn(&str, &Theirs) -> Value,
    id: fn(&Theirs) -> &str,
) {
    let w = world().await;
    let theirs = id(&w.theirs).to_string();
    let r = call(&w.mark, tool, args(&theirs, &w.theirs)).await;
    let foreign = err_body(&r);
    assert_eq!(foreign["status"], 403, "{tool} on justine's id: {foreign}");
    let r = call(&w.mark, tool, args(MISSING, &w.theirs)).await;
    let missing = err_body(&r);
    assert_eq!(missing["status"], 403, "{tool} on a missing id: {missing}");
    let words = |b: &Value, id: &str| {
        format!(
            "{} | {}",
            b["error"].as_str().unwrap().replace(id, "<id>"),
            b["hint"].as_str().unwrap_or_default()
        )
    };
    assert_eq!(
        words(&foreign, &theirs),
        words(&missing, MISSING),
        "{tool}: another workspace's id and a missing one must read the same"
    );
    assert!(
        foreign["hint"].as_str().unwrap().contains("ask the user"),
        "{foreign}"
    );
    assert_eq!(
        w.cp.upstream_writes(),
        Vec::<String>::new(),
        "{tool} sent a write upstream"
    );
}

macro_rules! refuses_theirs {
    ($($test:ident: $tool:literal, $id:expr, $args:expr;)*) => {$(
        #[doc = concat!("`", $tool, "` with another workspace's id: 403 like a missing id, no write.")]
        #[tokio::test]
        async fn $test() {
            refused_like_missing($tool, $args, $id).await;
        }
    )*};
}

refuses_theirs! {
    apps_get_refuses_another_workspaces_app: "apps_get",
        |t| &t.app, |id, _| json!({"uuid": id});
    apps_update_refuses_another_workspaces_app: "apps_update",
        |t| &t.app, |id, _| json!({"uuid": id, "patch": {"description": "mine now"}});
    apps_rewire_git_refuses_another_workspaces_app: "apps_rewire_git",
        |t| &t.app, |id, _| json!({"uuid": id, "repo": "site"});
    apps_delete_refuses_another_workspaces_app: "apps_delete",
        |t| &t.app, |id, t| json!({"uuid": id, "confirm": t.app_name, "volumes": "delete"});
    apps_deploy_refuses_another_workspaces_app: "apps_deploy",
        |t| &t.app, |id, _| json!({"uuid": id, "force": true});
    apps_deployments_refuses_another_workspaces_app: "apps_deployments",
        |t| &t.app, |id, _| json!({"uuid": id});
    apps_logs_refuses_another_workspaces_app: "apps_logs",
        |t| &t.app, |id, _| json!({"uuid": id});
    apps_domains_list_refuses_another_workspaces_app: "apps_domains_list",
        |t| &t.app, |id, _| json!({"uuid": id});
    apps_domains_set_refuses_another_workspaces_app: "apps_domains_set",
        |t| &t.app, |id, _| json!({"uuid": id, "domains": ["site.mark.vibnai.com"]});
    apps_envs_list_refuses_another_workspaces_app: "apps_envs_list",
        |t| &t.app, |id, _| json!({"uuid": id});
    apps_envs_upsert_refuses_another_workspaces_app: "apps_envs_upsert",
        |t| &t.app, |id, _| json!({"uuid": id, "key": "SECRET_X", "value": "mark's"});
    apps_envs_delete_refuses_another_workspaces_app: "apps_envs_delete",
        |t| &t.app, |id, _| json!({"uuid": id, "key": "SECRET_X"});
    deployments_logs_refuses_another_workspaces_deployment: "deployments_logs",
        |t| &t.deployment, |id, _| json!({"deployment_uuid": id});
    databases_get_refuses_another_workspaces_database: "databases_get",
        |t| &t.database, |id, _| json!({"uuid": id});
    databases_update_refuses_another_workspaces_database: "databases_update",
        |t| &t.database, |id, _| json!({"uuid": id, "patch": {"is_public": true, "public_port": 15432}});
    databases_delete_refuses_another_workspaces_database: "databases_delete",
        |t| &t.database, |id, t| json!({"uuid": id, "confirm": t.database_name});
    auth_delete_refuses_another_workspaces_provider: "auth_delete",
        |t| &t.service, |id, t| json!({"uuid": id, "confirm": t.service_name});
    apps_get_refuses_another_workspaces_database_uuid: "apps_get",
        |t| &t.database, |id, _| json!({"uuid": id});
    databases_get_refuses_another_workspaces_app_uuid: "databases_get",
        |t| &t.app, |id, _| json!({"uuid": id});
}

/// Repositories of another org are 403 for apps_create and apps_rewire_git, before
/// anything is sent; another workspace's PRD project does not exist for this one; and
/// the lists show only this workspace's resources.
#[tokio::test]
async fn other_orgs_projects_and_lists_stay_out_of_reach() {
    let w = world().await;
    for (tool, args) in [
        ("apps_create", json!({"repo": "vibn-justine/site"})),
        (
            "apps_create",
            json!({"repo": "vibn-justine/site", "name": "x"}),
        ),
        (
            "apps_rewire_git",
            json!({"uuid": w.mine, "repo": "vibn-justine/site"}),
        ),
    ] {
        let r = call(&w.mark, tool, args.clone()).await;
        assert_eq!(err_body(&r)["status"], 403, "{tool} {args}");
    }
    assert_eq!(w.cp.upstream_writes(), Vec::<String>::new());
    let r = call(
        &w.mark,
        "projects_get",
        json!({"project_id": "secret-plan"}),
    )
    .await;
    assert_eq!(err_body(&r)["status"], 404);
    let r = call(&w.mark, "projects_list", json!({})).await;
    assert_eq!(ok(&r)["projects"], json!([]));
    let r = call(&w.mark, "apps_list", json!({})).await;
    let apps: Vec<&str> = ok(&r)["apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["uuid"].as_str().unwrap())
        .collect();
    assert_eq!(apps, vec![w.mine.as_str()]);
    let r = call(&w.mark, "databases_list", json!({})).await;
    assert_eq!(ok(&r)["databases"], json!([]));
    let r = call(&w.mark, "auth_list", json!({})).await;
    assert_eq!(ok(&r)["providers"], json!([]));
    let r = call(&w.mark, "repos_list", json!({})).await;
    assert!(
        ok(&r)["repos"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["full_name"].as_str().unwrap().starts_with("vibn-mark/")),
        "{r:?}"
    );
    assert_eq!(w.cp.upstream_writes(), Vec::<String>::new());
}

/// Hostile inputs of every guard reach no upstream write: domains, env keys, confirms,
/// database types and auth providers (tables in `policy/`; here through MCP).
#[tokio::test]
async fn hostile_inputs_are_refused_before_any_write() {
    let w = world().await;
    let mine = w.mine.clone();
    let cases: Vec<(&str, Value, u64)> = vec![
        (
            "apps_domains_set",
            json!({"uuid": mine, "domains": ["evil.com#.site.mark.vibnai.com"]}),
            403,
        ),
        (
            "apps_domains_set",
            json!({"uuid": mine, "domains": ["https://site.mark.vibnai.com"]}),
            403,
        ),
        (
            "apps_domains_set",
            json!({"uuid": mine, "domains": ["site.mark.vibnai.com:8443"]}),
            403,
        ),
        (
            "apps_domains_set",
            json!({"uuid": mine, "domains": ["site.mark.vibnai.com."]}),
            403,
        ),
        (
            "apps_domains_set",
            json!({"uuid": mine, "domains": ["*.mark.vibnai.com"]}),
            403,
        ),
        (
            "apps_domains_set",
            json!({"uuid": mine, "domains": ["site.mark.vibnai.com,evil.com"]}),
            403,
        ),
        (
            "apps_domains_set",
            json!({"uuid": mine, "domains": ["xn--80ak6aa92e.mark.vibnai.com"]}),
            403,
        ),
        (
            "apps_domains_set",
            json!({"uuid": mine, "domains": []}),
            400,
        ),
        (
            "apps_create",
            json!({"repo": "site", "name": "x2", "domain": "x.justine.vibnai.com"}),
            403,
        ),
        (
            "apps_envs_upsert",
            json!({"uuid": mine, "key": "lower", "value": "v"}),
            400,
        ),
        (
            "apps_envs_upsert",
            json!({"uuid": mine, "key": "A-B", "value": "v"}),
            400,
        ),
        (
            "apps_envs_upsert",
            json!({"uuid": mine, "key": "$(id)", "value": "v"}),
            400,
        ),
        ("apps_envs_delete", json!({"uuid": mine, "key": "A B"}), 400),
        (
            "apps_create",
            json!({"repo": "site", "name": "x3", "envs": {"bad-key": "v"}}),
            400,
        ),
        ("apps_delete", json!({"uuid": mine}), 409),
        (
            "apps_delete",
            json!({"uuid": mine, "confirm": "mark-site "}),
            409,
        ),
        (
            "apps_delete",
            json!({"uuid": mine, "confirm": "MARK-SITE"}),
            409,
        ),
        ("databases_create", json!({"type": "postgres"}), 400),
        ("databases_create", json!({"type": "PostgreSQL"}), 400),
        (
            "databases_create",
            json!({"type": "postgresql", "credentials": {"postgres_password": "a'b"}}),
            400,
        ),
        (
            "databases_create",
            json!({"type": "postgresql", "credentials": {"mysql_user": "x"}}),
            400,
        ),
        ("auth_create", json!({"provider": "wordpress"}), 400),
        ("auth_create", json!({"provider": "PocketBase"}), 400),
        (
            "apps_update",
            json!({"uuid": mine, "patch": {"domains": "https://evil.com"}}),
            400,
        ),
        (
            "apps_update",
            json!({"uuid": mine, "patch": {"git_repository": "https://evil.com/x.git"}}),
            400,
        ),
        (
            "apps_update",
            json!({"uuid": mine, "patch": {"custom_docker_run_options": "--privileged"}}),
            400,
        ),
        (
            "databases_update",
            json!({"uuid": mine, "patch": {"destination_uuid": "x"}}),
            400,
        ),
        ("apps_get", json!({"uuid": "../applications"}), 400),
    ];
    for (tool, args, status) in cases {
        let r = call(&w.mark, tool, args.clone()).await;
        let body = err_body(&r);
        assert_eq!(body["status"], status, "{tool} {args}: {body}");
        if args.get("type").is_some_and(|t| t != "postgresql") || args.get("provider").is_some() {
            assert!(body["hint"].is_string(), "the allowlist is named: {body}");
        }
    }
    let r = call(&w.mark, "auth_create", json!({"provider": "n8n"})).await;
    assert!(
        err_body(&r)["hint"]
            .as_str()
            .unwrap()
            .contains("pocketbase"),
        "the allowed providers are listed"
    );
    assert_eq!(w.cp.upstream_writes(), Vec::<String>::new());
}
