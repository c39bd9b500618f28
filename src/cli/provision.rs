//! `vibn workspace create|provision|credentials|rotate-bot-token`: CLI glue over
//! `api::provision` (the operator's credentials come from `config`); prints through
//! `output` only. A provisioning run that stops at a step still prints what it did and
//! exits 1; the step and error are on the workspace row.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::anyhow;
use secrecy::ExposeSecret;

use super::output;
use crate::api::provision::{self, ProvisionReport, Provisioner, RotationReport};
use crate::args::{GiteaFlags, StoreArgs, UpstreamFlags};
use crate::clients::coolify::CoolifyClient;
use crate::clients::gitea::GiteaClient;
use crate::config::{self, ProvisionConfig};
use crate::keystore::{Keystore, ProvisionStatus, Store};

fn open(store: &StoreArgs) -> anyhow::Result<Arc<Store>> {
    let path = config::keystore_path(store.keystore.as_deref())?;
    Ok(Arc::new(Store::open(&path)?))
}

/// The async keystore the provisioner records into (the same file as `open`).
fn facade(store: &StoreArgs) -> anyhow::Result<Keystore> {
    let path = config::keystore_path(store.keystore.as_deref())?;
    Ok(Keystore::from_store(Store::open(&path)?))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow!("cannot start the async runtime: {e}"))
}

fn provisioner(upstream: &UpstreamFlags, store: Keystore) -> anyhow::Result<Provisioner> {
    let cfg = ProvisionConfig::resolve(upstream)?;
    let gitea = GiteaClient::new(
        &cfg.gitea.base_url,
        cfg.gitea.token.clone(),
        cfg.http.clone(),
    );
    let coolify = CoolifyClient::new(&cfg.coolify.base_url, cfg.coolify.token.clone(), cfg.http);
    Ok(Provisioner::new(
        gitea,
        &cfg.gitea.username,
        coolify,
        cfg.server_uuid,
        store,
        Arc::new(cfg.keyring),
    ))
}

/// `vibn workspace create`: the owner's workspace (a further one with `--another`),
/// provisioned at once with `--provision`.
pub fn create(
    owner_email: &str,
    name: Option<&str>,
    another: bool,
    provision: bool,
    upstream: &UpstreamFlags,
    store: &StoreArgs,
) -> anyhow::Result<ExitCode> {
    // Configuration first: a missing setting must not leave a workspace half-asked-for.
    let ks = open(store)?;
    let provisioner = provision
        .then(|| provisioner(upstream, facade(store)?))
        .transpose()?;
    let ensured = ks.ensure_workspace(owner_email, name, another)?;
    let ws = &ensured.workspace;
    let Some(provisioner) = provisioner else {
        if store.json {
            output::json(&ensured);
        } else if ensured.created {
            output::line(&format!(
                "created workspace {} (Gitea org {}, provision status {})",
                ws.slug, ws.gitea_org, ws.provision_status
            ));
        } else {
            output::line(&format!(
                "{} already has workspace {} (provision status {}); pass --another for a \
                 further one",
                ws.owner_email, ws.slug, ws.provision_status
            ));
        }
        return Ok(ExitCode::SUCCESS);
    };
    if !store.json {
        output::line(&format!(
            "{} workspace {}",
            if ensured.created {
                "created"
            } else {
                "existing"
            },
            ws.slug
        ));
    }
    let report = runtime()?.block_on(provisioner.provision(&ws.slug))?;
    print_report(&report, store.json, Some(ensured.created));
    Ok(exit_of(&report))
}

/// `vibn workspace provision <slug>`.
pub fn provision(
    slug: &str,
    upstream: &UpstreamFlags,
    store: &StoreArgs,
) -> anyhow::Result<ExitCode> {
    let provisioner = provisioner(upstream, facade(store)?)?;
    let report = runtime()?.block_on(provisioner.provision(slug))?;
    print_report(&report, store.json, None);
    Ok(exit_of(&report))
}

fn exit_of(report: &ProvisionReport) -> ExitCode {
    if report.status == ProvisionStatus::Ready {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn print_report(report: &ProvisionReport, json: bool, created: Option<bool>) {
    if json {
        let mut value = serde_json::to_value(report).unwrap_or_default();
        if let (Some(created), Some(map)) = (created, value.as_object_mut()) {
            map.insert("created".into(), created.into());
        }
        output::json(&value);
        return;
    }
    output::line(&format!(
        "workspace {}: {}",
        report.workspace.slug,
        report.status.as_str()
    ));
    let rows: Vec<Vec<String>> = report
        .steps
        .iter()
        .map(|s| {
            vec![
                s.step.as_str().to_string(),
                serde_json::to_value(s.outcome)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                s.detail.clone(),
            ]
        })
        .collect();
    output::table(&["STEP", "OUTCOME", "DETAIL"], &rows);
    for note in &report.notes {
        output::note(&format!("note: {note}"));
    }
    if let (Some(step), Some(error)) = (report.failed_step, &report.error) {
        output::error(&format!(
            "provisioning stopped at {}: {error}; fix it and run `vibn workspace provision {}` \
             again (what is done stays done)",
            step.as_str(),
            report.workspace.slug
        ));
    }
}

/// `vibn workspace credentials <slug>`.
pub fn credentials(
    slug: &str,
    show_secret: bool,
    gitea: &GiteaFlags,
    store: &StoreArgs,
) -> anyhow::Result<ExitCode> {
    let url = config::gitea_url(gitea)?;
    let ring = if show_secret {
        Some(
            config::keyring()?
                .ok_or_else(|| anyhow!("{}", crate::keystore::SecretError::MissingKey))?,
        )
    } else {
        None
    };
    let ks = open(store)?;
    let creds = provision::credentials(&ks, slug, &url, show_secret, ring.as_ref())?;
    if store.json {
        output::json(&creds);
    } else {
        let token = match &creds.bot.token {
            Some(t) => t.expose_secret().to_string(),
            None => "(hidden; pass --show-secret)".to_string(),
        };
        for (k, v) in [
            ("bot username", creds.bot.username.as_str()),
            ("bot token", token.as_str()),
            ("api base", creds.gitea.api_base.as_str()),
            ("host", creds.gitea.host.as_str()),
            ("clone URL", creds.gitea.clone_url_template.as_str()),
            ("ssh remote", creds.gitea.ssh_remote_template.as_str()),
            ("web URL", creds.gitea.web_url_template.as_str()),
            ("workspace", creds.workspace.slug.as_str()),
            ("gitea org", creds.workspace.gitea_org.as_str()),
        ] {
            output::line(&format!("{k:<14} {v}"));
        }
    }
    if show_secret {
        output::note("the bot token is a secret: do not paste it into chats, commits or logs");
    }
    Ok(ExitCode::SUCCESS)
}

/// `vibn workspace rotate-bot-token <slug>`.
pub fn rotate(
    slug: &str,
    deploy_key: bool,
    upstream: &UpstreamFlags,
    store: &StoreArgs,
) -> anyhow::Result<ExitCode> {
    let provisioner = provisioner(upstream, facade(store)?)?;
    let report: RotationReport =
        runtime()?.block_on(provisioner.rotate_bot_token(slug, deploy_key))?;
    if store.json {
        output::json(&report);
    } else {
        output::line(&format!(
            "rotated the token of {} ({}): new token id {}, deleted {:?}",
            report.bot, report.slug, report.token_id, report.deleted_token_ids
        ));
        for app in &report.rewired {
            match &app.error {
                None => output::line(&format!("re-pointed app {} at the new token", app.name)),
                Some(e) => output::line(&format!("could not re-point app {}: {e}", app.name)),
            }
        }
        if let Some(key) = &report.deploy_key {
            output::line(&format!("deploy key: {}", key.detail));
        }
        for note in &report.notes {
            output::note(&format!("note: {note}"));
        }
    }
    Ok(ExitCode::SUCCESS)
}
