//! A message split into segments, fields, repetitions, components and sub-components, with the delimiters it declares.

use crate::escape::unescape;

/// The delimiters of MSH-1 and MSH-2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delimiters {
    pub field: char,
    pub component: char,
    pub repetition: char,
    /// Absent when MSH-2 gives none: then nothing is an escape.
    pub escape: Option<char>,
    pub subcomponent: char,
}

impl Delimiters {
    /// MSH-2 as this message writes it (for an acknowledgement to answer in kind).
    pub fn encoding_characters(&self) -> String {
        let mut text = String::new();
        text.push(self.component);
        text.push(self.repetition);
        if let Some(escape) = self.escape {
            text.push(escape);
        }
        text.push(self.subcomponent);
        text
    }
}

impl Default for Delimiters {
    fn default() -> Delimiters {
        Delimiters { field: '|', component: '^', repetition: '~', escape: Some('\\'), subcomponent: '&' }
    }
}

/// One leaf of a field: omitted (the sender says nothing: leave what is stored), `""` (the sender says: make it empty),
/// or a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    Omitted,
    Null,
    Text(&'a str),
}

impl<'a> Value<'a> {
    pub fn text(self) -> Option<&'a str> {
        match self {
            Value::Text(text) => Some(text),
            Value::Omitted | Value::Null => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Leaf {
    /// Empty text: omitted.
    Text(String),
    Null,
}

type Component = Vec<Leaf>;
type Repetition = Vec<Component>;
type Field = Vec<Repetition>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub id: String,
    /// `fields[0]` is field 1. For MSH, field 1 is the field separator and field 2 the encoding characters, each kept
    /// as one leaf.
    fields: Vec<Field>,
}

impl Segment {
    /// The leaf at `field`, `repetition`, `component`, `subcomponent`, each counted from 1 as HL7 does.
    pub fn value(&self, field: usize, repetition: usize, component: usize, subcomponent: usize) -> Value<'_> {
        let leaf = (field.checked_sub(1))
            .and_then(|at| self.fields.get(at))
            .and_then(|field| field.get(repetition.checked_sub(1)?))
            .and_then(|repetition| repetition.get(component.checked_sub(1)?))
            .and_then(|component| component.get(subcomponent.checked_sub(1)?));
        match leaf {
            None => Value::Omitted,
            Some(Leaf::Null) => Value::Null,
            Some(Leaf::Text(text)) if text.is_empty() => Value::Omitted,
            Some(Leaf::Text(text)) => Value::Text(text),
        }
    }

    /// The first repetition's component (its first sub-component).
    pub fn get(&self, field: usize, component: usize) -> Value<'_> {
        self.value(field, 1, component, 1)
    }

    /// [`Segment::get`] as text, `None` when omitted or `""`.
    pub fn text(&self, field: usize, component: usize) -> Option<&str> {
        self.get(field, component).text()
    }

    /// How many repetitions the field has (0 when omitted).
    pub fn repetitions(&self, field: usize) -> usize {
        match field.checked_sub(1).and_then(|at| self.fields.get(at)) {
            Some(field) if field.len() == 1 && field[0].len() == 1 && field[0][0] == [Leaf::Text(String::new())] => 0,
            Some(field) => field.len(),
            None => 0,
        }
    }

    /// Whether the whole field is `""`: the sender asks for it to be emptied.
    pub fn is_null(&self, field: usize) -> bool {
        self.repetitions(field) == 1
            && self.value(field, 1, 1, 1) == Value::Null
            && self.value(field, 1, 2, 1) == Value::Omitted
    }

    /// The number of fields present (the last field number given).
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

/// Why a message cannot be parsed, and where: the segment (its position from 1, and id) and field, for an ERR segment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{segment_id} (segment {segment_position}){}: {reason}", field.map(|field| format!(", field {field}")).unwrap_or_default())]
pub struct ParseError {
    pub segment_position: usize,
    pub segment_id: String,
    pub field: Option<usize>,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub delimiters: Delimiters,
    pub segments: Vec<Segment>,
}

impl Message {
    /// Parses the text of one message (see [`crate::decode`] for its bytes). Segments end with CR, LF or CR LF; blank
    /// lines are skipped.
    pub fn parse(text: &str) -> Result<Message, ParseError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text).trim_start();
        let header_error = |field, reason: &str| ParseError {
            segment_position: 1,
            segment_id: "MSH".into(),
            field,
            reason: reason.into(),
        };
        if !text.starts_with("MSH") {
            return Err(header_error(None, "a message starts with an MSH segment"));
        }
        let delimiters = delimiters_of(text).map_err(|reason| header_error(Some(2), &reason))?;
        let mut segments = Vec::new();
        for line in text.split(['\r', '\n']).filter(|line| !line.trim().is_empty()) {
            let position = segments.len() + 1;
            let segment = parse_segment(line, &delimiters, position)?;
            if segment.id == "MSH" && position > 1 {
                return Err(ParseError {
                    segment_position: position,
                    segment_id: segment.id,
                    field: None,
                    reason: "a second MSH segment: one message at a time".into(),
                });
            }
            segments.push(segment);
        }
        Ok(Message { delimiters, segments })
    }

    /// The MSH segment.
    pub fn header(&self) -> &Segment {
        &self.segments[0]
    }

    /// The first segment with this id.
    pub fn segment(&self, id: &str) -> Option<&Segment> {
        self.segments.iter().find(|segment| segment.id == id)
    }

    /// Every segment with this id, in order.
    pub fn segments_named<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a Segment> + 'a {
        self.segments.iter().filter(move |segment| segment.id == id)
    }

    /// MSH-9: message code and trigger event (`ADT`, `A01`).
    pub fn message_type(&self) -> (Option<&str>, Option<&str>) {
        (self.header().text(9, 1), self.header().text(9, 2))
    }

    /// MSH-10, the message control id.
    pub fn control_id(&self) -> Option<&str> {
        self.header().text(10, 1)
    }

    /// MSH-12, the version (`2.4`).
    pub fn version(&self) -> Option<&str> {
        self.header().text(12, 1)
    }
}

fn delimiters_of(text: &str) -> Result<Delimiters, String> {
    let mut characters = text.chars().skip(3);
    let field = characters.next().ok_or("MSH-1, the field separator, is missing")?;
    let encoding: String = characters.take_while(|character| *character != field).collect();
    let encoding: Vec<char> = encoding.chars().collect();
    if field.is_alphanumeric() || field.is_whitespace() {
        return Err(format!("MSH-1 {field:?} cannot be a field separator"));
    }
    if encoding.len() < 2 {
        return Err("MSH-2 must give at least the component and repetition separators".into());
    }
    let mut all = vec![field];
    all.extend(&encoding);
    let distinct = all.iter().enumerate().all(|(at, character)| !all[..at].contains(character));
    if !distinct || all.iter().any(|character| character.is_alphanumeric() || character.is_whitespace()) {
        return Err(format!("MSH-2 {:?} does not give distinct delimiters", encoding.iter().collect::<String>()));
    }
    Ok(Delimiters {
        field,
        component: encoding[0],
        repetition: encoding[1],
        escape: encoding.get(2).copied(),
        // A message declaring no sub-component separator has none: a character no text holds stands in.
        subcomponent: encoding.get(3).copied().unwrap_or('\u{0}'),
    })
}

fn parse_segment(line: &str, delimiters: &Delimiters, position: usize) -> Result<Segment, ParseError> {
    let mut parts = line.split(delimiters.field);
    let id = parts.next().unwrap_or_default().trim().to_string();
    let well_formed = id.len() == 3 && id.chars().all(|character| character.is_ascii_alphanumeric());
    if !well_formed || !id.starts_with(|character: char| character.is_ascii_uppercase()) {
        return Err(ParseError {
            segment_position: position,
            segment_id: id.chars().take(3).collect(),
            field: None,
            reason: format!("{:?} is not a segment: a segment starts with a three-character id", truncate(line)),
        });
    }
    let mut fields = Vec::new();
    if id == "MSH" {
        fields.push(vec![vec![vec![Leaf::Text(delimiters.field.to_string())]]]);
        let encoding = parts.next().unwrap_or_default();
        fields.push(vec![vec![vec![Leaf::Text(encoding.to_string())]]]);
    }
    for raw in parts {
        fields.push(parse_field(raw, delimiters));
    }
    Ok(Segment { id, fields })
}

fn parse_field(raw: &str, delimiters: &Delimiters) -> Field {
    raw.split(delimiters.repetition)
        .map(|repetition| {
            repetition
                .split(delimiters.component)
                .map(|component| {
                    component
                        .split(delimiters.subcomponent)
                        .map(|leaf| if leaf == "\"\"" { Leaf::Null } else { Leaf::Text(unescape(leaf, delimiters)) })
                        .collect()
                })
                .collect()
        })
        .collect()
}

fn truncate(line: &str) -> String {
    line.chars().take(20).collect()
}
