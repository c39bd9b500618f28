//! Every environment variable vibn reads, declared once (a leaf: it imports nothing).
//! Only `config` reads the environment; clap's `env = …` attributes in `cli::args` name
//! the same constants, so a variable is spelled in exactly one place.

/// `1`/`true`: serve only read-only tools (same as `--read-only`).
pub const VIBN_READ_ONLY: &str = "VIBN_READ_ONLY";
/// Comma-separated `owner/name` globs of repositories agents may not change.
pub const VIBN_PROTECTED_REPOS: &str = "VIBN_PROTECTED_REPOS";
/// The folder the workspace server works in (same as `--root`).
pub const WORKSPACE_ROOT: &str = "WORKSPACE_ROOT";
/// `on`/`off`: confine commands and git in the sandbox (same as `--exec-sandbox`).
pub const VIBN_EXEC_SANDBOX: &str = "VIBN_EXEC_SANDBOX";
/// `on`/`off`: network for commands (same as `--exec-network`).
pub const VIBN_EXEC_NETWORK: &str = "VIBN_EXEC_NETWORK";
/// Colon-separated folders commands may also write (same as `--exec-writable`).
pub const VIBN_EXEC_WRITABLE: &str = "VIBN_EXEC_WRITABLE";
/// Gitea base URL (the API lives under `/api/v1`).
pub const GITEA_API_URL: &str = "GITEA_API_URL";
/// Gitea access token (never accepted as a flag: flags show in `ps`).
pub const GITEA_API_TOKEN: &str = "GITEA_API_TOKEN";
/// Gitea user name that goes with the token.
pub const GITEA_USERNAME: &str = "GITEA_USERNAME";
/// Coolify base URL (the API lives under `/api/v1`).
pub const COOLIFY_API_URL: &str = "COOLIFY_API_URL";
/// Coolify API token (never accepted as a flag).
pub const COOLIFY_API_TOKEN: &str = "COOLIFY_API_TOKEN";
/// The Coolify server workspaces' resources are created on (needed when Coolify has
/// more than one).
pub const COOLIFY_SERVER_UUID: &str = "COOLIFY_SERVER_UUID";
/// The base domain application domains live under: `<app>.<slug>.<base>` (default
/// `vibnai.com`).
pub const VIBN_BASE_DOMAIN: &str = "VIBN_BASE_DOMAIN";
/// Comma-separated uuids or names (globs) of applications agents may not change.
pub const VIBN_PROTECTED_APPS: &str = "VIBN_PROTECTED_APPS";
/// A SearXNG instance for web_search (JSON API enabled).
pub const VIBN_SEARXNG_URL: &str = "VIBN_SEARXNG_URL";
/// A Brave Search API key for web_search (used when no SearXNG is set).
pub const BRAVE_API_KEY: &str = "BRAVE_API_KEY";
/// Where the Brave Search API lives (default https://api.search.brave.com).
pub const BRAVE_API_URL: &str = "BRAVE_API_URL";
/// The Gitea repository of skills, `owner/name` (default `<org>/skills`).
pub const VIBN_SKILLS_REPO: &str = "VIBN_SKILLS_REPO";
/// A local folder of skills (used instead of Gitea when set).
pub const VIBN_SKILLS_DIR: &str = "VIBN_SKILLS_DIR";
/// Scopes memory to one agent session as well as the workspace.
pub const SESSION_KEY: &str = "SESSION_KEY";
/// The agent runner (default http://localhost:3333).
pub const AGENT_RUNNER_URL: &str = "AGENT_RUNNER_URL";
/// Bearer token for the agent runner, if it wants one.
pub const AGENT_RUNNER_TOKEN: &str = "AGENT_RUNNER_TOKEN";
/// Log filter when `--log-level` is not given.
pub const RUST_LOG: &str = "RUST_LOG";
/// A workspace key (`vibn_sk_…`): the server then acts only for that workspace.
pub const VIBN_API_KEY: &str = "VIBN_API_KEY";
/// Optional: the slug the key must belong to (any other key is refused).
pub const VIBN_WORKSPACE: &str = "VIBN_WORKSPACE";
/// Path of the keystore file.
pub const VIBN_KEYSTORE: &str = "VIBN_KEYSTORE";
/// Where the keystore lives when VIBN_KEYSTORE is unset (`$XDG_DATA_HOME/vibn/`).
pub const XDG_DATA_HOME: &str = "XDG_DATA_HOME";
/// Home folder, for the default data directory (`~/.local/share/vibn/`).
pub const HOME: &str = "HOME";
/// Where clients keep their configuration (`vibn setup`: Goose, Claude Desktop on Linux).
pub const XDG_CONFIG_HOME: &str = "XDG_CONFIG_HOME";
/// Codex CLI's folder (`vibn setup codex`; default `~/.codex`).
pub const CODEX_HOME: &str = "CODEX_HOME";
/// Where programs are found, passed on to the servers `vibn demo` starts.
pub const PATH: &str = "PATH";
/// Base64 of 32 bytes: the key secrets at rest are sealed with.
pub const VIBN_SECRETS_KEY: &str = "VIBN_SECRETS_KEY";
/// The previous secrets key, during rotation (opens only).
pub const VIBN_SECRETS_KEY_PREVIOUS: &str = "VIBN_SECRETS_KEY_PREVIOUS";
/// An admin org token (`vibn_at_…`) the CLI acts as; recorded as `org-token:<hint>`.
pub const VIBN_ADMIN_TOKEN: &str = "VIBN_ADMIN_TOKEN";
/// The OpenSRS reseller user name (domains).
pub const OPENSRS_USERNAME: &str = "OPENSRS_USERNAME";
/// The OpenSRS reseller private key (signs every XCP request; never sent).
pub const OPENSRS_KEY: &str = "OPENSRS_KEY";
/// `test` (Horizon, the default), `live`, or an http(s) URL of an XCP endpoint.
pub const OPENSRS_ENV: &str = "OPENSRS_ENV";
/// Path of a Google service-account key file (Cloud DNS, IAM, Cloud Storage).
pub const GOOGLE_APPLICATION_CREDENTIALS: &str = "GOOGLE_APPLICATION_CREDENTIALS";
/// The Google Cloud project domains' zones and workspaces' buckets live in.
pub const GCP_PROJECT: &str = "GCP_PROJECT";
/// Where workspace buckets are created (default `NORTHAMERICA-NORTHEAST1`, Montréal).
pub const VIBN_STORAGE_LOCATION: &str = "VIBN_STORAGE_LOCATION";
/// Authoritative DNS for attached domains (`cloud_dns`, the default and only one).
pub const VIBN_DNS_PROVIDER: &str = "VIBN_DNS_PROVIDER";
/// Replaces the root URL of every Google API (a stand-in or a proxy; operators and tests).
pub const VIBN_GOOGLE_API_URL: &str = "VIBN_GOOGLE_API_URL";

/// `vibn serve`: the address to listen on (default 127.0.0.1:8787).
pub const VIBN_LISTEN: &str = "VIBN_LISTEN";
/// `vibn serve`: host names requests may be addressed to besides loopback (comma-separated).
pub const VIBN_ALLOWED_HOSTS: &str = "VIBN_ALLOWED_HOSTS";
/// `vibn serve`: browser origins allowed to call (comma-separated); others get 403.
pub const VIBN_ALLOWED_ORIGINS: &str = "VIBN_ALLOWED_ORIGINS";
/// `vibn serve`: the URL clients reach the server at.
pub const VIBN_PUBLIC_URL: &str = "VIBN_PUBLIC_URL";
/// `vibn serve`: sustained requests per second per key.
pub const VIBN_RATE_LIMIT: &str = "VIBN_RATE_LIMIT";
/// `vibn serve`: burst above the sustained rate per key.
pub const VIBN_RATE_BURST: &str = "VIBN_RATE_BURST";

/// What a variable a server reads is for, in one line for someone configuring an MCP
/// client (`servers/*/server.json`, `vibn setup`); `None` for one no server reads.
pub fn purpose(name: &str) -> Option<&'static str> {
    Some(match name {
        VIBN_API_KEY => "Workspace key (vibn_sk_…): the server acts only for that workspace",
        VIBN_WORKSPACE => "Refuse any key that does not belong to this workspace slug",
        VIBN_KEYSTORE => {
            "Path of the keystore file (default: $XDG_DATA_HOME/vibn/keystore.db), or a postgres:// URL"
        }
        VIBN_READ_ONLY => "1: serve only read-only tools",
        VIBN_PROTECTED_REPOS => {
            "Comma-separated owner/name globs of repositories agents may not change"
        }
        VIBN_PROTECTED_APPS => {
            "Comma-separated uuids or names of Coolify apps agents may not change"
        }
        WORKSPACE_ROOT => "The folder the agent works in; every path is confined to it",
        VIBN_EXEC_SANDBOX => "on (default) or off: run commands and git in the agent sandbox",
        VIBN_EXEC_NETWORK => "on (default) or off: network access for commands",
        VIBN_EXEC_WRITABLE => "Colon-separated folders commands may also write (e.g. caches)",
        GITEA_API_URL => "Gitea base URL, e.g. https://git.example.com",
        GITEA_USERNAME => "Gitea user the token belongs to",
        GITEA_API_TOKEN => {
            "Gitea access token (operator mode; a pinned server uses the workspace bot)"
        }
        COOLIFY_API_URL => "Coolify base URL, e.g. https://coolify.example.com",
        COOLIFY_API_TOKEN => "Coolify API token",
        VIBN_SKILLS_DIR => "A local folder of skills, used instead of Gitea",
        VIBN_SKILLS_REPO => "The Gitea repository of skills, owner/name",
        VIBN_SEARXNG_URL => "A SearXNG instance for web_search",
        BRAVE_API_KEY => "A Brave Search API key for web_search",
        BRAVE_API_URL => "Where the Brave Search API lives",
        SESSION_KEY => "Scopes memory to one agent session as well as the workspace",
        AGENT_RUNNER_URL => "The agent runner (default http://localhost:3333)",
        AGENT_RUNNER_TOKEN => "Bearer token for the agent runner, if it wants one",
        VIBN_SECRETS_KEY => "Base64 of 32 bytes: the key secrets at rest are sealed with",
        VIBN_SECRETS_KEY_PREVIOUS => "The previous secrets key, during rotation",
        VIBN_ADMIN_TOKEN => "Admin org token (vibn_at_…) the CLI acts as",
        COOLIFY_SERVER_UUID => "The Coolify server workspaces' resources go on",
        VIBN_BASE_DOMAIN => "Base domain of app domains, <app>.<slug>.<base> (default vibnai.com)",
        OPENSRS_USERNAME => "OpenSRS reseller user name (domain tools)",
        OPENSRS_KEY => "OpenSRS reseller private key (domain tools)",
        OPENSRS_ENV => "OpenSRS endpoint: test (default), live, or an XCP URL",
        GOOGLE_APPLICATION_CREDENTIALS => {
            "Path of a Google service-account key file (Cloud DNS, IAM, Cloud Storage)"
        }
        GCP_PROJECT => "Google Cloud project of domain zones and workspace buckets",
        VIBN_STORAGE_LOCATION => "Location of workspace buckets (default NORTHAMERICA-NORTHEAST1)",
        VIBN_DNS_PROVIDER => "Authoritative DNS of attached domains (cloud_dns)",
        VIBN_GOOGLE_API_URL => "Replaces every Google API's root URL (a stand-in or proxy)",
        RUST_LOG => "Log filter (logs go to stderr)",
        XDG_DATA_HOME => "Where the default keystore lives (vibn/keystore.db below it)",
        HOME => "The home folder",
        XDG_CONFIG_HOME => "Where MCP clients keep their configuration",
        CODEX_HOME => "Codex CLI's folder",
        PATH => "Where programs are found",
        VIBN_LISTEN => "vibn serve: the address to listen on (default 127.0.0.1:8787)",
        VIBN_ALLOWED_HOSTS => "vibn serve: host names answered besides loopback (comma-separated)",
        VIBN_ALLOWED_ORIGINS => "vibn serve: browser origins allowed to call (comma-separated)",
        VIBN_PUBLIC_URL => "vibn serve: the URL clients reach it at",
        VIBN_RATE_LIMIT => "vibn serve: sustained requests per second per key",
        VIBN_RATE_BURST => "vibn serve: requests a key may make at once above the rate",
        _ => return None,
    })
}

/// Whether a variable holds a secret: shown only on request, written only where a
/// client needs it.
pub fn is_secret(name: &str) -> bool {
    matches!(
        name,
        VIBN_API_KEY
            | GITEA_API_TOKEN
            | COOLIFY_API_TOKEN
            | BRAVE_API_KEY
            | AGENT_RUNNER_TOKEN
            | SESSION_KEY
            | VIBN_SECRETS_KEY
            | VIBN_SECRETS_KEY_PREVIOUS
            | VIBN_ADMIN_TOKEN
            | OPENSRS_KEY
    )
}
