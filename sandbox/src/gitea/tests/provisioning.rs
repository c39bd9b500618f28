//! The provisioning endpoints the sandbox added for issue 12: admin deletion of a user's
//! SSH key, team edit (`PATCH /teams/{id}`) and a lost answer (the request takes effect,
//! the client gets an error).

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{As, Env};
use crate::gitea::Fault;

/// A valid ed25519 public key line (fixed bytes).
fn pubkey(n: u8) -> String {
    use base64::Engine as _;
    let mut blob = vec![0, 0, 0, 11];
    blob.extend_from_slice(b"ssh-ed25519");
    blob.extend_from_slice(&[0, 0, 0, 32]);
    blob.extend_from_slice(&[n; 32]);
    format!(
        "ssh-ed25519 {}",
        base64::engine::general_purpose::STANDARD.encode(blob)
    )
}

#[tokio::test]
async fn admins_delete_a_users_ssh_key_and_only_that_users() {
    let env = Env::new().await;
    env.user("bot", &["read:user"]);
    env.user("other", &["read:user"]);
    let k = env
        .post(
            "/admin/users/bot/keys",
            json!({"title": "a", "key": pubkey(1)}),
        )
        .await;
    assert_eq!(k.status, StatusCode::CREATED);
    let id = k.body["id"].as_i64().unwrap();
    let wrong = env
        .call(
            Method::DELETE,
            &format!("/admin/users/other/keys/{id}"),
            As::Admin,
            None,
        )
        .await;
    assert_eq!(wrong.status, StatusCode::NOT_FOUND);
    let token = env.state().create_token("other", "w", &["write:admin"]);
    let not_admin = env
        .call(
            Method::DELETE,
            &format!("/admin/users/bot/keys/{id}"),
            As::Token(&token),
            None,
        )
        .await;
    assert_eq!(not_admin.status, StatusCode::FORBIDDEN);
    let gone = env
        .call(
            Method::DELETE,
            &format!("/admin/users/bot/keys/{id}"),
            As::Admin,
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    assert!(env.state().keys_of("bot").is_empty());
    let again = env
        .call(
            Method::DELETE,
            &format!("/admin/users/bot/keys/{id}"),
            As::Admin,
            None,
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn team_edit_changes_settings_but_never_the_owners_team() {
    let env = Env::new().await;
    let admin = env.sb.admin_login();
    env.state().create_org("acme", &admin);
    let t = env
        .post(
            "/orgs/acme/teams",
            json!({"name": "Writers", "permission": "write", "units_map": {"repo.code": "write"}}),
        )
        .await;
    let id = t.body["id"].as_i64().unwrap();
    let edited = env
        .call(
            Method::PATCH,
            &format!("/teams/{id}"),
            As::Admin,
            Some(json!({"name": "Writers", "permission": "admin", "includes_all_repositories": true, "can_create_org_repo": true})),
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.body);
    assert_eq!(edited.body["permission"], "admin");
    assert_eq!(edited.body["units_map"]["repo.code"], "admin");
    assert_eq!(edited.body["includes_all_repositories"], true);
    let (perm, all, create, _) = env.state().team_of("acme", "Writers").unwrap();
    assert_eq!((perm.as_str(), all, create), ("admin", true, true));
    let owners = env.get("/orgs/acme/teams").await.body[0]["id"]
        .as_i64()
        .unwrap();
    let kept = env
        .call(
            Method::PATCH,
            &format!("/teams/{owners}"),
            As::Admin,
            Some(json!({"name": "Renamed", "permission": "read"})),
        )
        .await;
    assert_eq!(kept.body["name"], "Owners");
    assert_eq!(kept.body["permission"], "owner");
}

#[tokio::test]
async fn a_lost_answer_still_takes_effect() {
    let env = Env::new().await;
    env.state().inject_fault(Fault::Lost {
        method: Some("POST".into()),
        path_prefix: "/orgs".into(),
        status: 502,
        times: 1,
    });
    let a = env.post("/orgs", json!({"username": "lost"})).await;
    assert_eq!(a.status, StatusCode::BAD_GATEWAY);
    assert!(a.message().contains("injected fault"));
    assert!(
        env.state().find_account("lost").is_some(),
        "the org was made"
    );
    let b = env.post("/orgs", json!({"username": "lost"})).await;
    assert_eq!(
        b.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the fault is spent"
    );
}
