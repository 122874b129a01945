//! HL7 v2 messages (2.3 to 2.5.1, tolerant of 2.6-2.8), pure: bytes in, a parsed message out, and acknowledgements
//! back. No I/O: the MLLP listener frames the bytes, the feed maps the message to FHIR.
//!
//! - [`decode`]: a byte-order mark dropped, the character set of MSH-18 applied (UTF-8 and ISO 8859/1; any other is
//!   refused with its name), so that what follows is text.
//! - [`Message::parse`]: segments split on CR, LF or CR LF; the delimiters read from MSH-1 and MSH-2, whatever they
//!   are; every field split into repetitions, components and sub-components, each leaf unescaped (`\F\ \S\ \T\ \R\ \E\
//!   \Xhh..\ \.br\`). A leaf keeps whether it was omitted (leave unchanged), `""` (set to empty), or has a value.
//! - [`fhir`]: messages to UK Core resources, each mapping written once; an update keeps, clears or sets each element.
//! - [`mllp::FrameDecoder`]: MLLP frames out of a connection's bytes, however they arrive.
//! - [`acknowledgement`]: the ACK of a message, AA, AE or AR, with MSA-2 echoing MSH-10 and an ERR segment naming the
//!   segment, field and reason of an error.

mod ack;
mod charset;
mod escape;
pub mod fhir;
mod message;
pub mod mllp;

pub use ack::{AckCode, ErrorLocation, MessageError, acknowledgement};
pub use charset::{DecodeError, decode};
pub use message::{Delimiters, Message, ParseError, Segment, Value};
