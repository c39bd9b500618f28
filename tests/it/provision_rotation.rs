//! Credentials for agents and rotation of the bot token and deploy keypair (issue 12
//! items 4 and 5), against the Gitea and Coolify stand-ins.

use vibn::api::provision::{self, StepOutcome};
use vibn::keystore::ProvisionStatus;
use vibn_sandbox::gitea::Fault;

use crate::provision_support::Env;

/// Credentials (seed 003 §5.2): templates for the workspace org, the token only when
/// asked for, and a 503 naming the command while there is no token.
#[tokio::test]
async fn credentials_hand_out_the_token_only_when_asked() {
    let env = Env::new().await;
    let url = env.gitea.sandbox.base_url();
    let err = provision::credentials(&env.store, &env.slug, &url, false, None).unwrap_err();
    assert_eq!(err.status(), 503);
    assert!(
        err.hint()
            .unwrap()
            .contains("vibn workspace provision mark")
    );
    env.provisioner().provision(&env.slug).await.unwrap();
    let hidden = provision::credentials(&env.store, &env.slug, &url, false, None).unwrap();
    let json = serde_json::to_value(&hidden).unwrap();
    assert_eq!(json["bot"]["token"], serde_json::Value::Null);
    assert!(!format!("{hidden:?}").contains(&env.stored_token()));
    let host = url.trim_start_matches("http://");
    assert_eq!(json["bot"]["username"], "vibn-bot-mark");
    assert_eq!(json["gitea"]["apiBase"], format!("{url}/api/v1"));
    assert_eq!(json["gitea"]["host"], host);
    assert_eq!(
        json["gitea"]["cloneUrlTemplate"],
        format!("http://vibn-bot-mark:{{{{token}}}}@{host}/vibn-mark/{{{{repo}}}}.git")
    );
    assert_eq!(
        json["gitea"]["sshRemoteTemplate"],
        "git@127.0.0.1:vibn-mark/{{repo}}.git"
    );
    assert_eq!(
        json["gitea"]["webUrlTemplate"],
        format!("{url}/vibn-mark/{{{{repo}}}}")
    );
    assert_eq!(json["workspace"]["giteaOrg"], "vibn-mark");
    let ring = env.ring();
    let shown = provision::credentials(&env.store, &env.slug, &url, true, Some(&ring)).unwrap();
    let json = serde_json::to_value(&shown).unwrap();
    assert_eq!(json["bot"]["token"], env.stored_token());
}

/// Rotation: the new token is stored before the old one is deleted; afterwards the old
/// token is dead, the new one works and is the bot's only token.
#[tokio::test]
async fn rotation_replaces_the_token_and_deletes_the_old_one() {
    let env = Env::new().await;
    env.provisioner().provision(&env.slug).await.unwrap();
    let old = env.stored_token();
    let old_key = env.store.provision_state(&env.slug).unwrap().ssh_public_key;
    let report = env
        .provisioner()
        .rotate_bot_token(&env.slug, false)
        .await
        .unwrap();
    let new = env.stored_token();
    assert_ne!(new, old);
    assert!(env.token_works(&new).await);
    assert!(!env.token_works(&old).await, "the old token is deleted");
    assert_eq!(report.deleted_token_ids.len(), 1);
    assert!(report.deploy_key.is_none());
    assert_eq!(
        env.store.provision_state(&env.slug).unwrap().ssh_public_key,
        old_key,
        "without --deploy-key the keypair stays"
    );
    env.assert_provisioned_once("rotated").await;
}

/// Rotation where deleting the old token fails: the new token is stored and works, the
/// old one still exists, the row says what is left, and the next provisioning run
/// deletes it.
#[tokio::test]
async fn rotation_failing_after_storing_leaves_a_working_token_and_is_finished_later() {
    let env = Env::new().await;
    env.provisioner().provision(&env.slug).await.unwrap();
    let old = env.stored_token();
    env.gitea.state().inject_fault(Fault::Status {
        method: Some("DELETE".into()),
        path_prefix: format!("/users/{}/tokens/", env.bot()),
        status: 500,
        times: 1,
        retry_after: None,
    });
    let err = env
        .provisioner()
        .rotate_bot_token(&env.slug, false)
        .await
        .unwrap_err();
    assert_eq!(err.status(), 502, "{err}");
    let new = env.stored_token();
    assert_ne!(new, old);
    assert!(
        env.token_works(&new).await,
        "the workspace keeps a working token"
    );
    assert!(
        env.token_works(&old).await,
        "the old one was not deleted yet"
    );
    let ws = env.store.require_workspace(&env.slug).unwrap();
    assert_eq!(ws.provision_status, "partial");
    assert_eq!(ws.provision_step.as_deref(), Some("bot_token"));
    let report = env.provisioner().provision(&env.slug).await.unwrap();
    assert_eq!(report.status, ProvisionStatus::Ready, "{report:#?}");
    assert!(!env.token_works(&old).await);
    assert_eq!(env.stored_token(), new);
    env.assert_provisioned_once("rotation finished by provision")
        .await;
}

/// Rotation failing before the new token is stored leaves the old token in place and
/// the workspace ready.
#[tokio::test]
async fn rotation_failing_before_storing_keeps_the_old_token() {
    let env = Env::new().await;
    env.provisioner().provision(&env.slug).await.unwrap();
    let old = env.stored_token();
    env.gitea.state().inject_fault(Fault::Status {
        method: Some("POST".into()),
        path_prefix: format!("/users/{}/tokens", env.bot()),
        status: 500,
        times: 1,
        retry_after: None,
    });
    assert!(
        env.provisioner()
            .rotate_bot_token(&env.slug, false)
            .await
            .is_err()
    );
    assert_eq!(env.stored_token(), old);
    assert!(env.token_works(&old).await);
    assert_eq!(
        env.store
            .require_workspace(&env.slug)
            .unwrap()
            .provision_status,
        "ready"
    );
    let audit = env.store.list_audit(Some(&env.slug), 10).unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.tool == "workspace_rotate_bot_token" && e.outcome.starts_with("error"))
    );
}

/// `--deploy-key` puts a new pair on both sides and removes the old halves.
#[tokio::test]
async fn rotation_with_deploy_key_replaces_the_pair_on_both_sides() {
    let env = Env::new().await;
    env.provisioner().provision(&env.slug).await.unwrap();
    let before = env.store.provision_state(&env.slug).unwrap();
    let report = env
        .provisioner()
        .rotate_bot_token(&env.slug, true)
        .await
        .unwrap();
    assert_eq!(report.deploy_key.unwrap().outcome, StepOutcome::Created);
    let after = env.store.provision_state(&env.slug).unwrap();
    assert_ne!(after.ssh_public_key, before.ssh_public_key);
    assert_ne!(
        after.coolify_private_key_uuid,
        before.coolify_private_key_uuid
    );
    env.assert_provisioned_once("rotated key").await;
}

/// Rotating a workspace that was never provisioned says what to run.
#[tokio::test]
async fn rotation_needs_a_provisioned_workspace() {
    let env = Env::new().await;
    let err = env
        .provisioner()
        .rotate_bot_token(&env.slug, false)
        .await
        .unwrap_err();
    assert_eq!(err.status(), 503);
    assert!(err.hint().unwrap().contains("vibn workspace provision"));
}
