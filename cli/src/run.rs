//! The two commands, on the native transport.

use std::io::Write;
use std::time::Duration;

use durable_iterator_wasm::{ConnectionState, DurableIterator, Notice, Options};
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::args::{Call, Cli, Command, Connection, Tail};
use crate::failure::{Failure, Kind};

/// Refused upgrades in a row after which the token counts as refused. More than one, because
/// the iterator first gets a fresh token (when it can refresh) and tries again.
const REFUSALS: u32 = 3;

/// Failed reconnects in a row after which `call` gives up, unless `--max-attempts` says
/// otherwise: a one-shot call should not wait forever for an object that is down.
const CALL_MAX_ATTEMPTS: u32 = 5;

/// Runs the command line's command.
pub async fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Tail(tail) => tail_events(tail).await,
        Command::Call(call) => call_method(call).await,
    }
}

async fn tail_events(tail: Tail) -> Result<(), Failure> {
    let (notices, mut noticed) = mpsc::unbounded_channel();
    let mut options = options(&tail.connection, tail.input.as_deref(), notices)?;
    if let Some(id) = tail.last_event_id {
        options = options.last_event_id(id);
    }
    let mut events = DurableIterator::<Value>::connect(options).await?;
    let mut printed = 0;
    let mut last_error = None;
    let mut stdout = std::io::stdout();
    while tail.count.is_none_or(|count| printed < count) {
        tokio::select! {
            biased;
            Some(notice) = noticed.recv() => report(&notice)?,
            event = events.next() => match event {
                Some(Ok(data)) => {
                    let line = json!({ "id": events.last_event_id(), "data": data });
                    // A closed pipe (`| head`) means the reader has what it wanted.
                    if writeln!(stdout, "{line}").and_then(|()| stdout.flush()).is_err() {
                        return Ok(());
                    }
                    printed += 1;
                }
                // One bad event, or the last item before the end: say so, and decide when
                // the stream says whether more comes.
                Some(Err(error)) => {
                    eprintln!("event error: {error} ({})", error.code());
                    last_error = Some(error);
                }
                None => return last_error.map_or(Ok(()), |error| Err(error.into())),
            },
        }
    }
    events.close();
    Ok(())
}

async fn call_method(call: Call) -> Result<(), Failure> {
    let (notices, mut noticed) = mpsc::unbounded_channel();
    let mut options = options(&call.connection, call.procedure_input.as_deref(), notices)?;
    if call.connection.max_attempts.is_none() {
        options = options.max_reconnect_attempts(CALL_MAX_ATTEMPTS);
    }
    let input = call
        .input
        .as_deref()
        .map(|text| parse_json("--input", text))
        .transpose()?;
    let mut events = DurableIterator::<Value>::connect(options).await?;
    let rpc = events.rpc(call.path.split('.'));
    let answer = async move {
        match input {
            Some(input) => rpc.call::<Value, Value>(&input).await,
            None => rpc.call_without_input::<Value>().await,
        }
    };
    tokio::pin!(answer);
    let answer = loop {
        tokio::select! {
            biased;
            Some(notice) = noticed.recv() => report(&notice)?,
            answer = &mut answer => break answer?,
            // Events are not this command's business, but the stream's end is: a certificate
            // refused or reconnects given up end it, and the call with it.
            Some(Err(error)) = events.next() => return Err(error.into()),
        }
    };
    println!("{answer}");
    events.close();
    Ok(())
}

/// The library's options from the command line; notices go to `notices`.
fn options(
    connection: &Connection,
    input: Option<&str>,
    notices: mpsc::UnboundedSender<Notice>,
) -> Result<Options, Failure> {
    let mut options = Options::new(&connection.rpc_url, &connection.procedure, &connection.url)
        .on_notice(move |notice| {
            let _ = notices.send(notice.clone());
        });
    if let Some(input) = input {
        options = options.input(&parse_json("--input", input)?)?;
    }
    for header in &connection.headers {
        let Some((name, value)) = header.split_once(':') else {
            return Err(Failure::usage(format!(
                "--header {header:?}: expected 'Name: value'"
            )));
        };
        options = options.header(name.trim(), value.trim());
    }
    if let Some(seconds) = connection.refresh_before {
        let before = Duration::try_from_secs_f64(seconds)
            .map_err(|e| Failure::usage(format!("--refresh-before {seconds}: {e}")))?;
        options = options.refresh_before_expire(before);
    }
    if let Some(path) = &connection.ca_cert {
        let pem = std::fs::read(path)
            .map_err(|e| Failure::usage(format!("--ca-cert {}: {e}", path.display())))?;
        options = options.root_certificates_pem(&pem)?;
    }
    if let Some(attempts) = connection.max_attempts {
        options = options.max_reconnect_attempts(attempts);
    }
    Ok(options)
}

fn parse_json(flag: &str, text: &str) -> Result<Value, Failure> {
    serde_json::from_str(text).map_err(|e| Failure::usage(format!("{flag} is not JSON: {e}")))
}

/// Tells stderr about a connection change; a token the object keeps refusing ends the run.
fn report(notice: &Notice) -> Result<(), Failure> {
    let line = match notice {
        Notice::State(state) => match state {
            ConnectionState::Connecting { attempt: 0 } => "connecting".to_owned(),
            ConnectionState::Connecting { attempt } => {
                format!("connecting (attempt {})", attempt + 1)
            }
            ConnectionState::Open => "open".to_owned(),
            ConnectionState::Reconnecting {
                attempt,
                delay,
                code,
                reason,
            } => {
                if *attempt >= REFUSALS && refused_upgrade(reason) {
                    return Err(Failure::new(
                        Kind::TokenRefused,
                        format!("the object refused the token {attempt} times in a row: {reason}"),
                    ));
                }
                format!("reconnecting in {delay:?} (attempt {attempt}; closed {code}: {reason})")
            }
            ConnectionState::Offline => "offline".to_owned(),
            ConnectionState::Refreshing => "refreshing the token".to_owned(),
            ConnectionState::Closed { code, reason } => format!("closed {code}: {reason}"),
        },
        Notice::Resumed { last_event_id } => format!("resumed after event {last_event_id}"),
        Notice::PossibleGap => {
            "gap: events may have been lost (the object kept none to replay)".to_owned()
        }
        Notice::RefreshFailed {
            reason,
            retry_in_ms,
        } => format!("token refresh failed: {reason}; next try in {retry_in_ms:.0} ms"),
        Notice::TokenUpdated => "token refreshed".to_owned(),
        Notice::FrameIgnored { reason } => format!("ignored a frame: {reason}"),
        other => format!("{other:?}"),
    };
    eprintln!("{line}");
    Ok(())
}

/// Whether a close reason is the native transport's refused upgrade with 401 or 403.
fn refused_upgrade(reason: &str) -> bool {
    ["upgrade refused: HTTP 401", "upgrade refused: HTTP 403"]
        .iter()
        .any(|prefix| reason.starts_with(prefix))
}
