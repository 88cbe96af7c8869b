//! Where WebSocket frames begin and end in one direction of a raw TCP link, so that the proxy
//! can cut a frame in the middle ("frame truncation") although it only forwards bytes.
//!
//! The tracker skips the HTTP head (request, or the server's `101` answer) and then follows
//! frame headers (RFC 6455 section 5.2: two bytes, an extended length of 2 or 8 bytes, a
//! 4-byte mask key when masked) and payload lengths. A link whose answer is not `101` carries
//! no frames; it is marked opaque and any cut position is as good as another.

/// The bytes that end an HTTP head.
const HEAD_END: &[u8; 4] = b"\r\n\r\n";

/// How far into the stream the tracker is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Inside the HTTP head; `matched` bytes of `\r\n\r\n` seen, `start` the head's first bytes.
    Head { matched: usize, start: Vec<u8> },
    /// Collecting a frame header: `have` of its bytes so far.
    Header { bytes: [u8; 14], have: usize },
    /// Inside a payload with this many bytes to go (never 0).
    Payload { remaining: u64 },
    /// Not a WebSocket link.
    Opaque,
}

/// Follows frame boundaries in one direction of a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameTracker {
    state: State,
    frames: u64,
}

impl Default for FrameTracker {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameTracker {
    /// A tracker at the start of a link (before the HTTP head).
    pub fn new() -> Self {
        FrameTracker {
            state: State::Head {
                matched: 0,
                start: Vec::new(),
            },
            frames: 0,
        }
    }

    /// How many frames have been seen whole.
    pub fn complete_frames(&self) -> u64 {
        self.frames
    }

    /// Whether the bytes fed so far end inside a frame (some of its bytes sent, not all).
    pub fn inside_frame(&self) -> bool {
        match &self.state {
            State::Header { have, .. } => *have > 0,
            State::Payload { .. } => true,
            State::Head { .. } | State::Opaque => false,
        }
    }

    /// Whether the link turned out not to be a WebSocket.
    pub fn is_opaque(&self) -> bool {
        self.state == State::Opaque
    }

    /// Takes in the next bytes of the stream.
    pub fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            match &mut self.state {
                State::Payload { remaining } => {
                    let take = usize::try_from(*remaining)
                        .unwrap_or(usize::MAX)
                        .min(bytes.len());
                    *remaining -= take as u64;
                    bytes = &bytes[take..];
                    if *remaining == 0 {
                        self.frame_done();
                    }
                }
                State::Opaque => return,
                _ => {
                    self.step(bytes[0]);
                    bytes = &bytes[1..];
                }
            }
        }
    }

    /// The positions `p` in `chunk` (1 to its length) such that sending `chunk[..p]` and then
    /// nothing more leaves a frame unfinished. Empty for an opaque link or a chunk that only
    /// holds the head or ends exactly on frame boundaries.
    pub fn mid_frame_cuts(&self, chunk: &[u8]) -> Vec<usize> {
        let mut probe = self.clone();
        let mut cuts = Vec::new();
        for (i, byte) in chunk.iter().enumerate() {
            if probe.state == State::Opaque {
                break;
            }
            probe.step(*byte);
            if probe.inside_frame() {
                cuts.push(i + 1);
            }
        }
        cuts
    }

    fn frame_done(&mut self) {
        self.frames += 1;
        self.state = State::Header {
            bytes: [0; 14],
            have: 0,
        };
    }

    /// One byte, in any state but `Opaque`.
    fn step(&mut self, byte: u8) {
        match &mut self.state {
            State::Head { matched, start } => {
                if start.len() < 16 {
                    start.push(byte);
                }
                if byte == HEAD_END[*matched] {
                    *matched += 1;
                } else {
                    *matched = usize::from(byte == b'\r');
                }
                if *matched == HEAD_END.len() {
                    // An answer other than `101 Switching Protocols` carries no frames.
                    let answer = start.starts_with(b"HTTP/");
                    if answer && !start.starts_with(b"HTTP/1.1 101") {
                        self.state = State::Opaque;
                    } else {
                        self.state = State::Header {
                            bytes: [0; 14],
                            have: 0,
                        };
                    }
                }
            }
            State::Header { bytes, have } => {
                bytes[*have] = byte;
                *have += 1;
                if let Some(payload) = header_complete(&bytes[..*have]) {
                    if payload == 0 {
                        self.frame_done();
                    } else {
                        self.state = State::Payload { remaining: payload };
                    }
                }
            }
            State::Payload { remaining } => {
                *remaining -= 1;
                if *remaining == 0 {
                    self.frame_done();
                }
            }
            State::Opaque => {}
        }
    }
}

/// The payload length once `header` holds the whole frame header, else `None`.
fn header_complete(header: &[u8]) -> Option<u64> {
    let second = *header.get(1)?;
    let masked = second & 0x80 != 0;
    let short = u64::from(second & 0x7F);
    let extended = match short {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let needed = 2 + extended + if masked { 4 } else { 0 };
    if header.len() < needed {
        return None;
    }
    let payload = match extended {
        0 => short,
        n => header[2..2 + n]
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)),
    };
    Some(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANSWER: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n";

    fn text_frame(len: usize) -> Vec<u8> {
        let mut frame = vec![0x81];
        match len {
            0..=125 => frame.push(len as u8),
            126..=65535 => {
                frame.push(126);
                frame.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                frame.push(127);
                frame.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        frame.extend(std::iter::repeat_n(b'x', len));
        frame
    }

    #[test]
    fn follows_frames_of_every_length_form_after_the_head() {
        let mut t = FrameTracker::new();
        t.feed(ANSWER);
        assert!(!t.inside_frame());
        for len in [0, 5, 125, 126, 300, 70_000] {
            let frame = text_frame(len);
            let (a, b) = frame.split_at(1);
            t.feed(a);
            assert!(t.inside_frame(), "len {len}");
            t.feed(b);
            assert!(!t.inside_frame(), "len {len}");
        }
        assert_eq!(t.complete_frames(), 6);
    }

    #[test]
    fn masked_frames_count_the_mask_key() {
        let mut t = FrameTracker::new();
        t.feed(b"GET /chat-room HTTP/1.1\r\nupgrade: websocket\r\n\r\n");
        // FIN+text, masked, 3 bytes; mask key; payload.
        t.feed(&[0x81, 0x83, 1, 2, 3, 4, b'a', b'b']);
        assert!(t.inside_frame());
        t.feed(b"c");
        assert!(!t.inside_frame());
        assert_eq!(t.complete_frames(), 1);
    }

    #[test]
    fn cuts_fall_strictly_inside_frames() {
        let mut t = FrameTracker::new();
        t.feed(ANSWER);
        let mut chunk = text_frame(3);
        chunk.extend(text_frame(2));
        let cuts = t.mid_frame_cuts(&chunk);
        // Frame one is bytes 0..5, frame two 5..9: cuts after 1-4 and 6-8 bytes.
        assert_eq!(cuts, vec![1, 2, 3, 4, 6, 7, 8]);
        // Feeding is not changed by looking.
        t.feed(&chunk);
        assert_eq!(t.complete_frames(), 2);
    }

    #[test]
    fn the_head_split_anywhere_is_still_found() {
        for split in 0..ANSWER.len() {
            let mut t = FrameTracker::new();
            t.feed(&ANSWER[..split]);
            t.feed(&ANSWER[split..]);
            t.feed(&text_frame(1));
            assert_eq!(t.complete_frames(), 1, "split at {split}");
        }
    }

    #[test]
    fn a_refused_upgrade_is_opaque() {
        let mut t = FrameTracker::new();
        t.feed(b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 3\r\n\r\nbad");
        assert!(t.is_opaque());
        assert!(t.mid_frame_cuts(b"more").is_empty());
    }
}
