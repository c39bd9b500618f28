//! Fan-out benchmark: `list_all_issues` against the Gitea sandbox with injected latency
//! on every repository request, beside the ideal concurrent time measured in the same
//! run (one repository list, then one issue request, each waiting the injected latency).
//! DESIGN §9 target: ≤ 1.3× ideal.
//!
//! Run with `cargo bench --bench fanout`. Prints a table; nothing is asserted.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use secrecy::SecretString;
use vibn::api::caller::Caller;
use vibn::api::gitea_api::{GiteaApi, IssueStateParam, ListAllIssuesParams};
use vibn::clients::gitea::GiteaClient;
use vibn::clients::http::HttpConfig;
use vibn::policy::protected::ProtectedList;
use vibn_sandbox::gitea::{Fault, GiteaSandbox};

const LATENCY: Duration = Duration::from_millis(40);
const RUNS: usize = 7;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let data = tempfile::tempdir().unwrap();
    let sandbox = GiteaSandbox::start(data.path(), 0).await.unwrap();
    let state = sandbox.state();
    state.create_org("acme", &sandbox.admin_login());
    println!(
        "list_all_issues with {} ms injected on every request ({RUNS} runs, median)",
        LATENCY.as_millis()
    );
    println!(
        "{:>6} {:>12} {:>12} {:>8} {:>16} {:>8}",
        "repos", "ideal ms", "measured ms", "ratio", "ideal@fan-out ms", "ratio"
    );
    let mut made = 0;
    for repos in [8usize, 16, 40] {
        while made < repos {
            state
                .create_repo("acme", &format!("r{made:03}"), true)
                .unwrap();
            state.create_issue("acme", &format!("r{made:03}"), "an issue", &[]);
            made += 1;
        }
        state.clear_faults();
        state.inject_fault(Fault::Delay {
            path_prefix: "/api/v1/".into(),
            delay: LATENCY,
            times: u32::MAX,
        });
        let client = GiteaClient::new(
            &sandbox.api_url(),
            SecretString::from(sandbox.admin_token()),
            HttpConfig::default(),
        );
        let api = GiteaApi::with_client(
            Some(client.clone()),
            Some(sandbox.admin_login()),
            ProtectedList::empty(),
        );
        // Ideal: the repository list, then every issue request at once.
        let mut ideal = Vec::new();
        for _ in 0..RUNS {
            let t = Instant::now();
            let all = client.all_org_repos("acme", 1000).await.unwrap();
            let futures = all.iter().map(|r| {
                client.list_issues(
                    "acme",
                    &r.name,
                    vibn::clients::gitea::IssueState::Open,
                    &[],
                    1,
                    50,
                )
            });
            futures::future::join_all(futures).await;
            ideal.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let mut measured = Vec::new();
        for _ in 0..RUNS {
            let t = Instant::now();
            let out = api
                .list_all_issues(
                    &Caller::operator("gitea", "list_all_issues"),
                    ListAllIssuesParams {
                        state: IssueStateParam::Open,
                    },
                )
                .await
                .unwrap();
            measured.push(t.elapsed().as_secs_f64() * 1e3);
            assert_eq!(out.issues.len(), repos);
        }
        let (ideal, measured) = (median(ideal), median(measured));
        // The bounded fan-out's own ideal: ceil(repos / FAN_OUT) rounds after the list.
        let rounds = repos.div_ceil(vibn::api::gitea_api::FAN_OUT) as f64;
        let pages = repos.div_ceil(50) as f64;
        let bounded = LATENCY.as_secs_f64() * 1e3 * (pages + rounds);
        println!(
            "{repos:>6} {ideal:>12.1} {measured:>12.1} {:>7.2}x {bounded:>16.1} {:>7.2}x",
            measured / ideal,
            measured / bounded
        );
    }
    println!("target (DESIGN §9): fan-out tools ≤ 1.3× ideal concurrent time");
}
