//! A Leptos (client-side rendered) chat on the Rust API of `durable-iterator-wasm`: the room's
//! durable iterator is a `futures::Stream` whose events flow into a signal. It talks to the
//! reference server's demo app, so it chats with the tabs of the web demo too.

mod connection;

use futures::channel::mpsc::{unbounded, UnboundedSender};
use leptos::prelude::*;
use wasm_bindgen::prelude::wasm_bindgen;

use connection::{Chat, Outgoing};

/// Mounts the app when the module loads.
#[wasm_bindgen(start)]
pub fn main() {
    leptos::mount::mount_to_body(App);
}

/// `rust-1234`: a name for this tab, sent as `userId` and in front of each message.
fn pick_name() -> String {
    let n = 1000.0 + (js_sys::Math::random() * 9000.0).floor();
    format!("rust-{n}")
}

/// The chat page.
#[component]
fn App() -> impl IntoView {
    let user = pick_name();
    let chat = Chat::new();
    let (sender, receiver) = unbounded::<Outgoing>();
    connection::start(user.clone(), chat, receiver);
    // The sender lives as long as the page; it is not Send, so it stays in local storage.
    let sender: StoredValue<UnboundedSender<Outgoing>, LocalStorage> =
        StoredValue::new_local(sender);
    let input: NodeRef<leptos::html::Input> = NodeRef::new();

    let me = user.clone();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(field) = input.get() else { return };
        let text = field.value().trim().to_owned();
        if text.is_empty() {
            return;
        }
        field.set_value("");
        // singleClient reaches everyone but this tab: show our copy now.
        let raw = format!("{me}: {text}");
        let key = chat.push(None, raw.clone(), true, "sending…");
        sender.with_value(|sender| {
            let _ = sender.unbounded_send(Outgoing { key, raw });
        });
    };

    view! {
        <main class="app">
            <header class="top">
                <div>
                    <h1>"Leptos chat"</h1>
                    <p class="sub">"durable-iterator-wasm Rust API · " <code>"Stream"</code> " into a signal"</p>
                </div>
                <span id="state" class="badge" data-state=move || chat.state.get().0 role="status" aria-live="polite">
                    {move || chat.state.get().1}
                </span>
            </header>
            <p class="facts">
                "You are " <strong id="user">{user}</strong>
                " · last event id " <code id="last-event-id">{move || chat.last_event_id.get().unwrap_or_else(|| "none yet".to_owned())}</code>
            </p>
            <ol id="messages" class="messages" role="log" aria-live="polite" aria-label="Messages">
                <For each=move || chat.lines.get() key=|line| (line.key, line.note.clone()) let:line>
                    <li class="message" class:mine=line.mine data-message=line.raw.clone() data-id=line.id.clone()>
                        <span class="author">{line.author.clone()}</span>
                        <span class="note">{line.note.clone()}</span>
                        <p class="text">{line.text.clone()}</p>
                    </li>
                </For>
            </ol>
            <form class="composer" on:submit=on_submit autocomplete="off">
                <label for="message" class="visually-hidden">"Message"</label>
                <input id="message" type="text" maxlength="500" placeholder="Write a message…" node_ref=input/>
                <button type="submit">"Send"</button>
            </form>
            <section aria-labelledby="log-title">
                <h2 id="log-title">"Event log"</h2>
                <ol id="log" class="log">
                    <For each=move || chat.log.get() key=|entry| entry.0 let:entry>
                        <li>{entry.1}</li>
                    </For>
                </ol>
            </section>
        </main>
    }
}
