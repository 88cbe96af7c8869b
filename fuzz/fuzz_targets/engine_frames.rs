//! The client engine fed arbitrary frames and events on an open, subscribed socket.
//!
//! The input is a script, one step per line: a line starting with byte 0x01 moves the clock
//! (by the next byte times 250 ms), 0x02 closes the socket (code from the next two bytes),
//! 0x03 opens the latest socket, 0x04 starts an RPC call, 0x05 stops; any other line is a
//! frame from the object (text when it is UTF-8, else binary). Seeds are the object frames
//! of the recorded upstream sessions.
//!
//! Checks: nothing panics; every frame the engine sends decodes; `Ended` comes once and is
//! the last output; no event id is delivered twice; no timer is left after the end.
#![no_main]

use std::collections::HashSet;
use std::time::Duration;

use durable_iterator_protocol::client::{
    decode_incoming, CallRequest, Engine, EngineOptions, Input, Instant, Output, Payload, SocketId,
    TokenClaims,
};
use durable_iterator_protocol::{sign_token, ClientMessage, Frame, TokenPayload};
use libfuzzer_sys::fuzz_target;

struct World {
    engine: Engine,
    now: Instant,
    socket: SocketId,
    ended: bool,
    delivered: HashSet<String>,
}

impl World {
    fn drain(&mut self) {
        while let Some(output) = self.engine.poll_output() {
            assert!(!self.ended, "output after Ended: {output:?}");
            match output {
                Output::OpenSocket { socket, .. } => self.socket = socket,
                Output::Send { text, .. } => {
                    ClientMessage::decode_text(&text).expect("the engine sends valid frames");
                }
                Output::Event { id, payload } => {
                    assert_eq!(payload, Payload(0), "an event names the input's message");
                    if let Some(id) = id {
                        // Well under the dedup capacity: a repeat is a real duplicate.
                        assert!(self.delivered.insert(id), "event delivered twice");
                    }
                }
                Output::Ended(_) => self.ended = true,
                _ => {}
            }
        }
    }

    fn advance(&mut self, by: Duration) {
        let target = self.now + by;
        // Bounded: a timer that keeps re-arming at `now` must not hang the fuzzer.
        for _ in 0..1000 {
            match self.engine.poll_timeout() {
                Some(at) if at <= target => {
                    self.now = self.now.max(at);
                    self.engine.handle_timeout(self.now);
                    self.drain();
                }
                _ => break,
            }
        }
        self.now = target;
    }
}

fuzz_target!(|data: &[u8]| {
    let mut payload = TokenPayload::new("some-room", 1_795_345_028.0, 3600.0);
    payload.rpc = Some(vec!["routerClient".to_owned()]);
    let token = sign_token(&payload, "k");
    let options = EngineOptions::default().with_max_frame_bytes(1 << 16);
    let max_frame_bytes = options.max_frame_bytes;
    let claims = TokenClaims::from(&payload);
    let Ok(engine) = Engine::new(
        options,
        "client".to_owned(),
        1,
        token,
        claims,
        None,
        Instant::ZERO,
    ) else {
        return;
    };
    let mut world = World {
        engine,
        now: Instant::ZERO,
        socket: SocketId(0),
        ended: false,
        delivered: HashSet::new(),
    };
    world.drain();
    let socket = world.socket;
    world
        .engine
        .handle_input(Input::SocketOpened { socket }, world.now);
    world.drain();

    for line in data.split(|&b| b == b'\n').take(256) {
        let socket = world.socket;
        match line {
            [0x01, rest @ ..] => {
                let steps = rest.first().copied().unwrap_or(1);
                world.advance(Duration::from_millis(250 * u64::from(steps)));
            }
            [0x02, rest @ ..] => {
                let code = match rest {
                    [a, b, ..] => u16::from_be_bytes([*a, *b]),
                    _ => 1006,
                };
                let input = Input::SocketClosed {
                    socket,
                    code,
                    reason: String::new(),
                };
                world.engine.handle_input(input, world.now);
            }
            [0x03, ..] => world
                .engine
                .handle_input(Input::SocketOpened { socket }, world.now),
            [0x04, ..] => {
                if let Ok(request) = CallRequest::with_input(["routerClient", "ping"], None) {
                    let _ = world.engine.call(request, world.now);
                }
            }
            [0x05, ..] => world.engine.stop(world.now),
            frame => {
                let frame = match std::str::from_utf8(frame) {
                    Ok(text) => Frame::Text(text.to_owned()),
                    Err(_) => Frame::Binary(frame.to_vec()),
                };
                // Decoded as the Rust drivers decode frames.
                let (message, _) = decode_incoming(&frame, max_frame_bytes, Payload(0));
                world
                    .engine
                    .handle_input(Input::SocketMessage { socket, message }, world.now);
            }
        }
        world.drain();
    }
    if world.ended {
        assert_eq!(world.engine.poll_timeout(), None, "a timer after the end");
    }
});
