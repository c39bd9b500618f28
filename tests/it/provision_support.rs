//! Fixtures for the provisioning tests: a Gitea and a Coolify stand-in, a keystore in a
//! temp dir (or, with `Env::each`, on the test PostgreSQL server too) with a secrets
//! key, and a `Provisioner` over them (through the contract proxy when it runs); plus
//! the checks every scenario ends with.

use std::path::PathBuf;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use vibn::api::provision::Provisioner;
use vibn::keystore::{Keyring, SecretKey, Store};

use crate::coolify_support::Coolify;
use crate::gitea_support::{Gitea, fast_http};

/// One workspace to provision and everything it is provisioned on.
pub struct Env {
    pub gitea: Gitea,
    pub coolify: Coolify,
    pub dir: tempfile::TempDir,
    /// The keystore: the SQLite file in `dir`, or a `postgres://` URL.
    pub location: PathBuf,
    pub store: Arc<Store>,
    pub key: String,
    pub slug: String,
}

pub const OWNER: &str = "mark@example.com";

impl Env {
    /// Fresh stand-ins and a keystore with workspace `mark` (owner mark@example.com).
    pub async fn new() -> Env {
        Env::on(None).await
    }

    /// The same on a SQLite keystore, then on a PostgreSQL one when a server is available.
    pub async fn each() -> Vec<Env> {
        let mut envs = vec![Env::new().await];
        if let Some(server) = vibn_sandbox::postgres::shared() {
            envs.push(Env::on(Some(server.fresh_database().into())).await);
        }
        envs
    }

    async fn on(postgres: Option<PathBuf>) -> Env {
        let gitea = Gitea::start().await;
        let coolify = Coolify::start().await;
        let dir = tempfile::tempdir().unwrap();
        let location = postgres.unwrap_or_else(|| dir.path().join("vibn/keystore.db"));
        let store = Arc::new(Store::open(&location).unwrap());
        let slug = store.create_workspace(OWNER, Some("Mark's")).unwrap().slug;
        Env {
            gitea,
            coolify,
            dir,
            location,
            store,
            key: SecretKey::generate_base64(),
            slug,
        }
    }

    pub fn ring(&self) -> Keyring {
        Keyring::new(
            SecretKey::parse("VIBN_SECRETS_KEY", &self.key).unwrap(),
            None,
        )
    }

    /// A provisioner with the operator's credentials (no COOLIFY_SERVER_UUID).
    pub fn provisioner(&self) -> Provisioner {
        self.provisioner_on(None)
    }

    pub fn provisioner_on(&self, server: Option<&str>) -> Provisioner {
        Provisioner::new(
            self.gitea.admin_client(),
            &self.gitea.sandbox.admin_login(),
            self.coolify.root_client(),
            server.map(str::to_string),
            vibn::keystore::Keystore::from_store(Store::open(&self.location).unwrap()),
            Arc::new(self.ring()),
        )
    }

    pub fn bot(&self) -> String {
        format!("vibn-bot-{}", self.slug)
    }

    pub fn org(&self) -> String {
        format!("vibn-{}", self.slug)
    }

    /// The bot token stored in the keystore.
    pub fn stored_token(&self) -> String {
        self.store
            .bot_token(&self.slug, &self.ring())
            .unwrap()
            .unwrap()
            .expose_secret()
            .to_string()
    }

    /// True when Gitea takes `token` as the bot.
    pub async fn token_works(&self, token: &str) -> bool {
        let client = self.gitea.client_with(token, fast_http());
        client.me().await.is_ok_and(|me| me.login == self.bot())
    }

    /// Every write (not GET/HEAD) the two stand-ins saw since their logs were cleared.
    pub fn upstream_writes(&self) -> Vec<String> {
        crate::provision_support::writes_seen(&self.gitea, &self.coolify)
    }

    pub fn clear_logs(&self) {
        crate::provision_support::clear_request_logs(&self.gitea, &self.coolify);
    }

    /// The invariants of a provisioned workspace, checked on the stand-ins themselves:
    /// one project, one private org, one bot (usable, not admin) whose only membership
    /// is the Writers team, one live token (the stored one), one key on each side (the
    /// same pair), and the row `ready`.
    pub async fn assert_provisioned_once(&self, case: &str) {
        let ws = self.store.require_workspace(&self.slug).unwrap();
        assert_eq!(ws.provision_status, "ready", "{case}: {ws:?}");
        let projects: Vec<_> = self
            .coolify
            .root_client()
            .list_projects()
            .await
            .unwrap()
            .into_iter()
            .filter(|p| p.name == format!("vibn-ws-{}", self.slug))
            .collect();
        assert_eq!(projects.len(), 1, "{case}: one Coolify project");
        assert_eq!(
            ws.coolify_project_uuid.as_deref(),
            Some(projects[0].uuid.as_str()),
            "{case}"
        );
        let g = self.gitea.state();
        let mut accounts = g.accounts_named("vibn-");
        accounts.sort();
        let mut want = vec![self.org(), self.bot()];
        want.sort();
        assert_eq!(accounts, want, "{case}: one org, one bot");
        let (is_org, is_admin, must_change, _) = g.account_flags(&self.bot()).unwrap();
        assert!(!is_org && !is_admin && !must_change, "{case}: bot flags");
        assert_eq!(g.account_flags(&self.org()).unwrap().3, "private", "{case}");
        let (perm, all_repos, can_create, members) = g.team_of(&self.org(), "Writers").unwrap();
        assert_eq!(
            (perm.as_str(), all_repos, can_create),
            ("admin", true, true),
            "{case}: Writers team settings"
        );
        assert_eq!(
            members,
            vec![self.bot()],
            "{case}: the bot is the only member"
        );
        assert_eq!(
            g.memberships_of(&self.bot()),
            vec![format!("{}/Writers", self.org())],
            "{case}: the bot's only membership"
        );
        let tokens = g.tokens_of(&self.bot());
        assert_eq!(tokens.len(), 1, "{case}: one live token: {tokens:?}");
        let stored = self.stored_token();
        assert!(
            self.token_works(&stored).await,
            "{case}: the stored token works"
        );
        let state = self.store.provision_state(&self.slug).unwrap();
        assert_eq!(state.gitea_bot_token_id, Some(tokens[0].0), "{case}");
        let keys = g.keys_of(&self.bot());
        assert_eq!(keys.len(), 1, "{case}: one key on the bot: {keys:?}");
        let ours: Vec<_> = self
            .coolify
            .state()
            .private_keys()
            .into_iter()
            .filter(|(_, name, _)| *name == format!("vibn-ws-{}-deploy", self.slug))
            .collect();
        assert_eq!(
            ours.len(),
            1,
            "{case}: one private key in Coolify: {ours:?}"
        );
        let public = state.ssh_public_key.clone().unwrap();
        assert_eq!(keys[0].1, public, "{case}: Gitea has the recorded half");
        assert!(
            ours[0]
                .2
                .as_deref()
                .is_some_and(|pk| pk.starts_with(&public)),
            "{case}: Coolify has the other half of the same pair"
        );
        assert_eq!(state.gitea_bot_ssh_key_id, Some(keys[0].0), "{case}");
        assert_eq!(
            state.coolify_private_key_uuid.as_deref(),
            Some(ours[0].0.as_str()),
            "{case}"
        );
    }
}

/// A token as a secret.
pub fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_string())
}

/// Every write (not GET/HEAD) the two stand-ins saw since their logs were cleared.
pub fn writes_seen(gitea: &Gitea, coolify: &Coolify) -> Vec<String> {
    let gitea = gitea
        .state()
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET" && r.method != "HEAD")
        .map(|r| format!("gitea {} {}", r.method, r.path));
    let coolify = coolify
        .state()
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET" && r.method != "HEAD")
        .map(|r| format!("coolify {} {}", r.method, r.path));
    gitea.chain(coolify).collect()
}

/// Clear both stand-ins' request logs.
pub fn clear_request_logs(gitea: &Gitea, coolify: &Coolify) {
    gitea.state().clear_requests();
    coolify.state().clear_requests();
}
