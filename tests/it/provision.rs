//! `api::provision` against the Gitea and Coolify stand-ins (issue 12 item 1): what a
//! run makes and records, that a run on a ready workspace writes nothing upstream,
//! adoption (and refusing to adopt what a stranger made), the deploy keypair made anew
//! when a half is missing, hostile slugs, the secrets key, the lease. A first run, a
//! re-run and the lease run on a SQLite keystore and on a PostgreSQL one.

use vibn::api::provision::{self, Step, StepOutcome};
use vibn::error::ErrorKind;
use vibn::keystore::ProvisionStatus;

use crate::gitea_support::fast_http;
use crate::provision_support::{Env, OWNER, secret};

/// A first run makes every resource, records it, and the bot can do what seed 003 §5.3
/// needs (create a repo in the org) but not manage the org (create a team).
#[tokio::test]
async fn provision_creates_everything_and_records_it() {
    for env in Env::each().await {
        eprintln!("-- keystore: {}", env.store.location());
        let report = env.provisioner().provision(&env.slug).await.unwrap();
        assert_eq!(report.status, ProvisionStatus::Ready, "{report:#?}");
        let outcomes: Vec<(Step, StepOutcome)> =
            report.steps.iter().map(|s| (s.step, s.outcome)).collect();
        assert_eq!(
            outcomes,
            vec![
                (Step::CoolifyProject, StepOutcome::Created),
                (Step::CoolifyServer, StepOutcome::Adopted),
                (Step::GiteaOrg, StepOutcome::Created),
                (Step::GiteaOwner, StepOutcome::Skipped),
                (Step::GiteaBot, StepOutcome::Created),
                (Step::GiteaTeam, StepOutcome::Created),
                (Step::BotToken, StepOutcome::Created),
                (Step::DeployKey, StepOutcome::Created),
            ]
        );
        env.assert_provisioned_once("first run").await;
        let ws = env.store.require_workspace(&env.slug).unwrap();
        assert_eq!(
            ws.coolify_server_uuid.as_deref(),
            Some(env.coolify.state().server_uuid().as_str())
        );
        assert!(ws.provisioned_at.is_some() && ws.provision_error.is_none());
        // The Coolify project has its production environment and description.
        let project = env
            .coolify
            .root_client()
            .get_project(ws.coolify_project_uuid.as_deref().unwrap())
            .await
            .unwrap();
        assert!(project.environments.iter().any(|e| e.name == "production"));
        assert_eq!(project.description.as_deref(), Some("Vibn workspace mark"));
        // The bot: its token has the scopes to create org repositories; it is no owner.
        let bot = env.gitea.client_with(&env.stored_token(), fast_http());
        let repo = bot
            .create_org_repo(&env.org(), "site", true, true)
            .await
            .unwrap();
        assert_eq!(repo.full_name, "vibn-mark/site");
        let spec = vibn::clients::gitea::TeamSpec {
            name: "Sneaky".into(),
            description: String::new(),
            permission: "admin".into(),
            units_map: None,
            includes_all_repositories: true,
            can_create_org_repo: true,
        };
        let refused = bot.create_team_spec(&env.org(), &spec).await.unwrap_err();
        assert_eq!(refused.status(), Some(403), "the bot is not an org owner");
        // The private key is not kept by vibn.
        if let Some(file) = env.store.sqlite_path() {
            let db = std::fs::read(file).unwrap();
            let wal = std::fs::read(format!("{}-wal", file.display())).unwrap_or_default();
            for bytes in [db, wal] {
                assert!(!bytes.windows(11).any(|w| w == b"OPENSSH PRI"));
            }
        }
        // Every run appends an audit event.
        let audit = env.store.list_audit(Some(&env.slug), 10).unwrap();
        assert!(
            audit
                .iter()
                .any(|e| e.tool == "workspace_provision" && e.outcome == "ok")
        );
    }
}

/// Issue 12: a re-run on a ready workspace makes no upstream write (the stand-ins'
/// request logs hold reads only), and reports every step as verified.
#[tokio::test]
async fn a_ready_workspace_rerun_writes_nothing_upstream() {
    for env in Env::each().await {
        eprintln!("-- keystore: {}", env.store.location());
        env.provisioner().provision(&env.slug).await.unwrap();
        env.clear_logs();
        let report = env.provisioner().provision(&env.slug).await.unwrap();
        assert_eq!(report.status, ProvisionStatus::Ready);
        assert_eq!(env.upstream_writes(), Vec::<String>::new());
        for step in &report.steps {
            assert!(
                matches!(step.outcome, StepOutcome::Verified | StepOutcome::Skipped),
                "{step:?}"
            );
        }
        assert!(
            !env.gitea.state().requests().is_empty(),
            "the re-run did verify upstream"
        );
        env.assert_provisioned_once("re-run").await;
    }
}

/// A half of the deploy keypair missing on either side makes a new pair on both sides;
/// the surviving old half is deleted.
#[tokio::test]
async fn a_missing_half_of_the_keypair_regenerates_the_pair_on_both_sides() {
    for side in ["coolify", "gitea"] {
        let env = Env::new().await;
        env.provisioner().provision(&env.slug).await.unwrap();
        let before = env.store.provision_state(&env.slug).unwrap();
        match side {
            "coolify" => env
                .coolify
                .root_client()
                .delete_private_key(before.coolify_private_key_uuid.as_deref().unwrap())
                .await
                .unwrap(),
            _ => env
                .gitea
                .admin_client()
                .admin_delete_user_key(&env.bot(), before.gitea_bot_ssh_key_id.unwrap())
                .await
                .unwrap(),
        }
        let report = env.provisioner().provision(&env.slug).await.unwrap();
        let key_step = report.steps.last().unwrap();
        assert_eq!(
            (key_step.step, key_step.outcome),
            (Step::DeployKey, StepOutcome::Created),
            "{side}"
        );
        env.assert_provisioned_once(side).await;
        let after = env.store.provision_state(&env.slug).unwrap();
        assert_ne!(
            after.ssh_public_key, before.ssh_public_key,
            "{side}: a new pair"
        );
    }
}

/// A dead stored token (deleted in Gitea) is replaced on the next run.
#[tokio::test]
async fn a_dead_stored_token_is_replaced() {
    let env = Env::new().await;
    env.provisioner().provision(&env.slug).await.unwrap();
    let old = env.stored_token();
    let id = env
        .store
        .provision_state(&env.slug)
        .unwrap()
        .gitea_bot_token_id
        .unwrap();
    // Deleted by hand in Gitea.
    env.gitea.state().delete_token(&env.bot(), id);
    assert!(!env.token_works(&old).await);
    let report = env.provisioner().provision(&env.slug).await.unwrap();
    assert_eq!(report.status, ProvisionStatus::Ready, "{report:#?}");
    assert_ne!(env.stored_token(), old);
    env.assert_provisioned_once("dead token").await;
}

/// An existing bot user that vibn did not record (an earlier run died, or someone
/// registered the name) is adopted only as a plain user, and every credential it had
/// is replaced: its tokens and keys are deleted and its password reset.
#[tokio::test]
async fn an_adopted_bot_keeps_none_of_its_old_credentials() {
    let env = Env::new().await;
    let g = env.gitea.state();
    g.create_user(
        &env.bot(),
        "mallory@evil.example",
        "mallory-pass-1",
        false,
        false,
    );
    let planted = g.create_token(&env.bot(), "planted", &["all"]);
    let report = env.provisioner().provision(&env.slug).await.unwrap();
    assert_eq!(report.status, ProvisionStatus::Ready, "{report:#?}");
    let bot_step = report
        .steps
        .iter()
        .find(|s| s.step == Step::GiteaBot)
        .unwrap();
    assert_eq!(bot_step.outcome, StepOutcome::Adopted);
    assert!(
        !env.token_works(&planted).await,
        "the planted token is gone"
    );
    env.assert_provisioned_once("adopted bot").await;
    // The old password no longer works, and the email is the workspace's again.
    let basic = env
        .gitea
        .admin_client()
        .list_user_tokens(
            &env.bot(),
            &crate::provision_support::secret("mallory-pass-1"),
        )
        .await;
    assert_eq!(basic.unwrap_err().status(), Some(401));
    let user = env.gitea.admin_client().get_user(&env.bot()).await.unwrap();
    assert_eq!(user.email, "bot+mark@vibnai.invalid");
}

/// A working token stored by hand (`set-bot-token`, before provisioning existed) for
/// the bot is kept, found by its last eight characters; the bot's other tokens go.
#[tokio::test]
async fn a_working_token_set_by_hand_is_kept() {
    let env = Env::new().await;
    let g = env.gitea.state();
    g.create_user(
        &env.bot(),
        "bot+mark@vibnai.invalid",
        "password-123",
        false,
        false,
    );
    let by_hand = g.create_token(&env.bot(), "by-hand", &provision::BOT_TOKEN_SCOPES);
    let other = g.create_token(&env.bot(), "other", &["read:user"]);
    env.store
        .set_bot_token(&env.slug, &env.bot(), &secret(&by_hand), &env.ring())
        .unwrap();
    let report = env.provisioner().provision(&env.slug).await.unwrap();
    assert_eq!(report.status, ProvisionStatus::Ready, "{report:#?}");
    let token = report
        .steps
        .iter()
        .find(|s| s.step == Step::BotToken)
        .unwrap();
    assert_eq!(token.outcome, StepOutcome::Repaired);
    assert_eq!(env.stored_token(), by_hand);
    assert!(!env.token_works(&other).await);
    env.assert_provisioned_once("token set by hand").await;
}

/// A site admin under the bot's name is never adopted (its token would be an admin's).
#[tokio::test]
async fn an_admin_user_under_the_bot_name_is_refused() {
    let env = Env::new().await;
    env.gitea
        .state()
        .create_user(&env.bot(), "x@y.example", "password-123", true, false);
    let report = env.provisioner().provision(&env.slug).await.unwrap();
    assert_eq!(report.status, ProvisionStatus::Error);
    assert_eq!(report.failed_step, Some(Step::GiteaBot));
    assert!(report.error.unwrap().contains("site administrator"));
    assert!(env.gitea.state().tokens_of(&env.bot()).is_empty());
}

/// An org `vibn-<slug>` that a stranger owns, or that is public, is not adopted: its
/// owners would see every repository the workspace's agents push. Nothing of the bot
/// is made.
#[tokio::test]
async fn an_org_owned_by_a_stranger_or_public_is_not_adopted() {
    for (case, visibility) in [("stranger", "private"), ("public", "public")] {
        let env = Env::new().await;
        let g = env.gitea.state();
        let owner = if case == "stranger" {
            g.create_user(
                "mallory",
                "mallory@evil.example",
                "password-123",
                false,
                false,
            );
            "mallory".to_string()
        } else {
            env.gitea.sandbox.admin_login()
        };
        g.create_org(&env.org(), &owner);
        g.set_org_visibility(&env.org(), visibility);
        let report = env.provisioner().provision(&env.slug).await.unwrap();
        assert_eq!(report.status, ProvisionStatus::Error, "{case}");
        assert_eq!(report.failed_step, Some(Step::GiteaOrg), "{case}");
        let ws = env.store.require_workspace(&env.slug).unwrap();
        assert_eq!(ws.provision_step.as_deref(), Some("gitea_org"), "{case}");
        assert!(ws.provision_error.is_some(), "{case}");
        assert!(g.account_flags(&env.bot()).is_none(), "{case}: no bot made");
    }
}

/// An org the operator made earlier (a run that died after creating it) is adopted.
#[tokio::test]
async fn an_org_the_operator_made_is_adopted() {
    let env = Env::new().await;
    let g = env.gitea.state();
    g.create_org(&env.org(), &env.gitea.sandbox.admin_login());
    g.set_org_visibility(&env.org(), "private");
    let report = env.provisioner().provision(&env.slug).await.unwrap();
    let org = report
        .steps
        .iter()
        .find(|s| s.step == Step::GiteaOrg)
        .unwrap();
    assert_eq!(org.outcome, StepOutcome::Adopted);
    env.assert_provisioned_once("adopted org").await;
}

/// The owner is made an org owner when a Gitea user has the owner's login and email;
/// the same login with another email is not the owner.
#[tokio::test]
async fn the_owner_joins_the_org_owners_only_when_login_and_email_match() {
    for (email, joins) in [(OWNER, true), ("someone@else.example", false)] {
        let env = Env::new().await;
        env.gitea
            .state()
            .create_user("mark", email, "password-123", false, false);
        let report = env.provisioner().provision(&env.slug).await.unwrap();
        assert_eq!(report.status, ProvisionStatus::Ready, "{report:#?}");
        let owners = env.gitea.state().team_of(&env.org(), "Owners").unwrap().3;
        assert_eq!(owners.contains(&"mark".to_string()), joins, "{email}");
        let step = report
            .steps
            .iter()
            .find(|s| s.step == Step::GiteaOwner)
            .unwrap();
        let want = if joins {
            StepOutcome::Created
        } else {
            StepOutcome::Skipped
        };
        assert_eq!(step.outcome, want, "{email}");
    }
}

/// With several Coolify servers the run stops naming COOLIFY_SERVER_UUID; with it set
/// the server is recorded; a uuid Coolify does not know is refused by name.
#[tokio::test]
async fn the_coolify_server_is_the_only_one_or_the_one_named() {
    let env = Env::new().await;
    let second = env.coolify.state().add_server("builder");
    let report = env.provisioner().provision(&env.slug).await.unwrap();
    assert_eq!(report.failed_step, Some(Step::CoolifyServer));
    assert!(report.error.unwrap().contains("COOLIFY_SERVER_UUID"));
    let report = env
        .provisioner_on(Some("nosuchserver0000"))
        .provision(&env.slug)
        .await
        .unwrap();
    assert_eq!(report.failed_step, Some(Step::CoolifyServer));
    assert!(
        report
            .error
            .unwrap()
            .contains("COOLIFY_SERVER_UUID \"nosuchserver0000\"")
    );
    let report = env
        .provisioner_on(Some(&second))
        .provision(&env.slug)
        .await
        .unwrap();
    assert_eq!(report.status, ProvisionStatus::Ready, "{report:#?}");
    let ws = env.store.require_workspace(&env.slug).unwrap();
    assert_eq!(ws.coolify_server_uuid.as_deref(), Some(second.as_str()));
}

/// Two Coolify projects with the workspace's name are ambiguous: the run stops with a
/// hint instead of guessing; one is adopted.
#[tokio::test]
async fn coolify_projects_are_adopted_by_exact_name_only_when_unambiguous() {
    let env = Env::new().await;
    let (one, _) = env.coolify.state().create_project("vibn-ws-mark");
    env.coolify.state().create_project("vibn-ws-mark-2");
    let report = env.provisioner().provision(&env.slug).await.unwrap();
    assert_eq!(report.steps[0].outcome, StepOutcome::Adopted);
    let ws = env.store.require_workspace(&env.slug).unwrap();
    assert_eq!(ws.coolify_project_uuid.as_deref(), Some(one.as_str()));

    let env = Env::new().await;
    env.coolify.state().create_project("vibn-ws-mark");
    env.coolify.state().create_project("vibn-ws-mark");
    let report = env.provisioner().provision(&env.slug).await.unwrap();
    assert_eq!(report.failed_step, Some(Step::CoolifyProject));
    assert!(report.error.unwrap().contains("link-coolify"));
}

/// Hostile slugs and unknown workspaces are refused before any upstream request.
#[tokio::test]
async fn hostile_slugs_are_refused_before_any_request() {
    let env = Env::new().await;
    for slug in ["../x", "MARK", "a b", "mark/../../admin", "", "x\u{0}y"] {
        let err = env.provisioner().provision(slug).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BadRequest, "{slug:?}");
    }
    let err = env.provisioner().provision("ghost").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(env.gitea.state().requests().is_empty());
    assert!(env.coolify.state().requests().is_empty());
}

/// A secrets key that does not match the keystore stops the run before any request.
#[tokio::test]
async fn a_wrong_secrets_key_stops_the_run_before_any_request() {
    let mut env = Env::new().await;
    env.provisioner().provision(&env.slug).await.unwrap();
    env.clear_logs();
    env.key = vibn::keystore::SecretKey::generate_base64();
    let err = env.provisioner().provision(&env.slug).await.unwrap_err();
    assert_eq!(err.status(), 503);
    assert!(err.message().contains("does not match"), "{err}");
    assert!(env.gitea.state().requests().is_empty());
    assert!(env.coolify.state().requests().is_empty());
}

/// Two runs for one workspace never interleave: a held lease refuses the second.
#[tokio::test]
async fn a_run_in_progress_holds_off_a_second_run() {
    for env in Env::each().await {
        eprintln!("-- keystore: {}", env.store.location());
        env.store
            .acquire_provision_lease(&env.slug, "other-run", 60_000)
            .unwrap();
        let err = env.provisioner().provision(&env.slug).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotProvisioned);
        assert!(err.message().contains("another run"), "{err}");
        assert!(env.gitea.state().requests().is_empty());
    }
}
