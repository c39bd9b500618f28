//! Secrets at rest: AES-256-GCM under a key derived (HKDF-SHA256) from
//! `VIBN_SECRETS_KEY`, in the envelope `0x01 ‖ key_id (4 bytes) ‖ nonce (12, random) ‖
//! ciphertext+tag`. The associated data binds each ciphertext to its table, column and
//! row id, so a blob copied to another row fails to open. The key id is a fingerprint
//! of the key, so a wrong key is reported as such instead of as a vague tag failure.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use hkdf::Hkdf;
use rand::TryRngCore;
use rand::rngs::OsRng;
use sha2::Sha256;
use zeroize::Zeroizing;

/// The envelope's format byte.
const FORMAT_V1: u8 = 1;
const NONCE_LEN: usize = 12;
const HEADER_LEN: usize = 1 + 4 + NONCE_LEN;
const INFO_AEAD: &[u8] = b"vibn/secrets/aes-256-gcm/v1";
const INFO_KEY_ID: &[u8] = b"vibn/secrets/key-id/v1";

/// Why a secret could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// No key was configured.
    #[error("VIBN_SECRETS_KEY is not set; generate one with `vibn secrets gen-key`")]
    MissingKey,
    /// The configured key is not base64 of 32 bytes.
    #[error("{var} is not valid: {reason}; generate one with `vibn secrets gen-key`")]
    BadKey { var: &'static str, reason: String },
    /// The envelope names a key that is neither the current nor the previous one.
    #[error(
        "secret was sealed with key id {found:08x}, which is neither VIBN_SECRETS_KEY \
         ({current:08x}) nor VIBN_SECRETS_KEY_PREVIOUS"
    )]
    UnknownKeyId { found: u32, current: u32 },
    /// The keystore's secrets were sealed with other keys.
    #[error(
        "VIBN_SECRETS_KEY does not match this keystore (its secrets are sealed with key id(s) \
         {known}); restore that key, or set it as VIBN_SECRETS_KEY_PREVIOUS and run \
         `vibn secrets rewrap`"
    )]
    KeyMismatch { known: String },
    /// Not a v1 envelope.
    #[error("secret is not a v1 envelope (corrupt or written by another program)")]
    Malformed,
    /// The tag did not verify: altered, moved to another row, or another key.
    #[error(
        "secret failed to authenticate: it was altered, moved from another row, or sealed with another key"
    )]
    Tampered,
}

/// A 256-bit master key and its derived AEAD key and id; wiped from memory on drop.
pub struct SecretKey {
    aead_key: Zeroizing<[u8; 32]>,
    id: u32,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey {{ id: {:08x}, key: [REDACTED] }}", self.id)
    }
}

impl SecretKey {
    /// Parse base64 (standard or URL-safe) of exactly 32 bytes; `var` names the setting.
    pub fn parse(var: &'static str, text: &str) -> Result<SecretKey, SecretError> {
        let bad = |reason: &str| SecretError::BadKey {
            var,
            reason: reason.to_string(),
        };
        let text = text.trim();
        let raw = Zeroizing::new(
            STANDARD
                .decode(text)
                .or_else(|_| URL_SAFE.decode(text))
                .map_err(|_| bad("it is not base64"))?,
        );
        let master: [u8; 32] = raw
            .as_slice()
            .try_into()
            .map_err(|_| bad(&format!("it decodes to {} bytes, not 32", raw.len())))?;
        let master = Zeroizing::new(master);
        let hk = Hkdf::<Sha256>::new(None, master.as_slice());
        let mut aead_key = Zeroizing::new([0u8; 32]);
        let mut id = [0u8; 4];
        hk.expand(INFO_AEAD, aead_key.as_mut_slice())
            .map_err(|_| bad("key derivation failed"))?;
        hk.expand(INFO_KEY_ID, &mut id)
            .map_err(|_| bad("key derivation failed"))?;
        Ok(SecretKey {
            aead_key,
            id: u32::from_be_bytes(id),
        })
    }

    /// A new random key as base64 (what `vibn secrets gen-key` prints).
    pub fn generate_base64() -> String {
        let mut raw = Zeroizing::new([0u8; 32]);
        OsRng
            .unwrap_err()
            .try_fill_bytes(raw.as_mut_slice())
            .unwrap_or_default();
        STANDARD.encode(raw.as_slice())
    }

    /// The key's fingerprint, written into every envelope it seals.
    pub fn id(&self) -> u32 {
        self.id
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(self.aead_key.as_slice().into())
    }
}

/// Where a ciphertext lives; bound into it as associated data.
#[derive(Debug, Clone, Copy)]
pub struct Aad<'a> {
    /// Table name.
    pub table: &'a str,
    /// Column name.
    pub column: &'a str,
    /// Row id.
    pub row_id: &'a str,
}

impl Aad<'_> {
    fn bytes(&self) -> Vec<u8> {
        let mut out = b"vibn/secret/v1".to_vec();
        for part in [self.table, self.column, self.row_id] {
            out.extend_from_slice(&(part.len() as u32).to_be_bytes());
            out.extend_from_slice(part.as_bytes());
        }
        out
    }
}

/// The current key (seals and opens) and an optional previous key (opens only).
#[derive(Debug)]
pub struct Keyring {
    current: SecretKey,
    previous: Option<SecretKey>,
}

impl Keyring {
    /// A keyring from the current key and, during rotation, the previous one.
    pub fn new(current: SecretKey, previous: Option<SecretKey>) -> Keyring {
        Keyring { current, previous }
    }

    /// The key that seals.
    pub fn current(&self) -> &SecretKey {
        &self.current
    }

    /// The decrypt-only key, if configured.
    pub fn previous(&self) -> Option<&SecretKey> {
        self.previous.as_ref()
    }

    /// Seal `plaintext` for the location `aad` under the current key.
    pub fn seal(&self, aad: Aad<'_>, plaintext: &[u8]) -> Vec<u8> {
        seal_with(&self.current, aad, plaintext)
    }

    /// Open an envelope sealed for `aad` with the current or the previous key.
    pub fn open(&self, aad: Aad<'_>, envelope: &[u8]) -> Result<Zeroizing<Vec<u8>>, SecretError> {
        let found = envelope_key_id(envelope).ok_or(SecretError::Malformed)?;
        let key = [Some(&self.current), self.previous.as_ref()]
            .into_iter()
            .flatten()
            .find(|k| k.id == found)
            .ok_or(SecretError::UnknownKeyId {
                found,
                current: self.current.id,
            })?;
        open_with(key, aad, envelope)
    }
}

/// The key id written in an envelope, if it is a v1 envelope.
pub fn envelope_key_id(envelope: &[u8]) -> Option<u32> {
    if envelope.len() < HEADER_LEN + 16 || envelope[0] != FORMAT_V1 {
        return None;
    }
    Some(u32::from_be_bytes([
        envelope[1],
        envelope[2],
        envelope[3],
        envelope[4],
    ]))
}

/// Seal with one specific key (used for key-check rows).
pub fn seal_with(key: &SecretKey, aad: Aad<'_>, plaintext: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    OsRng
        .unwrap_err()
        .try_fill_bytes(&mut nonce)
        .unwrap_or_default();
    let aad_bytes = aad.bytes();
    // Encryption with a valid 32-byte key and 12-byte nonce cannot fail for inputs
    // far below GCM's size limit; an empty ciphertext would then fail to open, loudly.
    let sealed = key
        .cipher()
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: &aad_bytes,
            },
        )
        .unwrap_or_default();
    let mut out = Vec::with_capacity(HEADER_LEN + sealed.len());
    out.push(FORMAT_V1);
    out.extend_from_slice(&key.id.to_be_bytes());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    out
}

/// Open with one specific key.
pub fn open_with(
    key: &SecretKey,
    aad: Aad<'_>,
    envelope: &[u8],
) -> Result<Zeroizing<Vec<u8>>, SecretError> {
    if envelope_key_id(envelope) != Some(key.id) {
        return Err(SecretError::Malformed);
    }
    let aad_bytes = aad.bytes();
    key.cipher()
        .decrypt(
            Nonce::from_slice(&envelope[5..HEADER_LEN]),
            Payload {
                msg: &envelope[HEADER_LEN..],
                aad: &aad_bytes,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| SecretError::Tampered)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretKey {
        SecretKey::parse("VIBN_SECRETS_KEY", &SecretKey::generate_base64()).unwrap()
    }

    const AAD: Aad<'static> = Aad {
        table: "workspaces",
        column: "gitea_bot_token_enc",
        row_id: "ws_1",
    };

    #[test]
    fn round_trip_with_fresh_nonces() {
        let ring = Keyring::new(key(), None);
        let a = ring.seal(AAD, b"pat-123");
        let b = ring.seal(AAD, b"pat-123");
        assert_ne!(a, b, "nonces must differ");
        assert_eq!(a[0], FORMAT_V1);
        assert_eq!(ring.open(AAD, &a).unwrap().as_slice(), b"pat-123");
    }

    #[test]
    fn flipping_any_byte_fails_cleanly() {
        let ring = Keyring::new(key(), None);
        let sealed = ring.seal(AAD, b"secret value");
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert!(ring.open(AAD, &bad).is_err(), "byte {i}");
        }
        assert!(ring.open(AAD, &sealed[..10]).is_err());
        assert!(ring.open(AAD, &[]).is_err());
    }

    #[test]
    fn a_ciphertext_moved_to_another_row_or_column_fails() {
        let ring = Keyring::new(key(), None);
        let sealed = ring.seal(AAD, b"x");
        for other in [
            Aad {
                row_id: "ws_2",
                ..AAD
            },
            Aad {
                column: "ssh_private_key_enc",
                ..AAD
            },
            Aad {
                table: "other",
                ..AAD
            },
        ] {
            assert_eq!(
                ring.open(other, &sealed).unwrap_err(),
                SecretError::Tampered
            );
        }
    }

    #[test]
    fn a_wrong_key_is_named_as_such() {
        let sealed = Keyring::new(key(), None).seal(AAD, b"x");
        let err = Keyring::new(key(), None).open(AAD, &sealed).unwrap_err();
        assert!(matches!(err, SecretError::UnknownKeyId { .. }), "{err:?}");
    }

    #[test]
    fn the_previous_key_still_opens_during_rotation() {
        let old_b64 = SecretKey::generate_base64();
        let old = SecretKey::parse("VIBN_SECRETS_KEY", &old_b64).unwrap();
        let sealed = Keyring::new(old, None).seal(AAD, b"rotating");
        let previous = SecretKey::parse("VIBN_SECRETS_KEY_PREVIOUS", &old_b64).unwrap();
        let ring = Keyring::new(key(), Some(previous));
        assert_eq!(ring.open(AAD, &sealed).unwrap().as_slice(), b"rotating");
    }

    #[test]
    fn keys_must_be_base64_of_32_bytes() {
        for bad in [
            "",
            "not base64!!",
            &STANDARD.encode([0u8; 16]),
            &STANDARD.encode([0u8; 33]),
        ] {
            let err = SecretKey::parse("VIBN_SECRETS_KEY", bad)
                .unwrap_err()
                .to_string();
            assert!(err.contains("vibn secrets gen-key"), "{err}");
        }
        assert!(SecretKey::parse("VIBN_SECRETS_KEY", &URL_SAFE.encode([7u8; 32])).is_ok());
    }

    #[test]
    fn debug_output_hides_the_key() {
        let text = format!("{:?}", Keyring::new(key(), None));
        assert!(text.contains("REDACTED"), "{text}");
    }
}
