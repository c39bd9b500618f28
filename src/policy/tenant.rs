//! Tenant membership of Coolify resources: a resource belongs to a project when its
//! `environment_id` is one of the project's environments, or when it names the project's
//! uuid explicitly. (Coolify lists carry no project field; environment ids are integers,
//! and 0 is a real id — never test them for truthiness.)

/// A project as far as membership is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectScope {
    /// The project's uuid.
    pub uuid: String,
    /// The project's name.
    pub name: String,
    /// Integer ids of its environments.
    pub environment_ids: Vec<i64>,
}

/// True when a resource with `environment_id` / `project_uuid` belongs to `project`.
pub fn in_project(
    environment_id: Option<i64>,
    project_uuid: Option<&str>,
    project: &ProjectScope,
) -> bool {
    if let Some(uuid) = project_uuid.filter(|u| !u.is_empty()) {
        return uuid == project.uuid;
    }
    environment_id.is_some_and(|id| project.environment_ids.contains(&id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> ProjectScope {
        ProjectScope {
            uuid: "p1".into(),
            name: "vibn-ws-mark".into(),
            environment_ids: vec![0, 7],
        }
    }

    #[test]
    fn membership_by_environment_id_or_explicit_project() {
        let p = project();
        let table = [
            (Some(7), None, true),
            (Some(0), None, true),
            (Some(8), None, false),
            (None, None, false),
            (Some(8), Some("p1"), true),
            (Some(7), Some("p2"), false),
            (Some(7), Some(""), true),
        ];
        for (env, uuid, want) in table {
            assert_eq!(in_project(env, uuid, &p), want, "{env:?} {uuid:?}");
        }
    }
}
