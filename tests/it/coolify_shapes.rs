//! Issue 10 items 5 and 6 for Coolify: answers the real server or its spec allow are
//! read (the spec's bare-array deployment list, a state vibn does not know, a log that
//! is not the usual JSON list, project details without environments), and none is
//! turned into silence, a wait or a count of things not shown. The stand-in serves the
//! request and a `Rewrite` fault changes its real answer.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use vibn::api::caller::Caller;
use vibn::api::coolify_api::{
    DeployAppParams, GetAppStatusParams, GetDeploymentParams, ListAllAppsParams,
    ListDeploymentsParams,
};
use vibn_sandbox::coolify::{Edit, Fault};

use crate::coolify_support::Coolify;

const BUDGET: Duration = Duration::from_secs(20);

fn params<T: serde::de::DeserializeOwned>(args: Value) -> T {
    serde_json::from_value(args).unwrap()
}

/// An operator call (the tests call the API directly).
fn operator() -> Caller {
    Caller::operator("coolify", "test")
}

/// A project with applications `site` and `api`, and one deployment of `site` that
/// has finished; returns the stand-in, the app and the deployment.
async fn deployed() -> (Coolify, String, String) {
    let c = Coolify::start().await;
    let (project, _) = c.state().create_project("vibn-ws-acme");
    let site =
        c.state()
            .create_application(&project, "production", "site", "https://g.example/a/site");
    c.state()
        .create_application(&project, "production", "api", "https://g.example/a/api");
    let deployment = c
        .root_client()
        .deploy(&site, false)
        .await
        .unwrap()
        .deployment_uuid
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    (c, site, deployment)
}

fn rewrite(c: &Coolify, path_prefix: &str, edit: Edit, times: u32) {
    c.state().inject_fault(Fault::Rewrite {
        method: Some("GET".into()),
        path_prefix: path_prefix.into(),
        edit,
        times,
    });
}

/// The spec's shape of an application's deployments (a bare array, no count) is listed.
#[tokio::test]
async fn deployments_as_a_bare_array_are_listed() {
    let (c, site, deployment) = deployed().await;
    rewrite(
        &c,
        "/deployments/applications/",
        Edit::Take {
            pointer: "/deployments".into(),
        },
        1,
    );
    let out = c
        .api("", BUDGET)
        .list_deployments(
            &operator(),
            params::<ListDeploymentsParams>(json!({"uuid": site})),
        )
        .await
        .unwrap();
    assert_eq!(out.deployments.len(), 1);
    assert_eq!(out.deployments[0].deployment_uuid, deployment);
    assert_eq!(out.total, None, "a bare array carries no count");
}

/// get_app_status finds the latest deployment in the bare-array shape too.
#[tokio::test]
async fn app_status_reads_deployments_as_a_bare_array() {
    let (c, site, deployment) = deployed().await;
    rewrite(
        &c,
        "/deployments/applications/",
        Edit::Take {
            pointer: "/deployments".into(),
        },
        1,
    );
    let out = c
        .api("", BUDGET)
        .get_app_status(
            &operator(),
            params::<GetAppStatusParams>(json!({"uuid": site})),
        )
        .await
        .unwrap();
    assert_eq!(
        out.last_deployment_uuid.as_deref(),
        Some(deployment.as_str())
    );
}

/// deploy_app with wait reports a state vibn does not know at once instead of polling
/// it for the whole wait budget.
#[tokio::test]
async fn deploy_app_reports_an_unknown_state_instead_of_waiting() {
    let (c, site, _) = deployed().await;
    rewrite(
        &c,
        "/deployments/",
        Edit::Set {
            pointer: "/status".into(),
            value: json!("paused-by-operator"),
        },
        1000,
    );
    let started = Instant::now();
    let out = c
        .api("", Duration::from_secs(6))
        .deploy_app(
            &operator(),
            params::<DeployAppParams>(json!({"uuid": site, "wait": true})),
        )
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "waited {:?} on a state that may never change",
        started.elapsed()
    );
    assert_eq!(out.status, "paused-by-operator");
    assert!(!out.finished && !out.succeeded);
    let hint = out.hint.unwrap_or_default();
    assert!(hint.contains("paused-by-operator"), "{hint}");
}

/// A build log that is not the usual JSON list is shown as text, with a note saying so.
#[tokio::test]
async fn a_log_that_is_not_a_json_list_is_shown_with_a_note() {
    let (c, _, deployment) = deployed().await;
    rewrite(
        &c,
        &format!("/deployments/{deployment}"),
        Edit::Set {
            pointer: "/logs".into(),
            value: json!("Cloning\nBuild failed"),
        },
        1,
    );
    let out = c
        .api("", BUDGET)
        .get_deployment(
            &operator(),
            params::<GetDeploymentParams>(json!({"deployment_uuid": deployment})),
        )
        .await
        .unwrap();
    assert_eq!(out.log, ["Cloning", "Build failed"]);
    let note = out.note.unwrap_or_default();
    assert!(note.contains("plain text"), "{note}");
}

/// Issue 10 item 6: when project details carry no `environments` (the spec's Project
/// has none), list_all_apps still lists every application it counts.
#[tokio::test]
async fn list_all_apps_lists_every_application_it_counts() {
    let (c, _, _) = deployed().await;
    rewrite(
        &c,
        "/projects/",
        Edit::Remove {
            pointer: "/environments".into(),
        },
        100,
    );
    let out = c
        .api("", BUDGET)
        .list_all_apps(&operator(), params::<ListAllAppsParams>(json!({})))
        .await
        .unwrap();
    let listed: usize = out
        .projects
        .iter()
        .map(|p| p.applications.len())
        .sum::<usize>()
        + out.unassigned.len();
    assert_eq!(out.total, 2);
    assert_eq!(listed as u64, out.total, "{out:?}");
}

/// An environment without an `id` claims no application: a missing id never reads as
/// environment 0 (the tenancy join key).
#[tokio::test]
async fn an_environment_without_an_id_claims_no_application() {
    let (c, _, _) = deployed().await;
    rewrite(
        &c,
        "/projects/",
        Edit::Remove {
            pointer: "/environments/0/id".into(),
        },
        100,
    );
    c.state().inject_fault(Fault::Rewrite {
        method: Some("GET".into()),
        path_prefix: "/applications".into(),
        edit: Edit::Set {
            pointer: "/0/environment_id".into(),
            value: json!(0),
        },
        times: 1,
    });
    let out = c
        .api("", BUDGET)
        .list_all_apps(&operator(), params::<ListAllAppsParams>(json!({})))
        .await
        .unwrap();
    assert!(out.projects.is_empty(), "{out:?}");
    assert_eq!(out.unassigned.len(), 2, "{out:?}");
}
