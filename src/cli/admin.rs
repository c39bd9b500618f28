//! Store commands for the operator: `workspace`, `keys`, `org-tokens`, `secrets`,
//! `audit`. Plaintext tokens are printed once, alone on stdout, so they can be captured;
//! everything else about them is a hint.

use std::io::Read;
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::output;
use crate::args::{
    AuditArgs, KeysAction, OrgTokensAction, SecretsAction, StoreArgs, WorkspaceAction,
};
use crate::config;
use crate::keystore::{KeyRecord, MintedKey, Revoked, SecretKey, Store, Workspace, now_ms};
use crate::policy::naming;

fn open(store: &StoreArgs) -> anyhow::Result<Store> {
    let path = config::keystore_path(store.keystore.as_deref())?;
    Ok(Store::open(&path)?)
}

/// Who the CLI acts as: `cli`, or `org-token:<hint>` when VIBN_ADMIN_TOKEN is set.
fn provenance(ks: &Store) -> anyhow::Result<String> {
    let Some(token) = config::admin_token() else {
        return Ok("cli".to_string());
    };
    match ks.validate_admin_token(token.expose_secret())? {
        Some(valid) => Ok(format!("org-token:{}", valid.hint)),
        None => bail!(
            "VIBN_ADMIN_TOKEN is not a valid admin token (unknown, revoked, expired or malformed)"
        ),
    }
}

fn expiry(expires_in: Option<&str>) -> anyhow::Result<Option<i64>> {
    let Some(text) = expires_in else {
        return Ok(None);
    };
    let duration = humantime::parse_duration(text.trim())
        .map_err(|e| anyhow!("--expires-in {text:?} is not a duration like 30d or 12h: {e}"))?;
    if duration.is_zero() {
        bail!("--expires-in must be longer than zero");
    }
    Ok(Some(now_ms().saturating_add(
        duration.as_millis().min(i64::MAX as u128) as i64,
    )))
}

fn read_stdin_secret(what: &str) -> anyhow::Result<SecretString> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read {what} from stdin"))?;
    let text = text.trim().to_string();
    if text.is_empty() {
        bail!("no {what} on stdin");
    }
    Ok(SecretString::from(text))
}

/// `vibn workspace …`
pub fn workspace(action: WorkspaceAction) -> anyhow::Result<ExitCode> {
    match action {
        WorkspaceAction::Create {
            owner_email,
            name,
            another,
            provision,
            upstream,
            store,
        } => {
            return super::provision::create(
                &owner_email,
                name.as_deref(),
                another,
                provision,
                &upstream,
                &store,
            );
        }
        WorkspaceAction::Provision {
            slug,
            upstream,
            store,
        } => return super::provision::provision(&slug, &upstream, &store),
        WorkspaceAction::Credentials {
            slug,
            show_secret,
            gitea,
            store,
        } => return super::provision::credentials(&slug, show_secret, &gitea, &store),
        WorkspaceAction::RotateBotToken {
            slug,
            deploy_key,
            upstream,
            store,
        } => return super::provision::rotate(&slug, deploy_key, &upstream, &store),
        WorkspaceAction::List { store } => {
            let all = open(&store)?.list_workspaces()?;
            if store.json {
                output::json(&all);
            } else {
                let rows: Vec<Vec<String>> = all
                    .iter()
                    .map(|w| {
                        vec![
                            w.slug.clone(),
                            w.name.clone(),
                            w.owner_email.clone(),
                            w.provision_status.clone(),
                            output::time(Some(w.created_at)),
                        ]
                    })
                    .collect();
                output::table(&["SLUG", "NAME", "OWNER", "STATUS", "CREATED"], &rows);
            }
        }
        WorkspaceAction::Show { slug, store } => {
            let ws = open(&store)?.require_workspace(&slug)?;
            if store.json {
                output::json(&ws);
            } else {
                show_workspace(&ws);
            }
        }
        WorkspaceAction::LinkCoolify {
            slug,
            project,
            environment,
            store,
        } => {
            let ws = open(&store)?.set_coolify_project(&slug, &project, &environment)?;
            if store.json {
                output::json(&ws);
            } else {
                output::line(&format!(
                    "linked {slug} to Coolify project {project} ({environment})"
                ));
            }
        }
        WorkspaceAction::SetBotToken {
            slug,
            username,
            store,
        } => {
            let ring = config::keyring()?
                .ok_or_else(|| anyhow!("{}", crate::keystore::SecretError::MissingKey))?;
            let ks = open(&store)?;
            let username = username.unwrap_or_else(|| naming::gitea_bot(&slug));
            let token = read_stdin_secret("the bot token")?;
            ks.set_bot_token(&slug, &username, &token, &ring)?;
            output::line(&format!(
                "stored the Gitea bot token of {slug} (user {username}), sealed"
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn show_workspace(ws: &Workspace) {
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_string());
    for (k, v) in [
        ("slug", ws.slug.clone()),
        ("name", ws.name.clone()),
        ("owner", ws.owner_email.clone()),
        ("gitea org", ws.gitea_org.clone()),
        ("gitea bot", opt(&ws.gitea_bot_username)),
        (
            "bot token",
            if ws.has_bot_token {
                "stored (sealed)".into()
            } else {
                "-".into()
            },
        ),
        ("coolify project", opt(&ws.coolify_project_uuid)),
        ("coolify environment", ws.coolify_environment_name.clone()),
        ("coolify server", opt(&ws.coolify_server_uuid)),
        ("provision status", ws.provision_status.clone()),
        ("provision step", opt(&ws.provision_step)),
        ("provision error", opt(&ws.provision_error)),
        ("created", output::time(Some(ws.created_at))),
    ] {
        output::line(&format!("{k:<20} {v}"));
    }
}

fn key_rows(keys: &[KeyRecord]) -> Vec<Vec<String>> {
    let now = now_ms();
    keys.iter()
        .map(|k| {
            let state = if k.revoked_at.is_some() {
                "revoked"
            } else if k.expires_at.is_some_and(|at| at <= now) {
                "expired"
            } else {
                "active"
            };
            vec![
                k.id.clone(),
                k.name.clone(),
                k.hint.clone(),
                state.to_string(),
                output::time(Some(k.created_at)),
                output::time(k.last_used_at),
                output::time(k.expires_at),
                k.created_by.clone(),
            ]
        })
        .collect()
}

const KEY_HEADER: [&str; 8] = [
    "ID",
    "NAME",
    "HINT",
    "STATE",
    "CREATED",
    "LAST USED",
    "EXPIRES",
    "CREATED BY",
];

fn print_minted(minted: &MintedKey, scope: Option<&str>, json: bool) {
    if json {
        output::json(&json!({
            "id": minted.record.id,
            "name": minted.record.name,
            "hint": minted.record.hint,
            "token": minted.token.expose_secret(),
            "workspace": scope,
            "created_by": minted.record.created_by,
            "created_at": minted.record.created_at,
            "expires_at": minted.record.expires_at,
        }));
    } else {
        output::line(minted.token.expose_secret());
    }
    output::note(&format!(
        "minted {} ({}){}; it is shown only now, store it safely",
        minted.record.id,
        minted.record.hint,
        scope
            .map(|s| format!(" for workspace {s}"))
            .unwrap_or_default()
    ));
}

fn print_revoked(id: &str, outcome: Revoked, json: bool) {
    let already = outcome == Revoked::Already;
    if json {
        output::json(&json!({"id": id, "revoked": true, "already_revoked": already}));
    } else if already {
        output::line(&format!("{id} was already revoked"));
    } else {
        output::line(&format!("revoked {id}"));
    }
}

/// `vibn keys …`
pub fn keys(action: KeysAction) -> anyhow::Result<ExitCode> {
    match action {
        KeysAction::Mint {
            workspace,
            name,
            expires_in,
            store,
        } => {
            let expires_at = expiry(expires_in.as_deref())?;
            let ks = open(&store)?;
            let by = provenance(&ks)?;
            let minted = ks.mint_workspace_key(&workspace, &name, expires_at, &by)?;
            print_minted(&minted, Some(&workspace), store.json);
            output::note(&super::setup::next_step_after_mint(&workspace));
        }
        KeysAction::List { workspace, store } => {
            let keys = open(&store)?.list_workspace_keys(&workspace)?;
            if store.json {
                output::json(&keys);
            } else {
                output::table(&KEY_HEADER, &key_rows(&keys));
            }
        }
        KeysAction::Revoke {
            workspace,
            key_id,
            store,
        } => {
            let outcome = open(&store)?.revoke_workspace_key(&workspace, &key_id)?;
            print_revoked(&key_id, outcome, store.json);
        }
        KeysAction::Check { store } => {
            let token = read_stdin_secret("the key")?;
            let ks = open(&store)?;
            return Ok(
                match ks.validate_workspace_key(token.expose_secret(), None)? {
                    Some(valid) => {
                        if store.json {
                            output::json(
                                &json!({"valid": true, "workspace": valid.workspace.slug, "key_id": valid.key_id, "hint": valid.hint}),
                            );
                        } else {
                            output::line(&format!(
                                "valid: workspace {} (key {}, {})",
                                valid.workspace.slug, valid.key_id, valid.hint
                            ));
                        }
                        ExitCode::SUCCESS
                    }
                    None => {
                        if store.json {
                            output::json(&json!({"valid": false}));
                        } else {
                            output::line("not valid (unknown, revoked, expired or malformed)");
                        }
                        ExitCode::from(1)
                    }
                },
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `vibn org-tokens …`
pub fn org_tokens(action: OrgTokensAction) -> anyhow::Result<ExitCode> {
    match action {
        OrgTokensAction::Mint {
            name,
            expires_in,
            store,
        } => {
            let expires_at = expiry(expires_in.as_deref())?;
            let ks = open(&store)?;
            let by = provenance(&ks)?;
            let minted = ks.mint_admin_token(&name, expires_at, &by)?;
            print_minted(&minted, None, store.json);
        }
        OrgTokensAction::List { store } => {
            let tokens = open(&store)?.list_admin_tokens()?;
            if store.json {
                output::json(&tokens);
            } else {
                output::table(&KEY_HEADER, &key_rows(&tokens));
            }
        }
        OrgTokensAction::Revoke { token_id, store } => {
            let outcome = open(&store)?.revoke_admin_token(&token_id)?;
            print_revoked(&token_id, outcome, store.json);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `vibn secrets …`
pub fn secrets(action: SecretsAction) -> anyhow::Result<ExitCode> {
    match action {
        SecretsAction::GenKey => {
            output::line(&SecretKey::generate_base64());
            output::note("set it as VIBN_SECRETS_KEY; losing it makes sealed secrets unreadable");
        }
        SecretsAction::Rewrap { store } => {
            let ring = config::keyring()?
                .ok_or_else(|| anyhow!("{}", crate::keystore::SecretError::MissingKey))?;
            let report = open(&store)?.rewrap(&ring)?;
            let retired: Vec<String> = report
                .retired_key_ids
                .iter()
                .map(|id| format!("{id:08x}"))
                .collect();
            if store.json {
                output::json(&json!({
                    "rewrapped": report.rewrapped,
                    "already_current": report.already_current,
                    "retired_key_ids": retired,
                    "current_key_id": format!("{:08x}", ring.current().id()),
                }));
            } else {
                output::line(&format!(
                    "rewrapped {} secret(s), {} already under the current key {:08x}; retired key ids: {}",
                    report.rewrapped,
                    report.already_current,
                    ring.current().id(),
                    if retired.is_empty() {
                        "none".to_string()
                    } else {
                        retired.join(", ")
                    }
                ));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `vibn audit`
pub fn audit(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let events = open(&args.store)?.list_audit(args.workspace.as_deref(), args.limit)?;
    if args.store.json {
        output::json(&events);
    } else {
        let rows: Vec<Vec<String>> = events
            .iter()
            .map(|e| {
                vec![
                    output::time(Some(e.at)),
                    e.workspace.clone().unwrap_or_else(|| "-".into()),
                    e.key_hint.clone().unwrap_or_else(|| "-".into()),
                    format!("{}/{}", e.server, e.tool),
                    e.target.clone(),
                    e.outcome.clone(),
                ]
            })
            .collect();
        output::table(
            &["TIME", "WORKSPACE", "KEY", "TOOL", "TARGET", "OUTCOME"],
            &rows,
        );
    }
    Ok(ExitCode::SUCCESS)
}
