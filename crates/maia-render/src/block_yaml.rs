//! A direct YAML writer for the manifests: the same bytes as `yaml_serde::to_string`
//! (libyaml's block style, unlimited width) for the values it knows how to write, at
//! a fraction of the cost (emitting manifests through yaml_serde's libyaml port was
//! over a third of a fleet render's CPU). It knows maps with string keys, sequences,
//! booleans, integers, null and the strings whose style it can decide exactly as
//! yaml_serde and libyaml do (printable ASCII, plain, single-quoted, or literal blocks
//! without indentation or keep indicators); for anything else (floats, tags, other
//! characters, double quotes) it gives up, and [`crate::to_yaml`] falls back on
//! yaml_serde, so the output never depends on which writer ran.

use std::fmt::Write as _;

use serde::ser::{self, Serialize};

/// `value` as yaml_serde writes it, or `None` when it holds something this writer
/// leaves to yaml_serde.
pub(crate) fn to_string<T: Serialize + ?Sized>(value: &T) -> Option<String> {
    let mut out = String::with_capacity(4096);
    append(&mut out, value).then_some(out)
}

/// Appends `value` as yaml_serde writes it to `out` (a stream of documents): true when
/// it did, false (`out` as it was) when it holds something left to yaml_serde.
pub(crate) fn append<T: Serialize + ?Sized>(out: &mut String, value: &T) -> bool {
    let start = out.len();
    let mut w = Writer {
        out: std::mem::take(out),
        frames: Vec::new(),
        pos: Pos::Root,
    };
    let written = value.serialize(&mut w).is_ok();
    *out = w.out;
    if !written {
        out.truncate(start);
    }
    written
}

/// Given up: yaml_serde writes this value.
#[derive(Debug)]
pub(crate) struct Unsupported;

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("left to yaml_serde")
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Unsupported
    }
}

/// Where the next node goes.
#[derive(Debug, Clone, Copy)]
enum Pos {
    /// The document's root.
    Root,
    /// After `key:`, the mapping's keys at this column.
    AfterKey(usize),
    /// After `- `, the dash at this column.
    AfterDash(usize),
    /// A mapping key, at this column (the first key of a mapping in a sequence item
    /// is written on the dash's line).
    Key { column: usize, inline: bool },
}

#[derive(Debug)]
enum Frame {
    /// A block mapping: where it started, its keys' column, how many entries.
    Map {
        at: Pos,
        column: usize,
        count: usize,
    },
    /// A block sequence: where it started, its dashes' column, how many items.
    Seq {
        at: Pos,
        column: usize,
        count: usize,
    },
}

struct Writer {
    out: String,
    frames: Vec<Frame>,
    pos: Pos,
}

type Result<T = ()> = std::result::Result<T, Unsupported>;

/// Whether yaml_serde asks for single quotes: the string would read back as null, a
/// boolean or a number (its `visit_untagged_scalar`), or is digits with a leading
/// zero. The same tests as yaml_serde's, on the same standard parsers.
fn requested_quotes(s: &str) -> bool {
    if s.is_empty() || matches!(s, "~" | "null" | "Null" | "NULL") {
        return true;
    }
    if matches!(s, "true" | "True" | "TRUE" | "false" | "False" | "FALSE") {
        return true;
    }
    // A number starts with a digit, a sign or a point, or is inf or nan.
    if !matches!(
        s.as_bytes()[0],
        b'0'..=b'9' | b'+' | b'-' | b'.' | b'i' | b'I' | b'n' | b'N'
    ) {
        return false;
    }
    digits_but_not_number(s) || unsigned_int(s) || negative_int(s) || float(s)
}

fn digits_but_not_number(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    s.len() > 1 && s.starts_with('0') && s[1..].bytes().all(|b| b.is_ascii_digit())
}

fn radix(s: &str) -> bool {
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(rest) = s.strip_prefix(prefix)
            && !rest.starts_with(['+', '-'])
            && u128::from_str_radix(rest, radix).is_ok()
        {
            return true;
        }
    }
    false
}

fn unsigned_int(s: &str) -> bool {
    let unpositive = s.strip_prefix('+').unwrap_or(s);
    if radix(unpositive) {
        return true;
    }
    !unpositive.starts_with(['+', '-'])
        && !digits_but_not_number(s)
        && unpositive.parse::<u128>().is_ok()
}

fn negative_int(s: &str) -> bool {
    for (prefix, radix) in [("-0x", 16), ("-0o", 8), ("-0b", 2)] {
        if let Some(rest) = s.strip_prefix(prefix)
            && i128::from_str_radix(&format!("-{rest}"), radix).is_ok()
        {
            return true;
        }
    }
    !digits_but_not_number(s) && s.parse::<i128>().is_ok()
}

fn float(s: &str) -> bool {
    let unpositive = match s.strip_prefix('+') {
        Some(u) if u.starts_with(['+', '-']) => return false,
        Some(u) => u,
        None => s,
    };
    matches!(unpositive, ".inf" | ".Inf" | ".INF")
        || matches!(s, "-.inf" | "-.Inf" | "-.INF" | ".nan" | ".NaN" | ".NAN")
        || unpositive.parse::<f64>().is_ok_and(f64::is_finite)
}

/// libyaml's analysis of a scalar (`yaml_emitter_analyze_scalar`), for printable
/// ASCII and line feeds: (block plain allowed, single quotes allowed, literal block
/// allowed, multi-line).
fn analyse(s: &str) -> Result<(bool, bool, bool, bool)> {
    let b = s.as_bytes();
    // Names, paths, versions: nothing to analyse (a lone "-" is an indicator).
    if b.iter()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'/' | b'-'))
        && b != b"-"
        && !b.starts_with(b"---")
        && !b.starts_with(b"...")
    {
        return Ok((true, true, true, false));
    }
    if b.iter()
        .any(|&c| !(c == b'\n' || (0x20..0x7f).contains(&c)))
    {
        return Err(Unsupported);
    }
    let mut block_indicators = false;
    let (mut line_breaks, mut break_space, mut space_break) = (false, false, false);
    if b.starts_with(b"---") || b.starts_with(b"...") {
        block_indicators = true;
    }
    let blankz = |i: usize| i >= b.len() || b[i] == b' ' || b[i] == b'\n';
    let mut preceded_by_whitespace = true;
    let (mut previous_space, mut previous_break) = (false, false);
    for (i, &c) in b.iter().enumerate() {
        let followed_by_whitespace = blankz(i + 1);
        if i == 0 {
            if b"#,[]{}&*!|>'\"%@`".contains(&c) {
                block_indicators = true;
            }
            if (c == b'?' || c == b':' || c == b'-') && followed_by_whitespace {
                block_indicators = true;
            }
        } else {
            if c == b':' && followed_by_whitespace {
                block_indicators = true;
            }
            if c == b'#' && preceded_by_whitespace {
                block_indicators = true;
            }
        }
        if c == b'\n' {
            line_breaks = true;
        }
        if c == b' ' {
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if c == b'\n' {
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = c == b' ' || c == b'\n';
    }
    let leading = b[0] == b' ' || b[0] == b'\n';
    let trailing_space = b[b.len() - 1] == b' ';
    let trailing_break = b[b.len() - 1] == b'\n';
    let mut plain = !(leading || trailing_space || trailing_break);
    let mut single = true;
    let mut block = !trailing_space;
    if break_space {
        plain = false;
        single = false;
    }
    if space_break {
        plain = false;
        single = false;
        block = false;
    }
    if line_breaks || block_indicators {
        plain = false;
    }
    Ok((plain, single, block, line_breaks))
}

impl Writer {
    fn spaces(&mut self, n: usize) {
        for _ in 0..n {
            self.out.push(' ');
        }
    }

    /// Writes a scalar's text (or a literal block's header) at the current position,
    /// after a key's space, and ends its line.
    fn scalar_text(&mut self, text: &str) -> Result {
        match self.pos {
            Pos::Root => {}
            Pos::AfterKey(_) => self.out.push(' '),
            Pos::AfterDash(_) => {}
            Pos::Key { .. } => return Err(Unsupported),
        }
        self.out.push_str(text);
        self.out.push('\n');
        Ok(())
    }

    /// Writes a string value (or key) as yaml_serde would.
    fn string(&mut self, s: &str) -> Result {
        if let Pos::Key { column, inline } = self.pos {
            if s.len() > 128 {
                return Err(Unsupported);
            }
            let (plain, single, _, multiline) = if s.is_empty() {
                (false, true, false, false)
            } else {
                analyse(s)?
            };
            if multiline {
                return Err(Unsupported);
            }
            if !inline {
                self.spaces(column);
            }
            if !requested_quotes(s) && plain {
                self.out.push_str(s);
            } else if single {
                self.single_quoted(s);
            } else {
                return Err(Unsupported);
            }
            self.out.push(':');
            self.pos = Pos::AfterKey(column);
            return Ok(());
        }
        let literal_at = match self.pos {
            Pos::AfterKey(c) | Pos::AfterDash(c) => Some(c + 2),
            _ => None,
        };
        if s.contains('\n') {
            let (_, _, block, _) = analyse(s)?;
            let indent = literal_at.ok_or(Unsupported)?;
            // Indentation and keep indicators are left to yaml_serde.
            let body = match s.strip_suffix('\n') {
                Some(body) if body.ends_with('\n') || body.is_empty() => return Err(Unsupported),
                Some(body) => (body, "|"),
                None => (s, "|-"),
            };
            if !block || s.starts_with([' ', '\n']) {
                return Err(Unsupported);
            }
            self.scalar_text(body.1)?;
            for line in body.0.split('\n') {
                if !line.is_empty() {
                    self.spaces(indent);
                    self.out.push_str(line);
                }
                self.out.push('\n');
            }
        } else {
            let quoted = requested_quotes(s);
            let (plain, single, _, _) = if s.is_empty() {
                (true, true, false, false)
            } else {
                analyse(s)?
            };
            if !quoted && plain {
                self.scalar_text(s)?;
            } else if single {
                let mut text = String::with_capacity(s.len() + 2);
                quote_into(&mut text, s);
                self.scalar_text(&text)?;
            } else {
                return Err(Unsupported);
            }
        }
        self.next();
        Ok(())
    }

    fn single_quoted(&mut self, s: &str) {
        quote_into(&mut self.out, s);
    }

    /// A plain scalar other than a string (a number, a boolean, null).
    fn plain(&mut self, text: &str) -> Result {
        if let Pos::Key { .. } = self.pos {
            return Err(Unsupported);
        }
        self.scalar_text(text)?;
        self.next();
        Ok(())
    }

    /// After a value: where the next one goes, in the enclosing collection.
    fn next(&mut self) {
        self.pos = match self.frames.last_mut() {
            None => Pos::Root,
            Some(Frame::Map { column, count, .. }) => {
                *count += 1;
                Pos::Key {
                    column: *column,
                    inline: false,
                }
            }
            Some(Frame::Seq { column, count, .. }) => {
                *count += 1;
                Pos::AfterDash(*column)
            }
        };
    }

    fn open_map(&mut self) -> Result {
        let (column, inline) = match self.pos {
            Pos::Root => (0, false),
            Pos::AfterKey(c) => (c + 2, false),
            Pos::AfterDash(c) => (c + 2, true),
            Pos::Key { .. } => return Err(Unsupported),
        };
        self.frames.push(Frame::Map {
            at: self.pos,
            column,
            count: 0,
        });
        self.pos = Pos::Key { column, inline };
        Ok(())
    }

    fn open_seq(&mut self) -> Result {
        let column = match self.pos {
            Pos::Root => 0,
            Pos::AfterKey(c) => c,
            Pos::AfterDash(c) => c + 2,
            Pos::Key { .. } => return Err(Unsupported),
        };
        self.frames.push(Frame::Seq {
            at: self.pos,
            column,
            count: 0,
        });
        self.pos = Pos::AfterDash(column);
        Ok(())
    }

    /// Before an item of the sequence on top: its dash.
    fn dash(&mut self) -> Result {
        let Some(Frame::Seq { at, column, count }) = self.frames.last() else {
            return Err(Unsupported);
        };
        let (at, column, count) = (*at, *column, *count);
        if count == 0 {
            match at {
                Pos::AfterKey(_) => self.out.push('\n'),
                // The first item of a sequence in a sequence item: on its line.
                Pos::AfterDash(_) => {
                    self.out.push_str("- ");
                    self.pos = Pos::AfterDash(column);
                    return Ok(());
                }
                _ => {}
            }
        }
        self.spaces(column);
        self.out.push_str("- ");
        self.pos = Pos::AfterDash(column);
        Ok(())
    }

    /// Before a key of the mapping on top: the line break after its parent key.
    fn key_start(&mut self) -> Result {
        let Some(Frame::Map { at, count, .. }) = self.frames.last() else {
            return Err(Unsupported);
        };
        if *count == 0 && matches!(at, Pos::AfterKey(_)) {
            self.out.push('\n');
        }
        Ok(())
    }

    fn close(&mut self) -> Result {
        let (at, count, empty) = match self.frames.pop() {
            Some(Frame::Map { at, count, .. }) => (at, count, "{}"),
            Some(Frame::Seq { at, count, .. }) => (at, count, "[]"),
            None => return Err(Unsupported),
        };
        if count == 0 {
            self.pos = at;
            self.scalar_text(empty)?;
        }
        self.next();
        Ok(())
    }
}

fn quote_into(out: &mut String, s: &str) {
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push('\'');
        }
        out.push(c);
    }
    out.push('\'');
}

impl ser::Serializer for &mut Writer {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = ser::Impossible<(), Unsupported>;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = ser::Impossible<(), Unsupported>;

    fn serialize_bool(self, v: bool) -> Result {
        self.plain(if v { "true" } else { "false" })
    }
    fn serialize_i8(self, v: i8) -> Result {
        self.serialize_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result {
        self.serialize_i64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result {
        self.serialize_i64(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result {
        let mut s = String::new();
        let _ = write!(s, "{v}");
        self.plain(&s)
    }
    fn serialize_u8(self, v: u8) -> Result {
        self.serialize_u64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result {
        self.serialize_u64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result {
        self.serialize_u64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result {
        let mut s = String::new();
        let _ = write!(s, "{v}");
        self.plain(&s)
    }
    fn serialize_f32(self, _: f32) -> Result {
        Err(Unsupported)
    }
    fn serialize_f64(self, _: f64) -> Result {
        Err(Unsupported)
    }
    fn serialize_char(self, _: char) -> Result {
        Err(Unsupported)
    }
    fn serialize_str(self, v: &str) -> Result {
        self.string(v)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result {
        Err(Unsupported)
    }
    fn serialize_none(self) -> Result {
        self.plain("null")
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result {
        self.plain("null")
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result {
        self.plain("null")
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result {
        self.string(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result {
        Err(Unsupported)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self> {
        self.open_seq()?;
        Ok(self)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self> {
        self.open_seq()?;
        Ok(self)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self> {
        self.open_seq()?;
        Ok(self)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(Unsupported)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self> {
        self.open_map()?;
        Ok(self)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self> {
        self.open_map()?;
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(Unsupported)
    }
    fn collect_str<T: std::fmt::Display + ?Sized>(self, value: &T) -> Result {
        let s = value.to_string();
        // yaml_serde may take it for a tag.
        if s.starts_with('!') {
            return Err(Unsupported);
        }
        self.string(&s)
    }
}

impl ser::SerializeSeq for &mut Writer {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.dash()?;
        value.serialize(&mut **self)
    }
    fn end(self) -> Result {
        self.close()
    }
}

impl ser::SerializeTuple for &mut Writer {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.dash()?;
        value.serialize(&mut **self)
    }
    fn end(self) -> Result {
        self.close()
    }
}

impl ser::SerializeTupleStruct for &mut Writer {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.dash()?;
        value.serialize(&mut **self)
    }
    fn end(self) -> Result {
        self.close()
    }
}

impl ser::SerializeMap for &mut Writer {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result {
        self.key_start()?;
        key.serialize(KeyWriter(self))
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result {
        self.close()
    }
}

impl ser::SerializeStruct for &mut Writer {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result {
        self.key_start()?;
        self.string(key)?;
        value.serialize(&mut **self)
    }
    fn end(self) -> Result {
        self.close()
    }
}

/// A mapping key: only strings.
struct KeyWriter<'a>(&'a mut Writer);

impl ser::Serializer for KeyWriter<'_> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = ser::Impossible<(), Unsupported>;
    type SerializeTuple = ser::Impossible<(), Unsupported>;
    type SerializeTupleStruct = ser::Impossible<(), Unsupported>;
    type SerializeTupleVariant = ser::Impossible<(), Unsupported>;
    type SerializeMap = ser::Impossible<(), Unsupported>;
    type SerializeStruct = ser::Impossible<(), Unsupported>;
    type SerializeStructVariant = ser::Impossible<(), Unsupported>;

    fn serialize_str(self, v: &str) -> Result {
        self.0.string(v)
    }
    fn collect_str<T: std::fmt::Display + ?Sized>(self, value: &T) -> Result {
        let s = value.to_string();
        if s.starts_with('!') {
            return Err(Unsupported);
        }
        self.0.string(&s)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result {
        value.serialize(self)
    }
    fn serialize_bool(self, _: bool) -> Result {
        Err(Unsupported)
    }
    fn serialize_i8(self, _: i8) -> Result {
        Err(Unsupported)
    }
    fn serialize_i16(self, _: i16) -> Result {
        Err(Unsupported)
    }
    fn serialize_i32(self, _: i32) -> Result {
        Err(Unsupported)
    }
    fn serialize_i64(self, _: i64) -> Result {
        Err(Unsupported)
    }
    fn serialize_u8(self, _: u8) -> Result {
        Err(Unsupported)
    }
    fn serialize_u16(self, _: u16) -> Result {
        Err(Unsupported)
    }
    fn serialize_u32(self, _: u32) -> Result {
        Err(Unsupported)
    }
    fn serialize_u64(self, _: u64) -> Result {
        Err(Unsupported)
    }
    fn serialize_f32(self, _: f32) -> Result {
        Err(Unsupported)
    }
    fn serialize_f64(self, _: f64) -> Result {
        Err(Unsupported)
    }
    fn serialize_char(self, _: char) -> Result {
        Err(Unsupported)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result {
        Err(Unsupported)
    }
    fn serialize_none(self) -> Result {
        Err(Unsupported)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result {
        Err(Unsupported)
    }
    fn serialize_unit(self) -> Result {
        Err(Unsupported)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result {
        Err(Unsupported)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result {
        Err(Unsupported)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result {
        Err(Unsupported)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq> {
        Err(Unsupported)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple> {
        Err(Unsupported)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        Err(Unsupported)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(Unsupported)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap> {
        Err(Unsupported)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct> {
        Err(Unsupported)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(Unsupported)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The direct writer gives yaml_serde's bytes, or gives up.
    fn same(value: &serde_json::Value) -> bool {
        let expected = yaml_serde::to_string(value).unwrap();
        match to_string(value) {
            Some(text) => {
                assert_eq!(text, expected, "{value}");
                true
            }
            None => false,
        }
    }

    #[test]
    fn strings_get_yaml_serdes_style_or_are_left_to_it() {
        let strings = [
            "",
            "a",
            "plain words here",
            "4Gi",
            "500m",
            "2",
            "0",
            "007",
            "-1",
            "+5",
            "1.5",
            "true",
            "False",
            "null",
            "~",
            "yes",
            "no",
            "on",
            "None",
            "info",
            "-",
            "--x",
            "---",
            "...x",
            "- a",
            "-a",
            "a: b",
            "a:b",
            "http://x.y/z?q=1",
            "a #b",
            "a#b",
            "#a",
            "'q'",
            "it's",
            "\"d\"",
            "[x]",
            "x[0]",
            "{a}",
            "&a",
            "*a",
            "!a",
            "|a",
            ">a",
            "%a",
            "@a",
            "`a",
            ",a",
            "a,b",
            "?a",
            "? a",
            ":a",
            "a:",
            "a :",
            " a",
            "a ",
            "a  b",
            "line\nnext",
            "line\nnext\n",
            "line\n\nnext\n",
            "\nlead",
            " lead\nx",
            "trail \nx",
            "x\n y",
            "x\n\n",
            "\n",
            "tab\there",
            "é",
            "0x1F",
            "0o17",
            "0b101",
            ".inf",
            "-.inf",
            ".nan",
            "1e3",
            "inf",
            "nan",
            "e",
            "abc",
            "set -e\necho 'hi' # done\n",
            "key=value",
            "${VAR}",
            "a\\b",
        ];
        let mut written = 0;
        for s in strings {
            for value in [
                json!({ "k": s }),
                json!([s]),
                json!({ s: 1 }),
                json!({ "a": { "b": [s, { "c": s }] } }),
                json!([[s, s], { "d": [s] }]),
            ] {
                written += usize::from(same(&value));
            }
        }
        // Most of them are written directly.
        assert!(written > 250, "{written}");
    }

    #[test]
    fn collections_nest_as_libyaml_writes_them() {
        for value in [
            json!({}),
            json!([]),
            json!({ "k": {}, "l": [], "m": [{}, []], "n": [[]], "p": null, "q": true }),
            json!([1, -2, [3, [4, {"x": [5]}]], {"y": {"z": [6, 7]}}]),
            json!({ "spec": { "containers": [ { "name": "c", "args": ["a", "b"],
                "env": [ { "name": "X", "value": "1" } ], "resources": {} } ] } }),
            json!({ "script": "#!/bin/sh\nset -e\n\nexit 0\n", "list": ["a\nb", "c"] }),
        ] {
            assert!(same(&value), "{value}");
        }
        assert!(!same(&json!({ "k": 1.5 })), "floats are left to yaml_serde");
        // Appended to a stream: as it was when the writer gives up.
        let mut out = String::from("a: 1\n---\n");
        assert!(!append(&mut out, &json!({ "k": [1, 1.5] })));
        assert_eq!(out, "a: 1\n---\n");
        assert!(append(&mut out, &json!({ "k": [1] })));
        assert_eq!(out, "a: 1\n---\nk:\n- 1\n");
    }

    /// Every object of a workspace's bundle (both ingress kinds, with GPUs) is written
    /// directly, with yaml_serde's bytes: the fleet render does not fall back.
    #[test]
    fn every_object_of_a_workspace_is_written_directly_as_yaml_serde_would() {
        use crate::workspace::credentials::CountingSource;
        use maia_spec::workspace::WorkspaceSpec;
        for spec in [
            WorkspaceSpec::test(),
            WorkspaceSpec::test().with_traefik_subpath_loadbalancer(),
            WorkspaceSpec::test().with_gpu(1),
        ] {
            let ports = crate::workspace::ports::allocate(
                &spec.users,
                &Default::default(),
                &std::collections::BTreeSet::new(),
                spec.cluster.port_range,
            )
            .unwrap();
            let bundle = crate::workspace::render(
                &spec,
                &Default::default(),
                &mut CountingSource::default(),
                &ports,
            )
            .unwrap();
            for object in bundle.components.iter().flat_map(|c| &c.objects) {
                let direct = to_string(object);
                assert_eq!(
                    direct.as_deref(),
                    Some(yaml_serde::to_string(object).unwrap().as_str()),
                    "{}",
                    object.reference()
                );
            }
        }
    }
}
