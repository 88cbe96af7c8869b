//! A TLS front for a plain TCP server (feature `tls`): it accepts TLS on loopback and
//! forwards the decrypted bytes to the server. The TLS tests put it before the reference
//! server, so the real server is reached over real TLS with a certificate made at test time
//! (by [`TlsTerminator::with_fresh_ca`]), and the server itself needs no TLS code.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// A running TLS front; dropping it closes the listener and every connection.
pub struct TlsTerminator {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl TlsTerminator {
    /// Listens on `listen` (port 0 for any) and forwards to `backend`, presenting
    /// `cert_chain` (leaf first) signed by `key`.
    pub async fn start(
        listen: SocketAddr,
        backend: SocketAddr,
        cert_chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> io::Result<Self> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|builder| {
                builder
                    .with_no_client_auth()
                    .with_single_cert(cert_chain, key)
            })
            .map_err(io::Error::other)?;
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            // Owned here, so aborting this task ends every connection with it.
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((client, _)) = accepted else { continue };
                        connections.spawn(forward(acceptor.clone(), client, backend));
                    }
                    Some(_) = connections.join_next() => {}
                }
            }
        });
        Ok(TlsTerminator { addr, task })
    }

    /// Listens on a free loopback port before `backend`, with a certificate for `localhost`
    /// and `127.0.0.1` issued by a certificate authority made now; returns that authority's
    /// certificate as PEM, for the client to trust.
    pub async fn with_fresh_ca(backend: SocketAddr) -> io::Result<(Self, String)> {
        let (chain, key, ca_pem) = fresh_certificates().map_err(io::Error::other)?;
        let listen = SocketAddr::from(([127, 0, 0, 1], 0));
        Ok((Self::start(listen, backend, chain, key).await?, ca_pem))
    }

    /// Where clients connect (`https://` / `wss://` on this address).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for TlsTerminator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One connection: the handshake (a client that refuses the certificate ends it here), then
/// bytes both ways until either side closes.
async fn forward(acceptor: TlsAcceptor, client: TcpStream, backend: SocketAddr) {
    let _ = client.set_nodelay(true);
    let Ok(mut client) = acceptor.accept(client).await else {
        return;
    };
    let Ok(mut server) = TcpStream::connect(backend).await else {
        return;
    };
    let _ = server.set_nodelay(true);
    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
}

/// A leaf certificate for loopback names, its key, and the PEM of the authority that issued
/// it (a chain of two, as real deployments have, rather than a self-signed leaf).
fn fresh_certificates(
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>, String), rcgen::Error> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "durable-iterator test CA");
    let ca = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate()?;
    let leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?
        .signed_by(&leaf_key, &issuer)?;
    let key = PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    Ok((vec![leaf.der().clone(), ca.der().clone()], key, ca.pem()))
}
