//! `vibn doctor`: every check an operator needs before agents connect — configuration,
//! keystore, secrets key, Gitea, Coolify, the runner, web search and the command sandbox
//! — each answered with what was found and, when something is wrong, the remedy.
//!
//! Read-only: nothing upstream is written, and the keystore is opened read-only (no
//! migration, no key recorded). Probes use short timeouts and no retries.

use std::ffi::OsString;
use std::path::PathBuf;

use secrecy::SecretString;
use serde::Serialize;

use crate::clients::coolify::CoolifyClient;
use crate::clients::gitea::GiteaClient;
use crate::clients::http::ClientError;
use crate::clients::runner::RunnerClient;
use crate::clients::search::SearchClient;
use crate::config::{DoctorConfig, SearchProvider, Setting};
use crate::keystore::inspect::{Inspection, inspect};
use crate::keystore::{KeyMatch, KeystoreError};
use crate::sandbox_exec::{ExecPolicy, Launch};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// As it should be.
    Ok,
    /// Works, but something needs attention.
    Warn,
    /// Broken: what depends on it will fail.
    Fail,
    /// Not configured, so not checked.
    Skip,
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked (`keystore`, `gitea`, …).
    pub name: &'static str,
    /// How it came out.
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// What to do, when something is wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remedy: Option<String>,
}

impl Check {
    fn new(name: &'static str, status: Status, detail: impl Into<String>) -> Check {
        Check {
            name,
            status,
            detail: detail.into(),
            remedy: None,
        }
    }

    fn fix(mut self, remedy: impl Into<String>) -> Check {
        self.remedy = Some(remedy.into());
        self
    }
}

/// Every check, in order.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The checks.
    pub checks: Vec<Check>,
}

impl Report {
    /// True when no check failed (warnings and skips are fine).
    pub fn healthy(&self) -> bool {
        self.checks.iter().all(|c| c.status != Status::Fail)
    }
}

/// Run every check.
pub async fn run(config: &DoctorConfig) -> Report {
    let (keystore, inspection) = keystore(config);
    let secrets = secrets(config, inspection.as_ref());
    let (gitea, coolify, runner, search, sandbox) = tokio::join!(
        gitea(config),
        coolify(config),
        runner(config),
        search(config),
        sandbox(config),
    );
    let mut checks = vec![configuration(config), keystore, secrets];
    checks.extend(gitea);
    checks.extend(coolify);
    checks.extend([runner, search, sandbox]);
    Report { checks }
}

/// Which settings are present, and every one that is set but unusable.
fn configuration(config: &DoctorConfig) -> Check {
    let settings: [(&str, Option<Result<(), &str>>); 6] = [
        ("keystore", state(&config.keystore)),
        ("secrets key", state(&config.secrets)),
        ("Gitea", state(&config.gitea)),
        ("Coolify", state(&config.coolify)),
        ("runner", state(&config.runner)),
        ("search", state(&config.search)),
    ];
    let invalid: Vec<&str> = settings
        .iter()
        .filter_map(|(_, s)| s.and_then(Result::err))
        .collect();
    let set: Vec<&str> = settings
        .iter()
        .filter(|(_, s)| *s == Some(Ok(())))
        .map(|(name, _)| *name)
        .collect();
    if invalid.is_empty() {
        let detail = if set.is_empty() {
            "nothing configured yet".to_string()
        } else {
            format!("configured: {}", set.join(", "))
        };
        Check::new("configuration", Status::Ok, detail)
    } else {
        Check::new("configuration", Status::Fail, invalid.join("; "))
            .fix("correct the settings named (environment or flags)")
    }
}

/// `None` when unset, `Ok` when set and usable, `Err(why)` when set but unusable.
fn state<T>(setting: &Setting<T>) -> Option<Result<(), &str>> {
    match setting {
        Setting::Unset => None,
        Setting::Set(_) => Some(Ok(())),
        Setting::Invalid(why) => Some(Err(why)),
    }
}

/// The keystore: which backend, there, private (a SQLite file), at this vibn's schema.
fn keystore(config: &DoctorConfig) -> (Check, Option<Inspection>) {
    let (path, explicit) = match &config.keystore {
        Setting::Set((path, explicit)) => (path, *explicit),
        Setting::Unset => {
            return (
                Check::new("keystore", Status::Skip, "no keystore configured"),
                None,
            );
        }
        Setting::Invalid(why) => {
            return (
                Check::new("keystore", Status::Fail, why.clone())
                    .fix("set VIBN_KEYSTORE to the keystore file or postgres:// URL"),
                None,
            );
        }
    };
    let ring = match &config.secrets {
        Setting::Set(ring) => Some(ring),
        _ => None,
    };
    // A PostgreSQL URL is shown with its password hidden.
    let shown = crate::keystore::Location::of(path).to_string();
    let seen = match inspect(path, ring) {
        Ok(seen) => seen,
        Err(KeystoreError::Missing { .. }) => {
            let check = Check::new(
                "keystore",
                if explicit { Status::Fail } else { Status::Warn },
                format!("no keystore at {shown}"),
            );
            let remedy = if explicit {
                "check VIBN_KEYSTORE; `vibn workspace create --owner-email …` creates one"
            } else {
                "`vibn workspace create --owner-email …` creates it (only pinned servers, \
                 memory, PRDs and jobs need one)"
            };
            return (check.fix(remedy), None);
        }
        Err(e) => {
            return (
                Check::new("keystore", Status::Fail, e.to_string())
                    .fix("check the file (or the PostgreSQL server) and VIBN_KEYSTORE"),
                None,
            );
        }
    };
    let check = if let Some(mode) = seen.file_mode.filter(|m| m & 0o077 != 0) {
        Check::new(
            "keystore",
            Status::Fail,
            format!("{shown} is readable by other users (mode {mode:04o})"),
        )
        .fix(format!("chmod 600 {shown}"))
    } else if seen.schema_version > seen.latest_version {
        Check::new(
            "keystore",
            Status::Fail,
            format!(
                "{shown} was written by a newer vibn (schema {}, this vibn knows {})",
                seen.schema_version, seen.latest_version
            ),
        )
        .fix("upgrade vibn")
    } else if seen.schema_version < seen.latest_version {
        Check::new(
            "keystore",
            Status::Warn,
            format!(
                "{shown}: migrations pending (schema {} of {})",
                seen.schema_version, seen.latest_version
            ),
        )
        .fix("the next vibn command that opens it applies them (e.g. `vibn workspace list`)")
    } else if seen.dir_mode.is_some_and(|m| m & 0o077 != 0) {
        let dir = path
            .parent()
            .map(|d| d.display().to_string())
            .unwrap_or_default();
        Check::new(
            "keystore",
            Status::Warn,
            format!("{dir} (the keystore's folder) is open to other users"),
        )
        .fix(format!("chmod 700 {dir}"))
    } else {
        let workspaces = seen
            .workspaces
            .map(|n| format!(", {n} workspace{}", if n == 1 { "" } else { "s" }))
            .unwrap_or_default();
        let (backend, private) = match seen.backend {
            "postgres" => ("PostgreSQL", ""),
            _ => ("SQLite", ", private"),
        };
        Check::new(
            "keystore",
            Status::Ok,
            format!(
                "{backend} {shown} (schema {}{private}{workspaces})",
                seen.schema_version
            ),
        )
    };
    (check, Some(seen))
}

/// The secrets key: present, well-formed, the one the keystore was sealed with.
fn secrets(config: &DoctorConfig, inspection: Option<&Inspection>) -> Check {
    match &config.secrets {
        Setting::Unset => Check::new(
            "secrets key",
            Status::Warn,
            "VIBN_SECRETS_KEY is not set: provisioning and pinned servers (which act as the \
             workspace's bot) need it",
        )
        .fix("`vibn secrets gen-key`, then keep it with the keystore's other settings"),
        Setting::Invalid(why) => Check::new("secrets key", Status::Fail, why.clone())
            .fix("set VIBN_SECRETS_KEY to the key `vibn secrets gen-key` printed"),
        Setting::Set(_) => match inspection.and_then(|i| i.key.clone()) {
            None => Check::new(
                "secrets key",
                Status::Ok,
                "VIBN_SECRETS_KEY is well-formed (no keystore to check it against)",
            ),
            Some(KeyMatch::Current) => Check::new(
                "secrets key",
                Status::Ok,
                "VIBN_SECRETS_KEY matches the keystore's key",
            ),
            Some(KeyMatch::NotRecorded) => Check::new(
                "secrets key",
                Status::Ok,
                "VIBN_SECRETS_KEY is well-formed; the keystore records it when it first seals \
                 a secret",
            ),
            Some(KeyMatch::PreviousOnly) => Check::new(
                "secrets key",
                Status::Warn,
                "only VIBN_SECRETS_KEY_PREVIOUS matches the keystore: secrets are still \
                 sealed with the old key",
            )
            .fix("`vibn secrets rewrap`"),
            Some(KeyMatch::Mismatch { known }) => Check::new(
                "secrets key",
                Status::Fail,
                format!(
                    "VIBN_SECRETS_KEY is not the key this keystore was sealed with (it knows \
                     key {})",
                    known.join(", ")
                ),
            )
            .fix("set the VIBN_SECRETS_KEY the keystore was sealed with"),
        },
    }
}

fn unreachable(name: &'static str, var: &str, e: &ClientError) -> Check {
    Check::new(name, Status::Fail, format!("cannot reach it: {e}"))
        .fix(format!("check {var} and that the service is up"))
}

fn refused(e: &ClientError) -> bool {
    matches!(e.status(), Some(401 | 403))
}

/// Gitea: reachable, the token valid and a site admin's (provisioning needs one).
async fn gitea(config: &DoctorConfig) -> Vec<Check> {
    let up = match &config.gitea {
        Setting::Unset => {
            return vec![Check::new(
                "gitea",
                Status::Skip,
                "GITEA_API_URL is not set (the gitea, workspace-push and skills features and \
                 provisioning need it)",
            )];
        }
        Setting::Invalid(why) => return vec![Check::new("gitea", Status::Fail, why.clone())],
        Setting::Set(up) => up,
    };
    let token = up.token.clone().unwrap_or_else(|| SecretString::from(""));
    let client = GiteaClient::new(&up.url, token, config.http.clone());
    let version = match client.version().await {
        Ok(v) => v,
        Err(e) => return vec![unreachable("gitea", "GITEA_API_URL", &e)],
    };
    let mut checks = vec![Check::new(
        "gitea",
        Status::Ok,
        format!("{} answers: Gitea {version}", up.url),
    )];
    let admin = if up.token.is_none() {
        Check::new(
            "gitea admin",
            Status::Warn,
            "GITEA_API_TOKEN is not set: provisioning and operator mode need a site admin's \
             token",
        )
        .fix("set GITEA_API_TOKEN (and GITEA_USERNAME) to a site admin's token")
    } else {
        match client.me().await {
            Err(e) if refused(&e) => {
                Check::new("gitea admin", Status::Fail, "Gitea refused GITEA_API_TOKEN")
                    .fix("mint a new token for a site-admin user and set GITEA_API_TOKEN")
            }
            Err(e) => unreachable("gitea admin", "GITEA_API_URL", &e),
            Ok(me) if !me.is_admin => Check::new(
                "gitea admin",
                Status::Fail,
                format!(
                    "GITEA_API_TOKEN belongs to {}, who is not a site admin: provisioning \
                     (orgs, bot users, their tokens) needs one",
                    me.login
                ),
            )
            .fix("use a token of a site admin (Site Administration → User accounts)"),
            Ok(me) => match up.username.as_deref() {
                Some(name) if !name.eq_ignore_ascii_case(&me.login) => Check::new(
                    "gitea admin",
                    Status::Warn,
                    format!(
                        "GITEA_API_TOKEN belongs to {}, not GITEA_USERNAME {name}",
                        me.login
                    ),
                )
                .fix(format!("set GITEA_USERNAME={}", me.login)),
                _ => Check::new(
                    "gitea admin",
                    Status::Ok,
                    format!("the token is {}'s, a site admin", me.login),
                ),
            },
        }
    };
    checks.push(admin);
    checks
}

/// Coolify: reachable, the token valid, and the workspaces' server able to serve domains.
async fn coolify(config: &DoctorConfig) -> Vec<Check> {
    let up = match &config.coolify {
        Setting::Unset => {
            return vec![Check::new(
                "coolify",
                Status::Skip,
                "COOLIFY_API_URL is not set (the coolify server and provisioning need it)",
            )];
        }
        Setting::Invalid(why) => return vec![Check::new("coolify", Status::Fail, why.clone())],
        Setting::Set(up) => up,
    };
    let Some(token) = up.token.clone() else {
        return vec![
            Check::new("coolify", Status::Fail, "COOLIFY_API_TOKEN is not set")
                .fix("create an API token in Coolify (Keys & Tokens) and set COOLIFY_API_TOKEN"),
        ];
    };
    let client = CoolifyClient::new(&up.url, token, config.http.clone());
    let version = match client.version().await {
        Ok(v) => v,
        Err(e) if refused(&e) => {
            return vec![
                Check::new("coolify", Status::Fail, "Coolify refused COOLIFY_API_TOKEN")
                    .fix("create a new API token in Coolify (Keys & Tokens)"),
            ];
        }
        Err(e) => return vec![unreachable("coolify", "COOLIFY_API_URL", &e)],
    };
    let reached = Check::new(
        "coolify",
        Status::Ok,
        format!("{} answers: Coolify {version}, token accepted", up.url),
    );
    vec![
        reached,
        coolify_server(&client, config.coolify_server.as_deref()).await,
    ]
}

/// The server workspaces' apps go on: it must run a proxy and not be a build server, or
/// Coolify silently drops every domain written to an app.
async fn coolify_server(client: &CoolifyClient, wanted: Option<&str>) -> Check {
    const NAME: &str = "coolify server";
    let uuid = match wanted {
        Some(uuid) => uuid.to_string(),
        None => match client.list_servers().await {
            Err(e) => return Check::new(NAME, Status::Fail, format!("cannot list servers: {e}")),
            Ok(servers) if servers.len() == 1 => servers[0].uuid.clone(),
            Ok(servers) if servers.is_empty() => {
                return Check::new(NAME, Status::Fail, "Coolify has no server")
                    .fix("add a server in Coolify");
            }
            Ok(servers) => {
                let names: Vec<String> = servers
                    .iter()
                    .map(|s| format!("{} ({})", s.name, s.uuid))
                    .collect();
                return Check::new(
                    NAME,
                    Status::Warn,
                    format!("several servers: {}", names.join(", ")),
                )
                .fix("set COOLIFY_SERVER_UUID to the one workspaces use");
            }
        },
    };
    let server = match client.get_server(&uuid).await {
        Ok(server) => server,
        Err(e) if e.status() == Some(404) => {
            return Check::new(NAME, Status::Fail, format!("no server {uuid} in Coolify"))
                .fix("set COOLIFY_SERVER_UUID to one of Coolify's servers");
        }
        Err(e) => {
            return Check::new(
                NAME,
                Status::Fail,
                format!("cannot read server {uuid}: {e}"),
            );
        }
    };
    let label = format!("{} ({})", server.name, server.uuid);
    let proxy = server.proxy_kind();
    if server.is_build_server() {
        return Check::new(
            NAME,
            Status::Fail,
            format!("{label} is a build server: Coolify silently drops the domains of its apps"),
        )
        .fix("choose a server that is not a build server (COOLIFY_SERVER_UUID)");
    }
    if proxy.as_deref() == Some("NONE") {
        return Check::new(
            NAME,
            Status::Fail,
            format!("{label} runs no proxy: Coolify silently drops the domains of its apps"),
        )
        .fix("in Coolify, Servers → the server → Proxy: choose Traefik or Caddy and start it");
    }
    if server.is_reachable == Some(false) || server.is_usable == Some(false) {
        return Check::new(
            NAME,
            Status::Warn,
            format!("{label}: Coolify says it is not reachable or not usable"),
        )
        .fix("validate the server in Coolify (Servers → the server → Validate)");
    }
    let proxy = proxy.unwrap_or_else(|| "unknown".into());
    Check::new(
        NAME,
        Status::Ok,
        format!("{label}: proxy {proxy}, not a build server"),
    )
}

/// The agent runner: reachable and the token accepted (a probe of a job that does not
/// exist: 404 is the healthy answer).
async fn runner(config: &DoctorConfig) -> Check {
    let up = match &config.runner {
        Setting::Unset => {
            return Check::new("runner", Status::Skip, "AGENT_RUNNER_URL is not set");
        }
        Setting::Invalid(why) => return Check::new("runner", Status::Fail, why.clone()),
        Setting::Set(up) => up,
    };
    let client = RunnerClient::new(&up.url, up.token.clone(), config.http.clone());
    match client.job("vibn-doctor-probe", None).await {
        Ok(_) => Check::new("runner", Status::Ok, format!("{} answers", up.url)),
        Err(e) if e.status() == Some(404) => Check::new(
            "runner",
            Status::Ok,
            format!("{} answers, token accepted", up.url),
        ),
        Err(e) if refused(&e) => Check::new(
            "runner",
            Status::Fail,
            "the runner refused AGENT_RUNNER_TOKEN",
        )
        .fix("set AGENT_RUNNER_TOKEN to the runner's token"),
        Err(e) => unreachable("runner", "AGENT_RUNNER_URL", &e),
    }
}

/// Web search: one query answered.
async fn search(config: &DoctorConfig) -> Check {
    let client = match &config.search {
        Setting::Unset => {
            return Check::new(
                "search",
                Status::Skip,
                "neither VIBN_SEARXNG_URL nor BRAVE_API_KEY is set (web_search says so)",
            );
        }
        Setting::Invalid(why) => return Check::new("search", Status::Fail, why.clone()),
        Setting::Set(SearchProvider::Searxng { url }) => {
            SearchClient::searxng(url, config.http.clone())
        }
        Setting::Set(SearchProvider::Brave { url, key }) => {
            SearchClient::brave(url, key.clone(), config.http.clone())
        }
    };
    match client.search("vibn", 1).await {
        Ok(hits) => Check::new(
            "search",
            Status::Ok,
            format!("{} answered ({} hit)", client.provider(), hits.len()),
        ),
        Err(e) if refused(&e) => Check::new(
            "search",
            Status::Fail,
            format!("{} refused the key", client.provider()),
        )
        .fix("check BRAVE_API_KEY"),
        Err(e) => Check::new("search", Status::Fail, format!("{e}"))
            .fix("check VIBN_SEARXNG_URL / BRAVE_API_URL and that the service is up"),
    }
}

/// The command sandbox: `true` run inside it, as `execute_command` would run it.
async fn sandbox(config: &DoctorConfig) -> Check {
    const NAME: &str = "sandbox";
    let Some(helper) = &config.sandbox else {
        return Check::new(
            NAME,
            Status::Warn,
            "VIBN_EXEC_SANDBOX=off: the workspace server runs commands and git unconfined",
        )
        .fix("unset VIBN_EXEC_SANDBOX where the sandbox works");
    };
    match try_sandbox(helper.clone()).await {
        Ok(()) => Check::new(
            NAME,
            Status::Ok,
            "commands run sandboxed (namespaces, Landlock, no access to the keystore)",
        ),
        Err(why) => Check::new(NAME, Status::Fail, why).fix(
            "allow unprivileged user namespaces (e.g. sysctl \
             kernel.apparmor_restrict_unprivileged_userns=0, or inside a container run it \
             with seccomp allowing unshare), or start the workspace server with \
             --exec-sandbox off to run commands unconfined",
        ),
    }
}

async fn try_sandbox(helper: PathBuf) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| format!("cannot create a temp folder: {e}"))?;
    let policy = ExecPolicy::sandboxed(helper);
    let program = OsString::from("true");
    let env = [(OsString::from("PATH"), OsString::from("/usr/bin:/bin"))];
    let launch = Launch {
        program: &program,
        args: &[],
        cwd: dir.path(),
        env: &env,
        writable: &[],
        network: false,
    };
    let mut running = policy.spawn(launch).map_err(|e| e.message().to_string())?;
    let ended = tokio::time::timeout(std::time::Duration::from_secs(20), running.wait())
        .await
        .map_err(|_| "a sandboxed `true` did not end within 20 s".to_string())?
        .map_err(|e| e.message().to_string())?;
    match (ended.code, ended.signal) {
        (Some(0), _) => Ok(()),
        (code, signal) => Err(format!(
            "a sandboxed `true` ended with exit {code:?}, signal {signal:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_with_a_failure_is_unhealthy() {
        let ok = Check::new("a", Status::Ok, "fine");
        let warn = Check::new("b", Status::Warn, "hm");
        let fail = Check::new("c", Status::Fail, "broken").fix("fix it");
        assert!(
            Report {
                checks: vec![ok.clone(), warn.clone()]
            }
            .healthy()
        );
        assert!(
            !Report {
                checks: vec![ok, warn, fail]
            }
            .healthy()
        );
    }
}
