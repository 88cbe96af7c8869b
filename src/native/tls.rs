//! TLS for the native transport: one rustls client configuration (ring, the webpki roots and
//! any roots the caller adds) for both the procedure call and the socket, and the test that
//! tells a certificate the client does not trust from any other network failure.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

use crate::error::Error;

/// The native transport's own settings: the extra trusted roots.
#[derive(Debug, Clone, Default)]
pub(crate) struct TransportOptions {
    extra_roots: Vec<CertificateDer<'static>>,
}

impl TransportOptions {
    /// Trusts every certificate in `pem` as a root too.
    pub(crate) fn add_root_certificates_pem(&mut self, pem: &[u8]) -> Result<(), Error> {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| invalid_roots(format!("malformed PEM: {e}")))?;
            // Checked here, so a bad root is an option error now, not a failure per connect.
            RootCertStore::empty()
                .add(cert.clone())
                .map_err(|e| invalid_roots(e.to_string()))?;
            self.extra_roots.push(cert);
            added += 1;
        }
        if added == 0 {
            return Err(invalid_roots("no CERTIFICATE block".to_owned()));
        }
        Ok(())
    }

    /// The client configuration for `https://` and `wss://`. The provider is named rather
    /// than taken from the process default, which is ambiguous when another crate in the
    /// program enables a second rustls provider.
    pub(crate) fn client_config(&self) -> Result<Arc<ClientConfig>, Error> {
        let mut roots = RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for cert in &self.extra_roots {
            roots
                .add(cert.clone())
                .map_err(|e| invalid_roots(e.to_string()))?;
        }
        let config =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| Error::Options {
                    reason: format!("TLS configuration: {e}"),
                })?
                .with_root_certificates(roots)
                .with_no_client_auth();
        Ok(Arc::new(config))
    }
}

fn invalid_roots(reason: String) -> Error {
    Error::Options {
        reason: format!("invalid root certificates: {reason}"),
    }
}

/// Why the server's certificate was refused, when `error` (or anything in its chain) is a
/// certificate rustls rejected; such a failure repeats on every attempt, so callers stop at
/// once instead of retrying.
pub(crate) fn untrusted_certificate(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(
            error @ (rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented),
        ) = error.downcast_ref::<rustls::Error>()
        {
            return Some(error.to_string());
        }
        // `io::Error::source` skips the error it wraps (and IO errors wrap each other), so go
        // inside it explicitly.
        next = match error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => error.source(),
        };
    }
    None
}

/// An error message with its whole chain of causes (`client error (Connect): tcp connect
/// error: Connection refused`), since the outermost message alone often says nothing.
pub(crate) fn describe_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        next = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_must_be_certificates() {
        let mut options = TransportOptions::default();
        let none = options.add_root_certificates_pem(b"no pem here");
        assert_eq!(
            none.map_err(|e| e.code().to_owned()),
            Err("INVALID_OPTION".to_owned())
        );
        let garbage = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(options.add_root_certificates_pem(garbage).is_err());
        assert!(options.client_config().is_ok());
    }

    #[test]
    fn only_certificate_failures_count_as_untrusted() {
        let refused = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let wrapped = std::io::Error::new(std::io::ErrorKind::InvalidData, refused);
        assert!(untrusted_certificate(&wrapped).is_some_and(|r| r.contains("UnknownIssuer")));
        let other = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(untrusted_certificate(&other), None);
    }
}
