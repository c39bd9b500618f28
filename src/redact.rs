//! Redaction of credentials in text that may reach logs, errors or tool results.
//!
//! Two tools: `urls` masks `user:password@` in any URL inside a text, and `secret`
//! removes every occurrence of one known secret value (a token that has no pattern).

/// The text put in place of a credential.
pub const REDACTED: &str = "[redacted]";

/// Mask the userinfo of every `scheme://user[:password]@host` in `text`.
pub fn urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("://") {
        let (head, tail) = rest.split_at(pos + 3);
        out.push_str(head);
        let authority_end = tail
            .find(|c: char| {
                c == '/' || c == '?' || c == '#' || c.is_whitespace() || c == '"' || c == '\''
            })
            .unwrap_or(tail.len());
        let authority = &tail[..authority_end];
        match authority.rfind('@') {
            Some(at) => {
                out.push_str(REDACTED);
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[authority_end..];
    }
    out.push_str(rest);
    out
}

/// Replace every occurrence of `secret` in `text`; secrets shorter than 4 bytes are
/// left alone because masking them would shred ordinary text.
pub fn secret(text: &str, secret: &str) -> String {
    if secret.len() < 4 || !text.contains(secret) {
        return text.to_string();
    }
    text.replace(secret, REDACTED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_in_urls_is_masked() {
        let table = [
            (
                "https://bot:tok123@git.x.com/o/r.git",
                "https://[redacted]@git.x.com/o/r.git",
            ),
            ("To http://u@h:3000/o/r", "To http://[redacted]@h:3000/o/r"),
            (
                "fatal: 'https://a:b@h/x' and 'ssh://c@d/e'",
                "fatal: 'https://[redacted]@h/x' and 'ssh://[redacted]@d/e'",
            ),
            ("no url here", "no url here"),
            ("https://git.x.com/o/r.git", "https://git.x.com/o/r.git"),
            ("https://h/path?q=a@b", "https://h/path?q=a@b"),
        ];
        for (input, want) in table {
            assert_eq!(urls(input), want, "{input}");
        }
    }

    #[test]
    fn a_known_secret_is_removed_everywhere() {
        assert_eq!(
            secret("a tok123 b tok123", "tok123"),
            "a [redacted] b [redacted]"
        );
        assert_eq!(secret("abc", "ab"), "abc");
    }
}
