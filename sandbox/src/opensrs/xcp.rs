//! The OPS envelope of OpenSRS's XCP protocol (providers.md §2): a strict parser for
//! requests and the writer for replies. Values are `dt_assoc` maps of `<item key=…>`,
//! `dt_array` lists keyed `0`, `1`, … and scalars as item text (`dt_scalar` too). The
//! parser refuses anything else — unknown elements, mixed content, duplicate keys,
//! array keys that are not the indexes, a missing header or a version other than 0.9 —
//! because a client that sends it has a bug the real server would answer with an error.

use std::fmt::Write as _;

use quick_xml::Reader;
use quick_xml::escape::escape;
use quick_xml::events::Event;
use serde_json::{Map, Value};

/// One XCP value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    /// Item text (every number and boolean is a string in XCP).
    Text(String),
    /// A `dt_assoc`: keys in the order sent (order carries no meaning).
    Assoc(Vec<(String, Data)>),
    /// A `dt_array`, in index order.
    Array(Vec<Data>),
}

impl Data {
    /// The value at `key` of a map.
    pub fn get(&self, key: &str) -> Option<&Data> {
        match self {
            Data::Assoc(items) => items.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text at `key` of a map (`None` when absent or not a scalar).
    pub fn text(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(Data::Text(t)) => Some(t),
            _ => None,
        }
    }

    /// The keys of a map (empty for other values).
    pub fn keys(&self) -> Vec<&str> {
        match self {
            Data::Assoc(items) => items.iter().map(|(k, _)| k.as_str()).collect(),
            _ => Vec::new(),
        }
    }

    /// The value as JSON (maps → objects, arrays → arrays, text → strings), for the
    /// request log.
    pub fn to_json(&self) -> Value {
        match self {
            Data::Text(t) => Value::String(t.clone()),
            Data::Array(items) => Value::Array(items.iter().map(Data::to_json).collect()),
            Data::Assoc(items) => Value::Object(
                items
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect::<Map<_, _>>(),
            ),
        }
    }

    /// A map from `(key, value)` pairs.
    pub fn assoc<const N: usize>(items: [(&str, Data); N]) -> Data {
        Data::Assoc(items.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    /// A scalar.
    pub fn text_of(value: impl Into<String>) -> Data {
        Data::Text(value.into())
    }
}

/// An XML element as read, before its XCP meaning is checked.
#[derive(Debug, Default)]
struct Element {
    name: String,
    key: Option<String>,
    other_attributes: Vec<String>,
    children: Vec<Element>,
    text: String,
}

/// Parse a request envelope into its top-level `dt_assoc` (the `data_block`'s map).
/// `Err` says what is malformed.
pub fn parse_envelope(body: &[u8]) -> Result<Data, String> {
    let root = read_tree(body)?;
    if root.name != "OPS_envelope" {
        return Err(format!(
            "the root element is <{}>, not <OPS_envelope>",
            root.name
        ));
    }
    no_text(&root)?;
    let mut header = None;
    let mut block = None;
    for child in &root.children {
        match child.name.as_str() {
            "header" if header.is_none() => header = Some(child),
            "body" if block.is_none() => block = Some(child),
            other => return Err(format!("unexpected <{other}> in <OPS_envelope>")),
        }
    }
    let header = header.ok_or("the envelope has no <header>")?;
    check_header(header)?;
    let body = block.ok_or("the envelope has no <body>")?;
    no_text(body)?;
    let [data_block] = body.children.as_slice() else {
        return Err("<body> must hold exactly one <data_block>".into());
    };
    if data_block.name != "data_block" {
        return Err(format!("unexpected <{}> in <body>", data_block.name));
    }
    no_text(data_block)?;
    let [assoc] = data_block.children.as_slice() else {
        return Err("<data_block> must hold exactly one <dt_assoc>".into());
    };
    if assoc.name != "dt_assoc" {
        return Err(format!(
            "a request's <data_block> holds a <dt_assoc>, not <{}>",
            assoc.name
        ));
    }
    container(assoc)
}

fn check_header(header: &Element) -> Result<(), String> {
    no_text(header)?;
    let mut version = None;
    for child in &header.children {
        if !child.children.is_empty() {
            return Err(format!("<{}> in <header> must be text", child.name));
        }
        match child.name.as_str() {
            "version" if version.is_none() => version = Some(child.text.trim().to_string()),
            "msg_id" | "msg_type" => {}
            other => return Err(format!("unexpected <{other}> in <header>")),
        }
    }
    match version.as_deref() {
        Some("0.9") => Ok(()),
        Some(v) => Err(format!("unsupported envelope version {v:?} (expected 0.9)")),
        None => Err("the <header> has no <version>".into()),
    }
}

fn no_text(e: &Element) -> Result<(), String> {
    if e.text.trim().is_empty() && e.key.is_none() && e.other_attributes.is_empty() {
        Ok(())
    } else if !e.text.trim().is_empty() {
        Err(format!("unexpected text in <{}>", e.name))
    } else {
        Err(format!("unexpected attribute on <{}>", e.name))
    }
}

/// A `dt_assoc` or `dt_array` element as data.
fn container(e: &Element) -> Result<Data, String> {
    no_text(e)?;
    let mut items = Vec::new();
    for child in &e.children {
        if child.name != "item" {
            return Err(format!("unexpected <{}> in <{}>", child.name, e.name));
        }
        if let Some(attr) = child.other_attributes.first() {
            return Err(format!("unexpected attribute {attr:?} on <item>"));
        }
        let key = child
            .key
            .clone()
            .ok_or_else(|| format!("an <item> in <{}> has no key", e.name))?;
        if items.iter().any(|(k, _)| *k == key) {
            return Err(format!("duplicate key {key:?} in <{}>", e.name));
        }
        items.push((key, item_value(child)?));
    }
    if e.name == "dt_assoc" {
        return Ok(Data::Assoc(items));
    }
    // dt_array: the keys are the indexes 0..n, in any order.
    let mut slots: Vec<Option<Data>> = vec![None; items.len()];
    for (key, value) in items {
        let index = key
            .parse::<usize>()
            .ok()
            .filter(|i| *i < slots.len() && key == i.to_string())
            .ok_or_else(|| format!("dt_array item key {key:?} is not an index 0..n"))?;
        slots[index] = Some(value);
    }
    Ok(Data::Array(slots.into_iter().flatten().collect()))
}

fn item_value(item: &Element) -> Result<Data, String> {
    match item.children.as_slice() {
        [] => Ok(Data::Text(item.text.clone())),
        [one] if item.text.trim().is_empty() => match one.name.as_str() {
            "dt_assoc" | "dt_array" => container(one),
            "dt_scalar" if one.children.is_empty() && one.key.is_none() => {
                Ok(Data::Text(one.text.clone()))
            }
            other => Err(format!("unexpected <{other}> in <item>")),
        },
        _ => Err(format!(
            "<item key={:?}> mixes text and elements or holds more than one value",
            item.key.clone().unwrap_or_default()
        )),
    }
}

/// How deep elements may nest (a real envelope needs about a dozen levels); deeper input
/// is refused before it can exhaust the stack.
const MAX_DEPTH: usize = 64;

/// Read the XML into an element tree; the XML declaration and the DOCTYPE are allowed,
/// processing instructions, CDATA-free markup errors and trailing content are not.
fn read_tree(body: &[u8]) -> Result<Element, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_string())?;
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("XML error at byte {}: {e}", reader.buffer_position()))?;
        match event {
            Event::Decl(_) | Event::DocType(_) | Event::Comment(_) => {}
            Event::PI(_) => return Err("processing instructions are not allowed".into()),
            Event::Start(start) | Event::Empty(start) if root.is_some() && stack.is_empty() => {
                let _ = start;
                return Err("content after the root element".into());
            }
            Event::Start(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(format!("elements nested deeper than {MAX_DEPTH}"));
                }
                stack.push(element(&start)?)
            }
            Event::Empty(start) => {
                let e = element(&start)?;
                close(&mut stack, &mut root, e);
            }
            Event::End(_) => {
                let e = stack.pop().ok_or("an end tag without a start tag")?;
                close(&mut stack, &mut root, e);
            }
            Event::Text(t) => {
                let s = t.decode().map_err(|e| format!("bad text: {e}"))?;
                match stack.last_mut() {
                    Some(top) => top.text.push_str(&s),
                    None if s.trim().is_empty() => {}
                    None => return Err("text outside the root element".into()),
                }
            }
            Event::CData(c) => {
                let s = c.decode().map_err(|e| format!("bad CDATA: {e}"))?;
                let top = stack.last_mut().ok_or("CDATA outside the root element")?;
                top.text.push_str(&s);
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        let name = r.decode().map_err(|e| format!("bad entity: {e}"))?;
                        predefined_entity(&name)
                            .ok_or_else(|| format!("unknown entity &{name};"))?
                            .to_string()
                    }
                    Err(e) => return Err(format!("bad character reference: {e}")),
                };
                let top = stack
                    .last_mut()
                    .ok_or("an entity outside the root element")?;
                top.text.push_str(&resolved);
            }
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err("the document ends inside an element".into());
    }
    root.ok_or_else(|| "the body holds no XML element".to_string())
}

fn predefined_entity(name: &str) -> Option<&'static str> {
    Some(match name {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "apos" => "'",
        "quot" => "\"",
        _ => return None,
    })
}

fn element(start: &quick_xml::events::BytesStart<'_>) -> Result<Element, String> {
    let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
    let mut e = Element {
        name,
        ..Element::default()
    };
    for attr in start.attributes() {
        let attr = attr.map_err(|err| format!("bad attribute on <{}>: {err}", e.name))?;
        let key = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
        let value = attr
            .unescape_value()
            .map_err(|err| format!("bad attribute value on <{}>: {err}", e.name))?
            .into_owned();
        if key == "key" && e.key.is_none() {
            e.key = Some(value);
        } else {
            e.other_attributes.push(key);
        }
    }
    Ok(e)
}

fn close(stack: &mut [Element], root: &mut Option<Element>, e: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(e),
        None => *root = Some(e),
    }
}

/// A reply envelope around `block` (the top-level `dt_assoc`), as OpenSRS writes it.
pub fn write_envelope(block: &Data) -> String {
    let mut out = String::from(
        "<?xml version='1.0' encoding='UTF-8' standalone='no' ?>\n\
         <!DOCTYPE OPS_envelope SYSTEM 'ops.dtd'>\n<OPS_envelope>\n \
         <header>\n  <version>0.9</version>\n </header>\n <body>\n  <data_block>\n",
    );
    write_data(&mut out, block, 3);
    out.push_str("  </data_block>\n </body>\n</OPS_envelope>\n");
    out
}

/// A request envelope as clients write it (for tests and examples): the same shape.
pub fn request_envelope(block: &Data) -> String {
    write_envelope(block)
}

fn write_data(out: &mut String, data: &Data, depth: usize) {
    let pad = " ".repeat(depth);
    match data {
        Data::Text(t) => out.push_str(&escape(t.as_str())),
        Data::Assoc(items) => {
            let _ = writeln!(out, "{pad}<dt_assoc>");
            for (k, v) in items {
                write_item(out, k, v, depth + 1);
            }
            let _ = writeln!(out, "{pad}</dt_assoc>");
        }
        Data::Array(items) => {
            let _ = writeln!(out, "{pad}<dt_array>");
            for (i, v) in items.iter().enumerate() {
                write_item(out, &i.to_string(), v, depth + 1);
            }
            let _ = writeln!(out, "{pad}</dt_array>");
        }
    }
}

fn write_item(out: &mut String, key: &str, value: &Data, depth: usize) {
    let pad = " ".repeat(depth);
    let key = escape(key);
    match value {
        Data::Text(t) => {
            let _ = writeln!(
                out,
                "{pad}<item key=\"{key}\">{}</item>",
                escape(t.as_str())
            );
        }
        nested => {
            let _ = writeln!(out, "{pad}<item key=\"{key}\">");
            write_data(out, nested, depth + 1);
            let _ = writeln!(out, "{pad}</item>");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOOKUP: &str = "<?xml version='1.0' encoding='UTF-8' standalone='no' ?><!DOCTYPE OPS_envelope SYSTEM 'ops.dtd'><OPS_envelope><header><version>0.9</version></header><body><data_block><dt_assoc><item key=\"protocol\">XCP</item><item key=\"action\">LOOKUP</item><item key=\"object\">DOMAIN</item><item key=\"attributes\"><dt_assoc><item key=\"domain\">example.com</item></dt_assoc></item></dt_assoc></data_block></body></OPS_envelope>";

    #[test]
    fn the_reference_lookup_envelope_parses() {
        let data = parse_envelope(LOOKUP.as_bytes()).unwrap();
        assert_eq!(data.text("action"), Some("LOOKUP"));
        assert_eq!(
            data.get("attributes").and_then(|a| a.text("domain")),
            Some("example.com")
        );
    }

    #[test]
    fn replies_round_trip_through_the_parser() {
        let block = Data::assoc([
            ("protocol", Data::text_of("XCP")),
            (
                "attributes",
                Data::assoc([(
                    "list",
                    Data::Array(vec![Data::text_of("a & <b>"), Data::text_of("c")]),
                )]),
            ),
        ]);
        assert_eq!(
            parse_envelope(write_envelope(&block).as_bytes()).unwrap(),
            block
        );
    }

    #[test]
    fn malformed_envelopes_are_refused() {
        let deep = format!(
            "<OPS_envelope>{}{}</OPS_envelope>",
            "<dt_assoc><item key=\"a\">".repeat(100_000),
            "</item></dt_assoc>".repeat(100_000)
        );
        let cases = [
            (
                "<OPS_envelope><header><version>0.9</version></header>",
                "ends inside",
            ),
            ("<OPS_envelope><body/></OPS_envelope>", "no <header>"),
            (
                "<OPS_envelope><header><version>1.0</version></header><body><data_block><dt_assoc/></data_block></body></OPS_envelope>",
                "version",
            ),
            (
                "<OPS_envelope><header><version>0.9</version></header><body><data_block><dt_assoc><item>x</item></dt_assoc></data_block></body></OPS_envelope>",
                "no key",
            ),
            (
                "<OPS_envelope><header><version>0.9</version></header><body><data_block><dt_assoc><item key=\"a\">1</item><item key=\"a\">2</item></dt_assoc></data_block></body></OPS_envelope>",
                "duplicate",
            ),
            (
                "<OPS_envelope><header><version>0.9</version></header><body><data_block><dt_assoc><item key=\"a\"><dt_array><item key=\"1\">x</item></dt_array></item></dt_assoc></data_block></body></OPS_envelope>",
                "index",
            ),
            (
                "<OPS_envelope><header><version>0.9</version></header><body><data_block><dt_assoc><item key=\"a\">x<dt_assoc/></item></dt_assoc></data_block></body></OPS_envelope>",
                "mixes",
            ),
            (
                "<OPS_envelope><header><version>0.9</version></header><body><data_block><dt_list/></data_block></body></OPS_envelope>",
                "dt_list",
            ),
            ("<OPS_envelope></OPS_envelop>", "XML error"),
            ("not xml at all", "outside the root"),
            (&deep, "nested deeper"),
        ];
        for (xml, want) in cases {
            let err = parse_envelope(xml.as_bytes()).unwrap_err();
            assert!(err.contains(want), "{xml}: {err}");
        }
    }
}
