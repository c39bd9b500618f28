//! What an agent may create (seed 003 §3.4–3.5, §7.3): exactly the eight database types
//! Coolify supports, and exactly the allowlisted auth providers (Coolify one-click
//! service templates). Matching is exact: no case folding, no trimming, no aliases, so
//! the value sent upstream is always one of these constants.

use super::PolicyError;

/// The database types `databases_create` accepts (Coolify's `/databases/{type}`).
pub const DATABASE_TYPES: [&str; 8] = [
    "postgresql",
    "mysql",
    "mariadb",
    "mongodb",
    "redis",
    "keydb",
    "dragonfly",
    "clickhouse",
];

/// The auth providers `auth_create` accepts (Coolify service template keys).
pub const AUTH_PROVIDERS: [&str; 8] = [
    "pocketbase",
    "authentik",
    "keycloak",
    "keycloak-with-postgres",
    "pocket-id",
    "pocket-id-with-postgresql",
    "logto",
    "supertokens-with-postgresql",
];

/// The database type `input` names, or a refusal listing the eight.
pub fn database_type(input: &str) -> Result<&'static str, PolicyError> {
    DATABASE_TYPES
        .iter()
        .find(|t| **t == input)
        .copied()
        .ok_or_else(|| PolicyError::NotInAllowlist {
            what: "database type",
            given: input.to_string(),
            allowed: &DATABASE_TYPES,
        })
}

/// The auth provider `input` names, or a refusal listing the allowed ones.
pub fn auth_provider(input: &str) -> Result<&'static str, PolicyError> {
    auth_provider_of(input).ok_or_else(|| PolicyError::NotInAllowlist {
        what: "auth provider",
        given: input.to_string(),
        allowed: &AUTH_PROVIDERS,
    })
}

/// The allowlisted provider a Coolify `service_type` is, if any (how `auth_list`
/// classifies services).
pub fn auth_provider_of(service_type: &str) -> Option<&'static str> {
    AUTH_PROVIDERS.iter().find(|p| **p == service_type).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_allowed_value_is_accepted_as_itself() {
        for t in DATABASE_TYPES {
            assert_eq!(database_type(t), Ok(t));
        }
        for p in AUTH_PROVIDERS {
            assert_eq!(auth_provider(p), Ok(p));
        }
    }

    #[test]
    fn hostile_database_types_are_refused() {
        for input in [
            "",
            "postgres",
            "PostgreSQL",
            "POSTGRESQL",
            " postgresql",
            "postgresql ",
            "postgresql\n",
            "postgresql/../services",
            "postgresql?x=1",
            "mssql",
            "sqlite",
            "elasticsearch",
            "standalone-postgresql",
            "pоstgresql",
        ] {
            assert!(database_type(input).is_err(), "{input:?}");
        }
    }

    #[test]
    fn hostile_auth_providers_are_refused() {
        for input in [
            "",
            "PocketBase",
            "pocketbase ",
            "supertokens-with-mysql",
            "keycloak-with-postgresql",
            "wordpress",
            "n8n",
            "supabase",
            "pocketbase\0",
            "../pocketbase",
            "pocket_id",
            "lоgto",
        ] {
            assert!(auth_provider(input).is_err(), "{input:?}");
        }
        assert_eq!(auth_provider_of("wordpress"), None);
    }
}
