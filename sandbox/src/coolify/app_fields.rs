//! Application columns as `ApplicationsController` knows them: the create and update
//! `$allowedFields` whitelists, the settings fields, the fields
//! `removeUnnecessaryFieldsFromRequest()` strips before `fill()`, the validation rules
//! of `sharedDataApplications()` the sandbox checks, the column defaults of a new row
//! and its API serialisation (secrets hidden unless `read:sensitive`). No handlers.

use std::time::SystemTime;

use serde_json::{Map, Value, json};

use super::domains::validate_domains;
use super::http::{Input, fmt_time};
use super::projects::destination_json;
use super::state::{App, Data};
use super::validate::{Errors, Rule, check, ports_csv};

/// `APPLICATION_SETTING_FIELDS` (stored in ApplicationSetting).
#[rustfmt::skip]
pub(crate) const SETTING_FIELDS: &[&str] = &[
    "is_git_submodules_enabled", "is_git_lfs_enabled", "is_git_shallow_clone_enabled",
    "disable_build_cache", "inject_build_args_to_dockerfile", "include_source_commit_in_build",
    "is_env_sorting_enabled", "is_pr_deployments_public_enabled", "stop_grace_period",
    "docker_images_to_keep", "is_gzip_enabled", "is_stripprefix_enabled",
    "is_raw_compose_deployment_enabled", "is_log_drain_enabled", "is_gpu_enabled", "gpu_driver",
    "gpu_count", "gpu_device_ids", "gpu_options", "is_consistent_container_name_enabled",
    "custom_internal_name",
];

/// Request fields the controllers copy into settings by hand (request name, setting).
pub(crate) const SETTING_ALIASES: &[(&str, &str)] = &[
    ("is_static", "is_static"),
    ("is_spa", "is_spa"),
    ("is_auto_deploy_enabled", "is_auto_deploy_enabled"),
    ("is_force_https_enabled", "is_force_https_enabled"),
    (
        "is_preview_deployments_enabled",
        "is_preview_deployments_enabled",
    ),
    ("connect_to_docker_network", "connect_to_docker_network"),
    ("use_build_server", "is_build_server_enabled"),
    ("use_build_secrets", "use_build_secrets"),
    (
        "is_container_label_escape_enabled",
        "is_container_label_escape_enabled",
    ),
    (
        "is_preserve_repository_enabled",
        "is_preserve_repository_enabled",
    ),
];

/// `create_application()` `$allowedFields` (without the settings fields).
#[rustfmt::skip]
pub(crate) const CREATE_ALLOWED: &[&str] = &[
    "project_uuid", "environment_name", "environment_uuid", "server_uuid", "destination_uuid",
    "type", "name", "description", "is_static", "is_spa", "is_auto_deploy_enabled",
    "is_force_https_enabled", "is_preview_deployments_enabled", "domains", "noindex_domains",
    "git_repository", "git_branch", "git_commit_sha", "private_key_uuid",
    "docker_registry_image_name", "docker_registry_image_tag", "build_pack", "install_command",
    "build_command", "start_command", "ports_exposes", "ports_mappings", "custom_network_aliases",
    "base_directory", "publish_directory", "health_check_enabled", "health_check_type",
    "health_check_command", "health_check_path", "health_check_port", "health_check_host",
    "health_check_method", "health_check_return_code", "health_check_scheme",
    "health_check_response_text", "health_check_interval", "health_check_timeout",
    "health_check_retries", "health_check_start_period", "limits_memory", "limits_memory_swap",
    "limits_memory_swappiness", "limits_memory_reservation", "limits_cpus", "limits_cpuset",
    "limits_cpu_shares", "custom_labels", "custom_docker_run_options", "post_deployment_command",
    "post_deployment_command_container", "pre_deployment_command",
    "pre_deployment_command_container", "manual_webhook_secret_github",
    "manual_webhook_secret_gitlab", "manual_webhook_secret_bitbucket",
    "manual_webhook_secret_gitea", "redirect", "github_app_uuid", "instant_deploy", "dockerfile",
    "dockerfile_location", "docker_compose_location", "docker_compose_raw",
    "docker_compose_custom_start_command", "docker_compose_custom_build_command",
    "docker_compose_domains", "watch_paths", "use_build_server", "use_build_secrets",
    "static_image", "custom_nginx_configuration", "is_http_basic_auth_enabled",
    "http_basic_auth_username", "http_basic_auth_password", "connect_to_docker_network",
    "force_domain_override", "autogenerate_domain", "is_container_label_escape_enabled", "tags",
    "is_preserve_repository_enabled", "preview_url_template", "max_restart_count",
];

/// `update_by_uuid()` `$allowedFields` (without the settings fields).
#[rustfmt::skip]
pub(crate) const PATCH_ALLOWED: &[&str] = &[
    "name", "description", "is_static", "is_spa", "is_auto_deploy_enabled",
    "is_force_https_enabled", "is_preview_deployments_enabled", "domains", "noindex_domains",
    "git_repository", "git_branch", "git_commit_sha", "docker_registry_image_name",
    "docker_registry_image_tag", "build_pack", "static_image", "install_command", "build_command",
    "start_command", "ports_exposes", "ports_mappings", "custom_network_aliases", "base_directory",
    "publish_directory", "health_check_enabled", "health_check_type", "health_check_command",
    "health_check_path", "health_check_port", "health_check_host", "health_check_method",
    "health_check_return_code", "health_check_scheme", "health_check_response_text",
    "health_check_interval", "health_check_timeout", "health_check_retries",
    "health_check_start_period", "limits_memory", "limits_memory_swap", "limits_memory_swappiness",
    "limits_memory_reservation", "limits_cpus", "limits_cpuset", "limits_cpu_shares",
    "custom_labels", "custom_docker_run_options", "post_deployment_command",
    "post_deployment_command_container", "pre_deployment_command",
    "pre_deployment_command_container", "watch_paths", "manual_webhook_secret_github",
    "manual_webhook_secret_gitlab", "manual_webhook_secret_bitbucket",
    "manual_webhook_secret_gitea", "dockerfile_location", "dockerfile_target_build",
    "docker_compose_location", "docker_compose_custom_start_command",
    "docker_compose_custom_build_command", "docker_compose_domains", "redirect", "instant_deploy",
    "use_build_server", "use_build_secrets", "custom_nginx_configuration",
    "is_http_basic_auth_enabled", "http_basic_auth_username", "http_basic_auth_password",
    "connect_to_docker_network", "force_domain_override", "is_container_label_escape_enabled",
    "is_preserve_repository_enabled", "preview_url_template", "max_restart_count",
];

/// What `removeUnnecessaryFieldsFromRequest()` strips before `fill()` (or what the
/// controllers handle apart: domains, settings, compose domains, noindex domains).
#[rustfmt::skip]
const NOT_COLUMNS: &[&str] = &[
    "project_uuid", "environment_name", "environment_uuid", "destination_uuid", "server_uuid",
    "type", "domains", "instant_deploy", "github_app_uuid", "private_key_uuid", "use_build_server",
    "use_build_secrets", "is_static", "is_spa", "is_auto_deploy_enabled", "is_force_https_enabled",
    "is_preview_deployments_enabled", "connect_to_docker_network", "force_domain_override",
    "autogenerate_domain", "is_container_label_escape_enabled", "is_preserve_repository_enabled",
    "docker_compose_raw", "tags", "docker_compose_domains", "noindex_domains",
];

/// Columns hidden unless the token can read sensitive data.
#[rustfmt::skip]
const SECRET_COLUMNS: &[&str] = &[
    "http_basic_auth_password", "manual_webhook_secret_github", "manual_webhook_secret_gitlab",
    "manual_webhook_secret_bitbucket", "manual_webhook_secret_gitea", "dockerfile",
    "docker_compose", "docker_compose_raw", "custom_labels", "private_key_id",
];

#[rustfmt::skip]
const BOOL_FIELDS: &[&str] = &[
    "is_static", "is_spa", "is_auto_deploy_enabled", "is_force_https_enabled", "use_build_secrets",
    "is_git_submodules_enabled", "is_git_lfs_enabled", "is_git_shallow_clone_enabled",
    "disable_build_cache", "inject_build_args_to_dockerfile", "include_source_commit_in_build",
    "is_env_sorting_enabled", "is_pr_deployments_public_enabled", "is_gzip_enabled",
    "is_stripprefix_enabled", "is_raw_compose_deployment_enabled", "is_log_drain_enabled",
    "is_gpu_enabled", "is_consistent_container_name_enabled", "health_check_enabled",
    "is_container_label_escape_enabled", "is_preserve_repository_enabled",
];

#[rustfmt::skip]
const NUMERIC_FIELDS: &[&str] = &[
    "health_check_return_code", "health_check_interval", "health_check_timeout",
    "health_check_retries", "health_check_start_period", "limits_memory_swappiness",
    "limits_cpu_shares",
];

#[rustfmt::skip]
const STRING_FIELDS: &[&str] = &[
    "git_repository", "limits_memory", "limits_memory_swap", "limits_memory_reservation",
    "limits_cpus", "preview_url_template",
];

/// Build packs (`BuildPackTypes`).
#[rustfmt::skip]
pub(crate) const BUILD_PACKS: &[&str] = &[
    "nixpacks", "static", "dockerfile", "dockercompose", "railpack",
];

fn domain_rule(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if v.as_str().is_some_and(|s| s.chars().count() > 2048) {
        out.push("The domains field must not be greater than 2048 characters.".to_string());
    }
    out.extend(validate_domains(v));
    out
}

/// The `sharedDataApplications()` rules the sandbox checks (type and format rules),
/// except those of `overridden` fields (the endpoint's own rules replace them, as
/// `array_merge` does).
pub(crate) fn check_shared(e: &mut Errors, input: &Input, overridden: &[&str]) {
    let check = |e: &mut Errors, input: &Input, f: &str, rules: &[Rule]| {
        if !overridden.contains(&f) {
            check(e, input, f, rules);
        }
    };
    for f in BOOL_FIELDS {
        check(e, input, f, &[Rule::Bool]);
    }
    for f in NUMERIC_FIELDS {
        check(e, input, f, &[Rule::Numeric]);
    }
    for f in STRING_FIELDS {
        check(e, input, f, &[Rule::Str]);
    }
    check(e, input, "name", &[Rule::Str, Rule::Max(255)]);
    check(e, input, "description", &[Rule::Nullable, Rule::Str]);
    check(e, input, "build_pack", &[Rule::In(BUILD_PACKS)]);
    check(e, input, "static_image", &[Rule::In(&["nginx:alpine"])]);
    check(
        e,
        input,
        "redirect",
        &[Rule::In(&["both", "www", "non-www"])],
    );
    check(
        e,
        input,
        "domains",
        &[Rule::Nullable, Rule::Str, Rule::Custom(domain_rule)],
    );
    check(
        e,
        input,
        "ports_exposes",
        &[Rule::Nullable, Rule::Str, Rule::Format(ports_csv)],
    );
    check(e, input, "ports_mappings", &[Rule::Nullable, Rule::Str]);
    check(
        e,
        input,
        "health_check_type",
        &[Rule::Str, Rule::In(&["http", "cmd"])],
    );
    check(
        e,
        input,
        "health_check_method",
        &[Rule::Str, Rule::In(&["GET", "HEAD", "POST", "OPTIONS"])],
    );
    check(
        e,
        input,
        "health_check_scheme",
        &[Rule::Str, Rule::In(&["http", "https"])],
    );
    check(
        e,
        input,
        "health_check_port",
        &[Rule::Nullable, Rule::Int, Rule::Min(1), Rule::Max(65535)],
    );
    check(e, input, "max_restart_count", &[Rule::Int, Rule::Min(0)]);
    check(
        e,
        input,
        "docker_compose_domains",
        &[Rule::Nullable, Rule::Array],
    );
    check(e, input, "noindex_domains", &[Rule::Nullable, Rule::Array]);
}

/// `ValidGitBranch` (simplified): letters, digits, `-_/.`, no `..`, not `HEAD`.
pub(crate) fn git_branch_ok(s: &str) -> bool {
    !s.is_empty()
        && s != "HEAD"
        && !s.contains("..")
        && !s.starts_with(['/', '.'])
        && !s.ends_with(['/', '.'])
        && !s.ends_with(".lock")
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_/.".contains(c))
}

/// `ValidGitRepositoryUrl`: the first message for a refused URL, if any.
pub(crate) fn git_repository_error(url: &str) -> Option<&'static str> {
    const DANGEROUS: &[char] = &[
        ';', '|', '&', '$', '`', '(', ')', '{', '}', '[', ']', '<', '>', '\n', '\r', '\0', '"',
        '\'', '\\', '!', '?', '*', '^', '%', '=', '+', '#',
    ];
    if url.contains(DANGEROUS) {
        return Some("The :attribute contains invalid characters.");
    }
    if url.contains("../") || url.contains("..\\") {
        return Some("The :attribute contains invalid patterns.");
    }
    if let Some(rest) = url.strip_prefix("git@") {
        let ok = rest.split_once(':').is_some_and(|(host, path)| {
            !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-".contains(c))
                && !path.is_empty()
                && path
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_/.~".contains(c))
        });
        return (!ok).then_some("The :attribute is not a valid SSH repository URL.");
    }
    if let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    {
        let host = rest
            .split(['/', ':'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if host.is_empty() || host.contains(char::is_whitespace) {
            return Some("The :attribute is not a valid URL.");
        }
        let is_ip = host.parse::<std::net::IpAddr>().is_ok();
        if is_ip {
            return Some("The :attribute cannot use IP addresses.");
        }
        if host == "localhost" || host.ends_with(".local") {
            return Some("The :attribute cannot point to internal hosts.");
        }
    }
    None
}

/// The columns of a new application row.
pub(crate) fn new_row(uuid: &str, environment_id: i64, destination_id: i64) -> Map<String, Value> {
    let now = fmt_time(SystemTime::now());
    let mut row = Map::new();
    for part in [
        json!({
            "uuid": uuid, "name": null, "description": null, "fqdn": null, "noindex_domains": null,
            "config_hash": null, "git_repository": null, "git_branch": "main",
            "git_commit_sha": "HEAD", "git_full_url": null, "docker_registry_image_name": null,
            "docker_registry_image_tag": null, "build_pack": "nixpacks",
            "static_image": "nginx:alpine", "install_command": null, "build_command": null,
        }),
        json!({
            "start_command": null, "ports_exposes": null, "ports_mappings": null,
            "custom_network_aliases": null, "base_directory": "/", "publish_directory": null,
            "health_check_enabled": false, "health_check_path": "/", "health_check_port": null,
            "health_check_host": "localhost", "health_check_method": "GET",
            "health_check_return_code": 200, "health_check_scheme": "http",
            "health_check_response_text": null, "health_check_interval": 5,
            "health_check_timeout": 5,
        }),
        json!({
            "health_check_retries": 10, "health_check_start_period": 5, "health_check_type": "http",
            "health_check_command": null, "limits_memory": "0", "limits_memory_swap": "0",
            "limits_memory_swappiness": 60, "limits_memory_reservation": "0", "limits_cpus": "0",
            "limits_cpuset": null, "limits_cpu_shares": 1024, "status": "exited:unhealthy",
            "preview_url_template": "{{pr_id}}.{{domain}}", "max_restart_count": 10,
            "destination_type": "App\\Models\\StandaloneDocker", "destination_id": destination_id,
        }),
        json!({
            "source_id": null, "source_type": null, "private_key_id": null,
            "environment_id": environment_id, "repository_project_id": null, "dockerfile": null,
            "dockerfile_location": "/Dockerfile", "custom_labels": null,
            "dockerfile_target_build": null, "manual_webhook_secret_github": null,
            "manual_webhook_secret_gitlab": null, "manual_webhook_secret_bitbucket": null,
            "manual_webhook_secret_gitea": null, "docker_compose_location": "/docker-compose.yaml",
            "docker_compose": null, "docker_compose_raw": null,
        }),
        json!({
            "docker_compose_domains": null, "docker_compose_custom_start_command": null,
            "docker_compose_custom_build_command": null, "swarm_replicas": 1,
            "swarm_placement_constraints": null, "custom_docker_run_options": null,
            "post_deployment_command": null, "post_deployment_command_container": null,
            "pre_deployment_command": null, "pre_deployment_command_container": null,
            "watch_paths": null, "custom_healthcheck_found": false, "redirect": "both",
            "compose_parsing_version": "5", "custom_nginx_configuration": null,
            "is_http_basic_auth_enabled": false,
        }),
        json!({
            "http_basic_auth_username": null, "http_basic_auth_password": null,
            "last_online_at": now, "created_at": now, "updated_at": now, "deleted_at": null,
        }),
    ] {
        if let Value::Object(m) = part {
            row.extend(m);
        }
    }
    row
}

/// The ApplicationSetting of a new application.
pub(crate) fn new_settings() -> Map<String, Value> {
    let v = json!({
        "is_static": false, "is_spa": false, "is_auto_deploy_enabled": true,
        "is_force_https_enabled": true, "is_preview_deployments_enabled": false,
        "is_build_server_enabled": false, "is_git_submodules_enabled": true,
        "is_git_lfs_enabled": true, "is_git_shallow_clone_enabled": true,
        "connect_to_docker_network": false, "is_debug_enabled": false, "is_gpu_enabled": false,
        "gpu_driver": "nvidia", "gpu_count": null, "gpu_device_ids": null, "gpu_options": null,
        "is_consistent_container_name_enabled": false, "custom_internal_name": null,
        "is_log_drain_enabled": false, "is_gzip_enabled": true, "is_stripprefix_enabled": true,
        "is_raw_compose_deployment_enabled": false, "is_container_label_escape_enabled": true,
        "is_container_label_readonly_enabled": true, "is_preserve_repository_enabled": false,
        "use_build_secrets": false, "disable_build_cache": false,
        "inject_build_args_to_dockerfile": true, "include_source_commit_in_build": false,
        "is_env_sorting_enabled": false, "is_pr_deployments_public_enabled": false,
        "stop_grace_period": null, "docker_images_to_keep": 2,
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Copy the input's column fields into `row` (`fill($request->only($allowedFields))`).
pub(crate) fn fill_columns(row: &mut Map<String, Value>, input: &Input, allowed: &[&str]) {
    for (k, v) in input {
        if allowed.contains(&k.as_str()) && !NOT_COLUMNS.contains(&k.as_str()) {
            row.insert(k.clone(), v.clone());
        }
    }
    row.insert("updated_at".into(), json!(fmt_time(SystemTime::now())));
}

/// Copy the input's settings fields (both the listed and the hand-copied ones).
pub(crate) fn fill_settings(settings: &mut Map<String, Value>, input: &Input) {
    for (req, key) in SETTING_ALIASES {
        if let Some(v) = input.get(*req).filter(|v| !v.is_null()) {
            settings.insert(key.to_string(), v.clone());
        }
    }
    for f in SETTING_FIELDS {
        if let Some(v) = input.get(*f) {
            settings.insert(f.to_string(), v.clone());
        }
    }
}

/// The API form of an application: its columns (secrets only when `sensitive`), the
/// appended `server_status`, its `destination` with the nested server, and `settings`
/// when `with_settings` (GET one).
pub(crate) fn app_json(d: &Data, app: &App, sensitive: bool, with_settings: bool) -> Value {
    let mut row = app.row.clone();
    if !sensitive {
        for k in SECRET_COLUMNS {
            row.remove(*k);
        }
    }
    row.insert("server_status".into(), json!(true));
    row.insert("additional_servers".into(), json!([]));
    if let Some(s) = d.server(app.server_id) {
        row.insert("destination".into(), destination_json(s));
    }
    if with_settings {
        row.insert("settings".into(), Value::Object(app.settings.clone()));
    }
    Value::Object(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_repository_rule_refuses_ips_internal_hosts_and_shell_characters() {
        assert_eq!(
            git_repository_error("https://github.com/coollabsio/coolify"),
            None
        );
        assert_eq!(git_repository_error("git@github.com:acme/site.git"), None);
        assert_eq!(
            git_repository_error("http://127.0.0.1:3000/acme/site.git"),
            Some("The :attribute cannot use IP addresses.")
        );
        assert_eq!(
            git_repository_error("http://localhost:3000/acme/site.git"),
            Some("The :attribute cannot point to internal hosts.")
        );
        assert_eq!(
            git_repository_error("https://x.com/a;rm -rf"),
            Some("The :attribute contains invalid characters.")
        );
        assert!(git_branch_ok("feature/x-1") && !git_branch_ok("HEAD") && !git_branch_ok("a..b"));
    }
}
