//! Recursive descent over the tokens, by FHIRPath's operator precedence (highest first): invocation `.` and indexer,
//! `is`/`as`, `|`, `=`/`!=`, `and`, `or`/`xor`. Operators outside the subset are reported, not guessed at.

use super::lexer::{Spanned, Token};
use super::{BinaryOperator, FhirPathError, Function, Literal, Node, TypeOperator};

/// Deeper nesting than this is refused, so that a hostile expression cannot overflow the stack.
const MAX_NESTING: usize = 64;

pub(super) struct Parser {
    tokens: Vec<Spanned>,
    position: usize,
    nesting: usize,
}

impl Parser {
    pub(super) fn new(tokens: Vec<Spanned>) -> Parser {
        Parser { tokens, position: 0, nesting: 0 }
    }

    pub(super) fn parse_whole(mut self) -> Result<Node, FhirPathError> {
        let node = self.expression()?;
        match self.peek() {
            Token::End => Ok(node),
            _ => Err(self.unexpected("an operator or the end")),
        }
    }

    fn expression(&mut self) -> Result<Node, FhirPathError> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(FhirPathError::TooDeep);
        }
        let node = self.or_expression();
        self.nesting -= 1;
        node
    }

    fn or_expression(&mut self) -> Result<Node, FhirPathError> {
        let mut left = self.and_expression()?;
        loop {
            let operator = match self.peek() {
                Token::Identifier(word) if word == "or" => BinaryOperator::Or,
                Token::Identifier(word) if word == "xor" => BinaryOperator::Xor,
                Token::Identifier(word) if word == "implies" => return Err(unsupported_operator("implies")),
                _ => return Ok(left),
            };
            self.advance();
            let right = self.and_expression()?;
            left = Node::Binary { operator, left: Box::new(left), right: Box::new(right) };
        }
    }

    fn and_expression(&mut self) -> Result<Node, FhirPathError> {
        let mut left = self.equality()?;
        while self.peek_word("and") {
            self.advance();
            let right = self.equality()?;
            left = Node::Binary { operator: BinaryOperator::And, left: Box::new(left), right: Box::new(right) };
        }
        Ok(left)
    }

    fn equality(&mut self) -> Result<Node, FhirPathError> {
        let mut left = self.union()?;
        loop {
            let operator = match self.peek() {
                Token::Symbol("=") => BinaryOperator::Equals,
                Token::Symbol("!=") => BinaryOperator::NotEquals,
                Token::Symbol(symbol @ ("~" | "!~" | "<" | ">" | "<=" | ">=")) => {
                    return Err(unsupported_operator(symbol));
                }
                Token::Identifier(word) if word == "in" || word == "contains" => {
                    return Err(unsupported_operator(word));
                }
                _ => return Ok(left),
            };
            self.advance();
            let right = self.union()?;
            left = Node::Binary { operator, left: Box::new(left), right: Box::new(right) };
        }
    }

    fn union(&mut self) -> Result<Node, FhirPathError> {
        let first = self.type_expression()?;
        if !matches!(self.peek(), Token::Symbol("|")) {
            return Ok(first);
        }
        let mut parts = vec![first];
        while matches!(self.peek(), Token::Symbol("|")) {
            self.advance();
            parts.push(self.type_expression()?);
        }
        Ok(Node::Union(parts))
    }

    fn type_expression(&mut self) -> Result<Node, FhirPathError> {
        let mut operand = self.postfix()?;
        loop {
            let operator = match self.peek() {
                Token::Identifier(word) if word == "is" => TypeOperator::Is,
                Token::Identifier(word) if word == "as" => TypeOperator::As,
                Token::Symbol(symbol @ ("+" | "-" | "*" | "/" | "&")) => return Err(unsupported_operator(symbol)),
                Token::Identifier(word) if matches!(word.as_str(), "div" | "mod") => {
                    return Err(unsupported_operator(word));
                }
                _ => return Ok(operand),
            };
            self.advance();
            let type_name = self.type_specifier()?;
            operand = Node::TypeOperation { operator, operand: Box::new(operand), type_name };
        }
    }

    fn postfix(&mut self) -> Result<Node, FhirPathError> {
        let mut node = self.term()?;
        loop {
            match self.peek() {
                Token::Symbol(".") => {
                    self.advance();
                    let step = self.invocation()?;
                    node = Node::Invoke { target: Box::new(node), step: Box::new(step) };
                }
                Token::Symbol("[") => {
                    self.advance();
                    let index = self.integer()?;
                    self.expect_symbol("]")?;
                    node = Node::Index { target: Box::new(node), index };
                }
                _ => return Ok(node),
            }
        }
    }

    fn term(&mut self) -> Result<Node, FhirPathError> {
        match self.peek().clone() {
            Token::String(text) => {
                self.advance();
                Ok(Node::Literal(Literal::String(text)))
            }
            Token::Number(text) => {
                self.advance();
                let number = text.parse().map_err(|_| self.unexpected("a number"))?;
                Ok(Node::Literal(Literal::Number(number)))
            }
            Token::Symbol("(") => {
                self.advance();
                let node = self.expression()?;
                self.expect_symbol(")")?;
                Ok(node)
            }
            Token::Environment(name) if matches!(name.as_str(), "resource" | "context" | "rootResource") => {
                self.advance();
                Ok(Node::Resource)
            }
            Token::Identifier(word) if word == "true" || word == "false" => {
                self.advance();
                Ok(Node::Literal(Literal::Boolean(word == "true")))
            }
            Token::Identifier(word) if word == "$this" => {
                self.advance();
                Ok(Node::This)
            }
            Token::Identifier(_) => self.invocation(),
            _ => Err(self.unexpected("a path, literal or '('")),
        }
    }

    /// A member name or a function call, applied to the focus.
    fn invocation(&mut self) -> Result<Node, FhirPathError> {
        let name = match self.peek() {
            Token::Identifier(name) if !name.starts_with('$') => name.clone(),
            _ => return Err(self.unexpected("a name")),
        };
        self.advance();
        if !matches!(self.peek(), Token::Symbol("(")) {
            return Ok(Node::Member(name));
        }
        self.advance();
        let function = self.function_arguments(&name)?;
        self.expect_symbol(")")?;
        Ok(Node::Call(function))
    }

    fn function_arguments(&mut self, name: &str) -> Result<Function, FhirPathError> {
        let no_arguments = matches!(self.peek(), Token::Symbol(")"));
        let function = match name {
            "exists" if no_arguments => Function::Exists(None),
            "exists" => Function::Exists(Some(Box::new(self.expression()?))),
            "where" if !no_arguments => Function::Where(Box::new(self.expression()?)),
            "as" if !no_arguments => Function::As(self.type_specifier()?),
            "is" if !no_arguments => Function::Is(self.type_specifier()?),
            "ofType" if !no_arguments => Function::OfType(self.type_specifier()?),
            "extension" if !no_arguments => match self.peek().clone() {
                Token::String(url) => {
                    self.advance();
                    Function::Extension(url)
                }
                _ => return Err(self.unexpected("an extension URL in quotes")),
            },
            "empty" if no_arguments => Function::Empty,
            "first" if no_arguments => Function::First,
            "last" if no_arguments => Function::Last,
            "not" if no_arguments => Function::Not,
            "resolve" if no_arguments => Function::Resolve,
            "where" | "as" | "is" | "ofType" | "extension" | "empty" | "first" | "last" | "not" | "resolve" => {
                return Err(FhirPathError::WrongArity { function: name.to_string() });
            }
            _ => return Err(FhirPathError::UnsupportedFunction { function: name.to_string() }),
        };
        Ok(function)
    }

    /// `Quantity`, `FHIR.Quantity` or `System.String`: the namespace is dropped, FHIR type names being unique.
    fn type_specifier(&mut self) -> Result<String, FhirPathError> {
        let mut name = match self.peek() {
            Token::Identifier(name) => name.clone(),
            _ => return Err(self.unexpected("a type name")),
        };
        self.advance();
        if matches!(name.as_str(), "FHIR" | "System") && matches!(self.peek(), Token::Symbol(".")) {
            self.advance();
            name = match self.peek() {
                Token::Identifier(name) => name.clone(),
                _ => return Err(self.unexpected("a type name")),
            };
            self.advance();
        }
        Ok(name)
    }

    fn integer(&mut self) -> Result<usize, FhirPathError> {
        let index = match self.peek() {
            Token::Number(text) => text.parse().ok(),
            _ => None,
        };
        let index = index.ok_or_else(|| self.unexpected("an integer index"))?;
        self.advance();
        Ok(index)
    }

    fn expect_symbol(&mut self, symbol: &'static str) -> Result<(), FhirPathError> {
        if *self.peek() == Token::Symbol(symbol) {
            self.advance();
            Ok(())
        } else {
            Err(self.unexpected(symbol))
        }
    }

    fn peek(&self) -> &Token {
        &self.tokens[self.position].token
    }

    fn peek_word(&self, word: &str) -> bool {
        matches!(self.peek(), Token::Identifier(name) if name == word)
    }

    fn advance(&mut self) {
        if self.position + 1 < self.tokens.len() {
            self.position += 1;
        }
    }

    fn unexpected(&self, expected: &'static str) -> FhirPathError {
        FhirPathError::UnexpectedToken { offset: self.tokens[self.position].offset, expected }
    }
}

fn unsupported_operator(operator: &str) -> FhirPathError {
    FhirPathError::UnsupportedOperator { operator: operator.to_string() }
}
