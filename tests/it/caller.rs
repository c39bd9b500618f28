//! The per-call `Caller` (issue 11): one API instance serves many workspaces at once,
//! each call seeing only its own caller's data; and the one server registry matches
//! the CLI.

use std::path::PathBuf;

use clap::CommandFactory;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use vibn::api::caller::{Caller, Pinning};
use vibn::api::platform_api::{PlatformApi, PlatformParts};
use vibn::config::PinConfig;
use vibn::keystore::Store;
use vibn::mcp::registry;

fn params<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).unwrap()
}

/// Two workspaces' callers run through one `PlatformApi` at the same time; each saves
/// and lists memories, and neither ever sees the other's — on a SQLite keystore and on
/// a PostgreSQL one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_callers_of_two_workspaces_share_one_api_and_see_only_their_own() {
    let dir = tempfile::tempdir().unwrap();
    two_callers_share_one_api(dir.path().join("ks/keystore.db")).await;
    if let Some(server) = vibn_sandbox::postgres::shared() {
        two_callers_share_one_api(PathBuf::from(server.fresh_database())).await;
    }
}

/// Two servers pinned by one key on one PostgreSQL keystore are two replicas: after
/// the key is revoked (here by the CLI's store), the very next call through either is
/// refused, with the same 401 as any other bad key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_revoked_on_postgres_is_refused_by_every_replica_on_the_next_call() {
    let Some(server) = vibn_sandbox::postgres::shared() else {
        return;
    };
    let path = PathBuf::from(server.fresh_database());
    let store = Store::open(&path).unwrap();
    let slug = store.create_workspace("replica@x.io", None).unwrap().slug;
    let key = store.mint_workspace_key(&slug, "t", None, "cli").unwrap();
    let replicas: Vec<Pinning> = (0..2)
        .map(|_| {
            Pinning::from_config(&PinConfig {
                api_key: Some(SecretString::from(key.token.expose_secret().to_string())),
                expected_workspace: Some(slug.clone()),
                keystore: Some(path.clone()),
                keyring: None,
            })
        })
        .collect();
    for replica in &replicas {
        let caller = replica.caller("platform", "list_memory").await.unwrap();
        assert_eq!(caller.workspace().unwrap().slug, slug);
    }
    store.revoke_workspace_key(&slug, &key.record.id).unwrap();
    for replica in &replicas {
        let refused = replica.caller("platform", "list_memory").await.unwrap_err();
        assert_eq!(refused.status(), 401, "{refused:?}");
    }
}

async fn two_callers_share_one_api(path: PathBuf) {
    let store = Store::open(&path).unwrap();
    let mut pinnings = Vec::new();
    for owner in ["mark@x.io", "justine@x.io"] {
        let slug = store.create_workspace(owner, None).unwrap().slug;
        let key = store.mint_workspace_key(&slug, "t", None, "cli").unwrap();
        pinnings.push((
            slug,
            Pinning::from_config(&PinConfig {
                api_key: Some(SecretString::from(key.token.expose_secret().to_string())),
                expected_workspace: None,
                keystore: Some(path.clone()),
                keyring: None,
            }),
        ));
    }
    let api = PlatformApi::from_parts(PlatformParts {
        gitea: None,
        gitea_user: None,
        skills_repo: None,
        skills_dir: None,
        search: None,
        session: String::new(),
    });
    let mut tasks = Vec::new();
    for (slug, pinning) in pinnings {
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                let caller = pinning.caller("platform", "save_memory").await.unwrap();
                assert_eq!(caller.workspace().unwrap().slug, slug);
                api.save_memory(
                    &caller,
                    params(json!({"key": format!("{slug}-{i}"), "content": format!("of {slug}")})),
                )
                .await
                .unwrap();
                let caller = pinning.caller("platform", "list_memory").await.unwrap();
                let listed = api
                    .list_memory(&caller, params(json!({"limit": 100})))
                    .await
                    .unwrap();
                assert_eq!(listed.total, i + 1, "{slug} sees exactly its own");
                assert!(
                    listed.memories.iter().all(|m| m.key.starts_with(&slug)),
                    "{slug} saw another workspace's memory"
                );
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

/// An operator caller without a keystore is told what to configure, not given data.
#[tokio::test]
async fn a_caller_without_a_keystore_gets_a_503() {
    let api = PlatformApi::from_parts(PlatformParts {
        gitea: None,
        gitea_user: None,
        skills_repo: None,
        skills_dir: None,
        search: None,
        session: String::new(),
    });
    let e = api
        .list_memory(
            &Caller::operator("platform", "list_memory"),
            params(json!({})),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 503);
}

/// `vibn mcp`'s subcommands are exactly the registry's servers, in its order.
#[test]
fn the_cli_lists_exactly_the_registry_servers() {
    let cli = vibn::args::Cli::command();
    let mcp = cli.find_subcommand("mcp").unwrap();
    let from_cli: Vec<&str> = mcp.get_subcommands().map(|c| c.get_name()).collect();
    let from_registry: Vec<&str> = registry::SERVERS.iter().map(|s| s.name).collect();
    let mut sorted_cli = from_cli.clone();
    sorted_cli.sort_unstable();
    let mut sorted_registry = from_registry.clone();
    sorted_registry.sort_unstable();
    assert_eq!(sorted_cli, sorted_registry);
}

/// Every built server's tool names in the registry are the ones its router serves,
/// and every environment variable it lists is declared in `env_vars`.
#[test]
fn the_registry_describes_every_built_server() {
    for entry in registry::built() {
        assert!(!(entry.tools)().is_empty(), "{} has tools", entry.name);
        assert!(!entry.summary.is_empty());
        for var in entry.environment() {
            assert!(
                var.chars().all(|c| c.is_ascii_uppercase() || c == '_'),
                "{var}"
            );
        }
    }
    assert!(registry::find("control-plane").is_some());
}
