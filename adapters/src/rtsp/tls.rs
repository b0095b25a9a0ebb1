//! TLS to cameras, for `rtsps://` and for the ONVIF client's `https://`. Cameras present
//! self-signed certificates, so trust is explicit: either a configured CA file (normal WebPKI
//! path and name checks against it) or a pinned SHA-256 fingerprint of the camera's certificate
//! (handshake signatures still verified). There is no "accept anything" mode for a connection
//! that carries data: [`inspect`] accepts any certificate only to show it to the operator
//! commissioning the camera, and closes the connection right after the handshake.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest as _, Sha256};

/// How the camera's certificate is trusted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsTrust {
    /// PEM file of the CA(s) that issued the camera's certificate.
    CaFile(PathBuf),
    /// SHA-256 of the camera certificate (DER), as `openssl x509 -fingerprint -sha256` shows it.
    Pinned([u8; 32]),
}

impl TlsTrust {
    /// Parses a fingerprint written as hex, with or without `:` separators and with or without
    /// a `sha256:` prefix (the configuration's form).
    pub fn pinned_hex(s: &str) -> Option<TlsTrust> {
        parse_fingerprint(s).map(TlsTrust::Pinned)
    }
}

/// Parses `sha256:<64 hex>` (or bare hex, `:` separators allowed, any case).
pub fn parse_fingerprint(s: &str) -> Option<[u8; 32]> {
    let s = s.trim();
    let s = match s.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("sha256:") => &s[7..],
        _ => s,
    };
    let clean: String = s.chars().filter(|c| *c != ':').collect();
    hex::decode(clean).ok()?.try_into().ok()
}

/// SHA-256 of a certificate's DER bytes.
pub fn fingerprint(der: &[u8]) -> [u8; 32] {
    Sha256::digest(der).into()
}

/// The configuration's form of a fingerprint: `sha256:` and lowercase hex.
pub fn format_fingerprint(fp: &[u8; 32]) -> String {
    format!("sha256:{}", hex::encode(fp))
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds the rustls client configuration for `trust`.
pub(crate) fn client_config(trust: &TlsTrust) -> Result<rustls::ClientConfig, String> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let config = match trust {
        TlsTrust::CaFile(path) => {
            let mut roots = rustls::RootCertStore::empty();
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("cannot read CA file {}: {e}", path.display()))?;
            for c in certs {
                let c = c.map_err(|e| format!("bad certificate in {}: {e}", path.display()))?;
                roots
                    .add(c)
                    .map_err(|e| format!("unusable CA in {}: {e}", path.display()))?;
            }
            if roots.is_empty() {
                return Err(format!("no certificate in CA file {}", path.display()));
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        TlsTrust::Pinned(fp) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EndEntityVerifier::new(EndEntity::Pinned(
                *fp,
            ))))
            .with_no_client_auth(),
    };
    Ok(config)
}

/// One endpoint's certificate, as shown to the operator commissioning a camera.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CertificateInfo {
    /// `host:port` it was read from.
    pub endpoint: String,
    /// Subject and issuer as RFC 4514 strings (`CN=camera,O=…`).
    pub subject: String,
    pub issuer: String,
    pub not_before: Option<jiff::Timestamp>,
    pub not_after: Option<jiff::Timestamp>,
    /// `sha256:<hex>` of the certificate (DER), the form `tls = { pin = … }` takes.
    pub fingerprint: String,
}

/// Reads the certificate `host:port` presents, without trusting it: the handshake is aborted
/// as soon as the certificate arrives, so nothing is sent to the endpoint and nothing read
/// from it beyond its certificate.
pub async fn inspect(
    host: &str,
    port: u16,
    timeout: std::time::Duration,
) -> Result<CertificateInfo, crate::Error> {
    let endpoint = format!("{host}:{port}");
    let tls_err = |message: String| crate::Error::Tls {
        target: endpoint.clone(),
        message,
    };
    let recorder = Arc::new(EndEntityVerifier::new(EndEntity::Record(
        std::sync::Mutex::new(None),
    )));
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();
    let name = server_name(host).map_err(tls_err)?;
    let tcp = tokio::time::timeout(
        timeout,
        tokio::net::TcpStream::connect((host.trim_matches(['[', ']']), port)),
    )
    .await
    .map_err(|_| crate::Error::Timeout {
        target: endpoint.clone(),
        what: "the connection".into(),
    })?
    .map_err(|source| crate::Error::Connect {
        target: endpoint.clone(),
        source,
    })?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    // The recorder refuses every certificate: the handshake always fails once it has one.
    let handshake = tokio::time::timeout(timeout, connector.connect(name, tcp)).await;
    let der = match &recorder.end_entity {
        EndEntity::Record(seen) => seen.lock().ok().and_then(|mut g| g.take()),
        EndEntity::Pinned(_) => None,
    };
    let Some(der) = der else {
        return Err(match handshake {
            Err(_) => crate::Error::Timeout {
                target: endpoint.clone(),
                what: "the TLS handshake".into(),
            },
            Ok(Err(e)) => tls_err(format!("no certificate received: {e}")),
            Ok(Ok(_)) => tls_err("no certificate received".into()),
        });
    };
    Ok(describe(endpoint.clone(), &der))
}

/// Subject, issuer, validity and fingerprint of a DER certificate (what can be read of it).
pub fn describe(endpoint: String, der: &[u8]) -> CertificateInfo {
    use x509_cert::der::Decode as _;
    let fp = format_fingerprint(&fingerprint(der));
    let time = |t: &x509_cert::time::Time| {
        i64::try_from(t.to_unix_duration().as_secs())
            .ok()
            .and_then(|s| jiff::Timestamp::from_second(s).ok())
    };
    match x509_cert::Certificate::from_der(der) {
        Ok(c) => {
            let tbs = &c.tbs_certificate;
            CertificateInfo {
                endpoint,
                subject: tbs.subject.to_string(),
                issuer: tbs.issuer.to_string(),
                not_before: time(&tbs.validity.not_before),
                not_after: time(&tbs.validity.not_after),
                fingerprint: fp,
            }
        }
        Err(e) => CertificateInfo {
            endpoint,
            subject: format!("(unreadable certificate: {e})"),
            issuer: String::new(),
            not_before: None,
            not_after: None,
            fingerprint: fp,
        },
    }
}

/// Server name for SNI and CA-file name checks.
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    ServerName::try_from(host.trim_matches(['[', ']']).to_string())
        .map_err(|e| format!("invalid TLS server name {host}: {e}"))
}

/// What [`EndEntityVerifier`] does with the camera's certificate.
#[derive(Debug)]
enum EndEntity {
    /// Accept exactly the certificate whose SHA-256 this is.
    Pinned([u8; 32]),
    /// Keep the first certificate shown and refuse it (inspection: nothing else is exchanged).
    Record(std::sync::Mutex<Option<Vec<u8>>>),
}

/// The one custom certificate verifier: pinning, or reading a certificate for inspection.
/// Handshake signatures are checked with the provider's algorithms (a recorded certificate
/// is refused before any signature is checked).
#[derive(Debug)]
struct EndEntityVerifier {
    end_entity: EndEntity,
    algorithms: WebPkiSupportedAlgorithms,
}

impl EndEntityVerifier {
    fn new(end_entity: EndEntity) -> EndEntityVerifier {
        EndEntityVerifier {
            end_entity,
            algorithms: provider().signature_verification_algorithms,
        }
    }
}

impl ServerCertVerifier for EndEntityVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match &self.end_entity {
            EndEntity::Pinned(pinned) => {
                let got = fingerprint(end_entity.as_ref());
                if got == *pinned {
                    return Ok(ServerCertVerified::assertion());
                }
                Err(rustls::Error::General(format!(
                    "the camera presented certificate {} which does not match the pinned {} \
                     (a changed certificate is refused: if the camera's certificate was renewed, read \
                     its fingerprint on the device and run `scelle camera pin`; otherwise something \
                     is impersonating the camera)",
                    format_fingerprint(&got),
                    format_fingerprint(pinned)
                )))
            }
            EndEntity::Record(seen) => {
                if let Ok(mut g) = seen.lock() {
                    *g = Some(end_entity.as_ref().to_vec());
                }
                Err(rustls::Error::General(
                    "certificate read for inspection only".into(),
                ))
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_parse_in_every_written_form() {
        let fp = [0xabu8; 32];
        let shown = format_fingerprint(&fp);
        assert_eq!(shown, format!("sha256:{}", "ab".repeat(32)));
        assert_eq!(parse_fingerprint(&shown), Some(fp));
        assert_eq!(parse_fingerprint(&shown.to_uppercase()), Some(fp));
        let colons = vec!["AB"; 32].join(":");
        assert_eq!(parse_fingerprint(&colons), Some(fp));
        assert_eq!(parse_fingerprint("sha256:abab"), None);
        assert_eq!(parse_fingerprint("sha1:ab"), None);
    }
}
