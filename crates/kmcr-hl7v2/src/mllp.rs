//! MLLP framing, pure: a message travels as `0x0B` message `0x1C 0x0D`. [`FrameDecoder`] takes the bytes of a
//! connection as they arrive (a frame split across reads, several frames in one read, NUL or CR LF between frames)
//! and gives back whole frames in order; a frame larger than the limit is refused, and the stream picks up again at
//! the next frame. The listener does the I/O.

pub const START_BLOCK: u8 = 0x0B;
pub const END_BLOCK: u8 = 0x1C;
pub const CARRIAGE_RETURN: u8 = 0x0D;

/// A message framed for sending.
pub fn encode_frame(message: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(message.len() + 3);
    frame.push(START_BLOCK);
    frame.extend_from_slice(message);
    frame.extend_from_slice(&[END_BLOCK, CARRIAGE_RETURN]);
    frame
}

/// What went wrong with the frame now being read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// More than the limit arrived without the frame ending; its start is kept so that the refusal can name the
    /// message (MSH-10) it was.
    #[error("the frame is larger than {limit} bytes")]
    TooLarge { limit: usize, start: Vec<u8> },
    /// A new frame began before this one ended: this one is incomplete.
    #[error("a frame began before the one before it ended")]
    Interrupted { start: Vec<u8> },
}

#[derive(Debug)]
pub struct FrameDecoder {
    buffer: Vec<u8>,
    /// Where the buffer has been searched up to, so that each byte is looked at once.
    searched: usize,
    max_frame_bytes: usize,
    /// Discarding the rest of a frame that was too large, until its end.
    discarding: bool,
    /// Bytes outside any frame other than NUL and line ends (counted, for the log; never kept).
    pub stray_bytes: u64,
}

/// How much of a refused frame is kept to name it.
const KEPT_START: usize = 1024;

impl FrameDecoder {
    pub fn new(max_frame_bytes: usize) -> FrameDecoder {
        FrameDecoder { buffer: Vec::new(), searched: 0, max_frame_bytes, discarding: false, stray_bytes: 0 }
    }

    /// Bytes as they arrived.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// Bytes held for a frame not yet complete (for back-pressure: read no more while this is large).
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// The next whole frame's message, an error about the frame being read, or `None` until more bytes arrive.
    pub fn next_frame(&mut self) -> Option<Result<Vec<u8>, FrameError>> {
        if self.discarding {
            let end = self.buffer[self.searched..].iter().position(|&byte| byte == END_BLOCK || byte == START_BLOCK);
            match end {
                None => {
                    self.buffer.clear();
                    self.searched = 0;
                    return None;
                }
                Some(at) => {
                    let at = self.searched + at;
                    let keep_from = if self.buffer[at] == START_BLOCK { at } else { at + 1 };
                    self.buffer.drain(..keep_from);
                    self.searched = 0;
                    self.discarding = false;
                }
            }
        }
        // Outside a frame: skip to its start.
        let Some(start) = self.buffer.iter().position(|&byte| byte == START_BLOCK) else {
            self.count_stray(self.buffer.len());
            self.buffer.clear();
            self.searched = 0;
            return None;
        };
        if start > 0 {
            self.count_stray(start);
            self.buffer.drain(..start);
            self.searched = 0;
        }
        let from = self.searched.max(1);
        let found = self.buffer[from..].iter().position(|&byte| byte == END_BLOCK || byte == START_BLOCK);
        match found.map(|at| from + at) {
            Some(at) if self.buffer[at] == START_BLOCK => {
                let start = self.buffer[1..at.min(KEPT_START + 1)].to_vec();
                self.buffer.drain(..at);
                self.searched = 0;
                Some(Err(FrameError::Interrupted { start }))
            }
            Some(at) => {
                if at + 1 >= self.buffer.len() {
                    // The end block is the last byte so far: wait for the carriage return that should follow.
                    self.searched = at;
                    return None;
                }
                let message = self.buffer[1..at].to_vec();
                // The carriage return after the end block is expected; a sender that omits it loses nothing.
                let consumed = if self.buffer[at + 1] == CARRIAGE_RETURN { at + 2 } else { at + 1 };
                self.buffer.drain(..consumed);
                self.searched = 0;
                Some(Ok(message))
            }
            None => {
                self.searched = self.buffer.len();
                if self.buffer.len() - 1 > self.max_frame_bytes {
                    let start = self.buffer[1..(KEPT_START + 1).min(self.buffer.len())].to_vec();
                    self.buffer.clear();
                    self.searched = 0;
                    self.discarding = true;
                    return Some(Err(FrameError::TooLarge { limit: self.max_frame_bytes, start }));
                }
                None
            }
        }
    }

    fn count_stray(&mut self, n: usize) {
        let stray = self.buffer[..n].iter().filter(|byte| !matches!(byte, 0 | b'\r' | b'\n' | b' ' | b'\t')).count();
        self.stray_bytes += stray as u64;
    }
}
