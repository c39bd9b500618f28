//! Environment variable keys an agent may set (seed 003 §7.3): `^[A-Z_][A-Z0-9_]*$`,
//! at most 255 characters (Coolify's limit). Nothing is trimmed or upper-cased: a key
//! that is not already in that form is refused, so what is stored is what was asked for.

use super::PolicyError;

/// Longest key Coolify stores.
pub const MAX_KEY: usize = 255;

/// Refuse a key outside `^[A-Z_][A-Z0-9_]*$` (or longer than 255).
pub fn check(key: &str) -> Result<(), PolicyError> {
    let refuse = |reason: &'static str| {
        Err(PolicyError::BadEnvKey {
            key: key.to_string(),
            reason,
        })
    };
    let Some(first) = key.bytes().next() else {
        return refuse("it is empty");
    };
    if key.len() > MAX_KEY {
        return refuse("it is longer than 255 characters");
    }
    if !(first.is_ascii_uppercase() || first == b'_') {
        return refuse("it must start with A-Z or _");
    }
    if !key
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    {
        return refuse("it may contain only A-Z, 0-9 and _");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_snake_keys_are_accepted() {
        for key in ["DATABASE_URL", "A", "_", "_X1", "X_1_2", "NEXT_PUBLIC_API"] {
            assert_eq!(check(key), Ok(()), "{key}");
        }
        assert!(check(&"A".repeat(255)).is_ok());
    }

    #[test]
    fn hostile_keys_are_refused() {
        let long = "A".repeat(256);
        let table = [
            "",
            "database_url",
            "Database_Url",
            "1ABC",
            "9",
            "A-B",
            "A.B",
            "A B",
            " A",
            "A ",
            "A\n",
            "A\0",
            "A=B",
            "A;B",
            "$(id)",
            "`id`",
            "A$B",
            "ÄPFEL",
            "Ａ",
            "A\u{200b}",
            "-A",
            "A/B",
            long.as_str(),
        ];
        for key in table {
            assert!(
                matches!(check(key), Err(PolicyError::BadEnvKey { .. })),
                "{key:?}"
            );
        }
    }
}
