//! The workspace's deploy keypair: ed25519, made with the RustCrypto `ssh-key` crate
//! from 32 bytes of the OS RNG, in OpenSSH format (what Gitea takes as a public key and
//! Coolify loads as a private key). The private half exists only in memory, wiped on
//! drop, until it is handed to Coolify.

use rand::TryRngCore;
use rand::rngs::OsRng;
use secrecy::SecretString;
use ssh_key::private::Ed25519Keypair;
use ssh_key::{LineEnding, PrivateKey};
use zeroize::Zeroizing;

use crate::error::ApiError;

/// A fresh keypair: the public line for Gitea, the private key (PEM) for Coolify.
pub struct DeployKeyPair {
    /// `ssh-ed25519 AAAA…` (no comment).
    pub public: String,
    /// `-----BEGIN OPENSSH PRIVATE KEY-----…`; never logged, never stored by vibn.
    pub private_pem: SecretString,
}

impl std::fmt::Debug for DeployKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeployKeyPair")
            .field("public", &self.public)
            .field("private_pem", &"[REDACTED]")
            .finish()
    }
}

impl DeployKeyPair {
    /// Make a new keypair whose private key carries `comment`.
    pub fn generate(comment: &str) -> Result<DeployKeyPair, ApiError> {
        let failed = |e: &dyn std::fmt::Display| {
            ApiError::internal(format!("could not make the deploy keypair: {e}"))
        };
        let mut seed = Zeroizing::new([0u8; 32]);
        OsRng
            .try_fill_bytes(seed.as_mut_slice())
            .map_err(|e| failed(&e))?;
        let private = PrivateKey::new(Ed25519Keypair::from_seed(&seed).into(), comment)
            .map_err(|e| failed(&e))?;
        let pem = private.to_openssh(LineEnding::LF).map_err(|e| failed(&e))?;
        let line = private.public_key().to_openssh().map_err(|e| failed(&e))?;
        let public = line
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        Ok(DeployKeyPair {
            public,
            private_pem: SecretString::from(pem.as_str().to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn pairs_are_fresh_openssh_ed25519_and_hang_together() {
        let a = DeployKeyPair::generate("vibn-ws-x").unwrap();
        let b = DeployKeyPair::generate("vibn-ws-x").unwrap();
        assert!(a.public.starts_with("ssh-ed25519 AAAA"), "{}", a.public);
        assert_eq!(a.public.split_whitespace().count(), 2);
        assert_ne!(a.public, b.public);
        let pem = a.private_pem.expose_secret();
        assert!(pem.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
        let reloaded = PrivateKey::from_openssh(pem).unwrap();
        let line = reloaded.public_key().to_openssh().unwrap();
        assert!(line.starts_with(&a.public));
        assert!(!format!("{a:?}").contains("PRIVATE"));
    }
}
