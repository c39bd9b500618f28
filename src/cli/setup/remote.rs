//! `vibn setup <client> --remote URL`: the client's remote form of the control plane —
//! `vibn serve`'s `/mcp` URL with an `Authorization: Bearer` header (seed 003 §3) —
//! instead of a local command. The agent's machine then holds only its workspace key:
//! no keystore, no operator token, no upstream URL. The key is checked by the server
//! itself (`GET /api/workspaces` answers the key's own workspace), which also tells the
//! rules which workspace it is.

use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::{Client, Reveal, Secrets, WorkspaceFacts, shown};
use crate::env_vars as env;

/// The base URL of a `vibn serve` given as `--remote` (with or without `/mcp`).
pub fn base_url(remote: &str) -> anyhow::Result<String> {
    let trimmed = remote.trim().trim_end_matches('/');
    if !(trimmed.starts_with("https://") || trimmed.starts_with("http://")) {
        bail!("--remote {remote:?} must be the http(s) URL of a vibn serve");
    }
    if trimmed.contains(['?', '#', ' ']) {
        bail!("--remote {remote:?} must be a plain URL (no query or fragment)");
    }
    Ok(trimmed.strip_suffix("/mcp").unwrap_or(trimmed).to_string())
}

/// Ask the server which workspace `key` belongs to (a 401 means it is not valid there).
pub fn check_key(base: &str, key: &str) -> anyhow::Result<WorkspaceFacts> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let url = format!("{base}/api/workspaces");
    let answer: anyhow::Result<(u16, Value)> = runtime.block_on(async {
        let client = crate::clients::http::tls::client_builder()
            .map_err(anyhow::Error::msg)?
            .timeout(Duration::from_secs(15))
            .build()
            .context("cannot build an HTTP client")?;
        let response = client
            .get(&url)
            .bearer_auth(key)
            .send()
            .await
            .with_context(|| format!("cannot reach {url}"))?;
        let status = response.status().as_u16();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        Ok((status, body))
    });
    let (status, body) = answer?;
    match status {
        200 => {}
        401 => bail!(
            "{base} does not accept this VIBN_API_KEY (unknown, revoked, expired or malformed); \
             ask the operator for a key of your workspace"
        ),
        other => bail!(
            "{url} answered {other}: {}",
            body["error"].as_str().unwrap_or("")
        ),
    }
    let ws = &body["workspaces"][0];
    let slug = ws["slug"]
        .as_str()
        .context("the server did not name the key's workspace")?;
    Ok(WorkspaceFacts {
        slug: Some(slug.to_string()),
        org: ws["gitea_org"].as_str().map(str::to_string),
    })
}

/// The client's remote entry for the control plane at `mcp_url`, the key as a bearer
/// header (inline, or as a reference the client expands where the file is shared).
pub fn entry(
    client: Client,
    name: &str,
    mcp_url: &str,
    key: &str,
    secrets: Secrets,
    reveal: Reveal,
) -> anyhow::Result<Value> {
    let bearer = match secrets {
        Secrets::Inline => format!("Bearer {}", shown(env::VIBN_API_KEY, key, reveal)),
        Secrets::Reference => format!("Bearer ${{{}}}", env::VIBN_API_KEY),
        Secrets::EnvFile => bail!(
            "{}'s project file cannot hold a header secret out of the file; use --scope user \
             with --remote",
            client.name()
        ),
    };
    let headers = json!({ "Authorization": bearer });
    Ok(match client {
        Client::Cursor => json!({ "url": mcp_url, "headers": headers }),
        Client::ClaudeCode | Client::Vscode => {
            json!({ "type": "http", "url": mcp_url, "headers": headers })
        }
        Client::Codex => json!({ "url": mcp_url, "http_headers": headers }),
        Client::Goose => json!({
            "enabled": true,
            "type": "streamable_http",
            "name": name,
            "description": "the tenant-safe control plane of one workspace, served by vibn serve",
            "uri": mcp_url,
            "headers": headers,
            "envs": {},
            "env_keys": [],
            "timeout": 300,
            "bundled": null,
            "available_tools": [],
        }),
        Client::ClaudeDesktop => bail!(
            "Claude Desktop's config file has no remote servers: add {mcp_url} as a custom \
             connector in its settings instead"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_urls_are_normalized_to_the_server_base() {
        assert_eq!(
            base_url("https://v.example/mcp/").unwrap(),
            "https://v.example"
        );
        assert_eq!(
            base_url("http://127.0.0.1:8787").unwrap(),
            "http://127.0.0.1:8787"
        );
        for bad in ["ftp://x", "v.example", "https://v.example/?a=1"] {
            assert!(base_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn entries_carry_the_url_and_the_bearer_header_only() {
        let e = entry(
            Client::Cursor,
            "vibn-control-plane",
            "https://v/mcp",
            "vibn_sk_k",
            Secrets::Inline,
            Reveal::Value,
        )
        .unwrap();
        assert_eq!(
            e,
            json!({"url": "https://v/mcp", "headers": {"Authorization": "Bearer vibn_sk_k"}})
        );
        let e = entry(
            Client::ClaudeCode,
            "n",
            "https://v/mcp",
            "vibn_sk_k",
            Secrets::Reference,
            Reveal::Value,
        )
        .unwrap();
        assert_eq!(e["headers"]["Authorization"], "Bearer ${VIBN_API_KEY}");
        assert_eq!(e["type"], "http");
        assert!(
            entry(
                Client::ClaudeDesktop,
                "n",
                "u",
                "k",
                Secrets::Inline,
                Reveal::Value
            )
            .is_err()
        );
        assert!(
            entry(
                Client::Vscode,
                "n",
                "u",
                "k",
                Secrets::EnvFile,
                Reveal::Value
            )
            .is_err()
        );
    }
}
