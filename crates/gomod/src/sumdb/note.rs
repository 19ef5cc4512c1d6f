//! Signed notes (x/mod `sumdb/note`): verifier keys.
//!
//! A verifier key is `<name>+<hash>+<key>`: the signer's name, 8 hex digits of key hash
//! (the first four bytes, big-endian, of SHA-256 of `name`, a newline and the key), and the
//! key in standard base64, an algorithm byte (1: Ed25519) then the public key.

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use sha2::{Digest, Sha256};

/// Why a verifier key was refused, with x/mod's texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// The key is not `name+hash+base64`, the name is invalid, or the key is empty or of
    /// the wrong length.
    #[error("malformed verifier id")]
    VerifierId,
    /// The algorithm byte is not Ed25519's.
    #[error("unknown verifier algorithm")]
    VerifierAlg,
    /// The hash does not match the name and key.
    #[error("invalid verifier hash")]
    VerifierHash,
}

/// The algorithm byte of Ed25519 keys.
const ALG_ED25519: u8 = 1;

/// Go's `base64.StdEncoding`: padding required, non-zero trailing bits accepted.
const GO_STD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
        .with_decode_allow_trailing_bits(true),
);

/// A parsed verifier key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    name: String,
    hash: u32,
    key: [u8; 32],
}

/// Whether `name` can name a signer: non-empty, no Unicode space, no `+`.
fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(char::is_whitespace) && !name.contains('+')
}

/// The key hash of `name` and `key` (algorithm byte included).
pub fn key_hash(name: &str, key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update(key);
    let sum = h.finalize();
    u32::from_be_bytes([sum[0], sum[1], sum[2], sum[3]])
}

impl Verifier {
    /// Parses an encoded verifier key, as x/mod's `note.NewVerifier`.
    pub fn new(vkey: &str) -> Result<Verifier, NoteError> {
        let (name, rest) = vkey.split_once('+').unwrap_or((vkey, ""));
        let (hash16, key64) = rest.split_once('+').unwrap_or((rest, ""));
        let hash = u32::from_str_radix(hash16, 16).ok();
        let key = GO_STD.decode(key64).ok();
        let (Some(hash), Some(key)) = (hash, key) else {
            return Err(NoteError::VerifierId);
        };
        if hash16.len() != 8 || !is_valid_name(name) || key.is_empty() {
            return Err(NoteError::VerifierId);
        }
        if hash != key_hash(name, &key) {
            return Err(NoteError::VerifierHash);
        }
        if key[0] != ALG_ED25519 {
            return Err(NoteError::VerifierAlg);
        }
        let key: [u8; 32] = key[1..].try_into().map_err(|_| NoteError::VerifierId)?;
        Ok(Verifier {
            name: name.to_string(),
            hash,
            key,
        })
    }

    /// The signer's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key hash.
    pub fn key_hash(&self) -> u32 {
        self.hash
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> &[u8; 32] {
        &self.key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The go command's built-in key for sum.golang.org (cmd/go/internal/modfetch/key.go).
    const SUM_GOLANG_ORG: &str =
        "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";
    /// The go command's test database (cmd/go/proxy_test.go).
    const TEST_DB: &str =
        "localhost.localdev/sumdb+00000c67+AcTrnkbUA+TU4heY3hkjiSES/DSQniBqIeQ/YppAUtK6";

    #[test]
    fn real_keys_parse() {
        let v = Verifier::new(SUM_GOLANG_ORG).unwrap();
        assert_eq!((v.name(), v.key_hash()), ("sum.golang.org", 0x033de0ae));
        let v = Verifier::new(TEST_DB).unwrap();
        assert_eq!(
            (v.name(), v.key_hash()),
            ("localhost.localdev/sumdb", 0x00000c67)
        );
    }

    // x/mod's note_test.go TestNewVerifier: every proper substring and every one-byte
    // change of a good key is refused, and so are a wrong-length key and an unknown
    // algorithm whose hashes were adjusted.
    #[test]
    fn every_mangling_of_a_key_is_refused() {
        let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
        Verifier::new(vkey).unwrap();
        let b = vkey.as_bytes();
        for i in 0..=b.len() {
            for j in i + 1..=b.len() {
                if i != 0 || j != b.len() {
                    let k = String::from_utf8_lossy(&b[i..j]);
                    assert!(Verifier::new(&k).is_err(), "{k}");
                }
            }
        }
        for i in 0..b.len() {
            let mut m = b.to_vec();
            m[i] = m[i].wrapping_add(1);
            let k = String::from_utf8_lossy(&m);
            assert!(Verifier::new(&k).is_err(), "{k}");
        }
        assert_eq!(
            Verifier::new(
                "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
            ),
            Err(NoteError::VerifierId)
        );
        assert_eq!(
            Verifier::new("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
            Err(NoteError::VerifierAlg)
        );
    }

    // The error each kind of damage gets (the texts of x/mod's note.go).
    #[test]
    fn damaged_keys_are_refused_with_go_texts() {
        let (name, rest) = SUM_GOLANG_ORG.split_once('+').unwrap();
        let (hash, key) = rest.split_once('+').unwrap();
        let cases = [
            (String::new(), "malformed verifier id"),
            (name.to_string(), "malformed verifier id"),
            (format!("{name}+{hash}"), "malformed verifier id"),
            (format!("{name}+{hash}+"), "malformed verifier id"),
            (format!("{name}+{hash}+{key}!"), "malformed verifier id"),
            (format!("{name}+33de0ae+{key}"), "malformed verifier id"),
            (format!("{name}+033de0aef+{key}"), "malformed verifier id"),
            (format!("sum golang+{hash}+{key}"), "malformed verifier id"),
            (format!("{name}+033de0af+{key}"), "invalid verifier hash"),
            (
                format!("other.example+{hash}+{key}"),
                "invalid verifier hash",
            ),
        ];
        for (vkey, want) in cases {
            assert_eq!(
                Verifier::new(&vkey).unwrap_err().to_string(),
                want,
                "{vkey:?}"
            );
        }
        // Another algorithm byte, with a hash that matches it.
        let mut raw = GO_STD.decode(key).unwrap();
        raw[0] = 2;
        let vkey = format!(
            "{name}+{:08x}+{}",
            key_hash(name, &raw),
            GO_STD.encode(&raw)
        );
        assert_eq!(Verifier::new(&vkey), Err(NoteError::VerifierAlg));
        // Ed25519 with a short key.
        let raw = [1u8, 2, 3];
        let vkey = format!("{name}+{:08x}+{}", key_hash(name, &raw), GO_STD.encode(raw));
        assert_eq!(Verifier::new(&vkey), Err(NoteError::VerifierId));
    }
}
