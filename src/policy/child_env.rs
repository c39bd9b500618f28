//! Which environment variables a command started for the agent must not inherit.
//!
//! The agent runs arbitrary shell commands; the server's own credentials (Gitea and
//! Coolify tokens, the workspace key, the secrets key) must not be readable by them.

/// Name prefixes that belong to vibn or the upstreams it holds credentials for.
const SECRET_PREFIXES: [&str; 3] = ["VIBN_", "GITEA_", "COOLIFY_"];

/// Name fragments that mark a variable as a credential.
const SECRET_FRAGMENTS: [&str; 6] = ["TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL"];

/// True when a child process must not see the variable `name`.
pub fn is_withheld(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_PREFIXES.iter().any(|p| upper.starts_with(p))
        || SECRET_FRAGMENTS.iter().any(|f| upper.contains(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_vibn_settings_are_withheld() {
        for name in [
            "VIBN_API_KEY",
            "VIBN_READ_ONLY",
            "GITEA_API_TOKEN",
            "GITEA_USERNAME",
            "COOLIFY_API_URL",
            "GITHUB_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_ACCESS_KEY_ID",
            "DB_PASSWORD",
            "MYSQL_PASSWD",
            "openai_api_key",
            "Gitea_Api_Token",
            "SESSION_KEY",
            "GIT_CREDENTIALS",
        ] {
            assert!(is_withheld(name), "{name}");
        }
    }

    #[test]
    fn ordinary_variables_pass() {
        for name in [
            "PATH",
            "HOME",
            "LANG",
            "TERM",
            "USER",
            "CARGO_HOME",
            "RUST_LOG",
            "SHELL",
        ] {
            assert!(!is_withheld(name), "{name}");
        }
    }
}
