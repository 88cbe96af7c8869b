//! The real `durable-iterator` binary against the real reference server (in this process, on
//! a loopback port), over plain HTTP and over TLS through a front whose certificate
//! authority is made at test time; and its exit codes for a refused token, an unreachable
//! server, an untrusted certificate and bad arguments.

use std::io::Read;
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use durable_iterator_chaos::TlsTerminator;
use durable_iterator_protocol::RichBody;
use durable_iterator_server::{Config, DbLocation, PublishOptions, Server, DEMO_CHANNEL};
use serde_json::{json, Value};
use tokio::net::TcpListener;

/// How long anything here may take.
const WAIT: Duration = Duration::from_secs(15);

/// The reference server on a free port, with signing key `key`, until dropped.
struct TestServer {
    addr: SocketAddr,
    server: Server,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    async fn start(key: &str) -> Self {
        let mut config = Config::new(key);
        config.db = DbLocation::Memory;
        // Events get ids and are kept for resume.
        config.resume_retention = Some(Duration::from_secs(60));
        let server = Server::open(config).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = server.router();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        TestServer { addr, server, task }
    }

    /// Publishes `{"message": text}` to everyone in the demo room.
    fn publish(&self, text: &str) {
        let body = RichBody::plain(json!({ "message": text }));
        self.server
            .publish_event(DEMO_CHANNEL, body, PublishOptions::everyone());
    }

    /// Waits until `count` sockets are subscribed in the demo room.
    async fn wait_for_subscribers(&self, count: usize) {
        let started = Instant::now();
        while self
            .server
            .sockets(DEMO_CHANNEL)
            .iter()
            .filter(|s| s.subscribed)
            .count()
            < count
        {
            assert!(started.elapsed() < WAIT, "no subscriber came");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The connection flags for `rpc` and `object` bases (`http://host:port`, `ws://host:port`).
fn connection(rpc: &str, object: &str) -> Vec<String> {
    [
        "--rpc-url",
        &format!("{rpc}/rpc"),
        "--procedure",
        "onMessage",
        "--url",
        &format!("{object}/chat-room"),
    ]
    .map(str::to_owned)
    .to_vec()
}

fn plain(server: &TestServer) -> Vec<String> {
    connection(
        &format!("http://{}", server.addr),
        &format!("ws://{}", server.addr),
    )
}

fn over_tls(front: &TlsTerminator) -> Vec<String> {
    let port = front.addr().port();
    connection(
        &format!("https://localhost:{port}"),
        &format!("wss://localhost:{port}"),
    )
}

/// How the binary ended.
struct Output {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Starts the binary with `args`.
fn spawn(args: &[String]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_durable-iterator"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for `child` to exit (killing it and failing after `WAIT`); what it printed is small,
/// so reading the pipes after the exit cannot block it.
async fn finish(mut child: Child) -> Output {
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > WAIT {
            let _ = child.kill();
            panic!("the binary did not end within {WAIT:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let (mut stdout, mut stderr) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    Output {
        status,
        stdout,
        stderr,
    }
}

/// Runs the binary to its end.
async fn run(args: &[String]) -> Output {
    finish(spawn(args)).await
}

/// `tail --count 2` while two events are published; its stdout lines and stderr.
async fn tail_two(server: &TestServer, mut args: Vec<String>) -> (Vec<Value>, String) {
    args.splice(0..0, ["tail".to_owned()]);
    args.extend(["--count", "2"].map(str::to_owned));
    let child = spawn(&args);
    server.wait_for_subscribers(1).await;
    server.publish("one");
    server.publish("two");
    let output = finish(child).await;
    let stderr = output.stderr;
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let lines = output
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    (lines, stderr)
}

#[tokio::test]
async fn call_prints_the_answer_as_json() {
    let server = TestServer::start("cli-key").await;
    let mut args = vec!["call".to_owned()];
    args.extend(plain(&server));
    args.extend(["--path", "routerClient.echo", "--input", r#"{"text":"hi"}"#].map(str::to_owned));
    let output = run(&args).await;
    assert_eq!(output.status.code(), Some(0), "{}", output.stderr);
    assert_eq!(output.stdout, "\"Echo: hi\"\n");
}

#[tokio::test]
async fn tail_prints_each_event_as_a_json_line_and_exits_after_count() {
    let server = TestServer::start("cli-key").await;
    let (lines, stderr) = tail_two(&server, plain(&server)).await;
    assert_eq!(
        lines,
        [
            json!({"id": "1", "data": {"message": "one"}}),
            json!({"id": "2", "data": {"message": "two"}})
        ]
    );
    assert!(stderr.lines().any(|l| l == "open"), "{stderr}");

    // Resuming after the first replays the second.
    let mut args = vec!["tail".to_owned()];
    args.extend(plain(&server));
    args.extend(["--last-event-id", "1", "--count", "1"].map(str::to_owned));
    let output = run(&args).await;
    assert_eq!(output.status.code(), Some(0), "{}", output.stderr);
    assert_eq!(
        output.stdout,
        "{\"id\":\"2\",\"data\":{\"message\":\"two\"}}\n"
    );
}

#[tokio::test]
async fn tail_and_call_over_tls_with_the_ca_given() {
    let server = TestServer::start("cli-key").await;
    let (front, ca_pem) = TlsTerminator::with_fresh_ca(server.addr).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, ca_pem).unwrap();
    let mut args = over_tls(&front);
    args.extend(["--ca-cert".to_owned(), ca.display().to_string()]);

    let (lines, _) = tail_two(&server, args.clone()).await;
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["data"]["message"], "two");

    let mut call = vec!["call".to_owned()];
    call.extend(args);
    call.extend(["--path", "routerClient.ping"].map(str::to_owned));
    let output = run(&call).await;
    assert_eq!(output.status.code(), Some(0), "{}", output.stderr);
    assert_eq!(output.stdout, "\"pong\"\n");
}

#[tokio::test]
async fn an_untrusted_certificate_exits_5_at_once() {
    let server = TestServer::start("cli-key").await;
    let (front, _) = TlsTerminator::with_fresh_ca(server.addr).await.unwrap();
    let mut args = vec!["tail".to_owned()];
    args.extend(over_tls(&front));
    let started = Instant::now();
    let output = run(&args).await;
    let stderr = output.stderr;
    assert_eq!(output.status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("is not trusted"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn an_unreachable_server_exits_4() {
    // A port that was free a moment ago: nothing listens there now.
    let addr = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let mut args = vec!["tail".to_owned()];
    args.extend(connection(
        &format!("http://{addr}"),
        &format!("ws://{addr}"),
    ));
    let output = run(&args).await;
    let stderr = output.stderr;
    assert_eq!(output.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("cannot reach"), "{stderr}");
}

#[tokio::test]
async fn a_token_the_object_refuses_exits_3() {
    // The app server signs with one key, the object checks with another.
    let app = TestServer::start("app-key").await;
    let object = TestServer::start("another-key").await;
    let mut args = vec!["tail".to_owned()];
    args.extend(connection(
        &format!("http://{}", app.addr),
        &format!("ws://{}", object.addr),
    ));
    let output = run(&args).await;
    let stderr = output.stderr;
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("refused the token"), "{stderr}");
    assert!(stderr.contains("401"), "{stderr}");
}

#[tokio::test]
async fn a_procedure_that_returns_no_token_exits_3_and_bad_json_exits_2() {
    let server = TestServer::start("cli-key").await;
    let mut args = vec!["tail".to_owned()];
    args.extend(plain(&server));
    let procedure = args.iter().position(|a| a == "onMessage").unwrap();
    args[procedure] = "sendMessage".to_owned();
    args.extend(["--input", r#"{"message":"not a subscription"}"#].map(str::to_owned));
    let output = run(&args).await;
    let stderr = output.stderr;
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("INVALID_TOKEN"), "{stderr}");

    let mut args = vec!["tail".to_owned()];
    args.extend(plain(&server));
    args.extend(["--input", "{not json"].map(str::to_owned));
    let output = run(&args).await;
    assert_eq!(output.status.code(), Some(2), "{}", output.stderr);
}
