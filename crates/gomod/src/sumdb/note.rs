//! Signed notes (x/mod `sumdb/note`): keys, signing, and opening a note with the
//! signatures of the keys one trusts.
//!
//! A verifier key is `<name>+<hash>+<key>`: the signer's name, 8 hex digits of key hash
//! (the first four bytes, big-endian, of SHA-256 of `name`, a newline and the key), and the
//! key in standard base64, an algorithm byte (1: Ed25519) then the public key. A signer
//! key is `PRIVATE+KEY+<name>+<hash>+<algorithm byte and seed>`.
//!
//! A note is UTF-8 text ending in a newline, a blank line, then signature lines
//! `— <name> <base64 of key hash (4 bytes) and signature>`. Ed25519 signatures are checked
//! as Go's `crypto/ed25519.Verify` does (RFC 8032, cofactorless, canonical `S`):
//! ed25519-dalek's `verify`, not its stricter `verify_strict`.

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use sha2::{Digest, Sha256};

/// Why a verifier key was refused, with x/mod's texts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
    /// A signer key that is not `PRIVATE+KEY+name+hash+base64` (x/mod reuses the
    /// verifier's texts for signer keys).
    #[error("malformed verifier id")]
    SignerId,
    /// A signer key of another algorithm.
    #[error("unknown verifier algorithm")]
    SignerAlg,
    /// A signer key whose hash does not match its public key.
    #[error("invalid verifier hash")]
    SignerHash,
    /// A signer with an invalid name.
    #[error("invalid signer")]
    InvalidSigner,
    /// Not a note: bad UTF-8, a control character, no signature block, a bad line.
    #[error("malformed note")]
    MalformedNote,
    /// No trusted key of this name and hash.
    #[error("unknown key {0}+{1:08x}")]
    UnknownKey(String, u32),
    /// More than one trusted key of this name and hash.
    #[error("ambiguous key {0}+{1:08x}")]
    AmbiguousKey(String, u32),
    /// The verifier found for a signature has another name or hash.
    #[error("verifier name or hash doesn't match signature")]
    MismatchedVerifier,
    /// A trusted key's signature does not verify.
    #[error("invalid signature for key {0}+{1:08x}")]
    InvalidSignature(String, u32),
    /// No signature of a trusted key: the note as read, unverified.
    #[error("note has no verifiable signatures")]
    Unverified(Box<Note>),
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

    /// Whether `sig` is this key's signature of `msg`.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&self.key) else {
            return false;
        };
        let Ok(sig) = ed25519_dalek::Signature::from_slice(sig) else {
            return false;
        };
        ed25519_dalek::Verifier::verify(&key, msg, &sig).is_ok()
    }
}

/// A signer key (for tests and test databases: a real database's key stays with it).
#[derive(Clone)]
pub struct Signer {
    name: String,
    hash: u32,
    key: ed25519_dalek::SigningKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({}+{:08x})", self.name, self.hash)
    }
}

impl Signer {
    /// Parses an encoded signer key, as x/mod's `note.NewSigner`.
    pub fn new(skey: &str) -> Result<Signer, NoteError> {
        let mut parts = skey.splitn(5, '+');
        let (priv1, priv2, name, hash16, key64) = (
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
        );
        let hash = u32::from_str_radix(hash16, 16).ok();
        let key = GO_STD.decode(key64).ok();
        let (Some(hash), Some(key)) = (hash, key) else {
            return Err(NoteError::SignerId);
        };
        if priv1 != "PRIVATE"
            || priv2 != "KEY"
            || hash16.len() != 8
            || !is_valid_name(name)
            || key.is_empty()
        {
            return Err(NoteError::SignerId);
        }
        if key[0] != ALG_ED25519 {
            return Err(NoteError::SignerAlg);
        }
        let seed: [u8; 32] = key[1..].try_into().map_err(|_| NoteError::SignerId)?;
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        let mut public = vec![ALG_ED25519];
        public.extend_from_slice(key.verifying_key().as_bytes());
        if hash != key_hash(name, &public) {
            return Err(NoteError::SignerHash);
        }
        Ok(Signer {
            name: name.to_string(),
            hash,
            key,
        })
    }

    /// A new key pair from a 32-byte seed: the signer and its verifier key, encoded.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<(Signer, String), NoteError> {
        if !is_valid_name(name) {
            return Err(NoteError::InvalidSigner);
        }
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        let mut public = vec![ALG_ED25519];
        public.extend_from_slice(key.verifying_key().as_bytes());
        let hash = key_hash(name, &public);
        let vkey = format!("{name}+{hash:08x}+{}", GO_STD.encode(&public));
        Ok((
            Signer {
                name: name.to_string(),
                hash,
                key,
            },
            vkey,
        ))
    }

    /// The signer's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key hash.
    pub fn key_hash(&self) -> u32 {
        self.hash
    }

    /// The signature of `msg`.
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        ed25519_dalek::Signer::sign(&self.key, msg).to_bytes()
    }
}

/// A signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The signer's name.
    pub name: String,
    /// The key hash.
    pub hash: u32,
    /// The key hash and signature, base64.
    pub base64: String,
}

/// An opened note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The text, ending in a newline.
    pub text: String,
    /// The signatures of trusted keys, verified.
    pub sigs: Vec<Signature>,
    /// The signatures of other keys, not verified.
    pub unverified_sigs: Vec<Signature>,
}

/// The keys one trusts.
pub trait Verifiers {
    /// The key of `name` and `hash`: [`NoteError::UnknownKey`] when none,
    /// [`NoteError::AmbiguousKey`] when several.
    fn verifier(&self, name: &str, hash: u32) -> Result<&Verifier, NoteError>;
}

impl Verifiers for [Verifier] {
    fn verifier(&self, name: &str, hash: u32) -> Result<&Verifier, NoteError> {
        let mut found = self.iter().filter(|v| v.name == name && v.hash == hash);
        match (found.next(), found.next()) {
            (Some(v), None) => Ok(v),
            (Some(_), Some(_)) => Err(NoteError::AmbiguousKey(name.to_string(), hash)),
            _ => Err(NoteError::UnknownKey(name.to_string(), hash)),
        }
    }
}

const SIG_PREFIX: &str = "\u{2014} ";

/// Opens `msg`, checking the signatures of the `known` keys, as x/mod's `note.Open`: at
/// least one must verify ([`NoteError::Unverified`] carries the note otherwise), a bad one
/// fails the note, signatures of other keys are kept unverified, repeated ones dropped,
/// more than 100 refused.
pub fn open(msg: &[u8], known: &(impl Verifiers + ?Sized)) -> Result<Note, NoteError> {
    let msg = std::str::from_utf8(msg).map_err(|_| NoteError::MalformedNote)?;
    if msg.chars().any(|c| c < ' ' && c != '\n') {
        return Err(NoteError::MalformedNote);
    }
    let split = msg.rfind("\n\n").ok_or(NoteError::MalformedNote)?;
    let (text, mut sigs) = (&msg[..split + 1], &msg[split + 2..]);
    if !sigs.ends_with('\n') {
        return Err(NoteError::MalformedNote);
    }
    let mut note = Note {
        text: text.to_string(),
        sigs: Vec::new(),
        unverified_sigs: Vec::new(),
    };
    let mut seen: Vec<(String, u32)> = Vec::new();
    let mut seen_unverified: Vec<&str> = Vec::new();
    let mut count = 0;
    while let Some(i) = sigs.find('\n') {
        let line = &sigs[..i];
        sigs = &sigs[i + 1..];
        let line = line
            .strip_prefix(SIG_PREFIX)
            .ok_or(NoteError::MalformedNote)?;
        let (name, b64) = line.split_once(' ').unwrap_or((line, ""));
        let raw = GO_STD.decode(b64).map_err(|_| NoteError::MalformedNote)?;
        if !is_valid_name(name) || b64.is_empty() || raw.len() < 5 {
            return Err(NoteError::MalformedNote);
        }
        let hash = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
        count += 1;
        if count > 100 {
            return Err(NoteError::MalformedNote);
        }
        let sig = Signature {
            name: name.to_string(),
            hash,
            base64: b64.to_string(),
        };
        let v = match known.verifier(name, hash) {
            Ok(v) => v,
            Err(NoteError::UnknownKey(..)) => {
                if !seen_unverified.contains(&line) {
                    seen_unverified.push(line);
                    note.unverified_sigs.push(sig);
                }
                continue;
            }
            Err(e) => return Err(e),
        };
        if v.name != name || v.hash != hash {
            return Err(NoteError::MismatchedVerifier);
        }
        if seen.iter().any(|(n, h)| n == name && *h == hash) {
            continue;
        }
        seen.push((name.to_string(), hash));
        if !v.verify(text.as_bytes(), &raw[4..]) {
            return Err(NoteError::InvalidSignature(name.to_string(), hash));
        }
        note.sigs.push(sig);
    }
    if note.sigs.is_empty() {
        return Err(NoteError::Unverified(Box::new(note)));
    }
    Ok(note)
}

/// Signs `note` with `signers`, as x/mod's `note.Sign`: the note's signatures of other
/// keys are kept (before the new ones), those of the signers replaced.
pub fn sign(note: &Note, signers: &[Signer]) -> Result<Vec<u8>, NoteError> {
    if !note.text.ends_with('\n') {
        return Err(NoteError::MalformedNote);
    }
    let mut out = note.text.clone();
    let mut new_sigs = String::new();
    for s in signers {
        if !is_valid_name(&s.name) {
            return Err(NoteError::InvalidSigner);
        }
        let mut raw = s.hash.to_be_bytes().to_vec();
        raw.extend_from_slice(&s.sign(note.text.as_bytes()));
        new_sigs.push_str(&format!("{SIG_PREFIX}{} {}\n", s.name, GO_STD.encode(raw)));
    }
    out.push('\n');
    for sig in note.sigs.iter().chain(&note.unverified_sigs) {
        if !is_valid_name(&sig.name) {
            return Err(NoteError::MalformedNote);
        }
        if signers
            .iter()
            .any(|s| s.name == sig.name && s.hash == sig.hash)
        {
            continue;
        }
        let raw = GO_STD
            .decode(&sig.base64)
            .map_err(|_| NoteError::MalformedNote)?;
        if raw.len() < 4 || u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]) != sig.hash {
            return Err(NoteError::MalformedNote);
        }
        out.push_str(&format!("{SIG_PREFIX}{} {}\n", sig.name, sig.base64));
    }
    out.push_str(&new_sigs);
    Ok(out.into_bytes())
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

    const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const PETER_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
    const TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    const ENOCH_SIG: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

    fn sig(name: &str, hash: u32, b64: &str) -> Signature {
        Signature {
            name: name.into(),
            hash,
            base64: b64.into(),
        }
    }

    fn peter() -> Signature {
        sig(
            "PeterNeumann",
            0xc74f20a3,
            "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
        )
    }

    fn enoch() -> Signature {
        sig(
            "EnochRoot",
            0xaf0cfe78,
            "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=",
        )
    }

    fn note(text: &str, sigs: Vec<Signature>) -> Note {
        Note {
            text: text.into(),
            sigs,
            unverified_sigs: Vec::new(),
        }
    }

    // x/mod's TestSign: Go's exact signature bytes (Ed25519 is deterministic).
    #[test]
    fn sign_like_x_mod() {
        let signer = Signer::new(PETER_SKEY).unwrap();
        let want = format!("{TEXT}\n{PETER_SIG}");
        assert_eq!(
            sign(&note(TEXT, vec![]), std::slice::from_ref(&signer)).unwrap(),
            want.as_bytes()
        );
        let old = sig("PeterNeumann", 0xc74f20a3, "BADSIGN=");
        assert_eq!(
            sign(&note(TEXT, vec![old]), std::slice::from_ref(&signer)).unwrap(),
            want.as_bytes()
        );
        assert_eq!(
            sign(&note("abc", vec![]), &[signer]),
            Err(NoteError::MalformedNote)
        );
        assert_eq!(
            sign(&note(TEXT, vec![sig("a+b", 0, "ABCD")]), &[]),
            Err(NoteError::MalformedNote)
        );
        assert_eq!(
            sign(
                &note(TEXT, vec![sig("PeterNeumann", 0xc74f20a3, "BADHASH=")]),
                &[]
            ),
            Err(NoteError::MalformedNote)
        );
        assert_eq!(
            Signer::new(&PETER_SKEY[1..]).unwrap_err().to_string(),
            "malformed verifier id"
        );
    }

    // x/mod's TestOpen, case by case.
    #[test]
    fn open_like_x_mod() {
        let peter_v = Verifier::new(PETER_VKEY).unwrap();
        let enoch_v = Verifier::new(ENOCH_VKEY).unwrap();
        let msg = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
        // One verified, one not.
        let n = open(msg.as_bytes(), &[peter_v.clone()][..]).unwrap();
        assert_eq!(n.text, TEXT);
        assert_eq!((n.sigs, n.unverified_sigs), (vec![peter()], vec![enoch()]));
        // Both verified.
        let both = [peter_v.clone(), enoch_v.clone()];
        let n = open(msg.as_bytes(), &both[..]).unwrap();
        assert_eq!(
            (n.sigs, n.unverified_sigs),
            (vec![peter(), enoch()], vec![])
        );
        // Both unverified: the note comes with the error.
        let err = open(msg.as_bytes(), &[][..]).unwrap_err();
        assert_eq!(err.to_string(), "note has no verifiable signatures");
        let NoteError::Unverified(n) = err else {
            panic!("{err:?}")
        };
        assert_eq!(
            (n.sigs.len(), n.unverified_sigs),
            (0, vec![peter(), enoch()])
        );
        // A duplicated verifier, used and unused.
        let dup = [enoch_v.clone(), peter_v.clone(), enoch_v.clone()];
        assert_eq!(
            open(format!("{TEXT}\n{ENOCH_SIG}").as_bytes(), &dup[..])
                .unwrap_err()
                .to_string(),
            "ambiguous key EnochRoot+af0cfe78"
        );
        open(format!("{TEXT}\n{PETER_SIG}").as_bytes(), &dup[..]).unwrap();
        // Too many signatures, verified or not.
        let many = format!("{TEXT}\n{}", PETER_SIG.repeat(101));
        assert_eq!(
            open(many.as_bytes(), &[peter_v.clone()][..]),
            Err(NoteError::MalformedNote)
        );
        assert_eq!(
            open(many.as_bytes(), &[][..]),
            Err(NoteError::MalformedNote)
        );
        // A bad signature of a trusted key.
        let bad = format!("{TEXT}\n{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
        assert_eq!(
            open(bad.as_bytes(), &[peter_v.clone()][..])
                .unwrap_err()
                .to_string(),
            "invalid signature for key PeterNeumann+c74f20a3"
        );
        // Repeated signatures dropped; a bad one of an unknown key kept unverified.
        let enoch_abcd = format!("{}ABCD{}", &ENOCH_SIG[..60], &ENOCH_SIG[60..]);
        let msg = format!("{TEXT}\n{PETER_SIG}{PETER_SIG}{ENOCH_SIG}{ENOCH_SIG}{enoch_abcd}");
        let n = open(msg.as_bytes(), &[peter_v.clone()][..]).unwrap();
        let abcd = sig(
            "EnochRoot",
            0xaf0cfe78,
            "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5nABCD2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=",
        );
        assert_eq!(
            (n.sigs, n.unverified_sigs),
            (vec![peter()], vec![enoch(), abcd])
        );
        // Not notes.
        let bad_msgs = [
            TEXT.to_string(),
            format!("{TEXT}\n"),
            format!("{TEXT}\n{}", &PETER_SIG[..PETER_SIG.len() - 1]),
            format!("\x01{TEXT}\n{PETER_SIG}"),
            format!(
                "{TEXT}\n\u{2014} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
            ),
            format!("{TEXT}\n{PETER_SIG}Unexpected line.\n"),
        ];
        for m in bad_msgs {
            assert_eq!(
                open(m.as_bytes(), &[peter_v.clone()][..]),
                Err(NoteError::MalformedNote),
                "{m}"
            );
        }
        let mut ff = vec![0xffu8];
        ff.extend_from_slice(format!("{TEXT}\n{PETER_SIG}").as_bytes());
        assert_eq!(
            open(&ff, &[peter_v.clone()][..]),
            Err(NoteError::MalformedNote)
        );
    }

    /// x/mod's fixedVerifier: always answers with the same key.
    struct Fixed(Verifier);

    impl Verifiers for Fixed {
        fn verifier(&self, _: &str, _: u32) -> Result<&Verifier, NoteError> {
            Ok(&self.0)
        }
    }

    #[test]
    fn a_verifier_for_the_wrong_key_is_refused() {
        let fixed = Fixed(Verifier::new(PETER_VKEY).unwrap());
        let misnamed = PETER_SIG.replace("PeterNeumann", "CarmenSandiego");
        assert_eq!(
            open(format!("{TEXT}\n{misnamed}").as_bytes(), &fixed),
            Err(NoteError::MismatchedVerifier)
        );
        let wrong_hash = PETER_SIG.replace("x08g", "xxxx");
        assert_eq!(
            open(format!("{TEXT}\n{wrong_hash}").as_bytes(), &fixed),
            Err(NoteError::MismatchedVerifier)
        );
    }

    #[test]
    fn keys_from_a_seed_sign_and_verify() {
        let (signer, vkey) = Signer::from_seed("test.example/db", [7u8; 32]).unwrap();
        let v = Verifier::new(&vkey).unwrap();
        assert_eq!(
            (v.name(), v.key_hash()),
            ("test.example/db", signer.key_hash())
        );
        let msg = sign(&note("hello\n", vec![]), &[signer]).unwrap();
        let n = open(&msg, &[v][..]).unwrap();
        assert_eq!(n.text, "hello\n");
    }
}
