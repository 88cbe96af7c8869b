//! The entry point as the JS driver uses it: inputs packed as numbers plus one text, outputs
//! read back as JSON, against the real engine.

use durable_iterator_js_engine::{Core, ErrorCode, InputKind, OutputOp};
use serde_json::{json, Value};

/// Builds one input: numbers, and string fields whose UTF-16 lengths go where they stand.
#[derive(Default)]
struct Packed {
    nums: Vec<f64>,
    text: String,
}

impl Packed {
    fn num(mut self, value: f64) -> Self {
        self.nums.push(value);
        self
    }

    fn string(mut self, value: &str) -> Self {
        self.nums.push(value.encode_utf16().count() as f64);
        self.text.push_str(value);
        self
    }
}

fn feed(core: &mut Core, kind: InputKind, input: Packed) -> Vec<Value> {
    let out = core.input(kind as u32, &input.nums, &input.text);
    let Value::Array(outputs) = serde_json::from_str(&out).expect("the output is JSON") else {
        panic!("the output is a list: {out}");
    };
    let last = outputs.last().expect("the timer is always last");
    assert_eq!(last[0], json!(OutputOp::Timer as u32), "{out}");
    outputs
}

fn ops(outputs: &[Value], op: OutputOp) -> Vec<&Value> {
    outputs
        .iter()
        .filter(|o| o[0] == json!(op as u32))
        .collect()
}

const TOKEN: &str = r#"{"chn":"room","rpc":["echo"],"iat":1700000000,"exp":1700003600}.sig"#;

/// INIT with default options (NaN everywhere), no tags, `rpc: ["echo"]`, no resume point.
fn start(now: f64) -> (Core, Vec<Value>) {
    let mut core = Core::new();
    let mut init = Packed::default()
        .num(now)
        .num(7.0)
        .num(0.0)
        .num(1_700_000_000.0)
        .num(1_700_003_600.0)
        .num(-1.0)
        .num(1.0)
        .num(0.0);
    for _ in 0..13 {
        init = init.num(f64::NAN);
    }
    let init = init
        .string("client-é😀")
        .string(TOKEN)
        .string("room")
        .string("echo");
    let outputs = feed(&mut core, InputKind::Init, init);
    (core, outputs)
}

/// The request id of a sent frame (`{"i":"..."}`).
fn request_id(send: &Value) -> String {
    let frame: Value = serde_json::from_str(send[2].as_str().expect("frame text")).expect("JSON");
    frame["i"].as_str().expect("an id").to_owned()
}

#[test]
fn a_session_from_start_to_stop() {
    let (mut core, outputs) = start(1000.0);
    let open = ops(&outputs, OutputOp::Open);
    assert_eq!(open.len(), 1, "{outputs:?}");
    assert_eq!(open[0][2], json!(TOKEN));
    let socket = open[0][1].as_f64().expect("socket id");

    let outputs = feed(
        &mut core,
        InputKind::Opened,
        Packed::default().num(1010.0).num(socket),
    );
    let sends = ops(&outputs, OutputOp::Send);
    assert_eq!(sends.len(), 1, "the subscribe goes out: {outputs:?}");
    assert!(sends[0][2]
        .as_str()
        .unwrap_or_default()
        .contains("/subscribe"));
    let subscribe = request_id(sends[0]);
    assert!(ops(&outputs, OutputOp::State)
        .iter()
        .any(|state| state[1] == json!(1)));

    // One batch: the stream opens, event "1", the same event again, event "2".
    let batch = Packed::default()
        .num(1020.0)
        .num(socket)
        .num(4.0)
        .num(0.0)
        .num(200.0)
        .num(1.0)
        .num(0.0)
        .string(&subscribe)
        .num(1.0)
        .num(0.0)
        .num(-1.0)
        .string(&subscribe)
        .string("1")
        .num(1.0)
        .num(0.0)
        .num(-1.0)
        .string(&subscribe)
        .string("1")
        .num(1.0)
        .num(0.0)
        .num(-1.0)
        .string(&subscribe)
        .string("2");
    let outputs = feed(&mut core, InputKind::Frames, batch);
    let events: Vec<(Value, Value)> = ops(&outputs, OutputOp::Event)
        .iter()
        .map(|e| (e[1].clone(), e[2].clone()))
        .collect();
    assert_eq!(
        events,
        vec![(json!(1), json!("1")), (json!(3), json!("2"))],
        "each id once, named by its index in the batch: {outputs:?}"
    );

    // A call the token allows goes out; one it does not is refused before anything is sent.
    let call = Packed::default()
        .num(1030.0)
        .num(0.0)
        .num(f64::NAN)
        .num(1.0)
        .string("echo")
        .string(r#"{"json":{"path":["echo"],"input":"hi"}}"#);
    let outputs = feed(&mut core, InputKind::Call, call);
    assert_eq!(
        outputs[0][0],
        json!(OutputOp::CallStarted as u32),
        "{outputs:?}"
    );
    let call_id = outputs[0][1].clone();
    let sent = ops(&outputs, OutputOp::Send);
    assert_eq!(sent.len(), 1);
    assert!(sent[0][2]
        .as_str()
        .unwrap_or_default()
        .contains(r#""input":"hi""#));
    let answer_to = request_id(sent[0]);
    let answer = Packed::default()
        .num(1040.0)
        .num(socket)
        .num(1.0)
        .num(0.0)
        .num(200.0)
        .num(0.0)
        .num(1.0)
        .string(&answer_to);
    let outputs = feed(&mut core, InputKind::Frames, answer);
    assert_eq!(
        ops(&outputs, OutputOp::CallOk)[0],
        &json!([OutputOp::CallOk as u32, call_id, 0])
    );

    let refused = Packed::default()
        .num(1050.0)
        .num(0.0)
        .num(0.0)
        .num(1.0)
        .string("secret")
        .string("{}");
    let outputs = feed(&mut core, InputKind::Call, refused);
    assert_eq!(
        outputs[0],
        json!([
            OutputOp::CallRefused as u32,
            [ErrorCode::RpcNotAllowed as u32, "secret"]
        ])
    );

    // The socket drops: the engine waits, then reconnects with a new socket.
    let outputs = feed(
        &mut core,
        InputKind::Closed,
        Packed::default()
            .num(1060.0)
            .num(socket)
            .num(1006.0)
            .string(""),
    );
    let reconnecting = ops(&outputs, OutputOp::State);
    assert_eq!(reconnecting[0][1], json!(2), "{outputs:?}");
    assert_eq!(reconnecting[0][4], json!(1006));
    let timer = outputs.last().and_then(|t| t[1].as_f64()).unwrap_or(-1.0);
    assert!(timer >= 1060.0, "a reconnect is scheduled: {outputs:?}");
    let outputs = feed(&mut core, InputKind::Timeout, Packed::default().num(timer));
    assert_eq!(
        ops(&outputs, OutputOp::Open)[0][1].as_f64(),
        Some(socket + 1.0),
        "{outputs:?}"
    );

    // The resume crosses 9 -> 10 against a text-ordered replay (10, 11, then 3): 3 goes at
    // once, 10 and 11 are kept until the barrier's answer says the replay is complete.
    let socket = socket + 1.0;
    let outputs = feed(
        &mut core,
        InputKind::Opened,
        Packed::default().num(timer + 1.0).num(socket),
    );
    let sends = ops(&outputs, OutputOp::Send);
    assert!(sends[0][2]
        .as_str()
        .unwrap_or_default()
        .contains(r#""last-event-id":"2""#));
    let subscribe = request_id(sends[0]);
    let event = |batch: Packed, id: &str| {
        batch
            .num(1.0)
            .num(0.0)
            .num(-1.0)
            .string(&subscribe)
            .string(id)
    };
    let batch = Packed::default()
        .num(timer + 2.0)
        .num(socket)
        .num(4.0)
        .num(0.0)
        .num(200.0)
        .num(1.0)
        .num(0.0)
        .string(&subscribe);
    let batch = event(event(event(batch, "10"), "11"), "3");
    let outputs = feed(&mut core, InputKind::Frames, batch);
    let barrier = request_id(ops(&outputs, OutputOp::Send)[0]);
    let kept = ops(&outputs, OutputOp::Keep);
    assert_eq!(kept.len(), 2, "{outputs:?}");
    assert_eq!(
        (kept[0][1].clone(), kept[1][1].clone()),
        (json!(1), json!(2))
    );
    assert_eq!(
        ops(&outputs, OutputOp::Event),
        [&json!([OutputOp::Event as u32, 3, "3"])]
    );
    let answer = Packed::default()
        .num(timer + 3.0)
        .num(socket)
        .num(1.0)
        .num(0.0)
        .num(404.0)
        .num(0.0)
        .num(1.0)
        .string(&barrier);
    let outputs = feed(&mut core, InputKind::Frames, answer);
    assert_eq!(
        ops(&outputs, OutputOp::Release),
        [
            &json!([OutputOp::Release as u32, kept[0][2], "10"]),
            &json!([OutputOp::Release as u32, kept[1][2], "11"])
        ],
        "released in order, by the keys they were kept under: {outputs:?}"
    );
    assert!(ops(&outputs, OutputOp::Ignored).is_empty(), "{outputs:?}");

    let outputs = feed(
        &mut core,
        InputKind::Stop,
        Packed::default().num(timer + 4.0),
    );
    assert_eq!(ops(&outputs, OutputOp::Ended)[0][1], Value::Null);
    assert_eq!(outputs.last(), Some(&json!([OutputOp::Timer as u32, -1])));
}

#[test]
fn inputs_that_do_not_read_change_nothing() {
    let (mut core, _) = start(0.0);
    // Unknown kind, missing numbers, a length past the end of the text, a split surrogate.
    assert_eq!(core.input(99, &[1.0], ""), r#"[[14,4000]]"#);
    let out = core.input(InputKind::Closed as u32, &[1.0, 0.0, 1006.0, 40.0], "short");
    assert_eq!(out, r#"[[14,4000]]"#, "connect timeout stays armed");
    let out = core.input(InputKind::Frames as u32, &[1.0, 0.0, 1.0, 2.0, 1.0], "😀");
    assert_eq!(out, r#"[[14,4000]]"#);
    // A call whose path runs past the numbers is refused, not started.
    let out = core.input(InputKind::Call as u32, &[1.0, 0.0, f64::NAN, 3.0, 1.0], "a");
    let invalid_call = format!(
        "[[{},[{},",
        OutputOp::CallRefused as u32,
        ErrorCode::InvalidCall as u32
    );
    assert!(out.starts_with(&invalid_call), "{out}");
    for kind in [InputKind::Opened, InputKind::Abort, InputKind::Refreshed] {
        assert_eq!(core.input(kind as u32, &[1.0], ""), r#"[[14,4000]]"#);
    }
    let out = core.input(InputKind::Refreshed as u32, &[1.0, 1.0, 5.0, 6.0], "x");
    assert_eq!(out, r#"[[14,4000]]"#);
    let mut fresh = Core::new();
    assert_eq!(fresh.input(InputKind::Stop as u32, &[0.0], ""), "[[14,-1]]");
    let out = fresh.input(InputKind::Init as u32, &[0.0, 1.0], "");
    let invalid_token = format!("[[13,[{},", ErrorCode::InvalidToken as u32);
    assert!(out.starts_with(&invalid_token), "{out}");
}

#[test]
fn a_token_with_infinite_expiry_is_refused() {
    let mut core = Core::new();
    let mut init = Packed::default()
        .num(0.0)
        .num(1.0)
        .num(0.0)
        .num(1.0)
        .num(f64::INFINITY)
        .num(-1.0)
        .num(-1.0)
        .num(0.0);
    for _ in 0..13 {
        init = init.num(f64::NAN);
    }
    let init = init.string("c").string("t").string("room");
    let outputs = feed(&mut core, InputKind::Init, init);
    assert_eq!(outputs[0][0], json!(OutputOp::Ended as u32));
    assert_eq!(outputs[0][1][0], json!(ErrorCode::InvalidToken as u32));
}
