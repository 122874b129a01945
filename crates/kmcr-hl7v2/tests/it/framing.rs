//! MLLP frames come out whole and in order however the bytes arrive; an oversized or interrupted frame is refused and
//! the stream goes on.

use kmcr_hl7v2::mllp::{FrameDecoder, FrameError, encode_frame};

fn messages() -> Vec<Vec<u8>> {
    (1..=3).map(|n| format!("MSH|^~\\&|PAS|RVV|KMCR|KMCR|2026||ADT^A01|M{n}|P|2.4\rPID|1||{n}").into_bytes()).collect()
}

fn drain(decoder: &mut FrameDecoder) -> Vec<Result<Vec<u8>, FrameError>> {
    std::iter::from_fn(|| decoder.next_frame()).collect()
}

#[test]
fn frames_split_at_every_byte_or_pipelined_come_out_whole_and_in_order() {
    let mut stream = Vec::new();
    for (n, message) in messages().iter().enumerate() {
        stream.extend(encode_frame(message));
        // Between frames: NUL, CR LF, nothing.
        stream.extend([&[0u8][..], b"\r\n", b""][n]);
    }
    for chunk_size in 1..=stream.len() {
        let mut decoder = FrameDecoder::new(1 << 20);
        let mut frames = Vec::new();
        for chunk in stream.chunks(chunk_size) {
            decoder.push(chunk);
            frames.extend(drain(&mut decoder).into_iter().map(Result::unwrap));
        }
        assert_eq!(frames, messages(), "chunks of {chunk_size} bytes");
        assert_eq!(decoder.stray_bytes, 0);
        assert_eq!(decoder.buffered(), 0);
    }
}

#[test]
fn a_frame_over_the_limit_is_refused_by_name_and_the_next_one_is_read() {
    let messages = messages();
    let mut big = messages[0].clone();
    big.extend(std::iter::repeat_n(b'x', 5_000));
    let mut decoder = FrameDecoder::new(1_000);
    let (mut refused, mut read) = (0, 0);
    for chunk in [encode_frame(&big), encode_frame(&messages[1])].concat().chunks(700) {
        decoder.push(chunk);
        for frame in drain(&mut decoder) {
            match frame {
                Err(FrameError::TooLarge { limit, start }) => {
                    assert_eq!(limit, 1_000);
                    assert!(start.starts_with(b"MSH|") && start.len() <= 1024, "its start names the message");
                    refused += 1;
                }
                Ok(message) => {
                    assert_eq!(message, messages[1]);
                    read += 1;
                }
                Err(other) => panic!("{other}"),
            }
        }
    }
    assert_eq!((refused, read), (1, 1));
    assert_eq!(decoder.buffered(), 0);
}

#[test]
fn an_interrupted_frame_is_refused_and_stray_bytes_are_counted_not_kept() {
    let messages = messages();
    let mut stream = b"junk".to_vec();
    stream.push(0x0B);
    stream.extend(&messages[0][..20]);
    stream.extend(encode_frame(&messages[1]));
    // An end block without its carriage return still ends the frame.
    stream.push(0x0B);
    stream.extend(&messages[2]);
    stream.push(0x1C);
    let mut decoder = FrameDecoder::new(1 << 20);
    decoder.push(&stream);
    let mut frames = drain(&mut decoder);
    assert_eq!(frames.len(), 2, "the last frame waits: its end block may yet be followed by a carriage return");
    decoder.push(b"\x0B");
    frames.extend(drain(&mut decoder));
    assert!(matches!(&frames[0], Err(FrameError::Interrupted { start }) if start.starts_with(b"MSH|")));
    assert_eq!(frames[1].as_ref().unwrap(), &messages[1]);
    assert_eq!(frames[2].as_ref().unwrap(), &messages[2]);
    assert_eq!(decoder.stray_bytes, 4, "the four bytes of junk before the first frame");
}
