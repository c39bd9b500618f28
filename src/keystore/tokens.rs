//! Token format: `vibn_sk_` (workspace key) or `vibn_at_` (admin org token), then 43
//! base62 characters from the OS RNG (≈256 bits), then a 6-character base62 CRC32 of
//! everything before it — so secret scanners (and we) can reject look-alikes offline.
//! Only the SHA-256 of the whole token is ever stored.

use rand::TryRngCore;
use rand::distr::{Alphanumeric, Distribution};
use rand::rngs::OsRng;
use secrecy::SecretString;
use sha2::{Digest, Sha256};

/// Random characters after the prefix.
pub const BODY_LEN: usize = 43;
/// Checksum characters at the end.
pub const CHECKSUM_LEN: usize = 6;
/// Random characters shown in a display hint.
pub const HINT_CHARS: usize = 8;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The two kinds of token vibn issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A workspace API key (`vibn_sk_…`), pinned to one workspace.
    WorkspaceKey,
    /// An admin org token (`vibn_at_…`).
    AdminToken,
}

impl TokenKind {
    /// The fixed prefix of this kind.
    pub fn prefix(self) -> &'static str {
        match self {
            TokenKind::WorkspaceKey => "vibn_sk_",
            TokenKind::AdminToken => "vibn_at_",
        }
    }

    /// Total length of a token of this kind.
    pub fn token_len(self) -> usize {
        self.prefix().len() + BODY_LEN + CHECKSUM_LEN
    }
}

/// A freshly minted token: the plaintext (shown once) and what is stored.
pub struct Minted {
    /// The token itself; never stored, shown once.
    pub token: SecretString,
    /// SHA-256 of the token, the only form stored.
    pub hash: [u8; 32],
    /// Prefix plus the first random characters, for display.
    pub hint: String,
}

/// Mint a new token of `kind`.
pub fn mint(kind: TokenKind) -> Minted {
    let mut rng = OsRng.unwrap_err();
    let body: String = Alphanumeric
        .sample_iter(&mut rng)
        .take(BODY_LEN)
        .map(char::from)
        .collect();
    let head = format!("{}{body}", kind.prefix());
    let token = format!("{head}{}", checksum(&head));
    Minted {
        hash: hash(&token),
        hint: hint(kind, &token),
        token: SecretString::from(token),
    }
}

/// True when `token` has the exact shape of `kind`, checksum included.
pub fn is_well_formed(kind: TokenKind, token: &str) -> bool {
    if token.len() != kind.token_len() || !token.starts_with(kind.prefix()) {
        return false;
    }
    let (head, sum) = token.split_at(token.len() - CHECKSUM_LEN);
    head[kind.prefix().len()..]
        .bytes()
        .all(|b| b.is_ascii_alphanumeric())
        && sum.bytes().all(|b| b.is_ascii_alphanumeric())
        && checksum(head) == sum
}

/// SHA-256 of the whole token string.
pub fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The display hint: prefix plus the first `HINT_CHARS` random characters.
pub fn hint(kind: TokenKind, token: &str) -> String {
    let end = (kind.prefix().len() + HINT_CHARS).min(token.len());
    token[..end].to_string()
}

/// CRC32 (IEEE) of `head` as 6 base62 digits, zero-padded.
fn checksum(head: &str) -> String {
    let mut n = crc32fast::hash(head.as_bytes());
    let mut digits = [b'0'; CHECKSUM_LEN];
    for slot in digits.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8_lossy(&digits).into_owned()
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn minted_tokens_have_the_published_shape() {
        for kind in [TokenKind::WorkspaceKey, TokenKind::AdminToken] {
            let m = mint(kind);
            let t = m.token.expose_secret();
            assert_eq!(t.len(), kind.token_len());
            assert!(t.starts_with(kind.prefix()));
            assert!(
                t[kind.prefix().len()..]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric()),
                "{t}"
            );
            assert!(is_well_formed(kind, t));
            assert_eq!(m.hash, hash(t));
            assert_eq!(m.hint, t[..kind.prefix().len() + HINT_CHARS]);
        }
    }

    #[test]
    fn a_thousand_mints_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            assert!(
                seen.insert(
                    mint(TokenKind::WorkspaceKey)
                        .token
                        .expose_secret()
                        .to_string()
                )
            );
        }
    }

    #[test]
    fn altered_tokens_fail_the_offline_check() {
        let m = mint(TokenKind::WorkspaceKey);
        let t = m.token.expose_secret().to_string();
        let mut flipped = t.clone().into_bytes();
        let i = 20;
        flipped[i] = if flipped[i] == b'a' { b'b' } else { b'a' };
        let flipped = String::from_utf8(flipped).unwrap();
        let other_kind = t.replacen("vibn_sk_", "vibn_at_", 1);
        for bad in [
            flipped.as_str(),
            other_kind.as_str(),
            &t[..t.len() - 1],
            &format!("{t}x"),
            "",
            "vibn_sk_",
            &t.replace(&t[10..11], "-"),
        ] {
            assert!(!is_well_formed(TokenKind::WorkspaceKey, bad), "{bad}");
        }
        assert!(!is_well_formed(TokenKind::AdminToken, &t));
    }

    #[test]
    fn checksum_is_six_base62_digits() {
        assert_eq!(checksum("").len(), 6);
        assert_eq!(checksum("vibn_sk_x"), checksum("vibn_sk_x"));
        assert_ne!(checksum("vibn_sk_x"), checksum("vibn_sk_y"));
    }
}
