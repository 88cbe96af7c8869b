//! The proxy over real loopback sockets: it relays faithfully when told nothing, and each
//! fault does what it claims — drops, refusals, black-holing, latency, mid-frame truncation,
//! scheduled drops.

use std::net::SocketAddr;
use std::time::Duration;

use durable_iterator_chaos::{ChaosConfig, ChaosProxy, FrameTracker};
use futures_util::SinkExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{timeout, Instant};
use tokio_tungstenite::tungstenite::Message;

const WAIT: Duration = Duration::from_secs(5);

/// An echo server on loopback: every connection gets its bytes back, and a FIN back for a FIN.
async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = stream.read(&mut buf).await {
                    if n == 0 || stream.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

async fn proxy(upstream: SocketAddr, config: ChaosConfig) -> ChaosProxy {
    ChaosProxy::start("127.0.0.1:0".parse().unwrap(), upstream, config)
        .await
        .unwrap()
}

/// Sends `text` and reads the same number of bytes back.
async fn round_trip(stream: &mut TcpStream, text: &[u8]) -> Vec<u8> {
    stream.write_all(text).await.unwrap();
    let mut back = vec![0u8; text.len()];
    timeout(WAIT, stream.read_exact(&mut back))
        .await
        .expect("echo in time")
        .unwrap();
    back
}

/// Whether the connection is over (EOF or reset) within `WAIT`.
async fn ended(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 64];
    matches!(
        timeout(WAIT, stream.read(&mut buf)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

#[tokio::test]
async fn relays_both_ways_and_passes_a_half_close_on() {
    let chaos = proxy(echo_server().await, ChaosConfig::default()).await;
    let mut client = TcpStream::connect(chaos.addr()).await.unwrap();
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let (mut read, mut write) = client.split();
    let (_, back) = tokio::join!(
        async {
            write.write_all(&big).await.unwrap();
            write.shutdown().await.unwrap();
        },
        async {
            let mut back = Vec::new();
            timeout(WAIT, read.read_to_end(&mut back))
                .await
                .unwrap()
                .unwrap();
            back
        }
    );
    assert_eq!(back, big);
    let stats = chaos.stats();
    assert_eq!(
        (stats.accepted, stats.bytes_up, stats.bytes_down),
        (1, 200_000, 200_000)
    );
    assert_eq!(stats.links_dropped(), 0);
    drop(client);
}

#[tokio::test]
async fn drop_all_cuts_live_connections_and_new_ones_work() {
    let chaos = proxy(echo_server().await, ChaosConfig::default()).await;
    let mut a = TcpStream::connect(chaos.addr()).await.unwrap();
    let mut b = TcpStream::connect(chaos.addr()).await.unwrap();
    assert_eq!(round_trip(&mut a, b"a").await, b"a");
    assert_eq!(round_trip(&mut b, b"b").await, b"b");
    assert_eq!(chaos.drop_all(), 2);
    assert!(ended(&mut a).await && ended(&mut b).await);
    let mut c = TcpStream::connect(chaos.addr()).await.unwrap();
    assert_eq!(round_trip(&mut c, b"c").await, b"c");
    let stats = chaos.stats();
    assert_eq!((stats.drop_rounds, stats.cut, stats.accepted), (1, 2, 3));
}

#[tokio::test]
async fn refusal_fails_new_connections_for_a_while_and_spares_live_ones() {
    let chaos = proxy(echo_server().await, ChaosConfig::default()).await;
    let mut live = TcpStream::connect(chaos.addr()).await.unwrap();
    assert_eq!(round_trip(&mut live, b"1").await, b"1");
    chaos.refuse_for(Duration::from_millis(400));
    let mut refused = TcpStream::connect(chaos.addr()).await.unwrap();
    let _ = refused.write_all(b"x").await;
    assert!(
        ended(&mut refused).await,
        "a refused connection ends at once"
    );
    assert_eq!(round_trip(&mut live, b"2").await, b"2");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut later = TcpStream::connect(chaos.addr()).await.unwrap();
    assert_eq!(round_trip(&mut later, b"3").await, b"3");
    assert_eq!(chaos.stats().refused, 1);
}

#[tokio::test]
async fn a_black_hole_holds_bytes_without_closing_and_releases_them_in_order() {
    let chaos = proxy(echo_server().await, ChaosConfig::default()).await;
    let mut client = TcpStream::connect(chaos.addr()).await.unwrap();
    assert_eq!(round_trip(&mut client, b"before").await, b"before");
    chaos.blackhole(true);
    client.write_all(b"during").await.unwrap();
    let mut buf = [0u8; 16];
    let silent = timeout(Duration::from_millis(500), client.read(&mut buf)).await;
    assert!(silent.is_err(), "nothing may come back, not even a close");
    assert_eq!(chaos.live_links(), 1);
    chaos.blackhole(false);
    let mut back = [0u8; 6];
    timeout(WAIT, client.read_exact(&mut back))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&back, b"during");
}

#[tokio::test]
async fn latency_delays_every_chunk_and_keeps_order() {
    let latency = Duration::from_millis(150);
    let config = ChaosConfig {
        latency,
        jitter: Duration::from_millis(50),
        ..ChaosConfig::default()
    };
    let chaos = proxy(echo_server().await, config).await;
    let mut client = TcpStream::connect(chaos.addr()).await.unwrap();
    let started = Instant::now();
    assert_eq!(round_trip(&mut client, b"ping").await, b"ping");
    // There and back: at least the latency twice.
    assert!(started.elapsed() >= latency * 2, "{:?}", started.elapsed());
    chaos.set_latency(Duration::ZERO, Duration::from_millis(20));
    let mut expected = Vec::new();
    for i in 0..50u8 {
        client.write_all(&[i]).await.unwrap();
        expected.push(i);
    }
    let mut back = vec![0u8; 50];
    timeout(WAIT, client.read_exact(&mut back))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back, expected, "jitter must not reorder bytes");
}

/// A WebSocket server that sends a 1000-byte text frame every 5 ms to each client.
async fn streaming_ws_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                let text = "x".repeat(1000);
                while ws.send(Message::text(text.clone())).await.is_ok() {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            });
        }
    });
    addr
}

const UPGRADE: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\n\r\n";

#[tokio::test]
async fn truncation_cuts_a_websocket_frame_in_the_middle_then_closes() {
    let chaos = proxy(streaming_ws_server().await, ChaosConfig::default()).await;
    let mut client = TcpStream::connect(chaos.addr()).await.unwrap();
    client.write_all(UPGRADE).await.unwrap();
    let mut received = Vec::new();
    let mut buf = [0u8; 8192];
    let mut tracker = FrameTracker::new();
    while tracker.complete_frames() < 5 {
        let n = timeout(WAIT, client.read(&mut buf)).await.unwrap().unwrap();
        assert!(n > 0, "closed early");
        tracker.feed(&buf[..n]);
        received.extend_from_slice(&buf[..n]);
    }
    assert_eq!(chaos.truncate_all(), 1);
    loop {
        match timeout(WAIT, client.read(&mut buf)).await.unwrap() {
            Ok(0) | Err(_) => break,
            Ok(n) => tracker.feed(&buf[..n]),
        }
    }
    assert!(tracker.inside_frame(), "the stream must end inside a frame");
    let stats = chaos.stats();
    assert_eq!((stats.truncated, stats.cut), (1, 0));
}

#[tokio::test]
async fn a_truncation_with_nothing_flowing_becomes_a_plain_cut() {
    let chaos = proxy(echo_server().await, ChaosConfig::default()).await;
    let mut client = TcpStream::connect(chaos.addr()).await.unwrap();
    assert_eq!(round_trip(&mut client, b"quiet").await, b"quiet");
    chaos.truncate_all();
    assert!(ended(&mut client).await);
    let stats = chaos.stats();
    assert_eq!((stats.truncated, stats.cut), (0, 1));
}

#[tokio::test]
async fn scheduled_drops_keep_cutting_while_a_schedule_is_set() {
    let config = ChaosConfig {
        seed: 11,
        drop_every: Some((Duration::from_millis(30), Duration::from_millis(60))),
        ..ChaosConfig::default()
    };
    let chaos = proxy(echo_server().await, config).await;
    let mut cuts = 0;
    while cuts < 3 {
        let mut client = TcpStream::connect(chaos.addr()).await.unwrap();
        assert_eq!(round_trip(&mut client, b"hello").await, b"hello");
        assert!(ended(&mut client).await, "the schedule must cut this link");
        cuts += 1;
    }
    chaos.set_drop_every(None);
    let rounds = chaos.stats().drop_rounds;
    let mut client = TcpStream::connect(chaos.addr()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(round_trip(&mut client, b"calm").await, b"calm");
    assert_eq!(chaos.stats().drop_rounds, rounds);
    assert!(chaos.stats().links_dropped() >= 3);
}
