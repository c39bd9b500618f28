//! `vibn sandbox up`: the whole product on one machine, for a first look and for demos.
//! It starts every stand-in (`vibn-sandbox all`: Gitea with git over HTTP, Coolify, the
//! runner, search, OpenSRS, Google Cloud), makes a throw-away keystore and secrets key, creates and provisions
//! a demo workspace against the stand-ins, mints its key, and prints the environment
//! (`KEY=value` lines on stdout, safe to `eval`) and a client configuration to paste
//! (stderr). It runs until Ctrl-C or SIGTERM, then stops the stand-ins and removes
//! everything it made.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::output;
use super::sandbox::find_binary;
use crate::api::provision::Provisioner;
use crate::clients::coolify::CoolifyClient;
use crate::clients::gitea::GiteaClient;
use crate::clients::http::HttpConfig;
use crate::keystore::{Keyring, Keystore, ProvisionStatus, SecretKey, SqliteStore};

/// The demo workspace's owner (its slug is `demo`).
const DEMO_OWNER: &str = "demo@vibn.invalid";

/// The stand-ins' process, stopped (SIGTERM, so it removes its data) when dropped.
pub struct StandIns(Child);

impl Drop for StandIns {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.0.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.0.wait();
    }
}

/// Run `vibn sandbox up ARGS`.
pub fn run(args: &[OsString]) -> ExitCode {
    if let Some(arg) = args.first() {
        let help = arg == "--help" || arg == "-h";
        output::note(
            "usage: vibn sandbox up\n\nStarts every stand-in, provisions a demo workspace \
             in a throw-away keystore, prints its environment (stdout) and a client config \
             (stderr), and runs until Ctrl-C.",
        );
        return if help {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(2)
        };
    }
    match up() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            output::error(&format!("sandbox up: {e:#}"));
            ExitCode::from(1)
        }
    }
}

/// The stand-ins, a throw-away keystore and secrets key, and provisioned workspaces; all
/// of it stopped and removed when dropped.
pub struct World {
    /// The stand-ins' process.
    _stand_ins: StandIns,
    /// The throw-away folder (keystore, workspace folders).
    pub dir: tempfile::TempDir,
    /// The environment every server reads (stand-ins, keystore, secrets key), without a
    /// workspace key.
    pub env: Vec<(String, String)>,
    /// Each workspace made: (slug, its key).
    pub workspaces: Vec<(String, String)>,
}

impl World {
    /// The environment for `slug`'s servers: the shared one plus its key.
    pub fn env_for(&self, slug: &str) -> Vec<(String, String)> {
        let mut env = self.env.clone();
        if let Some((_, key)) = self.workspaces.iter().find(|(s, _)| s == slug) {
            env.push(("VIBN_API_KEY".into(), key.clone()));
        }
        env
    }
}

/// Start the stand-ins and provision one workspace per owner email (slugs follow from
/// the emails), each with a minted key.
pub fn start_world(runtime: &tokio::runtime::Runtime, owners: &[&str]) -> anyhow::Result<World> {
    let binary = find_binary().ok_or_else(|| {
        anyhow!(
            "the vibn-sandbox binary is not next to vibn; build it with `cargo build \
             --release -p vibn-sandbox`"
        )
    })?;
    let child = Command::new(&binary)
        .arg("all")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    let mut stand_ins = StandIns(child);
    let upstream = read_env_lines(&mut stand_ins.0)?;
    let get = |key: &str| {
        upstream
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| anyhow!("vibn-sandbox all did not print {key}"))
    };
    let dir = tempfile::Builder::new()
        .prefix("vibn-sandbox-up-")
        .tempdir()
        .context("cannot create a temporary folder")?;
    let keystore = dir.path().join("keystore.db");
    let secrets_key = SecretKey::generate_base64();
    let ring = Arc::new(Keyring::new(
        SecretKey::parse("VIBN_SECRETS_KEY", &secrets_key)?,
        None,
    ));
    let store = SqliteStore::open(&keystore)?;
    let mut workspaces = Vec::new();
    for owner in owners {
        let slug = store.create_workspace(owner, None)?.slug;
        let key = store.mint_workspace_key(&slug, "sandbox-up", None, "cli")?;
        workspaces.push((slug, key.token.expose_secret().to_string()));
    }
    let http = HttpConfig::default();
    let provisioner = Provisioner::new(
        GiteaClient::new(
            &get("GITEA_API_URL")?,
            SecretString::from(get("GITEA_API_TOKEN")?),
            http.clone(),
        ),
        &get("GITEA_USERNAME")?,
        CoolifyClient::new(
            &get("COOLIFY_API_URL")?,
            SecretString::from(get("COOLIFY_API_TOKEN")?),
            http,
        ),
        None,
        Keystore::sqlite(store),
        ring,
    );
    for (slug, _) in &workspaces {
        let report = runtime.block_on(provisioner.provision(slug))?;
        if report.status != ProvisionStatus::Ready {
            bail!(
                "provisioning workspace {slug} stopped at {:?}: {}",
                report.failed_step.map(|s| s.as_str()),
                report.error.unwrap_or_default()
            );
        }
    }
    let mut env: Vec<(String, String)> = upstream
        .into_iter()
        .filter(|(k, _)| k != "VIBN_SANDBOX_READY" && k != "GITEA_ADMIN_PASSWORD")
        .collect();
    env.extend([
        ("VIBN_KEYSTORE".into(), keystore.display().to_string()),
        ("VIBN_SECRETS_KEY".into(), secrets_key),
    ]);
    Ok(World {
        _stand_ins: stand_ins,
        dir,
        env,
        workspaces,
    })
}

fn up() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let world = start_world(&runtime, &[DEMO_OWNER])?;
    let slug = world.workspaces[0].0.clone();
    let root = world.dir.path().join("work");
    std::fs::create_dir(&root).context("cannot create the workspace folder")?;
    let mut env = world.env_for(&slug);
    env.push(("WORKSPACE_ROOT".into(), root.display().to_string()));
    for (k, v) in &env {
        let quoted = shlex::try_quote(v).map_err(|e| anyhow!("cannot print {k}: {e}"))?;
        output::line(&format!("{k}={quoted}"));
    }
    output::note(&client_config(&env, &root)?);
    output::note(&format!(
        "vibn sandbox up: workspace {slug} is provisioned (org vibn-{slug}, bot \
         vibn-bot-{slug}); the key above is a secret. Ctrl-C stops the stand-ins and removes \
         {}.",
        world.dir.path().display()
    ));
    runtime.block_on(interrupted());
    drop(world);
    Ok(())
}

/// `KEY=value` lines of `vibn-sandbox all` up to its `VIBN_SANDBOX_READY=1`.
fn read_env_lines(child: &mut Child) -> anyhow::Result<Vec<(String, String)>> {
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow!("no stdout from vibn-sandbox"))?;
    let mut pairs = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.context("cannot read vibn-sandbox's output")?;
        let Some((key, raw)) = line.split_once('=') else {
            continue;
        };
        let value = match shlex::split(raw).as_deref() {
            Some([one]) => one.clone(),
            Some([]) => String::new(),
            _ => bail!("vibn-sandbox printed an unreadable line for {key}"),
        };
        let ready = key == "VIBN_SANDBOX_READY";
        pairs.push((key.to_string(), value));
        if ready {
            return Ok(pairs);
        }
    }
    bail!("vibn-sandbox all stopped before it was ready")
}

/// A client configuration (Claude Desktop / Cursor shape) for the control plane and the
/// workspace server of the demo workspace.
fn client_config(env: &[(String, String)], root: &Path) -> anyhow::Result<String> {
    let exe = std::env::current_exe().context("cannot find the vibn binary")?;
    let pick = |keys: &[&str]| {
        env.iter()
            .filter(|(k, _)| keys.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect::<serde_json::Map<_, _>>()
    };
    let pinned = [
        "VIBN_API_KEY",
        "VIBN_KEYSTORE",
        "VIBN_SECRETS_KEY",
        "GITEA_API_URL",
    ];
    let mut control_plane = pick(&pinned);
    control_plane.extend(pick(&[
        "GITEA_USERNAME",
        "GITEA_API_TOKEN",
        "COOLIFY_API_URL",
        "COOLIFY_API_TOKEN",
        "OPENSRS_USERNAME",
        "OPENSRS_KEY",
        "OPENSRS_ENV",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "GCP_PROJECT",
        "VIBN_GOOGLE_API_URL",
    ]));
    let config = json!({
        "mcpServers": {
            "vibn-control-plane": {
                "command": exe,
                "args": ["mcp", "control-plane"],
                "env": control_plane,
            },
            "vibn-workspace": {
                "command": exe,
                "args": ["mcp", "workspace", "--root", root],
                "env": pick(&pinned),
            }
        }
    });
    Ok(format!(
        "client config (paste into your MCP client's config):\n{}",
        serde_json::to_string_pretty(&config)?
    ))
}

/// Ctrl-C or SIGTERM.
pub async fn interrupted() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
