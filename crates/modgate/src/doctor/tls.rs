//! Why a proxy's TLS certificate is refused, measured rather than guessed from an error
//! text: after a failed handshake, a second one records the chain the server presents
//! (accepting anything, sending nothing), and the chain is judged the way the go
//! command's crypto/x509 judges it, against the roots this machine trusts (loaded as the
//! platform loads them: the system store, SSL_CERT_FILE, SSL_CERT_DIR). Each cause is
//! named with the text the go command prints for it.

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};

use super::deadline::Deadline;

/// What is wrong with a presented chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// The leaf names other hosts.
    OtherName {
        /// The names it is valid for.
        names: Vec<String>,
    },
    /// Outside its validity period.
    Expired {
        /// Now and the end of validity, RFC 3339.
        now: String,
        /// `notAfter`.
        not_after: String,
    },
    /// Not valid yet.
    NotYetValid {
        /// Now, RFC 3339.
        now: String,
        /// `notBefore`.
        not_before: String,
    },
    /// Self-signed and not trusted here (`openssl req -x509` makes these).
    SelfSigned {
        /// Its subject.
        subject: String,
        /// Whether it says CA:TRUE (used as its own server certificate).
        ca: bool,
    },
    /// A CA certificate used as the server's own, which this machine trusts: the go
    /// command accepts it; stricter clients do not.
    TrustedCaAsLeaf {
        /// Its subject.
        subject: String,
    },
    /// The server does not send the intermediate certificate between its own and a root
    /// this machine trusts (found through the certificate's caIssuers URL).
    MissingIntermediate {
        /// The intermediate's subject.
        intermediate: String,
        /// Where it was found.
        url: String,
        /// The trusted root that issued it.
        root: String,
    },
    /// Issued by a CA this machine does not trust.
    UntrustedIssuer {
        /// The top of the presented chain's issuer.
        issuer: String,
        /// How many certificates the server sent.
        sent: usize,
    },
    /// Not for TLS servers (extended key usage without serverAuth).
    Usage,
}

impl Cause {
    /// What the go command prints for it.
    pub fn go_says(&self, host: &str) -> String {
        match self {
            Cause::OtherName { names } if names.is_empty() => {
                "x509: certificate relies on legacy Common Name field, use SANs instead".into()
            }
            Cause::OtherName { names } => {
                if host.parse::<std::net::IpAddr>().is_ok()
                    && !names.iter().any(|n| n.parse::<std::net::IpAddr>().is_ok())
                {
                    format!(
                        "x509: cannot validate certificate for {host} because it doesn't contain any IP SANs"
                    )
                } else {
                    format!(
                        "x509: certificate is valid for {}, not {host}",
                        names.join(", ")
                    )
                }
            }
            Cause::Expired { now, not_after } => format!(
                "x509: certificate has expired or is not yet valid: current time {now} is after {not_after}"
            ),
            Cause::NotYetValid { now, not_before } => format!(
                "x509: certificate has expired or is not yet valid: current time {now} is before {not_before}"
            ),
            Cause::SelfSigned { .. }
            | Cause::MissingIntermediate { .. }
            | Cause::UntrustedIssuer { .. } => {
                "x509: certificate signed by unknown authority".into()
            }
            Cause::TrustedCaAsLeaf { .. } => "nothing: it accepts a certificate it trusts".into(),
            Cause::Usage => "x509: certificate specifies an incompatible key usage".into(),
        }
    }

    /// Why, in a sentence, with the go command's text.
    pub fn explain(&self, host: &str) -> String {
        let says = self.go_says(host);
        match self {
            Cause::OtherName { names } => format!(
                "the proxy's certificate is for another name ({}): the go command fails with \"{says}\"",
                if names.is_empty() {
                    "no subjectAltName".to_string()
                } else {
                    names.join(", ")
                }
            ),
            Cause::Expired { .. } => format!(
                "the proxy's certificate has expired (or this machine's clock is ahead): the go command fails with \"{says}\""
            ),
            Cause::NotYetValid { .. } => format!(
                "the proxy's certificate is not valid yet: this machine's clock is probably behind; the go command fails with \"{says}\""
            ),
            Cause::SelfSigned { subject, ca } => format!(
                "the proxy's certificate is self-signed ({subject}{}) and this machine does not trust it: the go command fails with \"{says}\"",
                if *ca {
                    ", CA:TRUE, as `openssl req -x509` makes it"
                } else {
                    ""
                }
            ),
            Cause::TrustedCaAsLeaf { subject } => format!(
                "the proxy uses a CA certificate ({subject}, CA:TRUE) as its own server certificate; this machine trusts it, so the go command accepts it, but stricter TLS clients refuse it"
            ),
            Cause::MissingIntermediate {
                intermediate,
                url,
                root,
            } => format!(
                "the proxy does not send the intermediate certificate {intermediate} (found at {url}; issued by {root}, which this machine trusts): the go command does not fetch it and fails with \"{says}\""
            ),
            Cause::UntrustedIssuer { issuer, sent } => format!(
                "the proxy's certificate is issued by {issuer}, a CA this machine does not trust (the proxy sent {sent} certificate(s); if {issuer} is an intermediate, the proxy does not send it): the go command fails with \"{says}\""
            ),
            Cause::Usage => format!(
                "the proxy's certificate is not for TLS servers (its extended key usage lacks serverAuth): the go command fails with \"{says}\""
            ),
        }
    }

    /// The fix to paste.
    pub fn fix(&self, host: &str) -> String {
        let trust = "trust it: cp <it>.crt /usr/local/share/ca-certificates/ && update-ca-certificates (or point SSL_CERT_FILE / SSL_CERT_DIR at a bundle with it)";
        match self {
            Cause::OtherName { .. } => format!(
                "use the host name the certificate names in GOPROXY, or reissue it for {host}"
            ),
            Cause::Expired { .. } => {
                format!("renew the certificate of {host}; check the clock with: date -u")
            }
            Cause::NotYetValid { .. } => {
                "fix the clock: timedatectl set-ntp true (then date -u)".into()
            }
            Cause::SelfSigned { .. } => {
                format!("{trust}; or give {host} a certificate from a CA this machine trusts")
            }
            Cause::TrustedCaAsLeaf { .. } => {
                format!("issue {host} a server certificate (CA:FALSE) signed by that CA")
            }
            Cause::MissingIntermediate { .. } => format!(
                "configure {host} to send its full chain (its certificate, then the intermediate: fullchain.pem), not its certificate alone"
            ),
            Cause::UntrustedIssuer { .. } => {
                format!("if the CA is yours, {trust}; else configure {host} to send its full chain")
            }
            Cause::Usage => {
                format!("reissue the certificate of {host} with extendedKeyUsage=serverAuth")
            }
        }
    }
}

/// The TLS error in `e`'s chain (reqwest wraps rustls' error in hyper's and in two
/// `io::Error`s, whose `source` skips the error each wraps: step into those).
pub fn rustls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut cur = Some(e);
    while let Some(x) = cur {
        if let Some(r) = x.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        cur = match x.downcast_ref::<std::io::Error>() {
            // An io::Error's `source` is its inner error's source: step into the inner one.
            Some(io) => io
                .get_ref()
                .map(|i| i as &(dyn std::error::Error + 'static)),
            None => x.source(),
        };
    }
    None
}

/// What the go command's crypto/x509 says for a rustls refusal, when the chain could not
/// be inspected (through an HTTP proxy): the cause and the fix.
pub fn from_rustls(e: &rustls::Error, host: &str) -> (String, String) {
    use rustls::CertificateError as C;
    let (what, says, fix_of) = match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer | C::BadSignature => (
                "is self-signed or from a CA this machine does not trust",
                "x509: certificate signed by unknown authority".to_string(),
                Cause::UntrustedIssuer {
                    issuer: String::new(),
                    sent: 0,
                },
            ),
            C::Expired | C::ExpiredContext { .. } => (
                "has expired (or this machine's clock is ahead)",
                "x509: certificate has expired or is not yet valid".to_string(),
                Cause::Expired {
                    now: String::new(),
                    not_after: String::new(),
                },
            ),
            C::NotValidYet | C::NotValidYetContext { .. } => (
                "is not valid yet (this machine's clock is probably behind)",
                "x509: certificate has expired or is not yet valid".to_string(),
                Cause::NotYetValid {
                    now: String::new(),
                    not_before: String::new(),
                },
            ),
            C::NotValidForName | C::NotValidForNameContext { .. } => (
                "is for another name",
                format!("x509: certificate is valid for ..., not {host}"),
                Cause::OtherName { names: Vec::new() },
            ),
            C::InvalidPurpose | C::InvalidPurposeContext { .. } => (
                "is not for TLS servers",
                Cause::Usage.go_says(host),
                Cause::Usage,
            ),
            _ => return unknown(e, host),
        },
        _ => return unknown(e, host),
    };
    (
        format!("the proxy's certificate {what}: the go command fails with \"{says}\""),
        fix_of.fix(host),
    )
}

fn unknown(e: &rustls::Error, host: &str) -> (String, String) {
    (
        format!("the TLS handshake with {host} failed ({e}): the go command refuses this proxy"),
        format!(
            "openssl s_client -connect {host}:443 -servername {host} -showcerts  (to see the chain)"
        ),
    )
}

fn parse(der: &[u8]) -> Option<X509Certificate<'_>> {
    x509_parser::parse_x509_certificate(der)
        .ok()
        .map(|(_, c)| c)
}

fn rfc3339(t: i64) -> String {
    gomod::timestamp::Timestamp::from_unix(t).format_rfc3339()
}

/// The names the certificate is valid for (DNS names, then IP addresses), as Go lists them.
fn names(c: &X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(san)) = c.subject_alternative_name() else {
        return Vec::new();
    };
    let mut dns = Vec::new();
    let mut ips = Vec::new();
    for n in &san.value.general_names {
        match n {
            GeneralName::DNSName(d) => dns.push(d.to_string()),
            GeneralName::IPAddress(b) => match b.len() {
                4 => ips.push(std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string()),
                16 => {
                    let a: [u8; 16] = (*b).try_into().unwrap_or([0; 16]);
                    ips.push(std::net::Ipv6Addr::from(a).to_string())
                }
                _ => {}
            },
            _ => {}
        }
    }
    dns.extend(ips);
    dns
}

/// Does a name of the certificate match `host` (`*.` wildcards for one label)?
fn matches_host(names: &[String], host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return names
            .iter()
            .any(|n| n.parse::<std::net::IpAddr>() == Ok(ip));
    }
    let host = host.to_ascii_lowercase();
    names.iter().any(|n| {
        let n = n.to_ascii_lowercase();
        match n.strip_prefix("*.") {
            Some(rest) => host
                .split_once('.')
                .is_some_and(|(label, h)| !label.is_empty() && h == rest),
            None => n == host,
        }
    })
}

/// Whether `parent` names `child`'s issuer: the same name and, when both carry key
/// identifiers, the same key (two CAs of one name are told apart).
fn issued_by(child: &X509Certificate<'_>, parent: &X509Certificate<'_>) -> bool {
    if child.issuer().as_raw() != parent.subject().as_raw() {
        return false;
    }
    let aki = child
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(a) => a.key_identifier.as_ref().map(|k| k.0),
            _ => None,
        });
    let ski = parent
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0),
            _ => None,
        });
    match (aki, ski) {
        (Some(a), Some(s)) => a == s,
        _ => true,
    }
}

fn is_ca(c: &X509Certificate<'_>) -> bool {
    matches!(c.basic_constraints(), Ok(Some(b)) if b.value.ca)
}

/// The caIssuers URL of the certificate's Authority Information Access, if any.
pub fn ca_issuers_url(c: &X509Certificate<'_>) -> Option<String> {
    c.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::AuthorityInfoAccess(aia) => {
                aia.iter()
                    .find_map(|d| {
                        match (&d.access_method, &d.access_location) {
                (m, GeneralName::URI(u))
                    if *m == x509_parser::oid_registry::OID_PKIX_ACCESS_DESCRIPTOR_CA_ISSUERS =>
                {
                    Some(u.to_string())
                }
                _ => None,
            }
                    })
            }
            _ => None,
        })
}

/// What `chain` (DER, the server's certificate first) is missing for a client trusting
/// `roots` (DER) that connects to `host` at `now` (Unix seconds); `fetched` is the
/// certificate found at the top's caIssuers URL, when it was fetched. `None`: nothing
/// this check can see (the handshake failed for another reason).
pub fn diagnose(
    chain: &[Vec<u8>],
    roots: &[Vec<u8>],
    host: &str,
    now: i64,
    fetched: Option<(&str, &[u8])>,
) -> Option<Cause> {
    let certs: Vec<X509Certificate<'_>> = chain.iter().filter_map(|d| parse(d)).collect();
    let leaf = certs.first()?;
    let trusted: Vec<X509Certificate<'_>> = roots.iter().filter_map(|d| parse(d)).collect();
    let leaf_trusted = roots.iter().any(|r| *r == chain[0]);
    // crypto/x509's Verify checks the time, then the name, then the chain: the same order.
    let (nb, na) = (
        leaf.validity().not_before.timestamp(),
        leaf.validity().not_after.timestamp(),
    );
    if now > na {
        return Some(Cause::Expired {
            now: rfc3339(now),
            not_after: rfc3339(na),
        });
    }
    if now < nb {
        return Some(Cause::NotYetValid {
            now: rfc3339(now),
            not_before: rfc3339(nb),
        });
    }
    let leaf_names = names(leaf);
    if !matches_host(&leaf_names, host) {
        return Some(Cause::OtherName { names: leaf_names });
    }
    let subject = leaf.subject().to_string();
    if leaf.subject().as_raw() == leaf.issuer().as_raw() {
        return Some(if leaf_trusted {
            Cause::TrustedCaAsLeaf { subject }
        } else {
            Cause::SelfSigned {
                subject,
                ca: is_ca(leaf),
            }
        });
    }
    if let Ok(Some(eku)) = leaf.extended_key_usage()
        && !eku.value.server_auth
        && !eku.value.any
    {
        return Some(Cause::Usage);
    }
    // Up the presented chain by names, as far as it goes.
    let mut top = leaf;
    let mut seen = 1;
    while seen < certs.len() {
        match certs
            .iter()
            .find(|c| issued_by(top, c) && c.subject() != top.subject())
        {
            Some(next) => {
                top = next;
                seen += 1;
            }
            None => break,
        }
    }
    let trusted_issuer = |c: &X509Certificate<'_>| trusted.iter().any(|r| issued_by(c, r));
    if trusted_issuer(top) || roots.iter().any(|r| chain.contains(r)) {
        // The chain reaches a trusted root: what failed is not the chain's shape.
        return None;
    }
    if let Some((url, der)) = fetched
        && let Some(inter) = parse(der)
        && issued_by(top, &inter)
        && trusted_issuer(&inter)
    {
        return Some(Cause::MissingIntermediate {
            intermediate: inter.subject().to_string(),
            url: url.to_string(),
            root: inter.issuer().to_string(),
        });
    }
    if top.subject().as_raw() == top.issuer().as_raw() && seen > 1 {
        // The server sent its own root, which this machine does not trust.
        return Some(Cause::UntrustedIssuer {
            issuer: top.subject().to_string(),
            sent: certs.len(),
        });
    }
    Some(Cause::UntrustedIssuer {
        issuer: top.issuer().to_string(),
        sent: certs.len(),
    })
}

/// A verifier that accepts any chain and remembers it (the inspection handshake sends
/// nothing after it).
#[derive(Debug)]
struct Record {
    chain: Mutex<Vec<Vec<u8>>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for Record {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = vec![end_entity.to_vec()];
        chain.extend(intermediates.iter().map(|c| c.to_vec()));
        *self.chain.lock().unwrap_or_else(|p| p.into_inner()) = chain;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The chain `host:port` presents (DER, its certificate first), by a handshake that
/// accepts anything, through the HTTP proxy `via` (a CONNECT tunnel) when given, as the
/// go command connects; `None` when there is no handshake within the deadline.
pub async fn presented_chain(
    host: &str,
    port: u16,
    via: Option<&str>,
    dl: Deadline,
) -> Option<Vec<Vec<u8>>> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let record = Arc::new(Record {
        chain: Mutex::new(Vec::new()),
        provider: Arc::clone(&provider),
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::clone(&record) as Arc<dyn ServerCertVerifier>)
        .with_no_client_auth();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let name = ServerName::try_from(bare.to_string()).ok()?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let handshake = async {
        let tcp = match via {
            None => tokio::net::TcpStream::connect((bare, port)).await.ok()?,
            Some(via) => crate::dial::tunnel(via, bare, port).await.ok()?,
        };
        connector.connect(name, tcp).await.ok()
    };
    let _ = tokio::time::timeout(dl.left(), handshake).await;
    let chain = record
        .chain
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    (!chain.is_empty()).then_some(chain)
}

/// The roots this machine trusts, as the platform verifier loads them.
pub fn trusted_roots() -> Vec<Vec<u8>> {
    rustls_native_certs::load_native_certs()
        .certs
        .into_iter()
        .map(|c| c.to_vec())
        .collect()
}

/// Why `host:port` refuses TLS, measured: its chain (reached through the HTTP proxy `via`
/// when given) judged against this machine's roots (fetching a missing intermediate from
/// its caIssuers URL to confirm it), within `dl`.
/// `None` when no chain could be had or nothing is wrong with it.
pub async fn inspect(
    host: &str,
    port: u16,
    via: Option<&str>,
    dl: Deadline,
) -> Option<(Cause, usize)> {
    let chain = presented_chain(host, port, via, dl).await?;
    let roots = tokio::task::spawn_blocking(trusted_roots).await.ok()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let first = diagnose(&chain, &roots, host, now, None)?;
    let url = match &first {
        Cause::UntrustedIssuer { .. } => chain
            .iter()
            .rev()
            .find_map(|d| parse(d).and_then(|c| ca_issuers_url(&c))),
        _ => None,
    };
    if let Some(url) = url
        && let Some(der) = fetch_cert(&url, dl).await
        && let Some(cause) = diagnose(&chain, &roots, host, now, Some((&url, &der)))
    {
        return Some((cause, chain.len()));
    }
    Some((first, chain.len()))
}

/// The certificate at a caIssuers URL (DER, or PEM), within the deadline.
async fn fetch_cert(url: &str, dl: Deadline) -> Option<Vec<u8>> {
    let client = reqwest::Client::builder()
        .timeout(dl.left())
        .no_proxy()
        .build()
        .ok()?;
    let body = client.get(url).send().await.ok()?.bytes().await.ok()?;
    if body.starts_with(b"-----BEGIN") {
        let text = String::from_utf8_lossy(&body);
        let b64: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
        use base64::Engine;
        return base64::engine::general_purpose::STANDARD.decode(b64).ok();
    }
    Some(body.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

    const NOW: i64 = 1_800_000_000; // 2027-01-15

    fn ca(name: &str) -> (Vec<u8>, Issuer<'static, KeyPair>) {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(rcgen::DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        let der = p.self_signed(&key).unwrap().der().to_vec();
        (der, Issuer::new(p, key))
    }

    fn leaf(names: &[&str], by: &Issuer<'static, KeyPair>) -> Vec<u8> {
        let p = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .unwrap();
        p.signed_by(&KeyPair::generate().unwrap(), by)
            .unwrap()
            .der()
            .to_vec()
    }

    #[test]
    #[allow(clippy::cloned_ref_to_slice_refs)] // one-element chains read better as arrays
    fn each_cause_is_told_from_the_chain() {
        let (root, root_i) = ca("Root");
        // A leaf from a trusted CA, for the right name: nothing to say.
        let good = leaf(&["127.0.0.1"], &root_i);
        assert_eq!(
            diagnose(&[good.clone()], &[root.clone()], "127.0.0.1", NOW, None),
            None
        );
        // Another name.
        let other = leaf(&["proxy.other.example"], &root_i);
        let c = diagnose(&[other], &[root.clone()], "127.0.0.1", NOW, None).unwrap();
        assert_eq!(
            c.go_says("127.0.0.1"),
            "x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs"
        );
        let other = leaf(&["a.example", "b.example"], &root_i);
        let c = diagnose(&[other], &[root.clone()], "c.example", NOW, None).unwrap();
        assert_eq!(
            c.go_says("c.example"),
            "x509: certificate is valid for a.example, b.example, not c.example"
        );
        // Wildcards cover one label.
        let wild = leaf(&["*.example.com"], &root_i);
        assert_eq!(
            diagnose(&[wild.clone()], &[root.clone()], "p.example.com", NOW, None),
            None
        );
        assert!(diagnose(&[wild], &[root.clone()], "a.p.example.com", NOW, None).is_some());
        // Self-signed with CA:TRUE (openssl req -x509), untrusted, then trusted.
        let (selfca, _) = ca("127.0.0.1");
        let mut p = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "127.0.0.1");
        let selfca_leaf = p
            .self_signed(&KeyPair::generate().unwrap())
            .unwrap()
            .der()
            .to_vec();
        drop(selfca);
        assert_eq!(
            diagnose(
                &[selfca_leaf.clone()],
                &[root.clone()],
                "127.0.0.1",
                NOW,
                None
            ),
            Some(Cause::SelfSigned {
                subject: "CN=127.0.0.1".into(),
                ca: true
            })
        );
        assert_eq!(
            diagnose(
                &[selfca_leaf.clone()],
                &[selfca_leaf.clone()],
                "127.0.0.1",
                NOW,
                None
            ),
            Some(Cause::TrustedCaAsLeaf {
                subject: "CN=127.0.0.1".into()
            })
        );
        // A private CA this machine does not trust.
        let (_, private_i) = ca("Private CA");
        let private = leaf(&["127.0.0.1"], &private_i);
        assert_eq!(
            diagnose(&[private], &[root.clone()], "127.0.0.1", NOW, None),
            Some(Cause::UntrustedIssuer {
                issuer: "CN=Private CA".into(),
                sent: 1
            })
        );
        // A missing intermediate: found at the caIssuers URL, issued by a trusted root.
        let mut ip = CertificateParams::new(Vec::<String>::new()).unwrap();
        ip.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ip.distinguished_name
            .push(rcgen::DnType::CommonName, "Intermediate");
        let ikey = KeyPair::generate().unwrap();
        let inter = ip.signed_by(&ikey, &root_i).unwrap().der().to_vec();
        let inter_i = Issuer::new(ip, ikey);
        let l = leaf(&["127.0.0.1"], &inter_i);
        assert_eq!(
            diagnose(
                &[l.clone(), inter.clone()],
                &[root.clone()],
                "127.0.0.1",
                NOW,
                None
            ),
            None
        );
        assert_eq!(
            diagnose(&[l.clone()], &[root.clone()], "127.0.0.1", NOW, None),
            Some(Cause::UntrustedIssuer {
                issuer: "CN=Intermediate".into(),
                sent: 1
            })
        );
        let c = diagnose(
            &[l],
            &[root.clone()],
            "127.0.0.1",
            NOW,
            Some(("http://x/i.der", &inter)),
        )
        .unwrap();
        assert_eq!(
            c,
            Cause::MissingIntermediate {
                intermediate: "CN=Intermediate".into(),
                url: "http://x/i.der".into(),
                root: "CN=Root".into()
            }
        );
        assert_eq!(
            c.go_says("h"),
            "x509: certificate signed by unknown authority"
        );
        // Through an HTTP proxy (no inspection): the typed refusal, in the go command's words.
        let (cause, fix) = from_rustls(
            &rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
            "p.example",
        );
        assert_eq!(
            cause,
            "the proxy's certificate is self-signed or from a CA this machine does not trust: the go command fails with \"x509: certificate signed by unknown authority\""
        );
        assert!(fix.contains("update-ca-certificates"), "{fix}");
        let (cause, _) = from_rustls(
            &rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName),
            "p.example",
        );
        assert_eq!(
            cause,
            "the proxy's certificate is for another name: the go command fails with \"x509: certificate is valid for ..., not p.example\""
        );
        // Expired, with Go's text.
        let mut p = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
        p.not_before = rcgen::date_time_ymd(2020, 1, 1);
        p.not_after = rcgen::date_time_ymd(2021, 1, 1);
        let old = p
            .signed_by(&KeyPair::generate().unwrap(), &root_i)
            .unwrap()
            .der()
            .to_vec();
        let c = diagnose(&[old], &[root], "127.0.0.1", NOW, None).unwrap();
        assert_eq!(
            c.go_says("127.0.0.1"),
            "x509: certificate has expired or is not yet valid: current time 2027-01-15T08:00:00Z is after 2021-01-01T00:00:00Z"
        );
    }

    /// A self-signed server on loopback; reqwest's refusal carries rustls' typed error,
    /// and the inspection handshake records the chain.
    #[tokio::test]
    async fn the_refusal_is_found_and_the_chain_recorded() {
        let p = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = p.self_signed(&key).unwrap().der().to_vec();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(cert.clone())],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let _ = acceptor.accept(conn).await;
            }
        });
        let e = reqwest::Client::new()
            .get(format!("https://127.0.0.1:{port}/"))
            .send()
            .await
            .unwrap_err();
        let mut chain = String::new();
        let mut cur: Option<&dyn std::error::Error> = Some(&e);
        while let Some(x) = cur {
            chain.push_str(&format!("{x:?}\n"));
            cur = x.source();
        }
        assert_eq!(
            rustls_error(&e),
            Some(&rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer
            )),
            "{chain}"
        );
        let dl = Deadline::after(std::time::Duration::from_secs(10));
        assert_eq!(
            presented_chain("127.0.0.1", port, None, dl).await,
            Some(vec![cert])
        );
        server.abort();
    }
}
