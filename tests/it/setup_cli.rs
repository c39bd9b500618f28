//! `vibn setup <client>` through the real binary, in a throw-away home and project:
//! each client's file is merged into (starting from configurations users really have,
//! comments and other servers included), backed up, written 0600 when it holds the key;
//! malformed files and symlinks inside a project are refused with nothing written; the
//! house rules and `.env.local` are merged without clobbering the user's text; and the
//! written entry really starts the server (issue 14 item 3).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use rmcp::ServiceExt;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use serde_json::Value;

use crate::keystore_cli::Store;

const BIN: &str = env!("CARGO_BIN_EXE_vibn");

/// A home, a project folder and a keystore with workspace `acme` and a key.
struct Setup {
    store: Store,
    key: String,
}

impl Setup {
    fn new() -> Self {
        let store = Store::new();
        let slug = store.create("acme@example.com");
        assert_eq!(slug, "acme");
        let key = store.mint("acme", "first");
        std::fs::create_dir_all(store.dir.path().join("project")).unwrap();
        Setup { store, key }
    }

    fn home(&self) -> PathBuf {
        self.store.dir.path().to_path_buf()
    }

    fn project(&self) -> PathBuf {
        self.home().join("project").canonicalize().unwrap()
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", self.home())
            .env("XDG_DATA_HOME", self.home().join("data"))
            .current_dir(self.project())
            .arg("setup")
            .args(args)
            .args(["--binary", BIN])
            .stdin(Stdio::null());
        c
    }

    /// `vibn setup ARGS` with this setup's key in VIBN_API_KEY.
    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args)
            .env("VIBN_API_KEY", &self.key)
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "vibn setup {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn write(&self, path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn read(&self, path: &Path) -> String {
        std::fs::read_to_string(path).unwrap()
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Files next to `path` whose names start with its name and `.vibn-backup-`.
fn backups(path: &Path) -> Vec<PathBuf> {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let Ok(entries) = std::fs::read_dir(path.parent().unwrap()) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{name}.vibn-backup-"))
        })
        .collect()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Cursor: the project's `.cursor/mcp.json` keeps its comment and other server, gains
/// `vibn-workspace` with the key (file 0600, old one backed up); the rules file and
/// `.env.local` (0600) are written.
#[test]
fn cursor_merges_into_an_existing_project_config() {
    let s = Setup::new();
    let path = s.project().join(".cursor/mcp.json");
    let before = "{\n  // my servers\n  \"mcpServers\": {\n    \"github\": { \"command\": \"gh-mcp\" },\n  },\n}\n";
    s.write(&path, before);
    s.ok(&["cursor"]);
    let after = s.read(&path);
    assert!(
        after.contains("// my servers") && after.contains("gh-mcp"),
        "{after}"
    );
    assert!(after.contains(&s.key), "the key is where Cursor reads it");
    assert_eq!(mode(&path), 0o600);
    let kept = backups(&path);
    assert_eq!(kept.len(), 1);
    assert_eq!(s.read(&kept[0]), before);
    let rules = s.read(&s.project().join(".cursor/rules/vibn-workspace.mdc"));
    assert!(rules.starts_with("---\n"), "{rules}");
    assert!(rules.contains("alwaysApply: true"));
    assert!(rules.contains("treat `VIBN_API_KEY` like a password"));
    assert!(rules.contains("`acme`") && rules.contains("vibn-acme"));
    assert!(
        rules.contains("read_file"),
        "the tools come from the registry"
    );
    let env_path = s.project().join(".env.local");
    assert!(
        s.read(&env_path)
            .contains(&format!("VIBN_API_KEY={}", s.key))
    );
    assert_eq!(mode(&env_path), 0o600);
}

/// The written entries start their servers: the command, arguments and environment of
/// every entry `.cursor/mcp.json` gets by default (control plane and workspace) answer
/// `tools/list`.
#[tokio::test]
async fn the_written_entries_start_servers_that_list_their_tools() {
    let s = Setup::new();
    s.ok(&["cursor"]);
    let config = json(&s.read(&s.project().join(".cursor/mcp.json")));
    let servers = config["mcpServers"].as_object().unwrap();
    let mut started = Vec::new();
    for (name, entry) in servers {
        let command = entry["command"].as_str().unwrap().to_string();
        let args: Vec<String> = entry["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect();
        let env: Vec<(String, String)> = entry["env"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        assert!(env.iter().any(|(k, _)| k == "VIBN_KEYSTORE"), "{name}");
        let cmd = tokio::process::Command::new(command).configure(|c| {
            c.env_clear().env("PATH", "/usr/bin:/bin").args(&args);
            for (k, v) in &env {
                c.env(k, v);
            }
        });
        let client = ().serve(TokioChildProcess::new(cmd).unwrap()).await.unwrap();
        let tools = client.list_all_tools().await.unwrap();
        let server = name.trim_start_matches("vibn-");
        let expected = (vibn::mcp::registry::find(server).unwrap().tools)().len();
        assert_eq!(tools.len(), expected, "{name}");
        client.cancel().await.unwrap();
        started.push(name.clone());
    }
    started.sort();
    assert_eq!(started, ["vibn-control-plane", "vibn-workspace"]);
}

/// Claude Desktop: its `claude_desktop_config.json` keeps the user's settings.
#[test]
fn claude_desktop_keeps_other_settings() {
    let s = Setup::new();
    let path = s.home().join(".config/Claude/claude_desktop_config.json");
    s.write(
        &path,
        r#"{"globalShortcut": "Ctrl+Space", "mcpServers": {"fs": {"command": "npx", "args": ["x"]}}}"#,
    );
    let out = s.ok(&["claude-desktop"]);
    let v = json(&s.read(&path));
    assert_eq!(v["globalShortcut"], "Ctrl+Space");
    assert_eq!(v["mcpServers"]["fs"]["command"], "npx");
    assert_eq!(
        v["mcpServers"]["vibn-workspace"]["env"]["VIBN_API_KEY"],
        s.key.as_str()
    );
    assert_eq!(v["mcpServers"]["vibn-workspace"]["args"][1], "workspace");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("vibn setup prompt"),
        "Claude Desktop reads no rules file: the prompt command is named"
    );
}

/// Claude Code: the entry goes under this project in `~/.claude.json` (what `claude
/// mcp add` writes), other projects and settings kept; `CLAUDE.md` keeps the user's
/// text and gets one vibn block, replaced (not repeated) on a second run.
#[test]
fn claude_code_writes_the_local_scope_and_claude_md() {
    let s = Setup::new();
    let path = s.home().join(".claude.json");
    s.write(
        &path,
        r#"{"numStartups": 12, "projects": {"/other": {"mcpServers": {"x": {"command": "y"}}}}}"#,
    );
    let md = s.project().join("CLAUDE.md");
    s.write(&md, "# My project\n\nUse pnpm.\n");
    s.ok(&["claude-code"]);
    s.ok(&["claude-code"]);
    let v = json(&s.read(&path));
    assert_eq!(v["numStartups"], 12);
    assert_eq!(v["projects"]["/other"]["mcpServers"]["x"]["command"], "y");
    let project = s.project().to_string_lossy().to_string();
    let entry = &v["projects"][&project]["mcpServers"]["vibn-workspace"];
    assert_eq!(entry["type"], "stdio");
    assert_eq!(entry["env"]["VIBN_API_KEY"], s.key.as_str());
    let text = s.read(&md);
    assert!(text.starts_with("# My project\n\nUse pnpm.\n"), "{text}");
    assert_eq!(text.matches("<!-- vibn:begin").count(), 1, "{text}");
    assert_eq!(backups(&path).len(), 1, "the second run changed nothing");
}

/// Claude Code's shared `.mcp.json` (`--scope project`) never holds the key: it names
/// it as `${VIBN_API_KEY}` for Claude Code to expand.
#[test]
fn claude_code_project_scope_keeps_secrets_out_of_the_shared_file() {
    let s = Setup::new();
    s.ok(&["claude-code", "--scope", "project"]);
    let text = s.read(&s.project().join(".mcp.json"));
    assert!(!text.contains(&s.key));
    let v = json(&text);
    assert_eq!(
        v["mcpServers"]["vibn-workspace"]["env"]["VIBN_API_KEY"],
        "${VIBN_API_KEY}"
    );
}

/// Goose: `extensions` gains the entry; the provider and the other extensions stay.
#[test]
fn goose_keeps_its_settings_and_extensions() {
    let s = Setup::new();
    let path = s.home().join(".config/goose/config.yaml");
    s.write(
        &path,
        "GOOSE_PROVIDER: anthropic\nextensions:\n  developer:\n    enabled: true\n    type: builtin\n    name: developer\n",
    );
    s.ok(&["goose"]);
    let text = s.read(&path);
    let doc = &yaml_rust2::YamlLoader::load_from_str(&text).unwrap()[0];
    assert_eq!(doc["GOOSE_PROVIDER"].as_str(), Some("anthropic"));
    assert_eq!(
        doc["extensions"]["developer"]["type"].as_str(),
        Some("builtin")
    );
    let e = &doc["extensions"]["vibn-workspace"];
    assert_eq!(e["type"].as_str(), Some("stdio"));
    assert_eq!(e["cmd"].as_str(), Some(BIN));
    assert_eq!(e["envs"]["VIBN_API_KEY"].as_str(), Some(s.key.as_str()));
    assert_eq!(mode(&path), 0o600);
    assert!(
        s.read(&s.project().join(".goosehints"))
            .contains("vibn:begin")
    );
}

/// VS Code: `.vscode/mcp.json` (`servers`, comments kept) gets the entry with an
/// `envFile`, and the key goes to `.env.local`, not into the shared file.
#[test]
fn vscode_uses_servers_and_an_env_file() {
    let s = Setup::new();
    let path = s.project().join(".vscode/mcp.json");
    s.write(
        &path,
        "{\n  // inputs for other servers\n  \"inputs\": [],\n  \"servers\": {}\n}\n",
    );
    s.ok(&["vscode"]);
    let text = s.read(&path);
    assert!(text.contains("// inputs for other servers"), "{text}");
    assert!(!text.contains(&s.key), "{text}");
    assert!(
        text.contains("\"envFile\": \"${workspaceFolder}/.env.local\""),
        "{text}"
    );
    assert!(s.read(&s.project().join(".env.local")).contains(&s.key));
    assert!(
        s.read(&s.project().join("AGENTS.md"))
            .contains("vibn:begin")
    );
}

/// Codex: `~/.codex/config.toml` keeps its comments and other servers and gains
/// `[mcp_servers.vibn-workspace]`.
#[test]
fn codex_keeps_comments_and_other_servers() {
    let s = Setup::new();
    let path = s.home().join(".codex/config.toml");
    s.write(
        &path,
        "# my codex\nmodel = \"o3\"\n\n[mcp_servers.docs]\ncommand = \"docs-mcp\" # keep me\n",
    );
    s.ok(&["codex"]);
    let text = s.read(&path);
    assert!(
        text.contains("# my codex") && text.contains("# keep me"),
        "{text}"
    );
    let doc: toml_edit::DocumentMut = text.parse().unwrap();
    assert_eq!(
        doc["mcp_servers"]["docs"]["command"].as_str(),
        Some("docs-mcp")
    );
    let e = &doc["mcp_servers"]["vibn-workspace"];
    assert_eq!(e["command"].as_str(), Some(BIN));
    assert_eq!(e["env"]["VIBN_API_KEY"].as_str(), Some(s.key.as_str()));
    assert!(
        s.read(&s.project().join("AGENTS.md"))
            .contains("vibn:begin")
    );
}

/// A malformed file of any client is refused, naming it; it is left as it was, no
/// backup is made and no other file (rules, `.env.local`) is written.
#[test]
fn malformed_configs_are_refused_and_nothing_is_written() {
    let cases: [(&str, &str, &str); 6] = [
        (
            "cursor",
            "project/.cursor/mcp.json",
            "{\"mcpServers\": {\"a\": 1 \"b\": 2}}",
        ),
        (
            "claude-desktop",
            ".config/Claude/claude_desktop_config.json",
            "{\"mcpServers\": [",
        ),
        ("claude-code", ".claude.json", "{\"projects\": []}"),
        ("goose", ".config/goose/config.yaml", "extensions: [1, 2\n"),
        ("vscode", "project/.vscode/mcp.json", "[]"),
        ("codex", ".codex/config.toml", "[mcp_servers\ncommand = 1\n"),
    ];
    for (client, rel, text) in cases {
        let s = Setup::new();
        let path = s.home().join(rel);
        s.write(&path, text);
        let out = s.run(&[client]);
        assert_eq!(out.status.code(), Some(1), "{client}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("nothing was written"), "{client}: {stderr}");
        assert_eq!(s.read(&path), text, "{client}");
        assert!(backups(&path).is_empty(), "{client}");
        for other in [
            ".env.local",
            "AGENTS.md",
            "CLAUDE.md",
            ".goosehints",
            ".cursor/rules",
        ] {
            assert!(!s.project().join(other).exists(), "{client} wrote {other}");
        }
    }
}

/// A symlink inside the project (a cloned repository could plant one pointing at any
/// of the user's files) is refused, and the file it points at is untouched.
#[test]
fn a_symlink_inside_the_project_is_refused() {
    let s = Setup::new();
    let victim = s.home().join("victim.json");
    s.write(&victim, "{}");
    std::fs::create_dir_all(s.project().join(".cursor")).unwrap();
    std::os::unix::fs::symlink(&victim, s.project().join(".cursor/mcp.json")).unwrap();
    let out = s.run(&["cursor"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("symlink"));
    assert_eq!(s.read(&victim), "{}");
    let s = Setup::new();
    std::os::unix::fs::symlink(s.home(), s.project().join(".vscode")).unwrap();
    assert_eq!(
        s.run(&["vscode"]).status.code(),
        Some(1),
        "a symlinked folder too"
    );
    assert!(!s.home().join("mcp.json").exists());
}

/// A user's own config file may be a symlink (dotfile managers): the file it points to
/// is edited and the link stays.
#[test]
fn a_symlinked_user_config_is_edited_through() {
    let s = Setup::new();
    let real = s.home().join("dotfiles/claude.json");
    s.write(&real, "{\"theme\": \"dark\"}");
    std::os::unix::fs::symlink(&real, s.home().join(".claude.json")).unwrap();
    s.ok(&["claude-code", "--scope", "user"]);
    let link = std::fs::symlink_metadata(s.home().join(".claude.json")).unwrap();
    assert!(link.file_type().is_symlink());
    let v = json(&s.read(&real));
    assert_eq!(v["theme"], "dark");
    assert!(v["mcpServers"]["vibn-workspace"].is_object());
}

/// A file larger than any client writes, or one that is not a regular file, is
/// refused before it is read.
#[test]
fn huge_and_special_files_are_refused() {
    let s = Setup::new();
    let path = s.home().join(".codex/config.toml");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::File::create(&path)
        .unwrap()
        .set_len(65 * 1024 * 1024)
        .unwrap();
    let out = s.run(&["codex"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("larger than"));
    let s = Setup::new();
    std::fs::create_dir_all(s.home().join(".codex/config.toml")).unwrap();
    assert_eq!(s.run(&["codex"]).status.code(), Some(1));
}

/// `--print` shows every file with secrets masked and writes nothing; `--show-secret`
/// shows the key.
#[test]
fn print_masks_secrets_and_writes_nothing() {
    let s = Setup::new();
    let out = s.ok(&["cursor", "--print"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(".cursor/mcp.json") && stdout.contains("vibn-workspace"));
    assert!(!stdout.contains(&s.key), "{stdout}");
    assert!(stdout.contains("--show-secret"));
    assert!(!s.project().join(".cursor").exists());
    let out = s.ok(&["cursor", "--print", "--show-secret"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(&s.key));
    assert!(!s.project().join(".env.local").exists());
}

/// `--mint-key NAME` mints a fresh key for this client (one key per agent or device)
/// and configures it instead of VIBN_API_KEY.
#[test]
fn mint_key_configures_a_fresh_key() {
    let s = Setup::new();
    let out = s
        .cmd(&["codex", "--workspace", "acme", "--mint-key", "codex-laptop"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: toml_edit::DocumentMut = s
        .read(&s.home().join(".codex/config.toml"))
        .parse()
        .unwrap();
    let key = doc["mcp_servers"]["vibn-workspace"]["env"]["VIBN_API_KEY"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(key.starts_with("vibn_sk_") && key != s.key);
    let listed = s.store.ok(&["keys", "list", "--workspace", "acme"]);
    assert!(listed.contains("codex-laptop"), "{listed}");
}

/// Unknown keys, unknown servers and servers not built yet are refused clearly.
#[test]
fn bad_keys_and_servers_are_refused() {
    let s = Setup::new();
    let out = s
        .cmd(&["cursor"])
        .env("VIBN_API_KEY", "vibn_sk_nope")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a valid key"));
    let out = s.run(&["cursor", "--servers", "workspace,nope"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown server \"nope\""));
    let unbuilt: Vec<&str> = vibn::mcp::registry::SERVERS
        .iter()
        .filter(|e| !e.is_built())
        .map(|e| e.name)
        .collect();
    for name in unbuilt {
        let out = s.run(&["cursor", "--servers", name]);
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("not built"));
    }
    assert!(!s.project().join(".cursor").exists());
    let out = s.run(&["goose", "--scope", "project"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("goose has no project configuration"));
}

/// `vibn setup prompt` prints the house rules for the workspace.
#[test]
fn prompt_prints_the_house_rules() {
    let s = Setup::new();
    let out = s.ok(&["prompt", "--workspace", "acme"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("vibn workspace `acme`") && text.contains("vibn-acme"));
    assert!(text.contains("treat `VIBN_API_KEY` like a password"));
    let out = s.ok(&["prompt"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("vibn workspace `acme`"),
        "the key names the workspace: {text}"
    );
}

/// `vibn keys mint` tells on stderr the `vibn setup` line to run next.
#[test]
fn keys_mint_names_the_setup_command() {
    let s = Setup::new();
    let out = s
        .store
        .run(&["keys", "mint", "--workspace", "acme", "--name", "another"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("vibn setup ") && stderr.contains("|cursor|"),
        "{stderr}"
    );
    assert!(stderr.contains("--mint-key"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stderr.contains(stdout.trim()), "the key is not repeated");
}

/// Operator credentials set in the shell reach the user's own files only: Codex's
/// `~/.codex/config.toml` gets `VIBN_SECRETS_KEY`, Cursor's project file does not.
#[test]
fn operator_credentials_never_land_in_the_project() {
    let s = Setup::new();
    let secret = "c2VjcmV0cy1rZXktZm9yLXRlc3RzLTMyLWJ5dGVzISE=";
    let run = |client: &str| {
        let out = s
            .cmd(&[client])
            .env("VIBN_API_KEY", &s.key)
            .env("VIBN_SECRETS_KEY", secret)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    let out = run("cursor");
    assert!(String::from_utf8_lossy(&out.stderr).contains("VIBN_SECRETS_KEY not written"));
    for rel in [".cursor/mcp.json", ".env.local"] {
        assert!(!s.read(&s.project().join(rel)).contains(secret), "{rel}");
    }
    run("codex");
    assert!(
        s.read(&s.home().join(".codex/config.toml"))
            .contains(secret)
    );
}
