//! A Yew (client-side rendered) chat on the Rust API of `durable-iterator-wasm`: function
//! components over one hook, `use_room`, whose `use_effect_with` runs the room's durable
//! iterator (a `futures::Stream`) into a reducer. It talks to the reference server's demo
//! app, so it chats with the tabs of the web demo and of the Leptos example too.

mod room;

use wasm_bindgen::prelude::wasm_bindgen;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use room::{use_room, Line};

/// Mounts the app when the module loads.
#[wasm_bindgen(start)]
pub fn main() {
    yew::Renderer::<App>::new().render();
}

/// `rust-1234`: a name for this tab, sent as `userId` and in front of each message.
fn pick_name() -> String {
    let n = 1000.0 + (js_sys::Math::random() * 9000.0).floor();
    format!("rust-{n}")
}

/// The chat page.
#[component]
fn App() -> Html {
    let user = use_memo((), |_| pick_name());
    let (room, send) = use_room((*user).clone());
    let input = use_node_ref();

    let on_submit = {
        let input = input.clone();
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let Some(field) = input.cast::<HtmlInputElement>() else {
                return;
            };
            let text = field.value().trim().to_owned();
            if !text.is_empty() {
                field.set_value("");
                send.emit(text);
            }
        })
    };
    let last_event_id = room
        .last_event_id
        .clone()
        .unwrap_or_else(|| "none yet".to_owned());

    html! {
        <main class="app">
            <header class="top">
                <div>
                    <h1>{ "Yew chat" }</h1>
                    <p class="sub">{ "durable-iterator-wasm Rust API · " }<code>{ "Stream" }</code>{ " in a hook" }</p>
                </div>
                <span id="state" class="badge" data-state={room.state.0} role="status" aria-live="polite">
                    { room.state.1.clone() }
                </span>
            </header>
            <p class="facts">
                { "You are " }<strong id="user">{ (*user).clone() }</strong>
                { " · last event id " }<code id="last-event-id">{ last_event_id }</code>
            </p>
            <ol id="messages" class="messages" role="log" aria-live="polite" aria-label="Messages">
                { for room.lines.iter().map(|line| html! { <Message key={line.key} line={line.clone()} /> }) }
            </ol>
            <form class="composer" onsubmit={on_submit} autocomplete="off">
                <label for="message" class="visually-hidden">{ "Message" }</label>
                <input id="message" type="text" maxlength="500" placeholder="Write a message…" ref={input} />
                <button type="submit">{ "Send" }</button>
            </form>
            <section aria-labelledby="log-title">
                <h2 id="log-title">{ "Connection" }</h2>
                <ul class="log">
                    { for room.log.iter().map(|(key, entry)| html! { <li key={*key}>{ entry.clone() }</li> }) }
                </ul>
            </section>
        </main>
    }
}

/// The props of one chat line.
#[derive(Properties, PartialEq)]
struct MessageProps {
    line: Line,
}

/// One chat line: author, note (event id or delivery), text.
#[component]
fn Message(props: &MessageProps) -> Html {
    let line = &props.line;
    let (author, text) = split_author(&line.raw);
    html! {
        <li class={classes!("message", line.mine.then_some("mine"))}
            data-message={line.raw.clone()} data-id={line.id.clone()}>
            <span class="author">{ author }</span>
            <span class="note">{ line.note.clone() }</span>
            <p class="text">{ text }</p>
        </li>
    }
}

/// `("alice", "hi")` from `"alice: hi"`; messages without a plain name are by `someone`.
fn split_author(raw: &str) -> (String, String) {
    match raw.split_once(": ") {
        Some((name, text))
            if !name.is_empty()
                && name.len() <= 32
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)) =>
        {
            (name.to_owned(), text.to_owned())
        }
        _ => ("someone".to_owned(), raw.to_owned()),
    }
}
