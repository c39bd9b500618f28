//! What the user typed, as clap structs. No I/O and no validation beyond parsing:
//! `config` turns these into typed per-server configuration. Imports only `env_vars`,
//! so `config` and `cli` can both read it without a circle.

use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args, Parser, Subcommand};

use crate::env_vars as env;

/// vibn: stdio MCP servers that let an AI agent build and ship software for one workspace.
#[derive(Debug, Parser)]
#[command(name = "vibn", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level subcommands.
// Parsed once per process; the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start one stdio MCP server (for an MCP client's config).
    Mcp {
        /// Which server.
        #[command(subcommand)]
        server: McpServer,
    },
    /// Run one tool of one server and print its result as JSON (exit 1 on an error
    /// result): the same guards and pinning as over MCP, for scripts and quick checks.
    Call(CallArgs),
    /// The whole product end to end on this machine: every stand-in, two provisioned
    /// workspaces, seed 003's worked examples through the control plane over MCP; exit 0
    /// only when every step passed.
    Demo,
    /// Check the configuration, keystore, secrets key, upstreams, runner, search and the
    /// command sandbox: one line per check with its remedy; exit 1 when one fails.
    Doctor(DoctorArgs),
    /// Workspaces (tenants): create, provision, credentials, rotate-bot-token, list, show.
    Workspace {
        /// What to do.
        #[command(subcommand)]
        action: WorkspaceAction,
    },
    /// Workspace API keys (`vibn_sk_…`): mint, list, revoke, check.
    Keys {
        /// What to do.
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Admin org tokens (`vibn_at_…`): mint, list, revoke.
    OrgTokens {
        /// What to do.
        #[command(subcommand)]
        action: OrgTokensAction,
    },
    /// The key secrets at rest are sealed with: generate, rewrap.
    Secrets {
        /// What to do.
        #[command(subcommand)]
        action: SecretsAction,
    },
    /// Show the audit trail of write tool calls.
    Audit(AuditArgs),
    /// JSON Schemas of every tool's input and output.
    Schemas {
        /// What to do.
        #[command(subcommand)]
        action: SchemasAction,
    },
    /// Connect an MCP client: write its configuration for vibn's servers (merged into
    /// the file the client reads, old file backed up) and the house rules an agent needs;
    /// `vibn setup prompt` prints the rules as a system-prompt block.
    Setup(SetupArgs),
    /// Serve every workspace from one process over HTTP: the control plane over MCP
    /// Streamable HTTP at /mcp and its REST surface at /api/workspaces/…, each request
    /// acting for the workspace of its own `Authorization: Bearer vibn_sk_…` key.
    Serve(ServeArgs),
    /// Start a local stand-in for an upstream service (for tests and demos); runs the
    /// `vibn-sandbox` binary installed next to `vibn`.
    #[command(disable_help_flag = true)]
    Sandbox {
        /// The stand-in and its flags, as `vibn-sandbox` takes them (`gitea --create o/r`,
        /// `coolify`, `search`, `runner`, `git-http --repos DIR`, `all`), or `up`: every
        /// stand-in with a provisioned demo workspace and its key.
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "ARGS"
        )]
        args: Vec<std::ffi::OsString>,
    },
    /// Internal: run one process inside the agent sandbox. The workspace server starts
    /// this for every command and git child; it is not meant to be run by hand.
    #[command(name = "sandbox-exec", hide = true)]
    SandboxExec(SandboxExecArgs),
}

/// Arguments of `vibn doctor` (each also read from its environment variable, as the
/// servers read it; tokens and keys only from the environment).
#[derive(Debug, Clone, Args)]
pub struct DoctorArgs {
    /// Gitea (with the operator's site-admin token) and Coolify.
    #[command(flatten)]
    pub upstream: UpstreamFlags,
    /// Keystore file (default: $XDG_DATA_HOME/vibn/keystore.db), or a postgres:// URL.
    #[arg(long, env = env::VIBN_KEYSTORE, value_name = "PATH")]
    pub keystore: Option<PathBuf>,
    /// The agent runner (checked when set).
    #[arg(long, env = env::AGENT_RUNNER_URL, value_name = "URL")]
    pub runner_url: Option<String>,
    /// A SearXNG instance (checked when set; else BRAVE_API_KEY when set).
    #[arg(long, env = env::VIBN_SEARXNG_URL, value_name = "URL")]
    pub searxng_url: Option<String>,
    /// `on` (default): check that commands can be sandboxed; `off`: say they run unconfined.
    #[arg(long, env = env::VIBN_EXEC_SANDBOX, value_name = "on|off", default_value = "on",
          value_parser = ["on", "off"])]
    pub exec_sandbox: String,
    /// Print the checks as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `vibn call`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:\n  \
    vibn call workspace read_file --json '{\"path\":\"README.md\"}' -- --root .\n  \
    VIBN_API_KEY=vibn_sk_… vibn call coolify list_apps")]
pub struct CallArgs {
    /// The server, as `vibn mcp <server>` names it.
    pub server: String,
    /// The tool to call.
    pub tool: String,
    /// The tool's arguments, a JSON object; `-` reads it from stdin.
    #[arg(long, value_name = "OBJECT", default_value = "{}")]
    pub json: String,
    /// The server's flags, as `vibn mcp <server>` takes them (after `--`); the
    /// environment configures it as it does the server.
    #[arg(last = true, value_name = "SERVER_FLAGS")]
    pub server_flags: Vec<std::ffi::OsString>,
}

/// `vibn mcp`'s subcommands on their own, to parse `vibn call`'s server and its flags.
#[derive(Debug, Parser)]
#[command(name = "vibn call")]
pub struct CallServer {
    /// The server and its flags.
    #[command(subcommand)]
    pub server: McpServer,
}

/// Flags of the internal `vibn sandbox-exec`.
#[derive(Debug, Clone, Args)]
pub struct SandboxExecArgs {
    /// Folder the process starts in.
    #[arg(long, value_name = "DIR")]
    pub cwd: PathBuf,
    /// A folder the process may write beneath (repeatable).
    #[arg(long, value_name = "DIR")]
    pub writable: Vec<PathBuf>,
    /// A file or folder hidden from the process (repeatable).
    #[arg(long, value_name = "PATH")]
    pub hide: Vec<PathBuf>,
    /// Give the process no network at all.
    #[arg(long)]
    pub no_network: bool,
    /// The program and its arguments.
    #[arg(last = true, required = true, value_name = "PROGRAM")]
    pub argv: Vec<std::ffi::OsString>,
}

/// The six MCP servers.
#[derive(Debug, Subcommand)]
pub enum McpServer {
    /// Coolify: projects, applications, deployments and logs.
    Coolify(CoolifyArgs),
    /// Gitea: repositories, issues and files.
    Gitea(GiteaArgs),
    /// A local workspace folder: files, search, commands and git.
    Workspace(WorkspaceArgs),
    /// Platform: memory, skills, PRDs and web search.
    Platform(PlatformArgs),
    /// Agent jobs on a runner: spawn, status, list and cancel.
    Agent(AgentArgs),
    /// The tenant-safe control plane of one workspace (requires a workspace key).
    ControlPlane(ControlPlaneArgs),
}

impl McpServer {
    /// The server's short name (`workspace`, `control-plane`, …).
    pub fn name(&self) -> &'static str {
        match self {
            McpServer::Coolify(_) => "coolify",
            McpServer::Gitea(_) => "gitea",
            McpServer::Workspace(_) => "workspace",
            McpServer::Platform(_) => "platform",
            McpServer::Agent(_) => "agent",
            McpServer::ControlPlane(_) => "control-plane",
        }
    }

    /// The flags every server shares.
    pub fn common(&self) -> &CommonArgs {
        match self {
            McpServer::Workspace(w) => &w.common,
            McpServer::Gitea(g) => &g.common,
            McpServer::Coolify(c) => &c.common,
            McpServer::Platform(p) => &p.common,
            McpServer::Agent(a) => &a.common,
            McpServer::ControlPlane(c) => &c.common,
        }
    }
}

/// Flags shared by every MCP server.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Serve only tools annotated read-only (removes every write tool).
    #[arg(long, env = env::VIBN_READ_ONLY, value_parser = BoolishValueParser::new(),
          action = ArgAction::SetTrue)]
    pub read_only: bool,
    /// Serve only these tools (comma-separated names).
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub tools: Vec<String>,
    /// Do not serve these tools (comma-separated names).
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub exclude_tools: Vec<String>,
    /// Repositories agents may not change: comma-separated `owner/name` globs.
    #[arg(long, env = env::VIBN_PROTECTED_REPOS, value_name = "GLOBS")]
    pub protected_repos: Option<String>,
    /// Workspace key (`vibn_sk_…`): act only for its workspace. Prefer the env var: flags
    /// are visible to other users in `ps`.
    #[arg(long, env = env::VIBN_API_KEY, hide_env_values = true, value_name = "KEY")]
    pub api_key: Option<String>,
    /// Refuse any key that does not belong to this workspace slug.
    #[arg(long, env = env::VIBN_WORKSPACE, value_name = "SLUG")]
    pub workspace: Option<String>,
    /// Keystore file (default: $XDG_DATA_HOME/vibn/keystore.db), or a postgres:// URL.
    #[arg(long, env = env::VIBN_KEYSTORE, value_name = "PATH")]
    pub keystore: Option<PathBuf>,
    /// Log filter (`error`, `warn`, `info`, `debug`, `trace` or a tracing directive);
    /// overrides RUST_LOG. Logs go to stderr, never stdout.
    #[arg(long, value_name = "FILTER")]
    pub log_level: Option<String>,
    /// Append logs to this file instead of stderr.
    #[arg(long, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
}

/// Flags of the workspace server.
#[derive(Debug, Clone, Args)]
pub struct WorkspaceArgs {
    /// The folder the agent works in; every path is confined to it.
    #[arg(long, env = env::WORKSPACE_ROOT, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Gitea, used to push over HTTPS.
    #[command(flatten)]
    pub gitea: GiteaFlags,
    /// `on` (default): run commands and git in the sandbox, refusing them where it
    /// cannot be built; `off`: run them unconfined (logged, and said in the tool list).
    #[arg(long, env = env::VIBN_EXEC_SANDBOX, value_name = "on|off", default_value = "on",
          value_parser = ["on", "off"])]
    pub exec_sandbox: String,
    /// `on` (default) or `off`: whether commands have network access.
    #[arg(long, env = env::VIBN_EXEC_NETWORK, value_name = "on|off", default_value = "on",
          value_parser = ["on", "off"])]
    pub exec_network: String,
    /// A folder commands may also write, e.g. a cargo or npm cache (repeatable; the
    /// environment variable takes a colon-separated list).
    #[arg(long, env = env::VIBN_EXEC_WRITABLE, value_name = "DIR", value_delimiter = ':')]
    pub exec_writable: Vec<PathBuf>,
    /// Flags every server shares.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Where Gitea is and who vibn is there (the token comes only from GITEA_API_TOKEN).
#[derive(Debug, Clone, Args)]
pub struct GiteaFlags {
    /// Gitea base URL, with or without /api/v1 (e.g. https://git.example.com).
    #[arg(long, env = env::GITEA_API_URL, value_name = "URL")]
    pub gitea_url: Option<String>,
    /// Gitea user the token belongs to.
    #[arg(long, env = env::GITEA_USERNAME, value_name = "USER")]
    pub gitea_username: Option<String>,
}

/// Flags of the Coolify server (the token comes only from COOLIFY_API_TOKEN).
#[derive(Debug, Clone, Args)]
pub struct CoolifyArgs {
    /// Coolify base URL, with or without /api/v1 (e.g. https://coolify.example.com).
    #[arg(long, env = env::COOLIFY_API_URL, value_name = "URL")]
    pub coolify_url: Option<String>,
    /// Applications agents may not change: comma-separated uuids or names (globs allowed).
    #[arg(long, env = env::VIBN_PROTECTED_APPS, value_name = "APPS")]
    pub protected_apps: Option<String>,
    /// Flags every server shares.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Flags of the control-plane server: where the operator's Gitea and Coolify are (their
/// tokens come only from GITEA_API_TOKEN and COOLIFY_API_TOKEN; they provision the
/// workspace lazily and reach Coolify for it) and the domain namespace.
#[derive(Debug, Clone, Args)]
pub struct ControlPlaneArgs {
    /// Gitea and Coolify, with the operator's credentials.
    #[command(flatten)]
    pub upstream: UpstreamFlags,
    /// The base domain apps get names under: `<app>.<workspace>.<base>`.
    #[arg(long, env = env::VIBN_BASE_DOMAIN, value_name = "DOMAIN", default_value = "vibnai.com")]
    pub base_domain: String,
    /// Flags every server shares.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Flags of the platform server (BRAVE_API_KEY and SESSION_KEY come only from the
/// environment).
#[derive(Debug, Clone, Args)]
pub struct PlatformArgs {
    /// Gitea, for skills kept in a repository.
    #[command(flatten)]
    pub gitea: GiteaFlags,
    /// The skills repository, `owner/name` (default: `<workspace org>/skills`).
    #[arg(long, env = env::VIBN_SKILLS_REPO, value_name = "OWNER/NAME")]
    pub skills_repo: Option<String>,
    /// A local folder of skills, used instead of Gitea.
    #[arg(long, env = env::VIBN_SKILLS_DIR, value_name = "DIR")]
    pub skills_dir: Option<PathBuf>,
    /// A SearXNG instance for web_search.
    #[arg(long, env = env::VIBN_SEARXNG_URL, value_name = "URL")]
    pub searxng_url: Option<String>,
    /// Flags every server shares.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Flags of the agent server (AGENT_RUNNER_TOKEN comes only from the environment).
#[derive(Debug, Clone, Args)]
pub struct AgentArgs {
    /// The agent runner.
    #[arg(long, env = env::AGENT_RUNNER_URL, value_name = "URL", default_value = "http://localhost:3333")]
    pub runner_url: String,
    /// Flags every server shares.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Flags of the Gitea server.
#[derive(Debug, Clone, Args)]
pub struct GiteaArgs {
    /// Where Gitea is.
    #[command(flatten)]
    pub gitea: GiteaFlags,
    /// Flags every server shares.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Where the keystore is, and how to print.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Keystore file (default: $XDG_DATA_HOME/vibn/keystore.db), or a postgres:// URL.
    #[arg(long, env = env::VIBN_KEYSTORE, value_name = "PATH", global = true)]
    pub keystore: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

/// Where the operator's Gitea and Coolify are (their tokens come only from
/// GITEA_API_TOKEN and COOLIFY_API_TOKEN).
#[derive(Debug, Clone, Args)]
pub struct UpstreamFlags {
    /// Gitea, with the operator's site-admin token.
    #[command(flatten)]
    pub gitea: GiteaFlags,
    /// Coolify base URL, with or without /api/v1.
    #[arg(long, env = env::COOLIFY_API_URL, value_name = "URL")]
    pub coolify_url: Option<String>,
    /// The Coolify server the workspace's resources go on (needed when there are several).
    #[arg(long, env = env::COOLIFY_SERVER_UUID, value_name = "UUID")]
    pub coolify_server: Option<String>,
}

/// `vibn workspace …`
#[derive(Debug, Subcommand)]
pub enum WorkspaceAction {
    /// The owner's workspace: created when they have none, else the existing one is
    /// shown; its slug comes from the owner's email.
    Create {
        /// The owner's email address.
        #[arg(long, value_name = "EMAIL")]
        owner_email: String,
        /// Display name (default: the slug).
        #[arg(long)]
        name: Option<String>,
        /// Create a further workspace even when the owner has one.
        #[arg(long)]
        another: bool,
        /// Provision it at once (as `vibn workspace provision`).
        #[arg(long)]
        provision: bool,
        /// Where Gitea and Coolify are (for --provision).
        #[command(flatten)]
        upstream: UpstreamFlags,
        /// Keystore and output.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Provision a workspace: Coolify project and server, private Gitea org, bot user,
    /// Writers team, bot token (sealed), deploy keypair. Idempotent and resumable.
    Provision {
        /// The workspace's slug.
        slug: String,
        /// Where Gitea and Coolify are.
        #[command(flatten)]
        upstream: UpstreamFlags,
        /// Keystore and output.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Show what an agent needs to use the workspace's Gitea as its bot (the token only
    /// with --show-secret).
    Credentials {
        /// The workspace's slug.
        slug: String,
        /// Include the bot's token.
        #[arg(long)]
        show_secret: bool,
        /// Where Gitea is.
        #[command(flatten)]
        gitea: GiteaFlags,
        /// Keystore and output.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Mint a new bot token, store it, then delete the old one in Gitea.
    RotateBotToken {
        /// The workspace's slug.
        slug: String,
        /// Also replace the SSH deploy keypair on both sides.
        #[arg(long)]
        deploy_key: bool,
        /// Where Gitea and Coolify are.
        #[command(flatten)]
        upstream: UpstreamFlags,
        /// Keystore and output.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List every workspace.
    List {
        /// Keystore and output.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Show one workspace.
    Show {
        /// The workspace's slug.
        slug: String,
        /// Keystore and output.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Link the workspace to its Coolify project (until provisioning does it).
    LinkCoolify {
        /// The workspace's slug.
        slug: String,
        /// The Coolify project's uuid.
        #[arg(long, value_name = "UUID")]
        project: String,
        /// The environment new resources go in.
        #[arg(long, default_value = "production")]
        environment: String,
        /// Keystore and output.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Store the workspace's Gitea bot user and token (token read from stdin, sealed
    /// with VIBN_SECRETS_KEY).
    SetBotToken {
        /// The workspace's slug.
        slug: String,
        /// The bot's Gitea user name (default: vibn-bot-<slug>).
        #[arg(long)]
        username: Option<String>,
        /// Keystore and output.
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// `vibn keys …`
#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// Mint a key; only the token is printed on stdout, once.
    Mint {
        /// The workspace's slug.
        #[arg(long, value_name = "SLUG")]
        workspace: String,
        /// A label for the key (e.g. the device or agent).
        #[arg(long)]
        name: String,
        /// Lifetime, e.g. `30d`, `12h` (default: no expiry).
        #[arg(long, value_name = "DURATION")]
        expires_in: Option<String>,
        /// Keystore and output.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List a workspace's keys (hints only, never tokens).
    List {
        /// The workspace's slug.
        #[arg(long, value_name = "SLUG")]
        workspace: String,
        /// Keystore and output.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke a key (idempotent).
    Revoke {
        /// The workspace's slug.
        #[arg(long, value_name = "SLUG")]
        workspace: String,
        /// The key's id (from `vibn keys list`).
        key_id: String,
        /// Keystore and output.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Check a key read from stdin: valid, and for which workspace.
    Check {
        /// Keystore and output.
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// `vibn org-tokens …`
#[derive(Debug, Subcommand)]
pub enum OrgTokensAction {
    /// Mint an admin org token; only the token is printed on stdout, once.
    Mint {
        /// A label for the token.
        #[arg(long)]
        name: String,
        /// Lifetime, e.g. `90d` (default: no expiry).
        #[arg(long, value_name = "DURATION")]
        expires_in: Option<String>,
        /// Keystore and output.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List admin org tokens (hints only).
    List {
        /// Keystore and output.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke an admin org token (idempotent).
    Revoke {
        /// The token's id (from `vibn org-tokens list`).
        token_id: String,
        /// Keystore and output.
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// `vibn secrets …`
#[derive(Debug, Subcommand)]
pub enum SecretsAction {
    /// Print a new random VIBN_SECRETS_KEY (base64 of 32 bytes).
    GenKey,
    /// Re-seal every secret under VIBN_SECRETS_KEY (old ones opened with
    /// VIBN_SECRETS_KEY_PREVIOUS), then retire the old key.
    Rewrap {
        /// Keystore and output.
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// `vibn audit`
#[derive(Debug, Clone, Args)]
pub struct AuditArgs {
    /// Only this workspace's events (default: all).
    #[arg(long, value_name = "SLUG")]
    pub workspace: Option<String>,
    /// How many of the newest events to show.
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    /// Keystore and output.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// What `vibn setup` configures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SetupTarget {
    /// Cursor: `.cursor/mcp.json` (or `~/.cursor/mcp.json`), `.cursor/rules/vibn-workspace.mdc`, `.env.local`.
    Cursor,
    /// Claude Desktop: `claude_desktop_config.json`.
    ClaudeDesktop,
    /// Claude Code: `~/.claude.json` for this project (or `.mcp.json`, or every project), `CLAUDE.md`.
    ClaudeCode,
    /// Goose: `~/.config/goose/config.yaml`, `.goosehints`.
    Goose,
    /// VS Code: `.vscode/mcp.json` (`servers`), `AGENTS.md`, `.env.local`.
    Vscode,
    /// Codex: `~/.codex/config.toml` (or `.codex/config.toml`), `AGENTS.md`.
    Codex,
    /// Print the house rules as a system-prompt block (for any other client).
    Prompt,
}

/// Which configuration file of a client `vibn setup` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SetupScope {
    /// The project's own file (Cursor, VS Code, Claude Code's `.mcp.json`, Codex).
    Project,
    /// Claude Code's entry for this project in `~/.claude.json` (what `claude mcp add` writes).
    Local,
    /// The user's file, for every project.
    User,
}

/// Arguments of `vibn setup`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:\n  \
    vibn setup cursor --workspace acme --mint-key cursor-laptop\n  \
    VIBN_API_KEY=vibn_sk_… vibn setup claude-code --servers control-plane,workspace\n  \
    vibn setup codex --print\n  \
    vibn setup prompt --workspace acme")]
pub struct SetupArgs {
    /// The client to configure, or `prompt`.
    pub client: SetupTarget,
    /// The servers to configure (default: control-plane,workspace — the built ones).
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub servers: Vec<String>,
    /// Which of the client's files to write (default: the client's usual one).
    #[arg(long, value_enum)]
    pub scope: Option<SetupScope>,
    /// The project folder: the workspace server's root and where project files go
    /// (default: the current folder).
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Mint a fresh workspace key named NAME for this client (one key per agent or
    /// device) instead of using VIBN_API_KEY.
    #[arg(long, value_name = "NAME")]
    pub mint_key: Option<String>,
    /// The workspace (slug) the key belongs to; needed with --mint-key.
    #[arg(long, env = env::VIBN_WORKSPACE, value_name = "SLUG")]
    pub workspace: Option<String>,
    /// The key to configure (prefer the env var: flags show in `ps`).
    #[arg(long, env = env::VIBN_API_KEY, hide_env_values = true, value_name = "KEY")]
    pub api_key: Option<String>,
    /// The `vibn` binary clients start (default: this one).
    #[arg(long, value_name = "PATH")]
    pub binary: Option<PathBuf>,
    /// Show the files instead of writing them (secrets masked).
    #[arg(long)]
    pub print: bool,
    /// With --print, show secrets instead of masking them.
    #[arg(long)]
    pub show_secret: bool,
    /// Write only the client's MCP configuration, no house rules or `.env.local`.
    #[arg(long)]
    pub no_rules: bool,
    /// Keystore file (default: $XDG_DATA_HOME/vibn/keystore.db), or a postgres:// URL.
    #[arg(long, env = env::VIBN_KEYSTORE, value_name = "PATH")]
    pub keystore: Option<PathBuf>,
    /// Configure the control plane served by `vibn serve` at this URL (its `/mcp` with
    /// the key as a bearer header) instead of a local command: this machine then holds
    /// only the workspace key.
    #[arg(long, value_name = "URL")]
    pub remote: Option<String>,
}

/// `vibn schemas …`
#[derive(Debug, Subcommand)]
pub enum SchemasAction {
    /// Write `<server>.tools.json` for every server (or check they are current).
    Export {
        /// Folder to write to.
        #[arg(long, default_value = "schemas")]
        dir: PathBuf,
        /// Compare instead of writing; exit 1 when a file is stale.
        #[arg(long)]
        check: bool,
    },
    /// What each server's `tools/list` costs a model: bytes and approximate tokens, per
    /// server and (with --tools) per tool.
    Size {
        /// Also list every tool, largest first.
        #[arg(long)]
        tools: bool,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Write `<server>/server.json` (MCP Registry, schema 2025-12-11) and example client
    /// configurations for every server (or check they are current).
    Manifests {
        /// Folder to write to.
        #[arg(long, default_value = "servers")]
        dir: PathBuf,
        /// Compare instead of writing; exit 1 when a file is stale.
        #[arg(long)]
        check: bool,
    },
}

/// `vibn serve`: one HTTP process for every workspace.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The address to listen on (port 0: any free port; the bound address is printed on
    /// stderr as `vibn serve listening on http://ADDR`).
    #[arg(long, env = env::VIBN_LISTEN, value_name = "ADDR", default_value = "127.0.0.1:8787")]
    pub listen: String,
    /// Host names (or host:port) requests may be addressed to besides localhost,
    /// 127.0.0.1 and ::1 — the DNS-rebinding guard; a public deployment lists its name.
    #[arg(long = "allowed-host", env = env::VIBN_ALLOWED_HOSTS, value_delimiter = ',',
          value_name = "HOST")]
    pub allowed_hosts: Vec<String>,
    /// Browser origins allowed to call (`https://app.example.com`); a request with any
    /// other `Origin` header is refused (403). Agents send none.
    #[arg(long = "allowed-origin", env = env::VIBN_ALLOWED_ORIGINS, value_delimiter = ',',
          value_name = "ORIGIN")]
    pub allowed_origins: Vec<String>,
    /// The URL clients reach this server at (for bootstrap.sh and `vibn setup --remote`;
    /// default: http://<listen address>).
    #[arg(long, env = env::VIBN_PUBLIC_URL, value_name = "URL")]
    pub public_url: Option<String>,
    /// Requests per second each key (or each address without one) may make, sustained.
    #[arg(long, env = env::VIBN_RATE_LIMIT, value_name = "N", default_value_t = 50)]
    pub rate_limit: u32,
    /// Requests a key may make at once above the sustained rate.
    #[arg(long, env = env::VIBN_RATE_BURST, value_name = "N", default_value_t = 100)]
    pub rate_burst: u32,
    /// Largest request body accepted, in bytes (larger: 413).
    #[arg(long, value_name = "BYTES", default_value_t = 1_048_576)]
    pub max_body: usize,
    /// Longest a REST request may take before it is answered 504.
    #[arg(long, value_name = "DURATION", default_value = "120s", value_parser = humantime::parse_duration)]
    pub request_timeout: std::time::Duration,
    /// On SIGTERM or Ctrl-C, how long in-flight requests may run before the server stops.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    pub shutdown_grace: std::time::Duration,
    /// Gitea and Coolify, with the operator's credentials.
    #[command(flatten)]
    pub upstream: UpstreamFlags,
    /// The base domain apps get names under: `<app>.<workspace>.<base>`.
    #[arg(long, env = env::VIBN_BASE_DOMAIN, value_name = "DOMAIN", default_value = "vibnai.com")]
    pub base_domain: String,
    /// Serve only tools annotated read-only (over MCP, POST /api/mcp and REST alike).
    #[arg(long, env = env::VIBN_READ_ONLY, value_parser = BoolishValueParser::new(),
          action = ArgAction::SetTrue)]
    pub read_only: bool,
    /// Serve only these tools (comma-separated names).
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub tools: Vec<String>,
    /// Do not serve these tools (comma-separated names).
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub exclude_tools: Vec<String>,
    /// Keystore file (default: $XDG_DATA_HOME/vibn/keystore.db).
    #[arg(long, env = env::VIBN_KEYSTORE, value_name = "PATH")]
    pub keystore: Option<PathBuf>,
    /// Log filter (`error`, `warn`, `info`, `debug`, `trace` or a tracing directive).
    #[arg(long, value_name = "FILTER")]
    pub log_level: Option<String>,
    /// Append logs to this file instead of stderr.
    #[arg(long, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
}
