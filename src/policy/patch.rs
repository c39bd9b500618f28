//! The fields an agent may change, and what each may hold (seed 003 §3.3–3.4): the
//! `patch` of `apps_update` and `databases_update`, and the `credentials` and `limits`
//! of `databases_create`. Each set is an allowlist with a value rule per field; anything
//! else is refused before Coolify sees it — in particular what would reach outside the
//! tenant (`connect_to_docker_network`, `custom_docker_run_options`, `custom_labels`,
//! `ports_mappings`) or bypass another guard (`domains`, `git_repository`, which have
//! their own tools). Values come back normalized (labels lowered, numbers as Coolify
//! wants them), ready to send.

use serde_json::{Map, Value};

use super::PolicyError;

/// What a field may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// An application or database name: a DNS label (lowered).
    Label,
    /// One line of text up to 1024 characters, or null.
    Description,
    /// A git branch (`policy::git_refs`).
    Branch,
    /// A commit: 7–64 hex digits, or `HEAD`.
    Commit,
    /// `nixpacks`, `railpack`, `static`, `dockerfile` or `dockercompose`.
    BuildPack,
    /// Ports, comma-separated (`3000`, `80,443`); a number is accepted.
    Ports,
    /// One line of shell, up to 4096 characters.
    Command,
    /// A path inside the repository or container: starts with `/`, no `..`.
    Path,
    /// true or false.
    Bool,
    /// A public port, 1024–65535.
    PublicPort,
    /// A non-negative integer (a numeric string is accepted).
    Count,
    /// A resource limit such as `512m`, `0.5`, `1024` (string or number).
    Limit,
    /// A container image reference (`postgres:17-alpine`).
    Image,
    /// A database identifier `^[A-Za-z_][A-Za-z0-9_]{0,62}$`.
    Identifier,
    /// A database password of the characters Coolify accepts.
    Password,
}

/// One field and its rule.
pub type Field = (&'static str, Rule);

/// `apps_update`'s `patch`.
pub const APP_PATCH: &[Field] = &[
    ("name", Rule::Label),
    ("description", Rule::Description),
    ("git_branch", Rule::Branch),
    ("git_commit_sha", Rule::Commit),
    ("build_pack", Rule::BuildPack),
    ("ports_exposes", Rule::Ports),
    ("install_command", Rule::Command),
    ("build_command", Rule::Command),
    ("start_command", Rule::Command),
    ("base_directory", Rule::Path),
    ("publish_directory", Rule::Path),
    ("dockerfile_location", Rule::Path),
    ("docker_compose_location", Rule::Path),
    ("health_check_enabled", Rule::Bool),
    ("health_check_path", Rule::Path),
    ("is_static", Rule::Bool),
    ("is_spa", Rule::Bool),
    ("is_auto_deploy_enabled", Rule::Bool),
    ("is_force_https_enabled", Rule::Bool),
    ("limits_memory", Rule::Limit),
    ("limits_cpus", Rule::Limit),
];

/// Fields of an application that other tools change, with the pointer to them.
const APP_ELSEWHERE: &[(&str, &str)] = &[
    ("domains", "set domains with apps_domains_set"),
    ("fqdn", "set domains with apps_domains_set"),
    (
        "git_repository",
        "re-point the repository with apps_rewire_git (repositories of the workspace org only)",
    ),
];

/// The limit fields of databases (`databases_update`, `databases_create`'s `limits`).
const LIMITS: &[Field] = &[
    ("limits_memory", Rule::Limit),
    ("limits_memory_swap", Rule::Limit),
    ("limits_memory_swappiness", Rule::Limit),
    ("limits_memory_reservation", Rule::Limit),
    ("limits_cpus", Rule::Limit),
    ("limits_cpuset", Rule::Limit),
    ("limits_cpu_shares", Rule::Limit),
];

/// `databases_update`'s `patch`.
pub const DATABASE_PATCH: &[Field] = &[
    ("name", Rule::Label),
    ("description", Rule::Description),
    ("image", Rule::Image),
    ("is_public", Rule::Bool),
    ("public_port", Rule::PublicPort),
    ("public_port_timeout", Rule::Count),
    ("limits_memory", Rule::Limit),
    ("limits_memory_swap", Rule::Limit),
    ("limits_memory_swappiness", Rule::Limit),
    ("limits_memory_reservation", Rule::Limit),
    ("limits_cpus", Rule::Limit),
    ("limits_cpuset", Rule::Limit),
    ("limits_cpu_shares", Rule::Limit),
];

/// `databases_create`'s `credentials`, per database type.
pub fn credential_fields(database_type: &str) -> &'static [Field] {
    use Rule::{Identifier as Id, Password as Pw};
    match database_type {
        "postgresql" => &[
            ("postgres_user", Id),
            ("postgres_password", Pw),
            ("postgres_db", Id),
        ],
        "mysql" => &[
            ("mysql_root_password", Pw),
            ("mysql_password", Pw),
            ("mysql_user", Id),
            ("mysql_database", Id),
        ],
        "mariadb" => &[
            ("mariadb_root_password", Pw),
            ("mariadb_password", Pw),
            ("mariadb_user", Id),
            ("mariadb_database", Id),
        ],
        "mongodb" => &[
            ("mongo_initdb_root_username", Id),
            ("mongo_initdb_root_password", Pw),
            ("mongo_initdb_database", Id),
        ],
        "redis" => &[("redis_password", Pw)],
        "keydb" => &[("keydb_password", Pw)],
        "dragonfly" => &[("dragonfly_password", Pw)],
        "clickhouse" => &[
            ("clickhouse_admin_user", Id),
            ("clickhouse_admin_password", Pw),
        ],
        _ => &[],
    }
}

/// Check `apps_update`'s patch; the normalized fields.
pub fn app_patch(patch: &Map<String, Value>) -> Result<Map<String, Value>, PolicyError> {
    checked("patch", patch, APP_PATCH, APP_ELSEWHERE, true)
}

/// Check `databases_update`'s patch; the normalized fields.
pub fn database_patch(patch: &Map<String, Value>) -> Result<Map<String, Value>, PolicyError> {
    checked("patch", patch, DATABASE_PATCH, &[], true)
}

/// Check `databases_create`'s `credentials` for `database_type`.
pub fn database_credentials(
    database_type: &str,
    credentials: &Map<String, Value>,
) -> Result<Map<String, Value>, PolicyError> {
    checked(
        "credentials",
        credentials,
        credential_fields(database_type),
        &[],
        false,
    )
}

/// Check `databases_create`'s `limits`.
pub fn database_limits(limits: &Map<String, Value>) -> Result<Map<String, Value>, PolicyError> {
    checked("limits", limits, LIMITS, &[], false)
}

fn checked(
    what: &'static str,
    given: &Map<String, Value>,
    fields: &'static [Field],
    elsewhere: &[(&str, &'static str)],
    must_change: bool,
) -> Result<Map<String, Value>, PolicyError> {
    if must_change && given.is_empty() {
        return Err(PolicyError::BadFieldValue {
            field: what.to_string(),
            reason: "it changes nothing; give at least one field".to_string(),
        });
    }
    let mut out = Map::new();
    for (field, value) in given {
        let Some((_, rule)) = fields.iter().find(|(name, _)| name == field) else {
            return Err(PolicyError::FieldNotAllowed {
                what,
                field: field.clone(),
                allowed: fields
                    .iter()
                    .map(|(name, _)| *name)
                    .collect::<Vec<_>>()
                    .join(", "),
                elsewhere: elsewhere
                    .iter()
                    .find(|(name, _)| name == field)
                    .map(|(_, hint)| *hint),
            });
        };
        let normalized = value_of(*rule, value).map_err(|reason| PolicyError::BadFieldValue {
            field: format!("{what}.{field}"),
            reason: reason.to_string(),
        })?;
        out.insert(field.clone(), normalized);
    }
    Ok(out)
}

fn one_line(text: &str, max: usize) -> Result<(), &'static str> {
    if text.chars().count() > max {
        return Err("it is too long");
    }
    if text.chars().any(char::is_control) {
        return Err("it has control characters or line breaks");
    }
    Ok(())
}

fn integer(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The value `value` normalized for `rule`, or why it does not fit.
pub fn value_of(rule: Rule, value: &Value) -> Result<Value, &'static str> {
    let text = value.as_str();
    match rule {
        Rule::Label => {
            let s = text.ok_or("expected a string")?;
            super::domain::app_label(s)
                .map(Value::from)
                .map_err(|_| "expected a name of a-z, 0-9 and '-' (1-63, no hyphen at an edge)")
        }
        Rule::Description => match value {
            Value::Null => Ok(Value::Null),
            Value::String(s) => one_line(s, 1024).map(|()| value.clone()),
            _ => Err("expected a string or null"),
        },
        Rule::Branch => {
            let s = text.ok_or("expected a string")?;
            super::git_refs::check_branch(s)
                .map(|()| value.clone())
                .map_err(|_| "expected a valid git branch name")
        }
        Rule::Commit => {
            let s = text.ok_or("expected a string")?;
            let hex = (7..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit());
            (hex || s == "HEAD")
                .then(|| value.clone())
                .ok_or("expected a commit sha (7-64 hex digits) or HEAD")
        }
        Rule::BuildPack => {
            let s = text.ok_or("expected a string")?;
            BUILD_PACKS
                .contains(&s)
                .then(|| value.clone())
                .ok_or("expected nixpacks, railpack, static, dockerfile or dockercompose")
        }
        Rule::Ports => {
            let s = match value {
                Value::Number(_) => value.to_string(),
                Value::String(s) => s.clone(),
                _ => return Err("expected ports such as \"3000\" or \"80,443\""),
            };
            let ok = !s.is_empty()
                && s.split(',').all(|p| {
                    p.parse::<u32>()
                        .is_ok_and(|n| (1..=65535).contains(&n) && !p.starts_with('+'))
                });
            ok.then(|| Value::from(s))
                .ok_or("expected ports such as \"3000\" or \"80,443\" (1-65535, no spaces)")
        }
        Rule::Command => {
            let s = text.ok_or("expected a string")?;
            one_line(s, 4096).map(|()| value.clone())
        }
        Rule::Path => {
            let s = text.ok_or("expected a string")?;
            one_line(s, 1024)?;
            if !s.starts_with('/') {
                return Err("expected a path starting with /");
            }
            if s.split('/').any(|part| part == "..") {
                return Err("a path may not contain ..");
            }
            Ok(value.clone())
        }
        Rule::Bool => match value {
            Value::Bool(_) => Ok(value.clone()),
            Value::String(s) if s == "true" || s == "false" => Ok(Value::Bool(s == "true")),
            _ => Err("expected true or false"),
        },
        Rule::PublicPort => integer(value)
            .filter(|p| (1024..=65535).contains(p))
            .map(Value::from)
            .ok_or("expected a port from 1024 to 65535"),
        Rule::Count => integer(value)
            .map(Value::from)
            .ok_or("expected a non-negative integer"),
        Rule::Limit => match value {
            Value::Number(n) if n.as_f64().is_some_and(|f| f >= 0.0) => Ok(value.clone()),
            Value::String(s)
                if !s.is_empty()
                    && s.len() <= 32
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b".,-".contains(&b)) =>
            {
                Ok(value.clone())
            }
            _ => Err("expected a limit such as \"512m\", \"0.5\" or 1024"),
        },
        Rule::Image => {
            let s = text.ok_or("expected a string")?;
            let ok = !s.is_empty()
                && s.len() <= 255
                && !s.starts_with('-')
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._/:@-".contains(&b));
            ok.then(|| value.clone())
                .ok_or("expected an image reference such as postgres:17-alpine")
        }
        Rule::Identifier => {
            let s = text.ok_or("expected a string")?;
            let mut bytes = s.bytes();
            let ok = bytes
                .next()
                .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
                && s.len() <= 63
                && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_');
            ok.then(|| value.clone())
                .ok_or("expected an identifier: a letter or _, then letters, digits or _ (<= 63)")
        }
        Rule::Password => {
            let s = text.ok_or("expected a string")?;
            let ok = !s.is_empty()
                && s.len() <= 255
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!@#%^*()_+-=[]{}:,.?/~".contains(&b));
            ok.then(|| value.clone()).ok_or(
                "expected a password of letters, digits and !@#%^*()_+-=[]{}:,.?/~ (no spaces, \
                 quotes, $, &, ; or \\)",
            )
        }
    }
}

/// The build packs Coolify creates applications with.
pub const BUILD_PACKS: [&str; 5] = [
    "nixpacks",
    "railpack",
    "static",
    "dockerfile",
    "dockercompose",
];

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn allowed_fields_come_back_normalized() {
        let out = app_patch(&map(json!({
            "name": "New-Name", "ports_exposes": 3000, "git_branch": "feature/x",
            "base_directory": "/app", "is_spa": "true", "description": null
        })))
        .unwrap();
        assert_eq!(out["name"], "new-name");
        assert_eq!(out["ports_exposes"], "3000");
        assert_eq!(out["is_spa"], true);
        assert_eq!(out["description"], Value::Null);
        let out = database_patch(&map(
            json!({"public_port": "5433", "limits_memory": "512m"}),
        ))
        .unwrap();
        assert_eq!(out["public_port"], 5433);
    }

    #[test]
    fn hostile_app_patches_are_refused() {
        let table = [
            json!({}),
            json!({"domains": "https://evil.com"}),
            json!({"fqdn": "https://evil.com"}),
            json!({"git_repository": "https://github.com/evil/x"}),
            json!({"connect_to_docker_network": true}),
            json!({"custom_docker_run_options": "-v /:/host --privileged"}),
            json!({"custom_labels": "dHJhZWZpaw=="}),
            json!({"ports_mappings": "22:22"}),
            json!({"project_uuid": "other"}),
            json!({"environment_id": 1}),
            json!({"post_deployment_command": "curl evil"}),
            json!({"name": "Evil Name"}),
            json!({"name": "a.b"}),
            json!({"name": 5}),
            json!({"git_branch": "--upload-pack=x"}),
            json!({"git_branch": "a..b"}),
            json!({"git_commit_sha": "zzzzzzz"}),
            json!({"build_pack": "docker"}),
            json!({"ports_exposes": "80; rm -rf /"}),
            json!({"ports_exposes": "0"}),
            json!({"ports_exposes": "70000"}),
            json!({"ports_exposes": "80, 443"}),
            json!({"ports_exposes": "+80"}),
            json!({"build_command": "npm run build\ncurl evil"}),
            json!({"base_directory": "app"}),
            json!({"base_directory": "/../../etc"}),
            json!({"dockerfile_location": "/a/../../b"}),
            json!({"is_spa": "yes"}),
            json!({"limits_memory": "512m; rm"}),
            json!({"description": "line\nbreak"}),
        ];
        for patch in table {
            assert!(app_patch(&map(patch.clone())).is_err(), "{patch}");
        }
        let Err(PolicyError::FieldNotAllowed { elsewhere, .. }) =
            app_patch(&map(json!({"domains": "x"})))
        else {
            panic!("domains allowed")
        };
        assert_eq!(elsewhere, Some("set domains with apps_domains_set"));
    }

    #[test]
    fn hostile_database_patches_and_credentials_are_refused() {
        for patch in [
            json!({}),
            json!({"postgres_password": "x"}),
            json!({"public_port": 22}),
            json!({"public_port": 70000}),
            json!({"is_public": 1}),
            json!({"image": "--privileged"}),
            json!({"image": "postgres; rm -rf /"}),
            json!({"destination_uuid": "x"}),
            json!({"limits_cpus": -1}),
        ] {
            assert!(database_patch(&map(patch.clone())).is_err(), "{patch}");
        }
        assert!(database_credentials("postgresql", &map(json!({"postgres_user": "app"}))).is_ok());
        for (kind, creds) in [
            ("postgresql", json!({"mysql_user": "app"})),
            ("postgresql", json!({"postgres_user": "1app"})),
            ("postgresql", json!({"postgres_user": "a-b"})),
            ("postgresql", json!({"postgres_password": "a b"})),
            ("postgresql", json!({"postgres_password": "a$b"})),
            ("postgresql", json!({"postgres_password": "a'b"})),
            ("postgresql", json!({"postgres_password": ""})),
            ("redis", json!({"postgres_password": "x"})),
            ("nosuch", json!({"x": "y"})),
        ] {
            assert!(
                database_credentials(kind, &map(creds.clone())).is_err(),
                "{kind} {creds}"
            );
        }
        assert!(database_limits(&map(json!({"limits_memory": "1g"}))).is_ok());
        assert!(database_limits(&map(json!({"image": "x"}))).is_err());
    }
}
