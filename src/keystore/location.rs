//! Where a keystore lives, from `VIBN_KEYSTORE` / `--keystore`: a SQLite file path, or
//! a `postgres://` / `postgresql://` URL (which travels through the same path-typed
//! setting). A URL may hold a password: `Location` shows it redacted everywhere
//! (`Display`, `Debug`), and only the connection itself sees the URL as given.

use std::path::{Path, PathBuf};

/// Where a keystore lives: `VIBN_KEYSTORE` (or `--keystore`) is a file path, or a
/// `postgres://` / `postgresql://` URL.
#[derive(Clone)]
pub enum Location {
    /// An embedded SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database.
    Postgres {
        /// The URL as given (may hold a password: never print it).
        url: String,
        /// The URL with any password replaced by `***`, for messages and logs.
        redacted: String,
    },
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_string())
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(path) => write!(f, "{}", path.display()),
            Location::Postgres { redacted, .. } => f.write_str(redacted),
        }
    }
}

/// True when `value` names a PostgreSQL database rather than a file.
pub fn is_postgres_url(value: &str) -> bool {
    let lower = value.trim_start().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

impl Location {
    /// The keystore `path` names (a URL travels through the same `--keystore` path).
    pub fn of(path: &Path) -> Location {
        match path.to_str() {
            Some(text) if is_postgres_url(text) => Location::Postgres {
                url: text.trim().to_string(),
                redacted: redact_url(text.trim()),
            },
            _ => Location::Sqlite(path.to_path_buf()),
        }
    }

    /// Which backend, as `vibn doctor` names it.
    pub fn backend(&self) -> &'static str {
        match self {
            Location::Sqlite(_) => "sqlite",
            Location::Postgres { .. } => "postgres",
        }
    }
}

/// `url` with the password of its user-info (and any `password=` parameter) hidden.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let mut out = url[..scheme_end + 3].to_string();
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            match userinfo.find(':') {
                Some(colon) => {
                    out.push_str(&userinfo[..colon]);
                    out.push_str(":***");
                }
                None => out.push_str(userinfo),
            }
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    let tail = &rest[authority_end..];
    // `?password=…` (libpq accepts it there too).
    let mut parts = tail.splitn(2, '?');
    out.push_str(parts.next().unwrap_or_default());
    if let Some(query) = parts.next() {
        let (query, fragment) = query
            .split_once('#')
            .map_or((query, None), |(q, f)| (q, Some(f)));
        let hidden: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => pair.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&hidden.join("&"));
        if let Some(f) = fragment {
            out.push('#');
            out.push_str(f);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_survive_redaction() {
        for (url, shown) in [
            (
                "postgres://vibn:s3cret@db:5432/ks",
                "postgres://vibn:***@db:5432/ks",
            ),
            ("postgresql://vibn@db/ks", "postgresql://vibn@db/ks"),
            (
                "postgres://u:p%40ss@h/ks?password=again&sslmode=disable",
                "postgres://u:***@h/ks?password=***&sslmode=disable",
            ),
            ("postgres://h/ks", "postgres://h/ks"),
            ("postgres://u:a@b@h/ks", "postgres://u:***@h/ks"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    #[test]
    fn only_postgres_urls_select_postgres() {
        for (value, backend) in [
            ("postgres://h/db", "postgres"),
            ("PostgreSQL://h/db", "postgres"),
            ("/var/lib/vibn/keystore.db", "sqlite"),
            ("postgres.db", "sqlite"),
            ("./postgres://x", "sqlite"),
        ] {
            assert_eq!(Location::of(Path::new(value)).backend(), backend, "{value}");
        }
    }
}
