//! The pod-template digests of referenced Secret values: a changed value changes the digest, and
//! the Deployment rolls. Keyed (HMAC-SHA256 with the operator's roll key): a bare hash of a
//! password in the pod template would let anyone who can read Deployments test guesses offline.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::SecretValue;

/// Shorter keys are refused: the digest is only as hard to guess as the key.
pub const MIN_ROLL_KEY_LEN: usize = 32;

/// The operator's HMAC key. Stable across restarts (a new key rolls every Bookstore's pods once).
#[derive(Clone)]
pub struct RollKey(Vec<u8>);

#[derive(Debug, thiserror::Error)]
#[error(
    "the roll key has {0} bytes; it needs at least {MIN_ROLL_KEY_LEN} (e.g. `head -c 32 /dev/urandom | base64`)"
)]
pub struct RollKeyTooShort(usize);

impl RollKey {
    /// The key's bytes, but for one final line ending (a file written by `echo` ends in a
    /// newline that must not count); other bytes count as they are, so a raw binary key stays
    /// whole.
    pub fn new(bytes: &[u8]) -> Result<Self, RollKeyTooShort> {
        let key = bytes
            .strip_suffix(b"\r\n")
            .or_else(|| bytes.strip_suffix(b"\n"))
            .unwrap_or(bytes);
        if key.len() < MIN_ROLL_KEY_LEN {
            return Err(RollKeyTooShort(key.len()));
        }
        Ok(Self(key.to_vec()))
    }

    /// Hex HMAC-SHA256 of `value`, framed by what it is (`purpose`), so that equal values used
    /// for different things do not show equal digests.
    pub fn digest(&self, purpose: &str, value: &SecretValue) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(&(purpose.len() as u64).to_be_bytes());
        mac.update(purpose.as_bytes());
        mac.update(value.bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }
}

impl std::fmt::Debug for RollKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RollKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> RollKey {
        RollKey::new(text.as_bytes()).expect("long enough")
    }

    #[test]
    fn the_digest_changes_with_the_value_the_key_and_the_purpose() {
        let first = key("0123456789abcdef0123456789abcdef");
        let value = SecretValue::new(b"s3cret".to_vec());
        let digest = first.digest("database password", &value);
        assert_eq!(digest.len(), 64);
        assert_eq!(digest, first.digest("database password", &value), "stable");
        assert_ne!(
            digest,
            first.digest("database password", &SecretValue::new(b"s3cret!".to_vec()))
        );
        assert_ne!(digest, first.digest("write tokens", &value));
        let second = key("fedcba9876543210fedcba9876543210");
        assert_ne!(digest, second.digest("database password", &value));
        // Not the bare hash that anyone could recompute from a guess.
        assert_ne!(digest, super::super::hex_sha256(b"s3cret"));
    }

    #[test]
    fn the_key_is_long_enough_and_never_shown() {
        let error = RollKey::new(b"too short\n").expect_err("short");
        assert_eq!(error.0, 9, "the newline does not count");
        let raw = [b' '; 32];
        assert!(
            RollKey::new(&raw).is_ok(),
            "raw bytes count as they are, blanks too"
        );
        assert!(error.to_string().contains("at least 32"), "{error}");
        let shown = format!("{:?}", key("0123456789abcdef0123456789abcdef"));
        assert!(!shown.contains("0123"), "{shown}");
    }
}
