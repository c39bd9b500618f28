//! `vibn demo`: the product end to end on this machine. On top of `vibn sandbox up`'s
//! world (every stand-in, two provisioned workspaces), it drives seed 003's worked
//! examples through the control-plane and workspace servers — started as child processes
//! and spoken to over MCP, as an agent's client would — printing what was asked, what
//! happened and the resulting URL, and the refusals that prove the tenant boundary. Exit 0
//! only when every step passed.

use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use serde_json::{Value, json};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use super::output;
use super::sandbox_up::{World, start_world};
use crate::mcp::call::{CallOutcome, Session};

/// The two workspaces' owners: `demo` acts, `rival` is the other tenant.
const OWNERS: [&str; 2] = ["demo@vibn.invalid", "rival@vibn.invalid"];

/// A server of one workspace as a child process, and the MCP session with it.
struct Server {
    _child: Child,
    session: Session<ChildStdout, ChildStdin>,
    /// Each tool's `outputSchema`, compiled (with the `demo-validate` feature).
    #[cfg(feature = "demo-validate")]
    schemas: std::collections::HashMap<String, jsonschema::Validator>,
    /// Successful results checked against their tool's `outputSchema`.
    validated: usize,
}

impl Server {
    async fn start(world: &World, slug: &str, args: &[&str]) -> anyhow::Result<Server> {
        let exe = std::env::current_exe().context("cannot find the vibn binary")?;
        let mut child = Command::new(exe)
            .args(args)
            .env_clear()
            .env("PATH", crate::config::search_path())
            .env("HOME", world.dir.path())
            .envs(world.env_for(slug))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start a vibn server")?;
        let stdin = child.stdin.take().ok_or_else(|| anyhow!("no stdin"))?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        #[allow(unused_mut)]
        let mut session = Session::open(stdout, stdin, "vibn-demo").await?;
        #[cfg(feature = "demo-validate")]
        let schemas = {
            let mut schemas = std::collections::HashMap::new();
            for tool in session.list_tools().await? {
                let name = tool["name"].as_str().unwrap_or_default().to_string();
                let validator = jsonschema::validator_for(&tool["outputSchema"])
                    .map_err(|e| anyhow!("{name}: its outputSchema does not compile: {e}"))?;
                schemas.insert(name, validator);
            }
            schemas
        };
        Ok(Server {
            _child: child,
            session,
            #[cfg(feature = "demo-validate")]
            schemas,
            validated: 0,
        })
    }

    /// Check a successful result against its tool's `outputSchema`.
    #[cfg(feature = "demo-validate")]
    fn validate(&mut self, tool: &str, result: &Value) -> anyhow::Result<()> {
        let tool = crate::mcp::control_plane_server::resolve(tool);
        if let Some(validator) = self.schemas.get(tool) {
            if let Err(e) = validator.validate(result) {
                bail!("{tool}: the result does not match its outputSchema: {e}");
            }
            self.validated += 1;
        }
        Ok(())
    }

    #[cfg(not(feature = "demo-validate"))]
    fn validate(&mut self, _tool: &str, _result: &Value) -> anyhow::Result<()> {
        Ok(())
    }

    /// Call `tool`; `Ok(result)` on success, `Err((status, message))` on an error result.
    async fn call(
        &mut self,
        tool: &str,
        args: Value,
    ) -> anyhow::Result<Result<Value, (u64, String)>> {
        Ok(match self.session.call(tool, args).await? {
            CallOutcome::Done(v) => {
                self.validate(tool, &v)?;
                Ok(v)
            }
            CallOutcome::Failed(v) => Err((
                v["status"].as_u64().unwrap_or(0),
                v["error"].as_str().unwrap_or_default().to_string(),
            )),
            CallOutcome::Refused(e) => bail!("{tool} was refused: {e}"),
        })
    }

    /// Call `tool` and expect success.
    async fn ok(&mut self, tool: &str, args: Value) -> anyhow::Result<Value> {
        self.call(tool, args)
            .await?
            .map_err(|(status, message)| anyhow!("{tool} answered {status}: {message}"))
    }

    /// Call `tool` and expect an error result with `status`.
    async fn refused(&mut self, tool: &str, args: Value, status: u64) -> anyhow::Result<String> {
        match self.call(tool, args).await? {
            Err((got, message)) if got == status => Ok(message),
            Err((got, message)) => bail!("{tool} answered {got} ({message}), want {status}"),
            Ok(v) => bail!("{tool} succeeded ({v}), want a {status} refusal"),
        }
    }
}

/// The transcript: numbered PASS/FAIL lines.
#[derive(Default)]
struct Transcript {
    passed: usize,
    failed: Vec<String>,
}

impl Transcript {
    fn record(&mut self, title: &str, result: anyhow::Result<String>) {
        let n = self.passed + self.failed.len() + 1;
        match result {
            Ok(summary) => {
                self.passed += 1;
                output::line(&format!("  PASS {n:2}. {title}: {summary}"));
            }
            Err(e) => {
                self.failed.push(format!("{n}. {title}"));
                output::line(&format!("  FAIL {n:2}. {title}: {e:#}"));
            }
        }
    }
}

/// Run `vibn demo`.
pub fn run() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            output::error(&format!("cannot start the async runtime: {e}"));
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    output::line("vibn demo: starting the stand-ins and provisioning workspaces demo and rival…");
    let world = match start_world(&runtime, &OWNERS) {
        Ok(world) => world,
        Err(e) => {
            output::error(&format!("demo: {e:#}"));
            return ExitCode::from(1);
        }
    };
    let mut t = Transcript::default();
    if let Err(e) = runtime.block_on(script(&world, &mut t)) {
        t.record("the demo could not go on", Err(e));
    }
    output::line(&format!(
        "== {} passed, {} failed ({:.1} s) ==",
        t.passed,
        t.failed.len(),
        started.elapsed().as_secs_f64()
    ));
    drop(world);
    if t.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

async fn script(world: &World, t: &mut Transcript) -> anyhow::Result<()> {
    let [(demo, _), (rival, _)] = world.workspaces.as_slice() else {
        bail!("two workspaces were expected");
    };
    let mut cp = Server::start(world, demo, &["mcp", "control-plane"]).await?;
    let mut rival_cp = Server::start(world, rival, &["mcp", "control-plane"]).await?;
    let root = world.dir.path().join("work");
    std::fs::create_dir_all(&root)?;
    let root_arg = root.display().to_string();
    let mut ws = Server::start(world, demo, &["mcp", "workspace", "--root", &root_arg]).await?;

    output::line("== seed 003 §8.1: a site with a database and auth, deployed ==");
    let step = cp.ok("workspace_describe", json!({})).await.map(|d| {
        format!(
            "workspace {} (org {}, namespace {})",
            text(&d["slug"]),
            text(&d["gitea_org"]),
            text(&d["domain_namespace"])
        )
    });
    t.record("workspace_describe", step);
    let step = cp
        .ok(
            "repos_create",
            json!({"name": "my-site", "auto_init": true}),
        )
        .await
        .map(|r| format!("{} created as the workspace's bot", text(&r["full_name"])));
    t.record("repos_create my-site", step);

    let page = "<!doctype html>\n<h1>Hello from vibn demo</h1>\n";
    let pushed = async {
        let clone = ws.ok("git_clone", json!({"repo": "my-site"})).await?;
        ws.ok("write_file", json!({"path": "index.html", "content": page}))
            .await?;
        let commit = ws
            .ok(
                "git_commit_and_push",
                json!({"message": "Add the home page", "branch": "main"}),
            )
            .await?;
        Ok::<_, anyhow::Error>(format!(
            "cloned ({}), wrote index.html, pushed {}",
            clone["outcome"].as_str().unwrap_or("ok"),
            short_sha(&commit)
        ))
    }
    .await;
    t.record(
        "workspace server: git_clone, write_file, git_commit_and_push",
        pushed,
    );

    let app = cp
        .ok("apps_create", json!({"repo": "my-site", "ports": "3000"}))
        .await;
    let (app_uuid, app_name) = match &app {
        Ok(a) => (
            a["uuid"].as_str().unwrap_or_default().to_string(),
            a["name"].as_str().unwrap_or_default().to_string(),
        ),
        Err(_) => (String::new(), String::new()),
    };
    t.record(
        "apps_create my-site",
        app.map(|a| {
            format!(
                "{} at {}; its git URL shows {}",
                text(&a["name"]),
                text(&a["url"]),
                text(&a["git_repository"])
            )
        }),
    );
    let db = cp
        .ok(
            "databases_create",
            json!({"type": "postgresql", "name": "app-db"}),
        )
        .await;
    let internal = db
        .as_ref()
        .ok()
        .and_then(|d| d["internal_url"].as_str())
        .unwrap_or_default()
        .to_string();
    t.record(
        "databases_create postgresql",
        db.map(|d| format!("{} ({})", text(&d["name"]), text(&d["type"]))),
    );
    let step = cp
        .ok(
            "apps_envs_upsert",
            json!({"uuid": app_uuid, "key": "DATABASE_URL", "value": internal}),
        )
        .await
        .map(|_| "DATABASE_URL set from the database's internal URL".to_string());
    t.record("apps_envs_upsert DATABASE_URL", step);
    let step = cp
        .ok(
            "auth_create",
            json!({"provider": "pocketbase", "name": "auth"}),
        )
        .await
        .map(|a| format!("{} ({})", text(&a["name"]), text(&a["provider"])));
    t.record("auth_create pocketbase", step);
    let step = deploy_and_wait(&mut cp, &app_uuid).await;
    t.record("apps_deploy, then apps_deployments until finished", step);

    output::line("== seed 003 §8.2: domains stay in the workspace's namespace ==");
    let step = cp
        .ok(
            "apps_domains_set",
            json!({"uuid": app_uuid, "domains": ["my-site.demo.vibnai.com", "api.demo.vibnai.com"]}),
        )
        .await
        .map(|d| format!("domains now {}", d["domains"]));
    t.record("apps_domains_set api.demo.vibnai.com", step);
    for (domain, why) in [
        ("evil.com", "outside every namespace"),
        ("www.rival.vibnai.com", "another workspace's namespace"),
    ] {
        let step = cp
            .refused(
                "apps_domains_set",
                json!({"uuid": app_uuid, "domains": [domain]}),
                403,
            )
            .await
            .map(|m| format!("403: {m}"));
        t.record(
            &format!("apps_domains_set {domain} ({why}) is refused"),
            step,
        );
    }

    custom_domain_and_storage(&mut cp, &mut rival_cp, &app_uuid, t).await;

    output::line("== the tenant boundary ==");
    let theirs = async {
        rival_cp
            .ok("repos_create", json!({"name": "secret", "auto_init": true}))
            .await?;
        let app = rival_cp
            .ok(
                "apps_create",
                json!({"repo": "secret", "instant_deploy": false}),
            )
            .await?;
        let uuid = app["uuid"].as_str().unwrap_or_default().to_string();
        let message = cp.refused("apps_get", json!({"uuid": uuid}), 403).await?;
        cp.refused(
            "apps_delete",
            json!({"uuid": uuid, "confirm": app["name"]}),
            403,
        )
        .await?;
        Ok::<_, anyhow::Error>(format!("403 to read and to delete it: {message}"))
    }
    .await;
    t.record("rival's app, asked for with demo's key", theirs);
    let step = match cp
        .call("repos_create", json!({"name": "../vibn-rival/x"}))
        .await
    {
        Ok(Err((status @ (400 | 403), message))) => Ok(format!("{status}: {message}")),
        Ok(Err((status, message))) => Err(anyhow!("answered {status} ({message})")),
        Ok(Ok(v)) => Err(anyhow!("it was created: {v}")),
        Err(e) => Err(e),
    };
    t.record("a repository outside the org is refused", step);

    output::line("== seed 003 §8.3: delete by exact name, volumes kept ==");
    let step = cp
        .refused("apps_delete", json!({"uuid": app_uuid}), 409)
        .await
        .map(|m| format!("409: {m}"));
    t.record("apps_delete without confirm", step);
    let step = cp
        .ok(
            "apps_delete",
            json!({"uuid": app_uuid, "confirm": app_name}),
        )
        .await
        .map(|d| format!("deleted {app_name}; volumes kept: {}", d["volumes_kept"]));
    t.record("apps_delete with confirm", step);

    let validated = cp.validated + rival_cp.validated + ws.validated;
    if cfg!(feature = "demo-validate") {
        t.record(
            "every result matched its tool's outputSchema",
            Ok(format!("{validated} results checked")),
        );
    }
    cp.session.close().await;
    rival_cp.session.close().await;
    ws.session.close().await;
    Ok(())
}

/// The registrant every demo registration uses.
fn demo_contact() -> Value {
    json!({
        "first_name": "Demo", "last_name": "Owner", "address1": "1 Main St",
        "city": "Montréal", "state": "QC", "country": "CA", "postal_code": "H2X 1Y4",
        "phone": "+1.5145550100", "email": "demo@vibn.invalid"
    })
}

/// Seed 003 §3.6: search, register, attach to the app, the app serves the apex and
/// www, the domain is locked and rival cannot touch it; then the workspace's bucket and
/// its credentials injected into the app (the secret never shown).
async fn custom_domain_and_storage(
    cp: &mut Server,
    rival_cp: &mut Server,
    app_uuid: &str,
    t: &mut Transcript,
) {
    const APEX: &str = "demo-shop.com";
    output::line("== seed 003 §3.6: a custom domain and object storage ==");
    let step = cp
        .ok(
            "domains_search",
            json!({"names": [APEX, "demo-shop.ai"], "period": 1}),
        )
        .await
        .and_then(|d| {
            let r = &d["results"];
            if r[0]["available"] != true || r[1]["period"] != 2 {
                bail!("unexpected search results: {r}");
            }
            Ok(format!(
                "{APEX} available at {}; demo-shop.ai raised to {} years",
                text(&r[0]["price"]),
                r[1]["period"]
            ))
        });
    t.record("domains_search", step);
    let step = cp
        .ok(
            "domains_register",
            json!({"domain": APEX, "contact": demo_contact()}),
        )
        .await
        .and_then(|d| match d["outcome"].as_str() {
            Some("registered") => Ok(format!(
                "order {}, unlocked until attached",
                text(&d["domain"]["order_id"])
            )),
            _ => bail!("not registered: {d}"),
        });
    t.record(&format!("domains_register {APEX}"), step);
    let step = cp
        .ok(
            "domains_register",
            json!({"domain": APEX, "contact": demo_contact()}),
        )
        .await
        .and_then(|d| match d["outcome"].as_str() {
            Some("already_registered") => Ok("nothing ordered twice".to_string()),
            _ => bail!("registered again: {d}"),
        });
    t.record("domains_register again (idempotent)", step);
    // The stand-in Coolify's server, like Coolify's own localhost server, has no public
    // address: the app's address is given with it.
    let step = cp
        .ok(
            "domains_attach",
            json!({"domain": APEX, "app_uuid": app_uuid, "ip": "203.0.113.10"}),
        )
        .await
        .map(|d| {
            let steps = d["steps"].as_array().map_or(0, Vec::len);
            format!(
                "{steps} steps (zone, records, name servers, app, lock), serving {}",
                d["urls"]
            )
        });
    t.record(&format!("domains_attach {APEX} to my-site"), step);
    let step = async {
        let d = cp
            .ok("apps_domains_list", json!({"uuid": app_uuid}))
            .await?;
        let domains = &d["domains"];
        let has = |n: &str| domains.as_array().is_some_and(|a| a.iter().any(|x| x == n));
        if !(has(APEX) && has(&format!("www.{APEX}"))) {
            bail!("the app's domains are {domains}");
        }
        let got = cp.ok("domains_get", json!({"domain": APEX})).await?;
        if got["domain"]["locked"] != true {
            bail!("not locked: {}", got["domain"]);
        }
        Ok(format!(
            "app domains {domains}; locked; {} lifecycle events",
            got["events"].as_array().map_or(0, Vec::len)
        ))
    }
    .await;
    t.record(
        "the app serves the apex and www, the domain is locked",
        step,
    );
    let step = rival_cp
        .refused("domains_get", json!({"domain": APEX}), 403)
        .await
        .map(|m| format!("403: {m}"));
    t.record(&format!("rival asks for {APEX}"), step);
    let step = cp
        .ok("storage_provision", json!({}))
        .await
        .map(|d| format!("bucket {} in {}", text(&d["bucket"]), text(&d["region"])));
    t.record("storage_provision", step);
    let step = cp
        .ok("storage_inject_env", json!({"uuid": app_uuid}))
        .await
        .map(|d| format!("wrote {} (values not shown)", d["keys"]));
    t.record("storage_inject_env into my-site", step);
}

/// Deploy and poll the app's deployments until this one is finished or failed.
async fn deploy_and_wait(cp: &mut Server, uuid: &str) -> anyhow::Result<String> {
    let deployed = cp.ok("apps_deploy", json!({"uuid": uuid})).await?;
    let deployment = deployed["deployment_uuid"]
        .as_str()
        .ok_or_else(|| anyhow!("apps_deploy named no deployment: {deployed}"))?
        .to_string();
    let started = Instant::now();
    for polls in 1.. {
        let list = cp.ok("apps_deployments", json!({"uuid": uuid})).await?;
        let status = list["deployments"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|d| d["deployment_uuid"] == deployment.as_str())
            .and_then(|d| d["status"].as_str())
            .unwrap_or("unknown")
            .to_string();
        match status.as_str() {
            "finished" => {
                return Ok(format!(
                    "deployment {deployment} finished after {polls} polls ({:.1} s)",
                    started.elapsed().as_secs_f64()
                ));
            }
            "failed" | "cancelled-by-user" => bail!("deployment {deployment} {status}"),
            _ if started.elapsed() > Duration::from_secs(60) => {
                bail!("deployment {deployment} still {status} after 60 s")
            }
            _ => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
    unreachable!("the loop returns")
}

/// A JSON value as plain text (strings without their quotes).
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn short_sha(commit: &Value) -> String {
    commit["sha"]
        .as_str()
        .or_else(|| commit["commit"].as_str())
        .map(|s| s.chars().take(7).collect())
        .unwrap_or_else(|| "a commit".into())
}
