//! The failure-injection matrix of provisioning (issue 12): for each step's upstream
//! call, a failure before the call takes effect ("refused": the stand-in answers 500
//! instead of handling it) and, for writes, a failure after it took effect ("lost": the
//! stand-in handles it, then answers 502, as a proxy that gave up would). The first run
//! stops at that step and records it; the next run completes exactly what is missing,
//! without duplicates (one project, org, bot, team membership, live token, key each
//! side).

use vibn::api::provision::Step;
use vibn::keystore::ProvisionStatus;
use vibn_sandbox::gitea::Fault;

use crate::provision_support::Env;

/// Which stand-in a fault goes to.
#[derive(Debug, Clone, Copy)]
enum Side {
    Gitea,
    Coolify,
}

/// How the call fails.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    /// Answered 500 without handling: nothing happened upstream.
    Refused,
    /// Handled, then answered 502: it happened upstream, vibn did not hear of it.
    Lost,
}

struct Case {
    side: Side,
    method: &'static str,
    path: &'static str,
    /// The step the first run stops at; `None` when the step is best effort and the
    /// run goes on.
    stops_at: Option<Step>,
}

fn cases() -> Vec<Case> {
    use Side::*;
    let case = |side, method, path, stops_at| Case {
        side,
        method,
        path,
        stops_at,
    };
    vec![
        case(Coolify, "POST", "/projects", Some(Step::CoolifyProject)),
        case(Coolify, "GET", "/projects", Some(Step::CoolifyProject)),
        case(Coolify, "GET", "/servers", Some(Step::CoolifyServer)),
        case(Gitea, "GET", "/orgs/vibn-mark", Some(Step::GiteaOrg)),
        case(Gitea, "POST", "/orgs", Some(Step::GiteaOrg)),
        case(Gitea, "GET", "/users/mark", None),
        case(Gitea, "POST", "/admin/users", Some(Step::GiteaBot)),
        case(
            Gitea,
            "POST",
            "/orgs/vibn-mark/teams",
            Some(Step::GiteaTeam),
        ),
        case(Gitea, "PUT", "/teams/", Some(Step::GiteaTeam)),
        case(
            Gitea,
            "POST",
            "/users/vibn-bot-mark/tokens",
            Some(Step::BotToken),
        ),
        case(
            Gitea,
            "GET",
            "/users/vibn-bot-mark/tokens",
            Some(Step::BotToken),
        ),
        case(
            Gitea,
            "POST",
            "/admin/users/vibn-bot-mark/keys",
            Some(Step::DeployKey),
        ),
        case(Coolify, "POST", "/security/keys", Some(Step::DeployKey)),
        case(Coolify, "GET", "/security/keys", Some(Step::DeployKey)),
    ]
}

/// Every (call × outcome): the first run stops at the right step and records it, the
/// second completes, and the stand-ins hold each thing exactly once.
#[tokio::test]
async fn each_step_failing_is_recorded_and_the_next_run_completes_it_without_duplicates() {
    let mut matrix = Vec::new();
    for case in cases() {
        let outcomes: &[Outcome] = if case.method == "GET" {
            &[Outcome::Refused]
        } else {
            &[Outcome::Refused, Outcome::Lost]
        };
        for outcome in outcomes {
            let name = format!("{:?} {} {} {outcome:?}", case.side, case.method, case.path);
            let env = Env::new().await;
            let fault = match outcome {
                // 500 is never retried, even for reads.
                Outcome::Refused => Fault::Status {
                    method: Some(case.method.into()),
                    path_prefix: case.path.into(),
                    status: 500,
                    times: 1,
                    retry_after: None,
                },
                Outcome::Lost => Fault::Lost {
                    method: Some(case.method.into()),
                    path_prefix: case.path.into(),
                    status: 502,
                    times: 1,
                },
            };
            match case.side {
                Side::Gitea => env.gitea.state().inject_fault(fault),
                Side::Coolify => env.coolify.state().inject_fault(fault),
            }
            let first = env.provisioner().provision(&env.slug).await.unwrap();
            let ws = env.store.require_workspace(&env.slug).unwrap();
            match case.stops_at {
                Some(step) => {
                    assert_eq!(first.status, ProvisionStatus::Error, "{name}: {first:#?}");
                    assert_eq!(first.failed_step, Some(step), "{name}: {first:#?}");
                    assert_eq!(ws.provision_status, "error", "{name}");
                    assert_eq!(ws.provision_step.as_deref(), Some(step.as_str()), "{name}");
                    let error = ws.provision_error.clone().unwrap_or_default();
                    assert!(
                        error.contains("50"),
                        "{name}: the error text is kept: {error}"
                    );
                }
                None => {
                    assert_eq!(first.status, ProvisionStatus::Ready, "{name}: {first:#?}");
                    assert!(!first.notes.is_empty(), "{name}: the failure is noted");
                }
            }
            let second = env.provisioner().provision(&env.slug).await.unwrap();
            assert_eq!(second.status, ProvisionStatus::Ready, "{name}: {second:#?}");
            env.assert_provisioned_once(&name).await;
            // And a third run changes nothing.
            env.clear_logs();
            env.provisioner().provision(&env.slug).await.unwrap();
            assert_eq!(env.upstream_writes(), Vec::<String>::new(), "{name}");
            matrix.push(format!(
                "{name}: first run {} at {:?}; second run ready",
                first.status.as_str(),
                first.failed_step.map(|s| s.as_str())
            ));
        }
    }
    assert_eq!(matrix.len(), 22);
}

/// A run that dies between two steps (nothing recorded as an error: the process was
/// killed) leaves `partial`; the next run completes it.
#[tokio::test]
async fn an_interrupted_run_leaves_partial_and_the_next_completes_it() {
    let env = Env::new().await;
    // Simulate a run killed after the Gitea org: its lease lapsed, its facts recorded.
    env.store
        .acquire_provision_lease(&env.slug, "killed-run", -1)
        .unwrap();
    let ws = env.store.require_workspace(&env.slug).unwrap();
    env.store
        .record_provision(
            &ws.id,
            "killed-run",
            -1,
            vibn::keystore::ProvisionRecord::Outcome {
                status: ProvisionStatus::Partial,
                step: None,
                error: None,
            },
        )
        .unwrap();
    assert_eq!(
        env.store
            .require_workspace(&env.slug)
            .unwrap()
            .provision_status,
        "partial"
    );
    let report = env.provisioner().provision(&env.slug).await.unwrap();
    assert_eq!(report.status, ProvisionStatus::Ready);
    env.assert_provisioned_once("after an interrupted run")
        .await;
}
