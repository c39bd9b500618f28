//! Every application the control plane creates clones its repository over HTTPS with the
//! bot's token in the URL, so rotating the token must re-point them at the new one
//! before the old one is deleted — or their next deploy fails to clone. One
//! implementation, used by `vibn workspace rotate-bot-token` and by the control plane.

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::{Map, json};

use crate::clients::coolify::CoolifyClient;
use crate::clients::gitea::GiteaClient;
use crate::error::ApiError;
use crate::policy::git_url;
use crate::policy::tenant::{ProjectScope, in_project};

/// One application re-pointed at the new token (or not, and why).
#[derive(Debug, Clone, Serialize)]
pub struct RewiredApp {
    /// Uuid.
    pub uuid: String,
    /// Name.
    pub name: String,
    /// Why it failed; `None` when it was re-pointed.
    pub error: Option<String>,
}

/// Whose applications to re-point.
#[derive(Debug, Clone, Copy)]
pub struct RewireTarget<'a> {
    /// The workspace's Gitea org: only apps building one of its repositories are touched.
    pub org: &'a str,
    /// The bot whose token goes into the URLs.
    pub bot: &'a str,
    /// The workspace's Coolify project.
    pub project_uuid: &'a str,
}

/// Re-point every application of the target's project that builds a repository of its
/// org at that repository's canonical clone URL with `token`, read as the bot (`bot`
/// already carries `token`). Apps that build something else are left alone; one app's
/// failure does not stop the others, and never shows the token.
pub async fn rewire_apps(
    coolify: &CoolifyClient,
    bot: &GiteaClient,
    target: RewireTarget<'_>,
    token: &SecretString,
) -> Result<Vec<RewiredApp>, ApiError> {
    let project = coolify.get_project(target.project_uuid).await?;
    let scope = ProjectScope {
        uuid: project.uuid.clone(),
        name: project.name.clone(),
        environment_ids: project.environments.iter().filter_map(|e| e.id).collect(),
    };
    let mut apps: Vec<_> = coolify
        .list_applications()
        .await?
        .into_iter()
        .filter(|a| in_project(a.environment_id, a.project_uuid.as_deref(), &scope))
        .collect();
    apps.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = Vec::new();
    for app in apps {
        let Some(repo) = app
            .git_repository
            .as_deref()
            .and_then(|u| git_url::repo_in_org(u, target.org))
        else {
            continue;
        };
        let outcome = rewire_one(coolify, bot, target, &app.uuid, &repo, token).await;
        out.push(RewiredApp {
            uuid: app.uuid.clone(),
            name: app.name.clone(),
            error: outcome
                .err()
                .map(|e| e.message().replace(token.expose_secret(), "***")),
        });
    }
    Ok(out)
}

async fn rewire_one(
    coolify: &CoolifyClient,
    bot: &GiteaClient,
    target: RewireTarget<'_>,
    app_uuid: &str,
    repo: &str,
    token: &SecretString,
) -> Result<(), ApiError> {
    let repo = bot.get_repo(target.org, repo).await?;
    let url = git_url::authenticated(
        &repo.clone_url,
        target.org,
        &repo.name,
        target.bot,
        token.expose_secret(),
    )
    .map_err(|why| {
        ApiError::upstream(format!(
            "Gitea reports a clone URL for {}/{} that vibn will not use ({why:?})",
            target.org, repo.name
        ))
    })?;
    let mut fields = Map::new();
    fields.insert("git_repository".into(), json!(url));
    coolify.update_application(app_uuid, fields).await?;
    Ok(())
}
