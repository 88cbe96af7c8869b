//! A TLS front before a running server, for trying clients over `https://` and `wss://` by
//! hand: `cargo run -p durable-iterator-chaos --features tls --example tls_front --
//! 127.0.0.1:8787 ca.pem` listens on a free loopback port with a certificate for `localhost`
//! issued by a certificate authority made now, writes that authority to `ca.pem`, prints the
//! front's address and forwards until Ctrl-C.

use std::net::SocketAddr;

use durable_iterator_chaos::TlsTerminator;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(backend), Some(ca_path)) = (args.next(), args.next()) else {
        eprintln!("usage: tls_front BACKEND_ADDR CA_PEM_PATH");
        std::process::exit(2);
    };
    let backend: SocketAddr = backend.parse().map_err(std::io::Error::other)?;
    let (front, ca_pem) = TlsTerminator::with_fresh_ca(backend).await?;
    std::fs::write(&ca_path, ca_pem)?;
    println!(
        "https://localhost:{port} and wss://localhost:{port} -> {backend}; CA in {ca_path}",
        port = front.addr().port()
    );
    tokio::signal::ctrl_c().await
}
