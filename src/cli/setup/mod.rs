//! `vibn setup <client>`: connect an MCP client to vibn's servers. It writes the
//! client's MCP configuration into the file that client really reads — merged into an
//! existing file without touching other entries (or comments, where the format keeps
//! them), the old file backed up, malformed files refused with nothing written — plus
//! the house rules an agent needs where the client reads them, and for Cursor and
//! VS Code the `VIBN_*` lines of `.env.local`. `vibn setup prompt` prints the rules as
//! a system-prompt block. Servers come from the one registry (`mcp::registry`).
//!
//! Plan first, then write: every file is read, merged and checked before the first
//! one is written, so a refusal leaves everything as it was.

pub mod edit;
pub mod files;
mod remote;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use secrecy::ExposeSecret;
use serde_json::{Map, Value, json};

use super::output;
use crate::args::{SetupArgs, SetupScope, SetupTarget};
use crate::config;
use crate::env_vars as env;
use crate::keystore::Store;
use crate::mcp::registry::{self, ServerEntry};
use files::Place;

/// The servers configured when `--servers` is not given (the built ones among them).
pub const DEFAULT_SERVERS: [&str; 2] = ["control-plane", "workspace"];

/// The MCP clients `vibn setup` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    /// Cursor.
    Cursor,
    /// Claude Desktop.
    ClaudeDesktop,
    /// Claude Code.
    ClaudeCode,
    /// Goose.
    Goose,
    /// VS Code (Copilot agent mode).
    Vscode,
    /// Codex CLI.
    Codex,
}

impl Client {
    /// Every client, in the order examples are written.
    pub const ALL: [Client; 6] = [
        Client::ClaudeDesktop,
        Client::ClaudeCode,
        Client::Cursor,
        Client::Goose,
        Client::Vscode,
        Client::Codex,
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Client::Cursor => "cursor",
            Client::ClaudeDesktop => "claude-desktop",
            Client::ClaudeCode => "claude-code",
            Client::Goose => "goose",
            Client::Vscode => "vscode",
            Client::Codex => "codex",
        }
    }

    fn default_scope(self) -> SetupScope {
        match self {
            Client::Cursor | Client::Vscode => SetupScope::Project,
            Client::ClaudeCode => SetupScope::Local,
            Client::ClaudeDesktop | Client::Goose | Client::Codex => SetupScope::User,
        }
    }

    fn scopes(self) -> &'static [SetupScope] {
        match self {
            Client::Cursor | Client::Vscode | Client::Codex => {
                &[SetupScope::Project, SetupScope::User]
            }
            Client::ClaudeCode => &[SetupScope::Project, SetupScope::Local, SetupScope::User],
            Client::ClaudeDesktop | Client::Goose => &[SetupScope::User],
        }
    }

    /// The file of house rules this client reads in a project, if any.
    fn rules_file(self) -> Option<&'static str> {
        match self {
            Client::Cursor => Some(".cursor/rules/vibn-workspace.mdc"),
            Client::ClaudeCode => Some("CLAUDE.md"),
            Client::Vscode | Client::Codex => Some("AGENTS.md"),
            Client::Goose => Some(".goosehints"),
            Client::ClaudeDesktop => None,
        }
    }
}

/// How a configuration file is laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Format {
    /// A JSON object at this path of keys.
    Json(Vec<String>),
    /// A TOML table of this name.
    Toml(&'static str),
    /// A YAML mapping under this key.
    Yaml(&'static str),
}

/// Where a secret value goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Secrets {
    /// In the entry's `env` (the file is then 0600).
    Inline,
    /// In `.env.local`, which the entry names as its `envFile` (VS Code).
    EnvFile,
    /// As `${NAME}`, expanded by the client from its environment (Claude Code's shared
    /// `.mcp.json`).
    Reference,
}

/// The configuration file a client reads, for one scope.
#[derive(Debug, Clone)]
struct Target {
    path: PathBuf,
    place: Place,
    format: Format,
    secrets: Secrets,
}

/// The folders `vibn setup` resolves paths against.
#[derive(Debug, Clone)]
pub struct Dirs {
    /// The user's home.
    pub home: PathBuf,
    /// `$XDG_CONFIG_HOME`, else `~/.config`.
    pub config: PathBuf,
    /// `$CODEX_HOME`, else `~/.codex`.
    pub codex: PathBuf,
    /// The project folder (absolute).
    pub project: PathBuf,
}

impl Dirs {
    fn resolve(project: Option<&Path>) -> anyhow::Result<Dirs> {
        let home = config::setting(env::HOME)
            .map(PathBuf::from)
            .context("HOME is not set; vibn setup needs it to find the clients' files")?;
        let config_dir = config::setting(env::XDG_CONFIG_HOME)
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".config"));
        let codex = config::setting(env::CODEX_HOME)
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".codex"));
        let project = match project {
            Some(p) => p.to_path_buf(),
            None => std::env::current_dir().context("cannot read the current folder")?,
        };
        let project = std::fs::canonicalize(&project)
            .with_context(|| format!("project folder {}", project.display()))?;
        if !project.is_dir() {
            bail!("project {} is not a folder", project.display());
        }
        Ok(Dirs {
            home,
            config: config_dir,
            codex,
            project,
        })
    }
}

fn target(client: Client, scope: SetupScope, dirs: &Dirs) -> Target {
    let servers = |key: &str| Format::Json(vec![key.to_string()]);
    let project = |rel: &str| (dirs.project.join(rel), Place::Project(dirs.project.clone()));
    let user = |path: PathBuf| (path, Place::User);
    let ((path, place), format, secrets) = match (client, scope) {
        (Client::Cursor, SetupScope::Project) => (
            project(".cursor/mcp.json"),
            servers("mcpServers"),
            Secrets::Inline,
        ),
        (Client::Cursor, _) => (
            user(dirs.home.join(".cursor/mcp.json")),
            servers("mcpServers"),
            Secrets::Inline,
        ),
        (Client::ClaudeDesktop, _) => (
            user(claude_desktop_config(dirs)),
            servers("mcpServers"),
            Secrets::Inline,
        ),
        (Client::ClaudeCode, SetupScope::Project) => (
            project(".mcp.json"),
            servers("mcpServers"),
            Secrets::Reference,
        ),
        (Client::ClaudeCode, SetupScope::Local) => (
            user(dirs.home.join(".claude.json")),
            Format::Json(vec![
                "projects".into(),
                dirs.project.to_string_lossy().into_owned(),
                "mcpServers".into(),
            ]),
            Secrets::Inline,
        ),
        (Client::ClaudeCode, SetupScope::User) => (
            user(dirs.home.join(".claude.json")),
            servers("mcpServers"),
            Secrets::Inline,
        ),
        (Client::Goose, _) => (
            user(dirs.config.join("goose/config.yaml")),
            Format::Yaml("extensions"),
            Secrets::Inline,
        ),
        (Client::Vscode, SetupScope::Project) => (
            project(".vscode/mcp.json"),
            servers("servers"),
            Secrets::EnvFile,
        ),
        (Client::Vscode, _) => (
            user(vscode_user_dir(dirs).join("mcp.json")),
            servers("servers"),
            Secrets::Inline,
        ),
        (Client::Codex, SetupScope::Project) => (
            project(".codex/config.toml"),
            Format::Toml("mcp_servers"),
            Secrets::Inline,
        ),
        (Client::Codex, _) => (
            user(dirs.codex.join("config.toml")),
            Format::Toml("mcp_servers"),
            Secrets::Inline,
        ),
    };
    Target {
        path,
        place,
        format,
        secrets,
    }
}

/// Claude Desktop's config file on this OS (Linux: where the community builds read it).
fn claude_desktop_config(dirs: &Dirs) -> PathBuf {
    if cfg!(target_os = "macos") {
        dirs.home
            .join("Library/Application Support/Claude/claude_desktop_config.json")
    } else {
        dirs.config.join("Claude/claude_desktop_config.json")
    }
}

/// VS Code's user folder on this OS.
fn vscode_user_dir(dirs: &Dirs) -> PathBuf {
    if cfg!(target_os = "macos") {
        dirs.home.join("Library/Application Support/Code/User")
    } else {
        dirs.config.join("Code/User")
    }
}

/// How one server is started: the entry key, command, arguments and environment.
#[derive(Clone)]
pub struct Launch {
    /// The entry's name in the client's config (`vibn-<server>`).
    pub key: String,
    /// The registry entry.
    pub server: &'static ServerEntry,
    /// The program.
    pub command: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its environment, in order.
    pub env: Vec<(String, String)>,
}

/// How secret values appear in what is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reveal {
    /// The value itself (files written, `--print --show-secret`).
    Value,
    /// Masked (`--print`).
    Masked,
}

/// The text shown instead of a secret.
pub const MASKED: &str = "<hidden: --show-secret shows it>";

fn shown(name: &str, value: &str, reveal: Reveal) -> String {
    if reveal == Reveal::Masked && env::is_secret(name) {
        MASKED.to_string()
    } else {
        value.to_string()
    }
}

/// The client's entry for one server.
fn entry(client: Client, launch: &Launch, secrets: Secrets, reveal: Reveal) -> Value {
    let mut env_map = Map::new();
    for (name, value) in &launch.env {
        let secret = env::is_secret(name);
        match secrets {
            Secrets::EnvFile if secret => continue,
            Secrets::Reference if secret => {
                env_map.insert(name.clone(), json!(format!("${{{name}}}")));
            }
            _ => {
                env_map.insert(name.clone(), json!(shown(name, value, reveal)));
            }
        }
    }
    let env_value = Value::Object(env_map);
    match client {
        Client::Cursor | Client::ClaudeDesktop => json!({
            "command": launch.command, "args": launch.args, "env": env_value,
        }),
        Client::ClaudeCode => json!({
            "type": "stdio", "command": launch.command, "args": launch.args, "env": env_value,
        }),
        Client::Vscode => {
            let mut e = json!({
                "type": "stdio", "command": launch.command, "args": launch.args, "env": env_value,
            });
            if secrets == Secrets::EnvFile {
                e["envFile"] = json!("${workspaceFolder}/.env.local");
            }
            e
        }
        Client::Codex => json!({
            "command": launch.command, "args": launch.args, "env": env_value,
        }),
        Client::Goose => json!({
            "enabled": true,
            "type": "stdio",
            "name": launch.key,
            "description": launch.server.summary,
            "cmd": launch.command,
            "args": launch.args,
            "envs": env_value,
            "env_keys": [],
            "timeout": 300,
            "bundled": null,
            "available_tools": [],
        }),
    }
}

/// Merge `entries` into `text` laid out as `format`.
fn merge(text: &str, format: &Format, entries: &[(String, Value)]) -> anyhow::Result<String> {
    Ok(match format {
        Format::Json(path) => {
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            edit::merge_json(text, &path, entries)?
        }
        Format::Toml(table) => edit::merge_toml(text, table, entries)?,
        Format::Yaml(key) => edit::merge_yaml(text, key, entries)?,
    })
}

/// What the rules need to know about the workspace.
#[derive(Debug, Clone, Default)]
pub struct WorkspaceFacts {
    /// The slug.
    pub slug: Option<String>,
    /// The Gitea org.
    pub org: Option<String>,
}

/// The house rules for an agent working through `servers` (Markdown, one block).
pub fn house_rules(facts: &WorkspaceFacts, servers: &[&ServerEntry], key_home: &str) -> String {
    let slug = facts.slug.as_deref().unwrap_or("<your workspace>");
    let org = facts.org.clone().unwrap_or_else(|| format!("vibn-{slug}"));
    let base = config::setting(env::VIBN_BASE_DOMAIN)
        .unwrap_or_else(|| crate::policy::domain::DEFAULT_BASE.to_string());
    let mut out = format!(
        "## vibn workspace `{slug}`\n\n\
         You build and ship software for one vibn workspace, through the MCP servers `vibn mcp` \
         starts. They act only for this workspace and refuse everything else.\n\n\
         - **Workspace**: `{slug}`. Repositories live in the Gitea org `{org}`; apps, databases \
         and auth providers in the Coolify project `vibn-ws-{slug}`; domains only \
         `<name>.{slug}.{base}`.\n"
    );
    out.push_str("- **Tools**:\n");
    for s in servers {
        let names: Vec<String> = (s.tools)().iter().map(|t| t.name.to_string()).collect();
        let names = if names.is_empty() {
            "listed by the server".to_string()
        } else {
            names.join(", ")
        };
        out.push_str(&format!("  - `vibn-{}` ({}): {names}\n", s.name, s.summary));
    }
    out.push_str(
        "- **Safety**: the servers enforce the tenant boundary; hints are in every error. \
         403 = another tenant's resource, a protected target or a domain outside the \
         namespace: stop and ask the user, never retry with guessed values. 409 = a delete \
         needs `confirm` set to the resource's exact name: read the name first. 401 = the \
         key is no longer valid: ask the user for a new one. 503 = the workspace is not \
         provisioned yet. Volumes are kept on delete unless asked.\n\
         - **Git**: use the servers' git tools; never put a token into a URL, a remote, a \
         command or a file.\n",
    );
    out.push_str(&format!(
        "- **Secrets**: treat `VIBN_API_KEY` like a password — never print, log, paste or \
         commit it (it is kept in {key_home}). The same goes for every token a tool hands out.\n"
    ));
    out
}

/// One planned file change.
#[derive(Debug)]
struct Change {
    existing: files::Existing,
    place: Place,
    text: String,
    secret: bool,
    note: Option<String>,
}

/// Run `vibn setup`.
pub fn run(args: SetupArgs) -> anyhow::Result<ExitCode> {
    let client = match args.client {
        SetupTarget::Cursor => Client::Cursor,
        SetupTarget::ClaudeDesktop => Client::ClaudeDesktop,
        SetupTarget::ClaudeCode => Client::ClaudeCode,
        SetupTarget::Goose => Client::Goose,
        SetupTarget::Vscode => Client::Vscode,
        SetupTarget::Codex => Client::Codex,
        SetupTarget::Prompt => return prompt(&args),
    };
    let scope = args.scope.unwrap_or(client.default_scope());
    if !client.scopes().contains(&scope) {
        bail!(
            "{} has no {} configuration; use --scope {}",
            client.name(),
            format!("{scope:?}").to_lowercase(),
            client
                .scopes()
                .iter()
                .map(|s| format!("{s:?}").to_lowercase())
                .collect::<Vec<_>>()
                .join(" or ")
        );
    }
    let remote = args.remote.as_deref().map(remote::base_url).transpose()?;
    let servers = match &remote {
        None => chosen_servers(&args.servers)?,
        Some(_) => {
            if args.servers.iter().any(|s| s.trim() != "control-plane") {
                bail!("--remote configures the control plane only (what vibn serve serves)");
            }
            if args.mint_key.is_some() {
                bail!(
                    "--mint-key needs the keystore; with --remote set VIBN_API_KEY to a key the \
                     operator minted for your workspace"
                );
            }
            registry::find("control-plane").into_iter().collect()
        }
    };
    let dirs = Dirs::resolve(args.project.as_deref())?;
    let keystore = config::keystore_path(args.keystore.as_deref())?;
    let (key, facts) = match &remote {
        None => resolve_key(&args, &keystore, &servers)?,
        Some(base) => {
            let Some(key) = args
                .api_key
                .as_deref()
                .map(str::trim)
                .filter(|k| !k.is_empty())
            else {
                bail!("--remote needs the workspace key: set VIBN_API_KEY (or --api-key)");
            };
            let facts = remote::check_key(base, key)?;
            (Some(key.to_string()), facts)
        }
    };
    let command = match &args.binary {
        Some(path) => path.to_string_lossy().into_owned(),
        None => std::env::current_exe()
            .and_then(std::fs::canonicalize)
            .context("cannot tell where this vibn binary is; pass --binary")?
            .to_string_lossy()
            .into_owned(),
    };
    let mut launches: Vec<Launch> = servers
        .iter()
        .map(|s| {
            launch(
                s,
                &command,
                &dirs.project,
                key.as_deref(),
                &facts,
                &keystore,
            )
        })
        .collect();
    if remote.is_some() {
        // The remote entry carries the key alone: nothing of the operator's.
        for l in &mut launches {
            l.env
                .retain(|(name, _)| name == env::VIBN_API_KEY || name == env::VIBN_WORKSPACE);
        }
    }
    let target = target(client, scope, &dirs);
    if matches!(target.place, Place::Project(_)) {
        let mut withheld: Vec<String> = Vec::new();
        for l in &mut launches {
            l.env.retain(|(name, _)| {
                let operator = env::is_secret(name) && name != env::VIBN_API_KEY;
                if operator && !withheld.contains(name) {
                    withheld.push(name.clone());
                }
                !operator
            });
        }
        if !withheld.is_empty() {
            output::note(&format!(
                "note: {} not written into the project folder (operator credentials stay in \
                 your own files); use --scope user if a server needs them",
                withheld.join(", ")
            ));
        }
    }
    let reveal = if args.print && !args.show_secret {
        Reveal::Masked
    } else {
        Reveal::Value
    };

    let mut changes = Vec::new();
    let config_file = files::read(&target.path, &target.place)?;
    let entries: Vec<(String, Value)> = match &remote {
        None => launches
            .iter()
            .map(|l| (l.key.clone(), entry(client, l, target.secrets, reveal)))
            .collect(),
        Some(base) => {
            let mcp_url = format!("{base}/mcp");
            let key = key.as_deref().unwrap_or_default();
            launches
                .iter()
                .map(|l| {
                    let e = remote::entry(client, &l.key, &mcp_url, key, target.secrets, reveal)?;
                    Ok((l.key.clone(), e))
                })
                .collect::<anyhow::Result<_>>()?
        }
    };
    let merged = merge(
        config_file.text.as_deref().unwrap_or(""),
        &target.format,
        &entries,
    )
    .with_context(|| format!("{}: nothing was written", target.path.display()))?;
    let has_inline_secret = target.secrets == Secrets::Inline
        && launches
            .iter()
            .any(|l| l.env.iter().any(|(n, _)| env::is_secret(n)));
    let mut note = None;
    if target.format == Format::Yaml("extensions")
        && config_file.text.as_deref().is_some_and(|t| t.contains('#'))
    {
        note = Some("YAML comments are not kept (Goose drops them too); see the backup".into());
    }
    if target.secrets == Secrets::Reference {
        let names: Vec<&str> = launches
            .iter()
            .flat_map(|l| l.env.iter().map(|(n, _)| n.as_str()))
            .filter(|n| env::is_secret(n))
            .collect();
        if !names.is_empty() {
            note = Some(format!(
                "shared file: secrets are ${{NAME}} references; export {} where you start claude",
                names.join(", ")
            ));
        }
    }
    changes.push(Change {
        existing: config_file,
        place: target.place.clone(),
        text: merged,
        secret: has_inline_secret,
        note,
    });

    let wants_env_file = matches!(client, Client::Cursor)
        || (client == Client::Vscode && target.secrets == Secrets::EnvFile);
    if wants_env_file && !args.no_rules {
        let mut vars: Vec<(String, String)> = Vec::new();
        for l in &launches {
            for (name, value) in &l.env {
                let wanted = if client == Client::Vscode {
                    env::is_secret(name)
                } else {
                    name == env::VIBN_API_KEY || name == env::VIBN_WORKSPACE
                };
                if wanted && !vars.iter().any(|(n, _)| n == name) {
                    vars.push((name.clone(), shown(name, value, reveal)));
                }
            }
        }
        if !vars.is_empty() {
            let path = dirs.project.join(".env.local");
            let place = Place::Project(dirs.project.clone());
            let existing = files::read(&path, &place)?;
            let text = edit::upsert_env_lines(existing.text.as_deref().unwrap_or(""), &vars);
            changes.push(Change {
                existing,
                place,
                text,
                secret: true,
                note: Some("keep .env.local out of git".into()),
            });
        }
    }
    if let (Some(rel), false) = (client.rules_file(), args.no_rules) {
        let path = dirs.project.join(rel);
        let place = Place::Project(dirs.project.clone());
        let existing = files::read(&path, &place)?;
        let key_home = format!("{}", target.path.display());
        let block = house_rules(&facts, &servers, &key_home);
        let base = match (&existing.text, client) {
            (None, Client::Cursor) => format!(
                "---\ndescription: vibn workspace {}: tools, safety model, secrets\nalwaysApply: true\n---\n\n",
                facts.slug.as_deref().unwrap_or("")
            ),
            (text, _) => text.clone().unwrap_or_default(),
        };
        let text = edit::upsert_block(&base, &block);
        changes.push(Change {
            existing,
            place,
            text,
            secret: false,
            note: None,
        });
    } else if client == Client::ClaudeDesktop && !args.no_rules {
        output::note(
            "Claude Desktop reads no project files: paste `vibn setup prompt` into the project's instructions",
        );
    }

    for s in servers.iter().filter(|s| !s.is_built()) {
        output::note(&format!(
            "note: vibn mcp {} is not built in this vibn yet",
            s.name
        ));
    }
    if args.print {
        for c in &changes {
            output::line(&format!("── {} ──", c.existing.path.display()));
            output::line(c.text.trim_end());
        }
        return Ok(ExitCode::SUCCESS);
    }
    for c in &changes {
        if c.existing.text.as_deref() == Some(c.text.as_str()) {
            output::line(&format!("{} is up to date", c.existing.path.display()));
            continue;
        }
        let backup = files::replace(&c.existing, &c.text, c.secret, &c.place)?;
        let mut line = format!("wrote {}", c.existing.path.display());
        if let Some(b) = backup {
            line.push_str(&format!(" (old file kept as {})", b.display()));
        }
        output::line(&line);
        if let Some(n) = &c.note {
            output::note(&format!("note: {n}"));
        }
    }
    output::note(&format!(
        "configured {} for {}; restart the client to load it",
        servers
            .iter()
            .map(|s| format!("vibn-{}", s.name))
            .collect::<Vec<_>>()
            .join(", "),
        client.name()
    ));
    Ok(ExitCode::SUCCESS)
}

/// What `vibn keys mint` tells on stderr: the `vibn setup` line to run next.
pub fn next_step_after_mint(slug: &str) -> String {
    let clients: Vec<&str> = Client::ALL.iter().map(|c| c.name()).collect();
    format!(
        "next: connect a client with this key: VIBN_API_KEY=<the key> vibn setup {} \
         (or a fresh key per client: vibn setup <client> --workspace {slug} --mint-key <name>)",
        clients.join("|")
    )
}

/// The servers to configure: `--servers` (each must exist and be built), or the
/// defaults that are built.
fn chosen_servers(names: &[String]) -> anyhow::Result<Vec<&'static ServerEntry>> {
    let names: Vec<&str> = names
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .collect();
    let available = || {
        registry::built()
            .map(|s| s.name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    if names.is_empty() {
        let mut chosen = Vec::new();
        for name in DEFAULT_SERVERS {
            match registry::find(name) {
                Some(s) if s.is_built() => chosen.push(s),
                _ => output::note(&format!(
                    "note: vibn mcp {name} is not built in this vibn yet; it is left out \
                     (pass --servers to choose from: {})",
                    available()
                )),
            }
        }
        return Ok(chosen);
    }
    let mut chosen: Vec<&'static ServerEntry> = Vec::new();
    for name in names {
        let Some(s) = registry::find(name) else {
            bail!("unknown server {name:?}; vibn has: {}", available());
        };
        if !s.is_built() {
            bail!(
                "vibn mcp {name} is not built in this vibn yet, so a client could not start it; \
                 choose from: {}",
                available()
            );
        }
        if !chosen.iter().any(|c| c.name == s.name) {
            chosen.push(s);
        }
    }
    Ok(chosen)
}

/// The key to configure and what it tells about the workspace: a freshly minted one
/// (`--mint-key`), or `--api-key`/`VIBN_API_KEY` checked against the keystore.
fn resolve_key(
    args: &SetupArgs,
    keystore: &Path,
    servers: &[&ServerEntry],
) -> anyhow::Result<(Option<String>, WorkspaceFacts)> {
    if let Some(name) = &args.mint_key {
        let Some(slug) = args.workspace.as_deref().filter(|s| !s.trim().is_empty()) else {
            bail!("--mint-key needs the workspace: pass --workspace SLUG");
        };
        let ks = if args.print {
            Store::open_existing(keystore)?
        } else {
            Store::open(keystore)?
        };
        let workspace = ks.require_workspace(slug)?;
        let facts = WorkspaceFacts {
            slug: Some(workspace.slug.clone()),
            org: Some(workspace.gitea_org.clone()),
        };
        if args.print {
            output::note("--print: no key was minted; the files show where it would go");
            return Ok((Some("<minted when written>".into()), facts));
        }
        let minted = ks.mint_workspace_key(slug, name, None, "vibn setup")?;
        output::note(&format!(
            "minted key {} ({}) for workspace {slug}",
            minted.record.id, minted.record.hint
        ));
        return Ok((Some(minted.token.expose_secret().to_string()), facts));
    }
    if let Some(key) = args
        .api_key
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty())
    {
        let ks = Store::open_existing(keystore).with_context(|| {
            format!(
                "cannot check VIBN_API_KEY: no keystore at {}",
                crate::keystore::Location::of(keystore)
            )
        })?;
        let Some(valid) = ks.validate_workspace_key(key, args.workspace.as_deref())? else {
            bail!(
                "VIBN_API_KEY is not a valid key{} in {} (unknown, revoked, expired or \
                 malformed); mint one with --mint-key NAME --workspace SLUG",
                args.workspace
                    .as_deref()
                    .map(|w| format!(" of workspace {w}"))
                    .unwrap_or_default(),
                crate::keystore::Location::of(keystore)
            );
        };
        let facts = WorkspaceFacts {
            slug: Some(valid.workspace.slug.clone()),
            org: Some(valid.workspace.gitea_org.clone()),
        };
        return Ok((Some(key.to_string()), facts));
    }
    if servers.iter().any(|s| s.name == "control-plane") {
        bail!(
            "the control plane acts for one workspace and needs its key: pass --mint-key NAME \
             --workspace SLUG, or set VIBN_API_KEY"
        );
    }
    output::note(
        "note: no workspace key (VIBN_API_KEY or --mint-key): the servers run in operator mode",
    );
    Ok((None, WorkspaceFacts::default()))
}

/// How to start `server` for this setup: `vibn mcp <name>` (with `--root` for a server
/// that works in a folder), the key, the keystore and every other variable the server
/// reads that is set here.
fn launch(
    server: &'static ServerEntry,
    command: &str,
    project: &Path,
    key: Option<&str>,
    facts: &WorkspaceFacts,
    keystore: &Path,
) -> Launch {
    let mut args = vec!["mcp".to_string(), server.name.to_string()];
    if server.env.contains(&env::WORKSPACE_ROOT) {
        args.push("--root".into());
        args.push(project.to_string_lossy().into_owned());
    }
    let mut vars: Vec<(String, String)> = Vec::new();
    if let Some(key) = key {
        vars.push((env::VIBN_API_KEY.into(), key.into()));
        if let Some(slug) = &facts.slug {
            vars.push((env::VIBN_WORKSPACE.into(), slug.clone()));
        }
        vars.push((
            env::VIBN_KEYSTORE.into(),
            keystore.to_string_lossy().into_owned(),
        ));
    }
    for name in server.environment() {
        if name == env::WORKSPACE_ROOT || vars.iter().any(|(n, _)| n == name) {
            continue;
        }
        if name == env::VIBN_API_KEY || name == env::VIBN_WORKSPACE {
            continue;
        }
        if let Some(value) = config::setting(name) {
            vars.push((name.to_string(), value));
        }
    }
    Launch {
        key: format!("vibn-{}", server.name),
        server,
        command: command.to_string(),
        args,
        env: vars,
    }
}

/// `vibn setup prompt`: the house rules as a system-prompt block, for clients without a
/// rules file.
fn prompt(args: &SetupArgs) -> anyhow::Result<ExitCode> {
    let servers = chosen_servers(&args.servers)?;
    let mut facts = WorkspaceFacts {
        slug: args.workspace.clone(),
        org: None,
    };
    let keystore = config::keystore_path(args.keystore.as_deref())?;
    if let Ok(ks) = Store::open_existing(&keystore) {
        let key = args
            .api_key
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty());
        let workspace = match (&args.workspace, key) {
            (Some(slug), _) => ks.workspace_by_slug(slug).ok().flatten(),
            (None, Some(key)) => ks
                .validate_workspace_key(key, None)
                .ok()
                .flatten()
                .map(|v| v.workspace),
            (None, None) => None,
        };
        if let Some(w) = workspace {
            facts.slug = Some(w.slug);
            facts.org = Some(w.gitea_org);
        }
    }
    output::line(&house_rules(
        &facts,
        &servers,
        "your MCP client's configuration",
    ));
    Ok(ExitCode::SUCCESS)
}

/// Example configurations of `server` for every client, as `vibn setup` writes them
/// into empty files: (file name, text). Placeholders stand for the binary, the project
/// and the key.
pub fn examples(server: &'static ServerEntry) -> Vec<(String, String)> {
    let mut args = vec!["mcp".to_string(), server.name.to_string()];
    if server.env.contains(&env::WORKSPACE_ROOT) {
        args.push("--root".into());
        args.push("/path/to/your/project".into());
    }
    let launch = Launch {
        key: format!("vibn-{}", server.name),
        server,
        command: "vibn".into(),
        args,
        env: vec![(env::VIBN_API_KEY.into(), "vibn_sk_…".into())],
    };
    let mut out = Vec::new();
    for client in Client::ALL {
        let (file, format, secrets) = match client {
            Client::ClaudeDesktop => (
                "claude_desktop_config.json",
                Format::Json(vec!["mcpServers".into()]),
                Secrets::Inline,
            ),
            Client::ClaudeCode => (
                "claude-code.mcp.json",
                Format::Json(vec!["mcpServers".into()]),
                Secrets::Reference,
            ),
            Client::Cursor => (
                "cursor.mcp.json",
                Format::Json(vec!["mcpServers".into()]),
                Secrets::Inline,
            ),
            Client::Goose => (
                "goose.config.yaml",
                Format::Yaml("extensions"),
                Secrets::Inline,
            ),
            Client::Vscode => (
                "vscode.mcp.json",
                Format::Json(vec!["servers".into()]),
                Secrets::EnvFile,
            ),
            Client::Codex => (
                "codex.config.toml",
                Format::Toml("mcp_servers"),
                Secrets::Inline,
            ),
        };
        let entries = vec![(
            launch.key.clone(),
            entry(client, &launch, secrets, Reveal::Value),
        )];
        if let Ok(text) = merge("", &format, &entries) {
            out.push((file.to_string(), text));
        }
    }
    out
}
