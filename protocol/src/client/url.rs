//! The object upgrade URL: the caller's URL plus `id` and `token` (PROTOCOL.md section 5).

use crate::consts::{ID_PARAM, TOKEN_PARAM};
use crate::prelude::*;

/// `base` with `id={client_id}&token={token}` appended to its query, before any fragment.
///
/// Values are encoded as `URLSearchParams` encodes them (what the upstream client uses), so
/// the object sees the same bytes. The query already in `base` is kept byte for byte; the
/// object reads the *last* `id` and `token`, so ours win over any the caller left in.
pub fn upgrade_url(base: &str, client_id: &str, token: &str) -> String {
    let (head, fragment) = match base.find('#') {
        Some(at) => base.split_at(at),
        None => (base, ""),
    };
    let mut url = String::with_capacity(head.len() + client_id.len() + token.len() * 2 + 16);
    url.push_str(head);
    match head.find('?') {
        None => url.push('?'),
        Some(at) if at + 1 == head.len() || head.ends_with('&') => {}
        Some(_) => url.push('&'),
    }
    url.push_str(ID_PARAM);
    url.push('=');
    url.push_str(&form_urlencode(client_id));
    url.push('&');
    url.push_str(TOKEN_PARAM);
    url.push('=');
    url.push_str(&form_urlencode(token));
    url.push_str(fragment);
    url
}

/// The `application/x-www-form-urlencoded` byte serializer of the URL standard (what
/// `URLSearchParams` produces): ASCII alphanumerics and `*-._` stay, space becomes `+`, every
/// other UTF-8 byte becomes `%XX`.
pub fn form_urlencode(value: &str) -> String {
    percent_encode(value, b"*-._", true)
}

/// JavaScript's `encodeURIComponent`, which the upstream RPC link applies to each procedure
/// path segment: ASCII alphanumerics and `-_.!~*'()` stay, every other UTF-8 byte becomes
/// `%XX` (space too).
pub fn encode_uri_component(value: &str) -> String {
    percent_encode(value, b"-_.!~*'()", false)
}

/// Percent-encodes every UTF-8 byte but ASCII alphanumerics and `keep`; a space becomes `+`
/// when `space_as_plus`.
fn percent_encode(value: &str, keep: &[u8], space_as_plus: bool) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || keep.contains(&byte) {
            out.push(char::from(byte));
        } else if byte == b' ' && space_as_plus {
            out.push('+');
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0F)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_recorded_upstream_upgrade_url() {
        let token = r#"{"chn":"some-room","att":{"userId":"u1"},"rpc":["singleClient","routerClient"],"iat":1795345028,"exp":1795348628}.fyCSnkiLyqkUnHl110Mvjlgob3qEUMfJGctFYbExA3o"#;
        assert_eq!(
            upgrade_url("ws://127.0.0.1:8800/chat-room", "f4d271b1-6cc6-453e-b55f-b693fa3d1688", token),
            "ws://127.0.0.1:8800/chat-room?id=f4d271b1-6cc6-453e-b55f-b693fa3d1688&token=%7B%22chn%22%3A%22some-room%22%2C%22att%22%3A%7B%22userId%22%3A%22u1%22%7D%2C%22rpc%22%3A%5B%22singleClient%22%2C%22routerClient%22%5D%2C%22iat%22%3A1795345028%2C%22exp%22%3A1795348628%7D.fyCSnkiLyqkUnHl110Mvjlgob3qEUMfJGctFYbExA3o"
        );
    }

    #[test]
    fn keeps_existing_query_and_fragment() {
        assert_eq!(
            upgrade_url("wss://h/p?a=b%20c", "i", "t"),
            "wss://h/p?a=b%20c&id=i&token=t"
        );
        assert_eq!(
            upgrade_url("wss://h/p?", "i", "t"),
            "wss://h/p?id=i&token=t"
        );
        assert_eq!(
            upgrade_url("wss://h/p?a=1&", "i", "t"),
            "wss://h/p?a=1&id=i&token=t"
        );
        assert_eq!(
            upgrade_url("wss://h/p#f", "i", "t"),
            "wss://h/p?id=i&token=t#f"
        );
    }

    #[test]
    fn encodes_like_url_search_params() {
        assert_eq!(
            form_urlencode("a b+c/é~!'()*-._"),
            "a+b%2Bc%2F%C3%A9%7E%21%27%28%29*-._"
        );
    }

    #[test]
    fn encodes_like_encode_uri_component() {
        assert_eq!(
            encode_uri_component("a b+c/é~!'()*-._"),
            "a%20b%2Bc%2F%C3%A9~!'()*-._"
        );
    }
}
