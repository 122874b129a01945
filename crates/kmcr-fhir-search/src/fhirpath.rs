//! The subset of FHIRPath that the official R4 search parameter expressions use, compiled once and evaluated over
//! `serde_json` values without copying them.
//!
//! Supported: member navigation (choice elements included: `Observation.value` finds `valueQuantity`), `|`, parentheses,
//! indexers, `is`/`as` and `.is()`/`.as()`/`.ofType()`, `where(...)`, `exists()`, `empty()`, `first()`, `last()`,
//! `not()`, `resolve()` (which knows only the type a reference names), `extension('url')`, `=`, `!=`, `and`, `or`,
//! `xor`, `$this` and `%resource`. Anything else fails to compile with a [`FhirPathError`] naming it.

use kmcr_fhir::ResourceType;

mod eval;
mod lexer;
mod parser;

pub use eval::Item;

/// A compiled expression; evaluating it never fails (FHIRPath yields an empty collection where it finds nothing).
#[derive(Clone, Debug)]
pub struct Expression {
    root: Node,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FhirPathError {
    #[error("unexpected character at offset {offset}")]
    UnexpectedCharacter { offset: usize },
    #[error("unexpected token at offset {offset}: expected {expected}")]
    UnexpectedToken { offset: usize, expected: &'static str },
    #[error("unterminated string literal")]
    UnterminatedString,
    #[error("bad escape in a string literal")]
    BadEscape,
    #[error("unsupported function '{function}'")]
    UnsupportedFunction { function: String },
    #[error("wrong number of arguments to '{function}'")]
    WrongArity { function: String },
    #[error("unsupported operator '{operator}'")]
    UnsupportedOperator { operator: String },
    #[error("expression nested too deeply")]
    TooDeep,
}

pub fn compile(source: &str) -> Result<Expression, FhirPathError> {
    let tokens = lexer::tokenize(source)?;
    let root = parser::Parser::new(tokens).parse_whole()?;
    Ok(Expression { root })
}

impl Expression {
    /// Evaluates the expression with `resource` as the focus and `%resource`.
    pub fn evaluate<'a>(&'a self, resource: &'a serde_json::Value) -> Vec<Item<'a>> {
        let mut output = Vec::new();
        self.evaluate_into(resource, None, &mut output);
        output
    }

    /// As [`Expression::evaluate`], for a resource whose type the caller has already read (so that each expression
    /// need not look it up again), appending to `output` so that a caller can reuse one buffer.
    pub fn evaluate_into<'a>(
        &'a self,
        resource: &'a serde_json::Value,
        resource_type: Option<ResourceType>,
        output: &mut Vec<Item<'a>>,
    ) {
        let focus =
            [Item::Element { value: resource, type_name: resource_type.map(|resource_type| resource_type.as_str()) }];
        eval::evaluate(&self.root, resource, &focus, output);
    }

    /// Evaluates the expression with `focus`, an item found in `resource`, as the focus, and `resource` as `%resource`:
    /// how a composite parameter's components are evaluated on each item its own expression picks.
    pub fn evaluate_on<'a>(&'a self, resource: &'a serde_json::Value, focus: Item<'a>, output: &mut Vec<Item<'a>>) {
        eval::evaluate(&self.root, resource, &[focus], output);
    }
}

/// The top-level `|` parts of an expression, trimmed, in order; `|` inside parentheses or quotes does not split.
pub fn split_union(expression: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut in_quotes, mut escaped, mut part_start) = (0_i32, false, false, 0);
    for (idx, character) in expression.char_indices() {
        match character {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '\'' => in_quotes = !in_quotes,
            '(' if !in_quotes => depth += 1,
            ')' if !in_quotes => depth -= 1,
            '|' if !in_quotes && depth == 0 => {
                parts.push(expression[part_start..idx].trim());
                part_start = idx + 1;
            }
            _ => {}
        }
    }
    parts.push(expression[part_start..].trim());
    parts
}

#[derive(Clone, Debug)]
enum Node {
    Literal(Literal),
    This,
    Resource,
    /// A name: a member of each focus item, or (capitalised) a type name that keeps the focus items of that type, as
    /// in `Patient.name`.
    Member(String),
    Call(Function),
    /// `target.step`: `step` (a `Member` or `Call`) evaluated with the items of `target` as focus.
    Invoke {
        target: Box<Node>,
        step: Box<Node>,
    },
    Index {
        target: Box<Node>,
        index: usize,
    },
    Union(Vec<Node>),
    Binary {
        operator: BinaryOperator,
        left: Box<Node>,
        right: Box<Node>,
    },
    TypeOperation {
        operator: TypeOperator,
        operand: Box<Node>,
        type_name: String,
    },
}

#[derive(Clone, Debug)]
enum Literal {
    Boolean(bool),
    String(String),
    Number(f64),
}

#[derive(Clone, Debug)]
enum Function {
    Exists(Option<Box<Node>>),
    Empty,
    First,
    Last,
    Not,
    Where(Box<Node>),
    As(String),
    Is(String),
    OfType(String),
    Resolve,
    Extension(String),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum BinaryOperator {
    And,
    Or,
    Xor,
    Equals,
    NotEquals,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum TypeOperator {
    Is,
    As,
}
