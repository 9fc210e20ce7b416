//! The book: its domain types, the exact money type and the rules a client's input must follow.
//!
//! Input bodies are read field by field from raw JSON so that a price is never parsed as a float
//! and every broken rule can be reported against the field it concerns.

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;
use utoipa::ToSchema;

/// Longest `title` or `author`, in characters (the columns are VARCHAR(255) in utf8mb4).
pub const MAX_TEXT_CHARS: usize = 255;

/// The text rule as a JSON Schema pattern, for the OpenAPI document: surrounding white space
/// (Rust's `trim` set) is allowed, the rest needs a visible character and no control characters.
macro_rules! text_pattern {
    () => {
        concat!(
            "^[",
            white_space!(),
            "]*",
            "[^",
            white_space!(),
            control!(),
            "]",
            "([^",
            control!(),
            "]*[^",
            white_space!(),
            control!(),
            "])?",
            "[",
            white_space!(),
            "]*$"
        )
    };
}
macro_rules! white_space {
    () => {
        r"\t\n\u000b\u000c\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    };
}
macro_rules! control {
    () => {
        r"\u0000-\u001f\u007f-\u009f"
    };
}

/// A stored book.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Book {
    /// Identifier assigned by the database.
    #[schema(example = 1, minimum = 1)]
    pub id: i64,
    #[schema(
        example = "The Rust Programming Language",
        min_length = 1,
        max_length = 255
    )]
    pub title: String,
    #[schema(example = "Steve Klabnik", min_length = 1, max_length = 255)]
    pub author: String,
    /// Exact decimal with two places, as a string.
    #[schema(value_type = String, pattern = r"^[0-9]{1,8}\.[0-9]{2}$", example = "39.95")]
    pub price: Price,
}

/// A validated book without its id: what a create or a full replace stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBook {
    pub title: String,
    pub author: String,
    pub price: Price,
}

/// A validated partial update: `None` leaves the field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BookPatch {
    pub title: Option<String>,
    pub author: Option<String>,
    pub price: Option<Price>,
}

impl BookPatch {
    /// Whether applying it can change which listings a book belongs to (`q` and `author`).
    pub fn changes_filtered_fields(&self) -> bool {
        self.title.is_some() || self.author.is_some()
    }
}

impl From<NewBook> for BookPatch {
    fn from(book: NewBook) -> Self {
        Self {
            title: Some(book.title),
            author: Some(book.author),
            price: Some(book.price),
        }
    }
}

/// A price held as a whole number of cents: exact, and within DECIMAL(10,2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Price {
    cents: i64,
}

impl Price {
    /// 99999999.99, the largest value DECIMAL(10,2) holds.
    pub const MAX_CENTS: i64 = 9_999_999_999;
    const MAX_WHOLE_DIGITS: usize = 8;

    pub fn from_cents(cents: i64) -> Result<Self, PriceError> {
        if (0..=Self::MAX_CENTS).contains(&cents) {
            Ok(Self { cents })
        } else {
            Err(PriceError::OutOfRange)
        }
    }

    pub fn cents(self) -> i64 {
        self.cents
    }

    /// Parses plain decimal notation (`12`, `12.5`, `12.50`, `-0`); never rounds.
    /// Trailing zeros beyond two places are accepted because they change nothing (`1.500`).
    pub fn parse(text: &str) -> Result<Self, PriceError> {
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let is_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || !is_digits(whole)
            || !is_digits(fraction)
            || (unsigned.contains('.') && fraction.is_empty())
        {
            return Err(PriceError::NotDecimal);
        }
        let significant_fraction = fraction.trim_end_matches('0');
        if significant_fraction.len() > 2 {
            return Err(PriceError::TooManyDecimals);
        }
        let whole = whole.trim_start_matches('0');
        if whole.len() > Self::MAX_WHOLE_DIGITS {
            return Err(PriceError::OutOfRange);
        }
        // At most 8 + 2 digits: the arithmetic below cannot overflow an i64.
        let digits_value = |s: &str| s.bytes().fold(0_i64, |n, b| n * 10 + i64::from(b - b'0'));
        let cents =
            digits_value(whole) * 100 + digits_value(&format!("{significant_fraction:0<2}"));
        if negative && cents != 0 {
            return Err(PriceError::OutOfRange);
        }
        Self::from_cents(cents)
    }
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.cents / 100, self.cents % 100)
    }
}

impl Serialize for Price {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    #[error("must be a decimal number in plain notation, such as 12.50 or \"12.50\"")]
    NotDecimal,
    #[error("must have at most 2 decimal places")]
    TooManyDecimals,
    #[error("must be between 0 and 99999999.99")]
    OutOfRange,
}

/// One broken rule, reported against the field it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    #[schema(example = "price")]
    pub field: String,
    #[schema(example = "must have at most 2 decimal places")]
    pub message: String,
}

/// Every rule an input broke (never empty).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the request body is invalid")]
pub struct ValidationErrors(pub Vec<FieldError>);

/// Body of `POST /api/v1/books` and `PUT /api/v1/books/{id}`: every field is required.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookInput {
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = text_input_schema, required = true)]
    pub title: Option<Box<RawValue>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = text_input_schema, required = true)]
    pub author: Option<Box<RawValue>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = price_input_schema, required = true)]
    pub price: Option<Box<RawValue>>,
}

/// Body of `PATCH /api/v1/books/{id}`: any subset of the fields; absent fields are unchanged.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookPatchInput {
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = text_input_schema)]
    pub title: Option<Box<RawValue>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = text_input_schema)]
    pub author: Option<Box<RawValue>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = price_input_schema)]
    pub price: Option<Box<RawValue>>,
}

impl BookInput {
    pub fn validate(self) -> Result<NewBook, ValidationErrors> {
        let mut errors = Vec::new();
        let title = required("title", self.title, &mut errors)
            .and_then(|raw| record(&mut errors, "title", parse_text(&raw)));
        let author = required("author", self.author, &mut errors)
            .and_then(|raw| record(&mut errors, "author", parse_text(&raw)));
        let price = required("price", self.price, &mut errors)
            .and_then(|raw| record(&mut errors, "price", parse_price(&raw)));
        match (title, author, price) {
            (Some(title), Some(author), Some(price)) if errors.is_empty() => Ok(NewBook {
                title,
                author,
                price,
            }),
            _ => Err(ValidationErrors(errors)),
        }
    }
}

impl BookPatchInput {
    pub fn validate(self) -> Result<BookPatch, ValidationErrors> {
        let mut errors = Vec::new();
        let patch = BookPatch {
            title: self
                .title
                .and_then(|raw| record(&mut errors, "title", parse_text(&raw))),
            author: self
                .author
                .and_then(|raw| record(&mut errors, "author", parse_text(&raw))),
            price: self
                .price
                .and_then(|raw| record(&mut errors, "price", parse_price(&raw))),
        };
        if errors.is_empty() {
            Ok(patch)
        } else {
            Err(ValidationErrors(errors))
        }
    }
}

/// A request body that must be a JSON object: serde would otherwise also build a struct from a
/// JSON array of its fields, so `[]` would pass as an empty patch.
#[derive(Debug)]
pub struct JsonObject<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for JsonObject<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(std::marker::PhantomData<T>);

        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for ObjectVisitor<T> {
            type Value = T;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }

        deserializer
            .deserialize_map(ObjectVisitor(std::marker::PhantomData))
            .map(JsonObject)
    }
}

/// Keeps an explicit `null` as a value (so it can be rejected) instead of folding it into "absent".
fn present<'de, D>(deserializer: D) -> Result<Option<Box<RawValue>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Box::<RawValue>::deserialize(deserializer).map(Some)
}

fn required(
    field: &str,
    value: Option<Box<RawValue>>,
    errors: &mut Vec<FieldError>,
) -> Option<Box<RawValue>> {
    if value.is_none() {
        errors.push(FieldError {
            field: field.to_owned(),
            message: "is required".to_owned(),
        });
    }
    value
}

fn record<T>(errors: &mut Vec<FieldError>, field: &str, result: Result<T, String>) -> Option<T> {
    result
        .map_err(|message| {
            errors.push(FieldError {
                field: field.to_owned(),
                message,
            })
        })
        .ok()
}

fn parse_text(raw: &RawValue) -> Result<String, String> {
    let text: String = match serde_json::from_str::<Option<String>>(raw.get()) {
        Ok(Some(text)) => text,
        Ok(None) => return Err("must not be null".to_owned()),
        Err(_) => return Err("must be a string".to_owned()),
    };
    // The length counts what was sent, so that the published schema (maxLength) is exact.
    let sent = text.chars().count();
    if sent > MAX_TEXT_CHARS {
        return Err(format!(
            "must be at most {MAX_TEXT_CHARS} characters (got {sent})"
        ));
    }
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("must not be empty".to_owned());
    }
    if trimmed.chars().any(char::is_control) {
        return Err("must not contain control characters".to_owned());
    }
    Ok(trimmed.to_owned())
}

fn parse_price(raw: &RawValue) -> Result<Price, String> {
    let literal = raw.get();
    let text = if literal.starts_with('"') {
        serde_json::from_str::<String>(literal).map_err(|e| e.to_string())?
    } else if literal == "null" {
        return Err("must not be null".to_owned());
    } else if literal.starts_with(['-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']) {
        // The JSON number's own text: no float is ever involved.
        literal.to_owned()
    } else {
        return Err(PriceError::NotDecimal.to_string());
    };
    Price::parse(&text).map_err(|e| e.to_string())
}

/// `title` or `author` on input.
fn text_input_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(MAX_TEXT_CHARS))
        .pattern(Some(text_pattern!()))
        .description(Some(
            "1 to 255 characters as sent; stored trimmed of surrounding white space, which must leave \
             a visible character; no control characters.",
        ))
        .examples(["Dune"])
        .build()
        .into()
}

/// A price on input: a JSON string or number in plain decimal notation.
fn price_input_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
    let one_of = OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(r"^[0-9]{1,8}(\.[0-9]{1,2})?$"))
                .examples(["12.50"]),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Number)
                .minimum(Some(0))
                .maximum(Some(99_999_999.99))
                .multiple_of(Some(0.01)),
        )
        .description(Some(
            "Exact decimal, 0 to 99999999.99 with at most 2 decimal places, as a string \
             (\"12.50\", preferred) or a JSON number (12.5). Never rounded: more places are rejected.",
        ))
        .build();
    Schema::OneOf(one_of)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(text: &str) -> Result<String, PriceError> {
        Price::parse(text).map(|p| p.to_string())
    }

    #[test]
    fn prices_parse_exactly_at_the_boundaries() {
        assert_eq!(price("0"), Ok("0.00".into()));
        assert_eq!(price("-0"), Ok("0.00".into()));
        assert_eq!(price("0.10"), Ok("0.10".into()));
        assert_eq!(price("0.1"), Ok("0.10".into()));
        assert_eq!(price("19.99"), Ok("19.99".into()));
        assert_eq!(price("1.500"), Ok("1.50".into()));
        assert_eq!(price("007.05"), Ok("7.05".into()));
        assert_eq!(price("99999999.99"), Ok("99999999.99".into()));
    }

    #[test]
    fn prices_outside_the_rules_are_rejected_not_rounded() {
        assert_eq!(price("100000000.00"), Err(PriceError::OutOfRange));
        assert_eq!(price("100000000"), Err(PriceError::OutOfRange));
        assert_eq!(price("-0.01"), Err(PriceError::OutOfRange));
        assert_eq!(price("1.999"), Err(PriceError::TooManyDecimals));
        assert_eq!(price("0.001"), Err(PriceError::TooManyDecimals));
        for bad in [
            "", ".5", "5.", "1e3", "1,5", " 1", "1.2.3", "abc", "--1", "+1", "１",
        ] {
            assert_eq!(price(bad), Err(PriceError::NotDecimal), "input {bad:?}");
        }
    }

    #[test]
    fn many_leading_zeros_do_not_overflow() {
        assert_eq!(price(&format!("{}1.25", "0".repeat(40))), Ok("1.25".into()));
        assert_eq!(price(&"9".repeat(40)), Err(PriceError::OutOfRange));
    }

    fn input(json: &str) -> Result<NewBook, ValidationErrors> {
        serde_json::from_str::<BookInput>(json)
            .expect("valid JSON")
            .validate()
    }

    fn fields(result: Result<NewBook, ValidationErrors>) -> Vec<String> {
        result
            .expect_err("invalid input")
            .0
            .into_iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect()
    }

    #[test]
    fn a_book_takes_a_price_as_number_or_string_and_trims_text() {
        let book = input(r#"{"title":"  Dune ","author":"Frank Herbert","price":12.5}"#);
        assert_eq!(
            book,
            Ok(NewBook {
                title: "Dune".into(),
                author: "Frank Herbert".into(),
                price: Price::from_cents(1250).expect("in range"),
            })
        );
        let book = input(r#"{"title":"Dune","author":"F","price":"0.10"}"#).expect("valid");
        assert_eq!(book.price.cents(), 10);
    }

    #[test]
    fn text_length_counts_characters_not_bytes() {
        let fits = "한".repeat(255);
        let book = input(&format!(r#"{{"title":"{fits}","author":"a","price":"1"}}"#));
        assert_eq!(book.map(|b| b.title.chars().count()), Ok(255));
        let too_long = "한".repeat(256);
        assert_eq!(
            fields(input(&format!(
                r#"{{"title":"{too_long}","author":"a","price":"1"}}"#
            ))),
            ["title: must be at most 255 characters (got 256)"]
        );
    }

    #[test]
    fn text_may_not_hold_control_characters_but_is_trimmed_of_white_space() {
        let book = input("{\"title\":\"\\t Dune\\n\",\"author\":\"a b\",\"price\":\"1\"}");
        assert_eq!(book.map(|b| b.title), Ok("Dune".to_owned()));
        assert_eq!(
            fields(input(
                r#"{"title":"Du\u0015ne","author":"a\tb","price":"1"}"#
            )),
            [
                "title: must not contain control characters",
                "author: must not contain control characters"
            ]
        );
    }

    #[test]
    fn every_broken_rule_is_reported_against_its_field() {
        assert_eq!(
            fields(input(r#"{"title":" ","price":null}"#)),
            [
                "title: must not be empty",
                "author: is required",
                "price: must not be null"
            ]
        );
        assert_eq!(
            fields(input(r#"{"title":1,"author":"a","price":true}"#)),
            [
                "title: must be a string",
                "price: must be a decimal number in plain notation, such as 12.50 or \"12.50\""
            ]
        );
        assert_eq!(
            fields(input(r#"{"title":"a","author":"a","price":1.001}"#)),
            ["price: must have at most 2 decimal places"]
        );
    }

    #[test]
    fn a_body_must_be_an_object() {
        let err = serde_json::from_str::<JsonObject<BookPatchInput>>("[]").expect_err("array");
        assert!(err.to_string().contains("expected a JSON object"), "{err}");
        let patch = serde_json::from_str::<JsonObject<BookPatchInput>>(r#"{"title":"t"}"#)
            .expect("object")
            .0
            .validate();
        assert_eq!(patch.map(|p| p.title), Ok(Some("t".to_owned())));
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let err = serde_json::from_str::<BookInput>(r#"{"title":"a","isbn":"x"}"#)
            .expect_err("unknown field");
        assert!(err.to_string().contains("unknown field `isbn`"), "{err}");
    }

    #[test]
    fn a_patch_validates_only_the_fields_it_carries() {
        let patch = serde_json::from_str::<BookPatchInput>(r#"{"price":"5"}"#)
            .expect("valid JSON")
            .validate();
        assert_eq!(
            patch,
            Ok(BookPatch {
                price: Some(Price::from_cents(500).expect("in range")),
                ..BookPatch::default()
            })
        );
        let patch = serde_json::from_str::<BookPatchInput>(r#"{"author":null}"#)
            .expect("valid JSON")
            .validate();
        assert_eq!(
            patch.map_err(|e| e.0[0].message.clone()),
            Err("must not be null".to_owned())
        );
    }
}
