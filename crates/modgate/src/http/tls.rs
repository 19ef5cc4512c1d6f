//! HTTPS serving: the certificate chain and private key of `--tls-cert` / `--tls-key`
//! (PEM), checked at start and read into a rustls server configuration that offers h2 and
//! http/1.1 by ALPN.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

/// The certificate and key files of HTTPS serving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, PEM.
    pub cert: std::path::PathBuf,
    /// Its private key, PEM.
    pub key: std::path::PathBuf,
}

/// What is wrong with the certificate or key files (each names its flag and file).
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file cannot be read.
    #[error("{flag} {}: cannot read it: {source}", path.display())]
    Read {
        /// `--tls-cert` or `--tls-key`.
        flag: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is not PEM.
    #[error("{flag} {}: not a valid PEM file: {reason}", path.display())]
    Pem {
        /// `--tls-cert` or `--tls-key`.
        flag: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The certificate file holds no certificate (`swapped`: it holds a key).
    #[error(
        "--tls-cert {}: no certificate in it (want PEM: -----BEGIN CERTIFICATE-----){}",
        path.display(),
        if *swapped { " (it holds a private key: are --tls-cert and --tls-key swapped?)" } else { "" }
    )]
    NoCertificate {
        /// The file.
        path: PathBuf,
        /// It holds a private key instead.
        swapped: bool,
    },
    /// The key file holds no private key (`swapped`: it holds a certificate).
    #[error(
        "--tls-key {}: no private key in it (want PEM: -----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY or EC PRIVATE KEY){}",
        path.display(),
        if *swapped { " (it holds a certificate: are --tls-cert and --tls-key swapped?)" } else { "" }
    )]
    NoKey {
        /// The file.
        path: PathBuf,
        /// It holds a certificate instead.
        swapped: bool,
    },
    /// The key cannot sign.
    #[error("--tls-key {}: not a usable private key: {reason}", path.display())]
    UnusableKey {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The key is another certificate's.
    #[error(
        "--tls-key {} is not the private key of the certificate in --tls-cert {} (the first certificate of the file is the server's)",
        key.display(),
        cert.display()
    )]
    Mismatch {
        /// The key file.
        key: PathBuf,
        /// The certificate file.
        cert: PathBuf,
    },
    /// The server's certificate cannot be read.
    #[error("--tls-cert {}: the first certificate cannot be read: {reason}", path.display())]
    Certificate {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// rustls refuses the protocol versions or the pair.
    #[error("{0}")]
    Config(String),
}

/// The server configuration of `files`, or an error that names the file and what is wrong
/// with it.
pub fn server_config(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let (cert, key) = (files.cert.as_path(), files.key.as_path());
    let chain = read_chain(cert)?;
    let key_der = read_key(key)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let signer = provider
        .key_provider
        .load_private_key(key_der.clone_key())
        .map_err(|e| TlsError::UnusableKey {
            path: key.to_path_buf(),
            reason: e.to_string(),
        })?;
    match CertifiedKey::new(chain.clone(), signer).keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            return Err(TlsError::Mismatch {
                key: key.to_path_buf(),
                cert: cert.to_path_buf(),
            });
        }
        Err(e) => {
            return Err(TlsError::Certificate {
                path: cert.to_path_buf(),
                reason: e.to_string(),
            });
        }
    }
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| {
            TlsError::Config(format!(
                "--tls-cert {} with --tls-key {}: {e}",
                cert.display(),
                key.display()
            ))
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn read(flag: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        flag,
        path: path.to_path_buf(),
        source,
    })
}

/// The certificates of a PEM file, the server's first.
fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read("--tls-cert", path)?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            flag: "--tls-cert",
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_path_buf(),
            swapped: PrivateKeyDer::from_pem_slice(&pem).is_ok(),
        });
    }
    Ok(chain)
}

/// The first private key of a PEM file.
fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    use rustls::pki_types::pem::Error;
    let pem = read("--tls-key", path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| match e {
        Error::NoItemsFound => TlsError::NoKey {
            path: path.to_path_buf(),
            swapped: CertificateDer::from_pem_slice(&pem).is_ok(),
        },
        e => TlsError::Pem {
            flag: "--tls-key",
            path: path.to_path_buf(),
            reason: e.to_string(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, KeyPair};

    struct Files {
        dir: tempfile::TempDir,
    }

    impl Files {
        fn new() -> Files {
            Files {
                dir: tempfile::tempdir().unwrap(),
            }
        }
        fn write(&self, name: &str, text: &str) -> std::path::PathBuf {
            let p = self.dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        }
    }

    fn pair() -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    }

    fn config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, String> {
        server_config(&TlsFiles {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
        })
        .map_err(|e| e.to_string())
    }

    #[test]
    fn a_good_pair_offers_h2_and_http1() {
        let f = Files::new();
        let (cert, key) = pair();
        let c = config(&f.write("c.pem", &cert), &f.write("k.pem", &key)).unwrap();
        assert_eq!(c.alpn_protocols, vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
    }

    #[test]
    fn a_bad_file_is_named_with_what_is_wrong() {
        let f = Files::new();
        let (cert, key) = pair();
        let (_, other_key) = pair();
        let c = f.write("c.pem", &cert);
        let k = f.write("k.pem", &key);
        let garbage = f.write("garbage.pem", "hello\n");
        let broken = f.write(
            "broken.pem",
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        );
        let other = f.write("other.pem", &other_key);
        let missing = f.dir.path().join("missing.pem");
        let d = |p: &Path| p.display().to_string();
        assert_eq!(
            config(&missing, &k).unwrap_err(),
            format!(
                "--tls-cert {}: cannot read it: No such file or directory (os error 2)",
                d(&missing)
            )
        );
        assert_eq!(
            config(&c, &missing).unwrap_err(),
            format!(
                "--tls-key {}: cannot read it: No such file or directory (os error 2)",
                d(&missing)
            )
        );
        assert_eq!(
            config(&garbage, &k).unwrap_err(),
            format!(
                "--tls-cert {}: no certificate in it (want PEM: -----BEGIN CERTIFICATE-----)",
                d(&garbage)
            )
        );
        assert_eq!(
            config(&c, &garbage).unwrap_err(),
            format!(
                "--tls-key {}: no private key in it (want PEM: -----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY or EC PRIVATE KEY)",
                d(&garbage)
            )
        );
        assert_eq!(
            config(&k, &c).unwrap_err(),
            format!(
                "--tls-cert {}: no certificate in it (want PEM: -----BEGIN CERTIFICATE-----) (it holds a private key: are --tls-cert and --tls-key swapped?)",
                d(&k)
            )
        );
        assert!(
            config(&broken, &k).unwrap_err().starts_with(&format!(
                "--tls-cert {}: the first certificate cannot be read: ",
                d(&broken)
            )),
            "{}",
            config(&broken, &k).unwrap_err()
        );
        assert_eq!(
            config(&c, &other).unwrap_err(),
            format!(
                "--tls-key {} is not the private key of the certificate in --tls-cert {} (the first certificate of the file is the server's)",
                d(&other),
                d(&c)
            )
        );
    }
}
