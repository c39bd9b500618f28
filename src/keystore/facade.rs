//! `Keystore`: the async façade every server and API function uses. It is a cheap
//! handle over one `Store` — embedded SQLite (the default) or PostgreSQL; the store
//! itself is the choice between them, so no trait object is needed here — and runs the
//! store's blocking work on tokio's blocking pool, so an async worker never waits on
//! the database. Arguments are copied into the task (the work outlives the borrow of an
//! `await`). Nothing is cached here: every call asks the database, so a key revoked
//! by another process or replica fails on its next validation.

use std::path::Path;
use std::sync::Arc;

use secrecy::SecretString;

use super::{
    DomainEvent, DomainPatch, DomainRecord, JobRecord, JobUpdate, KeyRecord, Keyring,
    KeystoreError, LedgerEntry, Memory, MintedKey, NewAuditEvent, PrdVersion, ProvisionRecord,
    ProvisionState, Revoked, StoragePatch, StorageRecord, Store, ValidAdminToken,
    ValidWorkspaceKey, Workspace,
};

/// A handle on the keystore (cheap to clone; every clone shares the store and its pool).
#[derive(Debug, Clone)]
pub struct Keystore {
    store: Arc<Store>,
}

impl Keystore {
    /// Open (creating if needed) the keystore `path` names: a SQLite file, or a
    /// `postgres://` URL.
    pub async fn open(path: &Path) -> Result<Keystore, KeystoreError> {
        let path = path.to_path_buf();
        let store = blocking(move || Store::open(&path)).await?;
        Ok(Keystore::from_store(store))
    }

    /// Open the keystore only if it is already there (the SQLite file exists; the
    /// PostgreSQL database holds the schema).
    pub async fn open_existing(path: &Path) -> Result<Keystore, KeystoreError> {
        let path = path.to_path_buf();
        let store = blocking(move || Store::open_existing(&path)).await?;
        Ok(Keystore::from_store(store))
    }

    /// A façade over an open store.
    pub fn from_store(store: Store) -> Keystore {
        Keystore {
            store: Arc::new(store),
        }
    }

    /// The store itself, for blocking work outside the runtime (start-up); inside it,
    /// use the async methods.
    pub fn blocking_store(&self) -> &Store {
        &self.store
    }

    /// Run `f` against the store on the blocking pool.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, KeystoreError> + Send + 'static,
    ) -> Result<T, KeystoreError> {
        let store = self.store.clone();
        blocking(move || f(&store)).await
    }

    /// The workspace a key belongs to, when the key is valid (and of `expected`).
    pub async fn validate_workspace_key(
        &self,
        token: &str,
        expected: Option<&str>,
    ) -> Result<Option<ValidWorkspaceKey>, KeystoreError> {
        let (token, expected) = (token.to_string(), expected.map(str::to_string));
        self.run(move |s| s.validate_workspace_key(&token, expected.as_deref()))
            .await
    }

    /// The workspace named `slug` (404 when none).
    pub async fn require_workspace(&self, slug: &str) -> Result<Workspace, KeystoreError> {
        let slug = slug.to_string();
        self.run(move |s| s.require_workspace(&slug)).await
    }

    /// The workspace's bot token, opened with `ring`.
    pub async fn bot_token(
        &self,
        slug: &str,
        ring: &Arc<Keyring>,
    ) -> Result<Option<SecretString>, KeystoreError> {
        let (slug, ring) = (slug.to_string(), ring.clone());
        self.run(move |s| s.bot_token(&slug, &ring)).await
    }

    /// Append one audit event.
    pub async fn append_audit(&self, event: &NewAuditEvent<'_>) -> Result<(), KeystoreError> {
        let owned = OwnedAudit::from(event);
        self.run(move |s| s.append_audit(&owned.borrow())).await
    }

    /// Save (or replace) a memory under `key` in `scope`.
    pub async fn save_memory(
        &self,
        scope: &str,
        session: &str,
        key: &str,
        content: &str,
        tags: &[String],
    ) -> Result<(Memory, bool), KeystoreError> {
        let (scope, session, key, content, tags) = (
            scope.to_string(),
            session.to_string(),
            key.to_string(),
            content.to_string(),
            tags.to_vec(),
        );
        self.run(move |s| s.save_memory(&scope, &session, &key, &content, &tags))
            .await
    }

    /// Memories of `scope` matching `query` / `tag`, newest first, and how many match.
    pub async fn list_memory(
        &self,
        scope: &str,
        session: &str,
        query: Option<&str>,
        tag: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<Memory>, u64), KeystoreError> {
        let (scope, session) = (scope.to_string(), session.to_string());
        let (query, tag) = (query.map(str::to_string), tag.map(str::to_string));
        self.run(move |s| s.list_memory(&scope, &session, query.as_deref(), tag.as_deref(), limit))
            .await
    }

    /// Store a new finalized version of a project's PRD.
    pub async fn finalize_prd(
        &self,
        scope: &str,
        workspace_id: Option<&str>,
        project: &str,
        content: &str,
        author: Option<&str>,
    ) -> Result<PrdVersion, KeystoreError> {
        let (scope, project, content) =
            (scope.to_string(), project.to_string(), content.to_string());
        let (workspace_id, author) = (workspace_id.map(str::to_string), author.map(str::to_string));
        self.run(move |s| {
            s.finalize_prd(
                &scope,
                workspace_id.as_deref(),
                &project,
                &content,
                author.as_deref(),
            )
        })
        .await
    }

    /// A PRD version (the latest when `version` is `None`) and every version number.
    pub async fn get_prd(
        &self,
        scope: &str,
        project: &str,
        version: Option<u32>,
    ) -> Result<Option<(PrdVersion, Vec<u32>)>, KeystoreError> {
        let (scope, project) = (scope.to_string(), project.to_string());
        self.run(move |s| s.get_prd(&scope, &project, version))
            .await
    }

    /// The projects with a PRD in `scope`, with their latest version.
    pub async fn list_prd_projects(
        &self,
        scope: &str,
    ) -> Result<Vec<(String, u32)>, KeystoreError> {
        let scope = scope.to_string();
        self.run(move |s| s.list_prd_projects(&scope)).await
    }

    /// Journal a new job.
    pub async fn record_job(&self, job: &JobRecord) -> Result<(), KeystoreError> {
        let job = job.clone();
        self.run(move |s| s.record_job(&job)).await
    }

    /// Update a journaled job with what the runner said.
    pub async fn update_job(
        &self,
        scope: &str,
        id: &str,
        update: &JobUpdate,
    ) -> Result<(), KeystoreError> {
        let (scope, id, update) = (scope.to_string(), id.to_string(), update.clone());
        self.run(move |s| s.update_job(&scope, &id, &update)).await
    }

    /// A journaled job of `scope`.
    pub async fn job(&self, scope: &str, id: &str) -> Result<Option<JobRecord>, KeystoreError> {
        let (scope, id) = (scope.to_string(), id.to_string());
        self.run(move |s| s.job(&scope, &id)).await
    }

    /// The newest jobs of `scope`.
    pub async fn list_jobs(
        &self,
        scope: &str,
        limit: u32,
    ) -> Result<Vec<JobRecord>, KeystoreError> {
        let scope = scope.to_string();
        self.run(move |s| s.list_jobs(&scope, limit)).await
    }

    /// Fail when `ring` is not the key this keystore's secrets were sealed with.
    pub async fn check_keyring(&self, ring: &Arc<Keyring>) -> Result<(), KeystoreError> {
        let ring = ring.clone();
        self.run(move |s| s.check_keyring(&ring)).await
    }

    /// Where provisioning of `slug` stands.
    pub async fn provision_state(&self, slug: &str) -> Result<ProvisionState, KeystoreError> {
        let slug = slug.to_string();
        self.run(move |s| s.provision_state(&slug)).await
    }

    /// Lease `slug`'s provisioning to `holder` for `ms` (busy when another holds it).
    pub async fn acquire_provision_lease(
        &self,
        slug: &str,
        holder: &str,
        ms: i64,
    ) -> Result<ProvisionState, KeystoreError> {
        let (slug, holder) = (slug.to_string(), holder.to_string());
        self.run(move |s| s.acquire_provision_lease(&slug, &holder, ms))
            .await
    }

    /// Give the lease back.
    pub async fn release_provision_lease(
        &self,
        workspace_id: &str,
        holder: &str,
    ) -> Result<(), KeystoreError> {
        let (workspace_id, holder) = (workspace_id.to_string(), holder.to_string());
        self.run(move |s| s.release_provision_lease(&workspace_id, &holder))
            .await
    }

    /// Record what a provisioning step found or made, renewing `holder`'s lease.
    pub async fn record_provision(
        &self,
        workspace_id: &str,
        holder: &str,
        ttl_ms: i64,
        record: ProvisionRecord,
    ) -> Result<(), KeystoreError> {
        let (workspace_id, holder) = (workspace_id.to_string(), holder.to_string());
        self.run(move |s| s.record_provision(&workspace_id, &holder, ttl_ms, record))
            .await
    }

    /// Store a newly minted bot token (sealed) and its Gitea id.
    pub async fn store_provisioned_bot_token(
        &self,
        workspace_id: &str,
        holder: &str,
        token_id: i64,
        token: &SecretString,
        ring: &Arc<Keyring>,
    ) -> Result<(), KeystoreError> {
        let (workspace_id, holder) = (workspace_id.to_string(), holder.to_string());
        let (token, ring) = (token.clone(), ring.clone());
        self.run(move |s| {
            s.store_provisioned_bot_token(&workspace_id, &holder, token_id, &token, &ring)
        })
        .await
    }

    /// The row of `domain`, whichever workspace owns it.
    pub async fn domain_record(&self, domain: &str) -> Result<Option<DomainRecord>, KeystoreError> {
        let domain = domain.to_string();
        self.run(move |s| s.domain_record(&domain)).await
    }

    /// Every domain of a workspace.
    pub async fn domains_of(&self, workspace_id: &str) -> Result<Vec<DomainRecord>, KeystoreError> {
        let workspace_id = workspace_id.to_string();
        self.run(move |s| s.domains_of(&workspace_id)).await
    }

    /// Claim `domain` for a workspace (see `Store::claim_domain`).
    pub async fn claim_domain(
        &self,
        workspace_id: &str,
        domain: &str,
        period: i64,
        whois_privacy: bool,
        ring: &Arc<Keyring>,
    ) -> Result<(DomainRecord, bool), KeystoreError> {
        let (workspace_id, domain, ring) =
            (workspace_id.to_string(), domain.to_string(), ring.clone());
        self.run(move |s| s.claim_domain(&workspace_id, &domain, period, whois_privacy, &ring))
            .await
    }

    /// The registrant profile password of a domain row.
    pub async fn domain_password(
        &self,
        id: &str,
        ring: &Arc<Keyring>,
    ) -> Result<SecretString, KeystoreError> {
        let (id, ring) = (id.to_string(), ring.clone());
        self.run(move |s| s.domain_password(&id, &ring)).await
    }

    /// Change fields of a domain row.
    pub async fn patch_domain(&self, id: &str, patch: DomainPatch) -> Result<(), KeystoreError> {
        let id = id.to_string();
        self.run(move |s| s.patch_domain(&id, &patch)).await
    }

    /// Append one domain lifecycle event.
    pub async fn append_domain_event(
        &self,
        domain_id: &str,
        workspace_id: &str,
        kind: &str,
        detail: &str,
    ) -> Result<(), KeystoreError> {
        let (a, b, c, d) = (
            domain_id.to_string(),
            workspace_id.to_string(),
            kind.to_string(),
            detail.to_string(),
        );
        self.run(move |s| s.append_domain_event(&a, &b, &c, &d))
            .await
    }

    /// The newest `limit` events of a domain.
    pub async fn domain_events(
        &self,
        domain_id: &str,
        limit: i64,
    ) -> Result<Vec<DomainEvent>, KeystoreError> {
        let domain_id = domain_id.to_string();
        self.run(move |s| s.domain_events(&domain_id, limit)).await
    }

    /// Record a debit once per order.
    pub async fn record_debit(
        &self,
        workspace_id: &str,
        amount: &str,
        currency: &str,
        description: &str,
        ref_id: &str,
    ) -> Result<(), KeystoreError> {
        let (a, b, c, d, e) = (
            workspace_id.to_string(),
            amount.to_string(),
            currency.to_string(),
            description.to_string(),
            ref_id.to_string(),
        );
        self.run(move |s| s.record_debit(&a, &b, &c, &d, &e)).await
    }

    /// A workspace's billing ledger.
    pub async fn ledger(&self, workspace_id: &str) -> Result<Vec<LedgerEntry>, KeystoreError> {
        let workspace_id = workspace_id.to_string();
        self.run(move |s| s.ledger(&workspace_id)).await
    }

    /// The storage row of a workspace.
    pub async fn storage_record(
        &self,
        workspace_id: &str,
    ) -> Result<Option<StorageRecord>, KeystoreError> {
        let workspace_id = workspace_id.to_string();
        self.run(move |s| s.storage_record(&workspace_id)).await
    }

    /// The storage row, created when there is none.
    pub async fn ensure_storage(
        &self,
        workspace_id: &str,
        bucket: &str,
        region: &str,
    ) -> Result<StorageRecord, KeystoreError> {
        let (a, b, c) = (
            workspace_id.to_string(),
            bucket.to_string(),
            region.to_string(),
        );
        self.run(move |s| s.ensure_storage(&a, &b, &c)).await
    }

    /// Change fields of a storage row.
    pub async fn patch_storage(
        &self,
        workspace_id: &str,
        patch: StoragePatch,
    ) -> Result<(), KeystoreError> {
        let workspace_id = workspace_id.to_string();
        self.run(move |s| s.patch_storage(&workspace_id, &patch))
            .await
    }

    /// Seal and store a new HMAC key.
    pub async fn store_hmac(
        &self,
        workspace_id: &str,
        access_id: &str,
        secret: &SecretString,
        ring: &Arc<Keyring>,
    ) -> Result<(), KeystoreError> {
        let (a, b, secret, ring) = (
            workspace_id.to_string(),
            access_id.to_string(),
            secret.clone(),
            ring.clone(),
        );
        self.run(move |s| s.store_hmac(&a, &b, &secret, &ring))
            .await
    }

    /// The HMAC secret, opened.
    pub async fn hmac_secret(
        &self,
        workspace_id: &str,
        ring: &Arc<Keyring>,
    ) -> Result<Option<SecretString>, KeystoreError> {
        let (a, ring) = (workspace_id.to_string(), ring.clone());
        self.run(move |s| s.hmac_secret(&a, &ring)).await
    }
}

/// Keys, org tokens and workspaces as `vibn serve` manages them over HTTP (the CLI's
/// `vibn keys` / `vibn org-tokens` / `vibn workspace list` do the same on the store).
impl Keystore {
    /// The admin org token, when `token` is a live one.
    pub async fn validate_admin_token(
        &self,
        token: &str,
    ) -> Result<Option<ValidAdminToken>, KeystoreError> {
        let token = token.to_string();
        self.run(move |s| s.validate_admin_token(&token)).await
    }

    /// Every workspace.
    pub async fn list_workspaces(&self) -> Result<Vec<Workspace>, KeystoreError> {
        self.run(|s| s.list_workspaces()).await
    }

    /// Mint a workspace key for `slug` (the plaintext is in the result, once).
    pub async fn mint_workspace_key(
        &self,
        slug: &str,
        name: &str,
        expires_at: Option<i64>,
        created_by: &str,
    ) -> Result<MintedKey, KeystoreError> {
        let (slug, name, by) = (slug.to_string(), name.to_string(), created_by.to_string());
        self.run(move |s| s.mint_workspace_key(&slug, &name, expires_at, &by))
            .await
    }

    /// Every key of `slug`, newest first.
    pub async fn list_workspace_keys(&self, slug: &str) -> Result<Vec<KeyRecord>, KeystoreError> {
        let slug = slug.to_string();
        self.run(move |s| s.list_workspace_keys(&slug)).await
    }

    /// Revoke key `key_id` of `slug` (idempotent; another workspace's key is not found).
    pub async fn revoke_workspace_key(
        &self,
        slug: &str,
        key_id: &str,
    ) -> Result<Revoked, KeystoreError> {
        let (slug, key_id) = (slug.to_string(), key_id.to_string());
        self.run(move |s| s.revoke_workspace_key(&slug, &key_id))
            .await
    }

    /// Mint an admin org token (the plaintext is in the result, once).
    pub async fn mint_admin_token(
        &self,
        name: &str,
        expires_at: Option<i64>,
        created_by: &str,
    ) -> Result<MintedKey, KeystoreError> {
        let (name, by) = (name.to_string(), created_by.to_string());
        self.run(move |s| s.mint_admin_token(&name, expires_at, &by))
            .await
    }

    /// Every admin org token, newest first.
    pub async fn list_admin_tokens(&self) -> Result<Vec<KeyRecord>, KeystoreError> {
        self.run(|s| s.list_admin_tokens()).await
    }

    /// Revoke admin org token `id` (idempotent).
    pub async fn revoke_admin_token(&self, id: &str) -> Result<Revoked, KeystoreError> {
        let id = id.to_string();
        self.run(move |s| s.revoke_admin_token(&id)).await
    }
}

/// An audit event owning its text, to travel to the blocking pool.
struct OwnedAudit {
    workspace_id: Option<String>,
    key_hint: Option<String>,
    server: String,
    tool: String,
    target: String,
    outcome: String,
}

impl From<&NewAuditEvent<'_>> for OwnedAudit {
    fn from(e: &NewAuditEvent<'_>) -> Self {
        OwnedAudit {
            workspace_id: e.workspace_id.map(str::to_string),
            key_hint: e.key_hint.map(str::to_string),
            server: e.server.to_string(),
            tool: e.tool.to_string(),
            target: e.target.to_string(),
            outcome: e.outcome.to_string(),
        }
    }
}

impl OwnedAudit {
    fn borrow(&self) -> NewAuditEvent<'_> {
        NewAuditEvent {
            workspace_id: self.workspace_id.as_deref(),
            key_hint: self.key_hint.as_deref(),
            server: &self.server,
            tool: &self.tool,
            target: &self.target,
            outcome: &self.outcome,
        }
    }
}

/// Run blocking database work off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, KeystoreError> + Send + 'static,
) -> Result<T, KeystoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| KeystoreError::Unavailable {
            path: String::new(),
            reason: format!("keystore worker failed: {e}"),
        })?
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    use super::*;

    /// While another connection holds the write lock, a façade write waits for it on
    /// the blocking pool: the async worker keeps running other tasks meanwhile.
    #[tokio::test(flavor = "current_thread")]
    async fn a_waiting_write_never_blocks_the_async_worker() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ks/keystore.db");
        let store = Keystore::open(&path).await.unwrap();
        let holder = rusqlite::Connection::open(&path).unwrap();
        holder.execute_batch("BEGIN IMMEDIATE").unwrap();
        let ticks = std::sync::Arc::new(AtomicU32::new(0));
        let ticker = {
            let ticks = ticks.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    ticks.fetch_add(1, Ordering::Relaxed);
                }
            })
        };
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            holder.execute_batch("COMMIT").unwrap();
        });
        let event = NewAuditEvent {
            workspace_id: None,
            key_hint: None,
            server: "test",
            tool: "t",
            target: "x",
            outcome: "ok",
        };
        store.append_audit(&event).await.unwrap();
        release.join().unwrap();
        ticker.abort();
        assert!(
            ticks.load(Ordering::Relaxed) >= 20,
            "the worker stalled while the write waited: {} ticks",
            ticks.load(Ordering::Relaxed)
        );
    }

    /// Many concurrent readers and writers through one façade all succeed, sharing a
    /// small pool of connections.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_calls_share_the_pool() {
        let dir = tempfile::tempdir().unwrap();
        concurrent_calls_share_the_pool_at(&dir.path().join("ks/keystore.db")).await;
        if let Some(url) = crate::keystore::testutil::postgres_url() {
            concurrent_calls_share_the_pool_at(Path::new(&url)).await;
        }
    }

    /// Two façades on one PostgreSQL database are two replicas: a key revoked through
    /// one fails through the other on its very next validation.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_revocation_reaches_every_postgres_replica_on_the_next_request() {
        let Some(url) = crate::keystore::testutil::postgres_url() else {
            return;
        };
        let path = Path::new(&url);
        let (one, two) = (
            Keystore::open(path).await.unwrap(),
            Keystore::open_existing(path).await.unwrap(),
        );
        let minted = one
            .run(|s| {
                let slug = s.create_workspace("replica@x.io", None)?.slug;
                s.mint_workspace_key(&slug, "k", None, "cli")
                    .map(|m| (slug, m.record.id, m.token))
            })
            .await
            .unwrap();
        let (slug, key_id, token) = minted;
        let token = secrecy::ExposeSecret::expose_secret(&token).to_string();
        for replica in [&one, &two] {
            assert!(
                replica
                    .validate_workspace_key(&token, Some(&slug))
                    .await
                    .unwrap()
                    .is_some()
            );
        }
        one.run(move |s| s.revoke_workspace_key(&slug, &key_id))
            .await
            .unwrap();
        assert!(
            two.validate_workspace_key(&token, None)
                .await
                .unwrap()
                .is_none()
        );
    }

    async fn concurrent_calls_share_the_pool_at(path: &Path) {
        let path = path.to_path_buf();
        let sync = tokio::task::spawn_blocking({
            let path = path.clone();
            move || Store::open(&path).unwrap()
        })
        .await
        .unwrap();
        let sync = Keystore::from_store(sync);
        let token = sync
            .run(|s| {
                let slug = s.create_workspace("pool@x.io", None)?.slug;
                let key = s.mint_workspace_key(&slug, "k", None, "cli")?;
                Ok(secrecy::ExposeSecret::expose_secret(&key.token).to_string())
            })
            .await
            .unwrap();
        let store = Keystore::open(&path).await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..32 {
            let (store, token) = (store.clone(), token.clone());
            tasks.push(tokio::spawn(async move {
                assert!(
                    store
                        .validate_workspace_key(&token, None)
                        .await
                        .unwrap()
                        .is_some()
                );
                store
                    .save_memory("s", "", &format!("k{i}"), "v", &[])
                    .await
                    .unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let (_, total) = store.list_memory("s", "", None, None, 100).await.unwrap();
        assert_eq!(total, 32);
    }
}
