//! The contract check against the discovery documents: bad requests are flagged (and
//! refused), good ones are not. The product side ends its Google flows with
//! `GoogleState::assert_no_violations()` (or `GET /_sandbox/violations` → 0).

use reqwest::Method;
use serde_json::{Value, json};

use super::Env;
use crate::google::validate::{Validator, configured_dir};

fn validator() -> Validator {
    Validator::load(&configured_dir()).expect("the discovery documents are in shared/specs/google")
}

fn problems(method: &str, path: &str, query: &str, body: &str) -> Vec<String> {
    validator()
        .check(method, path, query, body.as_bytes())
        .problems
}

#[test]
fn all_three_discovery_documents_load() {
    let v = validator();
    assert!(v.method_count() > 100, "{}", v.method_count());
    assert_eq!(v.api_of("dns.managedZones.create"), Some("dns"));
    assert_eq!(v.api_of("iam.projects.serviceAccounts.create"), Some("iam"));
    assert_eq!(v.api_of("storage.buckets.insert"), Some("storage"));
}

#[test]
fn good_requests_are_not_flagged() {
    let good = [
        (
            "POST",
            "/dns/v1/projects/p/managedZones",
            "",
            r#"{"name":"z","dnsName":"example.com.","description":"d","visibility":"public","labels":{"a":"b"}}"#,
        ),
        (
            "GET",
            "/dns/v1/projects/p/managedZones",
            "dnsName=example.com.&maxResults=10",
            "",
        ),
        (
            "PATCH",
            "/dns/v1/projects/p/managedZones/z/rrsets/www.example.com./CNAME",
            "",
            r#"{"name":"www.example.com.","type":"CNAME","ttl":300,"rrdatas":["a.example.net."]}"#,
        ),
        (
            "POST",
            "/dns/v1/projects/p/managedZones/z/changes",
            "",
            r#"{"additions":[{"name":"example.com.","type":"A","ttl":300,"rrdatas":["203.0.113.1"]}],"deletions":[]}"#,
        ),
        (
            "POST",
            "/v1/projects/p/serviceAccounts",
            "",
            r#"{"accountId":"vibn-ws-acme","serviceAccount":{"displayName":"d","description":"x"}}"#,
        ),
        (
            "GET",
            "/v1/projects/p/serviceAccounts/sa@p.iam.gserviceaccount.com",
            "",
            "",
        ),
        (
            "POST",
            "/v1/projects/p/serviceAccounts/sa@p.iam.gserviceaccount.com/keys",
            "",
            r#"{"privateKeyType":"TYPE_GOOGLE_CREDENTIALS_FILE","keyAlgorithm":"KEY_ALG_RSA_2048"}"#,
        ),
        (
            "POST",
            "/storage/v1/b",
            "project=p",
            r#"{"name":"b","location":"US","iamConfiguration":{"uniformBucketLevelAccess":{"enabled":true},"publicAccessPrevention":"enforced"}}"#,
        ),
        (
            "PUT",
            "/storage/v1/b/b/iam",
            "",
            r#"{"bindings":[{"role":"roles/storage.objectAdmin","members":["serviceAccount:x"]}],"etag":"CAE="}"#,
        ),
        (
            "POST",
            "/storage/v1/projects/p/hmacKeys",
            "serviceAccountEmail=sa%40p.iam.gserviceaccount.com",
            "",
        ),
        (
            "PUT",
            "/storage/v1/projects/p/hmacKeys/GOOG1E",
            "",
            r#"{"state":"INACTIVE","etag":"x"}"#,
        ),
        (
            "DELETE",
            "/storage/v1/projects/p/hmacKeys/GOOG1E",
            "prettyPrint=false",
            "",
        ),
    ];
    for (method, path, query, body) in good {
        assert_eq!(
            problems(method, path, query, body),
            Vec::<String>::new(),
            "{method} {path}?{query}"
        );
    }
}

#[test]
fn an_unknown_body_field_is_flagged_at_any_depth() {
    let top = problems(
        "POST",
        "/dns/v1/projects/p/managedZones",
        "",
        r#"{"name":"z","dnsName":"e.com.","colour":"blue"}"#,
    );
    assert_eq!(
        top,
        ["dns.managedZones.create: unknown field ManagedZone.colour"]
    );
    let deep = problems(
        "POST",
        "/storage/v1/b",
        "project=p",
        r#"{"name":"b","iamConfiguration":{"uniformBucketLevelAccess":{"enabld":true}}}"#,
    );
    assert_eq!(deep.len(), 1, "{deep:?}");
    assert!(
        deep[0].contains("uniformBucketLevelAccess.enabld"),
        "{deep:?}"
    );
    let in_array = problems(
        "POST",
        "/dns/v1/projects/p/managedZones/z/changes",
        "",
        r#"{"additions":[{"name":"a.","typ":"A"}]}"#,
    );
    assert!(in_array[0].contains("additions[0].typ"), "{in_array:?}");
    let wrong_type = problems(
        "POST",
        "/dns/v1/projects/p/managedZones/z/rrsets",
        "",
        r#"{"name":"a.","type":"A","rrdatas":"1.2.3.4"}"#,
    );
    assert!(
        wrong_type[0].contains("expected an array"),
        "{wrong_type:?}"
    );
}

#[test]
fn a_missing_required_parameter_is_flagged() {
    let no_project = problems("POST", "/storage/v1/b", "", r#"{"name":"b"}"#);
    assert_eq!(
        no_project,
        ["storage.buckets.insert: required query parameter \"project\" is missing"]
    );
    let no_email = problems("POST", "/storage/v1/projects/p/hmacKeys", "", "");
    assert_eq!(no_email.len(), 1, "{no_email:?}");
}

#[test]
fn a_wrong_method_unknown_path_or_query_parameter_is_flagged() {
    let wrong = problems("PUT", "/dns/v1/projects/p/managedZones", "", "{}");
    assert!(wrong[0].contains("method PUT does not apply"), "{wrong:?}");
    let nowhere = problems("GET", "/dns/v1/projects/p/zones", "", "");
    assert!(
        nowhere[0].starts_with("no discovery method matches"),
        "{nowhere:?}"
    );
    let unknown = problems("GET", "/dns/v1/projects/p/managedZones", "colour=blue", "");
    assert_eq!(
        unknown,
        ["dns.managedZones.list: unknown query parameter \"colour\""]
    );
    let bad_enum = problems("GET", "/storage/v1/b/b", "projection=everything", "");
    assert!(bad_enum[0].contains("projection"), "{bad_enum:?}");
    let body_on_get = problems("GET", "/storage/v1/b/b", "", r#"{"x":1}"#);
    assert!(
        body_on_get[0].contains("takes no request body"),
        "{body_on_get:?}"
    );
}

#[tokio::test]
async fn violations_are_refused_recorded_and_served() {
    let env = Env::new().await;
    let clean = env.control(Method::GET, "violations", Value::Null).await;
    assert_eq!(clean["enabled"], true);
    assert_eq!(clean["violations"], json!([]));
    let zones = format!("dns/v1/projects/{}/managedZones", env.project());
    let bad = env
        .api(
            Method::POST,
            &zones,
            json!({"name": "z", "dnsName": "z.com.", "colour": "blue"}),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(env.state().rrsets("z").is_empty());
    let nowhere = env
        .api(Method::GET, "dns/v1/nothing/here", Value::Null)
        .await;
    assert_eq!(nowhere.status, 404);
    let listed = env.control(Method::GET, "violations", Value::Null).await;
    let reasons: Vec<&str> = listed["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons[0].contains("ManagedZone.colour"));
    assert_eq!(listed["violations"][0]["method"], "POST");
    assert_eq!(env.state().violations().unwrap().len(), 2);
    env.control(Method::DELETE, "violations", Value::Null).await;
    // A good flow leaves none.
    assert_eq!(
        env.api(
            Method::POST,
            &zones,
            json!({"name": "z", "dnsName": "z.com.", "description": "ok"})
        )
        .await
        .status,
        200
    );
    env.state().assert_no_violations();
}

#[test]
fn every_operation_the_stand_in_serves_is_a_discovery_method() {
    let v = validator();
    let served = [
        "dns.managedZones.create",
        "dns.managedZones.list",
        "dns.managedZones.get",
        "dns.managedZones.delete",
        "dns.resourceRecordSets.create",
        "dns.resourceRecordSets.list",
        "dns.resourceRecordSets.get",
        "dns.resourceRecordSets.patch",
        "dns.resourceRecordSets.delete",
        "dns.changes.create",
        "dns.changes.get",
        "iam.projects.serviceAccounts.create",
        "iam.projects.serviceAccounts.list",
        "iam.projects.serviceAccounts.get",
        "iam.projects.serviceAccounts.delete",
        "iam.projects.serviceAccounts.keys.create",
        "iam.projects.serviceAccounts.keys.list",
        "iam.projects.serviceAccounts.keys.get",
        "iam.projects.serviceAccounts.keys.delete",
        "storage.buckets.insert",
        "storage.buckets.get",
        "storage.buckets.getIamPolicy",
        "storage.buckets.setIamPolicy",
        "storage.projects.hmacKeys.create",
        "storage.projects.hmacKeys.list",
        "storage.projects.hmacKeys.get",
        "storage.projects.hmacKeys.update",
        "storage.projects.hmacKeys.delete",
    ];
    for id in served {
        assert!(
            v.api_of(id).is_some(),
            "{id} is not in the discovery documents"
        );
    }
}

#[tokio::test]
async fn a_discovery_method_the_stand_in_does_not_serve_gets_501_not_a_violation() {
    let env = Env::new().await;
    let policies = format!("dns/v1/projects/{}/policies", env.project());
    let answer = env.api(Method::GET, &policies, Value::Null).await;
    assert_eq!(answer.status, 501, "{}", answer.body);
    assert!(
        answer.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("dns.policies.list")
    );
    env.state().assert_no_violations();
}
