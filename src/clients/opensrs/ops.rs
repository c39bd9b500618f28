//! The OPS envelope OpenSRS XCP speaks (providers.md §2): values are scalars, maps
//! (`dt_assoc` of `<item key=…>`) or lists (`dt_array` keyed `0`, `1`, …); item order is
//! insignificant. Written by hand (it is five element names), read with quick-xml's pull
//! reader so entity handling and malformed input are the parser's job, not ours.

use quick_xml::Reader;
use quick_xml::events::Event;

/// One OPS value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ops {
    /// A scalar (numbers and booleans are strings too: `"1"`, `"0"`).
    Text(String),
    /// A map, in the order written.
    Assoc(Vec<(String, Ops)>),
    /// A list.
    Array(Vec<Ops>),
}

impl Ops {
    /// A map from `(key, value)` pairs.
    pub fn assoc<const N: usize>(pairs: [(&str, Ops); N]) -> Ops {
        Ops::Assoc(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    /// A scalar.
    pub fn text(s: impl Into<String>) -> Ops {
        Ops::Text(s.into())
    }

    /// A list of scalars.
    pub fn strings<S: AsRef<str>>(items: &[S]) -> Ops {
        Ops::Array(items.iter().map(|s| Ops::text(s.as_ref())).collect())
    }

    /// The value under `key` of a map.
    pub fn get(&self, key: &str) -> Option<&Ops> {
        match self {
            Ops::Assoc(items) => items.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The scalar under `key` of a map.
    pub fn str(&self, key: &str) -> Option<&str> {
        match self.get(key)? {
            Ops::Text(s) => Some(s.as_str()),
            _ => None,
        }
    }

    /// The items of a list (empty for anything else).
    pub fn items(&self) -> &[Ops] {
        match self {
            Ops::Array(items) => items,
            _ => &[],
        }
    }

    /// Add or replace `key` in a map (no-op on other values).
    pub fn set(&mut self, key: &str, value: Ops) {
        if let Ops::Assoc(items) = self {
            match items.iter_mut().find(|(k, _)| k == key) {
                Some(slot) => slot.1 = value,
                None => items.push((key.to_string(), value)),
            }
        }
    }

    fn write(&self, out: &mut String) {
        match self {
            Ops::Text(s) => out.push_str(&escape(s)),
            Ops::Assoc(items) => {
                out.push_str("<dt_assoc>");
                for (k, v) in items {
                    out.push_str(&format!("<item key=\"{}\">", escape(k)));
                    v.write(out);
                    out.push_str("</item>");
                }
                out.push_str("</dt_assoc>");
            }
            Ops::Array(items) => {
                out.push_str("<dt_array>");
                for (i, v) in items.iter().enumerate() {
                    out.push_str(&format!("<item key=\"{i}\">"));
                    v.write(out);
                    out.push_str("</item>");
                }
                out.push_str("</dt_array>");
            }
        }
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// The request envelope for `action` on `object` with `attributes` (one line, the
/// exact bytes that are signed and sent).
pub fn request(action: &str, object: &str, attributes: Ops) -> String {
    let block = Ops::assoc([
        ("protocol", Ops::text("XCP")),
        ("action", Ops::text(action)),
        ("object", Ops::text(object)),
        ("attributes", attributes),
    ]);
    let mut out = String::from(
        "<?xml version='1.0' encoding='UTF-8' standalone='no' ?><!DOCTYPE OPS_envelope SYSTEM \
         'ops.dtd'><OPS_envelope><header><version>0.9</version></header><body><data_block>",
    );
    block.write(&mut out);
    out.push_str("</data_block></body></OPS_envelope>");
    out
}

/// The value inside `<data_block>` of an envelope.
pub fn parse(xml: &[u8]) -> Result<Ops, String> {
    let mut reader = Reader::from_reader(xml);
    let mut buf = Vec::new();
    // A stack of containers being filled; each knows the key its parent gave it.
    enum Frame {
        Item {
            key: String,
            text: String,
            value: Option<Ops>,
        },
        Assoc(Vec<(String, Ops)>),
        Array(Vec<Ops>),
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut in_block = false;
    let mut result: Option<Ops> = None;
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| format!("not XML at byte {}: {e}", reader.buffer_position()))?;
        match event {
            Event::Start(e) => match e.name().as_ref() {
                b"data_block" => in_block = true,
                b"dt_assoc" if in_block => stack.push(Frame::Assoc(Vec::new())),
                b"dt_array" if in_block => stack.push(Frame::Array(Vec::new())),
                b"item" if in_block => {
                    let key = e
                        .try_get_attribute("key")
                        .map_err(|e| e.to_string())?
                        .map(|a| {
                            a.unescape_value()
                                .map(|v| v.into_owned())
                                .map_err(|e| e.to_string())
                        })
                        .transpose()?
                        .unwrap_or_default();
                    stack.push(Frame::Item {
                        key,
                        text: String::new(),
                        value: None,
                    });
                }
                _ => {}
            },
            Event::Empty(e) if in_block => {
                let empty = match e.name().as_ref() {
                    b"dt_assoc" => Some(Ops::Assoc(Vec::new())),
                    b"dt_array" => Some(Ops::Array(Vec::new())),
                    b"item" => {
                        let key = e
                            .try_get_attribute("key")
                            .ok()
                            .flatten()
                            .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
                            .unwrap_or_default();
                        match stack.last_mut() {
                            Some(Frame::Assoc(items)) => items.push((key, Ops::text(""))),
                            Some(Frame::Array(items)) => items.push(Ops::text("")),
                            _ => {}
                        }
                        None
                    }
                    _ => None,
                };
                if let Some(v) = empty {
                    attach(&mut stack, &mut result, v);
                }
            }
            Event::Text(t) if in_block => {
                if let Some(Frame::Item { text, .. }) = stack.last_mut() {
                    text.push_str(&t.decode().map_err(|e| e.to_string())?);
                }
            }
            Event::GeneralRef(r) if in_block => {
                if let Some(Frame::Item { text, .. }) = stack.last_mut() {
                    let name = r.decode().map_err(|e| e.to_string())?;
                    let resolved = match name.as_ref() {
                        "amp" => "&".to_string(),
                        "lt" => "<".to_string(),
                        "gt" => ">".to_string(),
                        "apos" => "'".to_string(),
                        "quot" => "\"".to_string(),
                        other => match r.resolve_char_ref().ok().flatten() {
                            Some(c) => c.to_string(),
                            None => return Err(format!("unknown entity &{other};")),
                        },
                    };
                    text.push_str(&resolved);
                }
            }
            Event::CData(t) if in_block => {
                if let Some(Frame::Item { text, .. }) = stack.last_mut() {
                    text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::End(e) => match e.name().as_ref() {
                b"data_block" => in_block = false,
                b"dt_assoc" | b"dt_array" if in_block => {
                    let v = match stack.pop() {
                        Some(Frame::Assoc(items)) => Ops::Assoc(items),
                        Some(Frame::Array(items)) => Ops::Array(items),
                        _ => return Err("unbalanced dt_assoc/dt_array".into()),
                    };
                    attach(&mut stack, &mut result, v);
                }
                b"item" if in_block => {
                    let Some(Frame::Item { key, text, value }) = stack.pop() else {
                        return Err("unbalanced item".into());
                    };
                    let v = value.unwrap_or_else(|| Ops::Text(text.trim().to_string()));
                    match stack.last_mut() {
                        Some(Frame::Assoc(items)) => items.push((key, v)),
                        Some(Frame::Array(items)) => items.push(v),
                        _ => return Err("item outside dt_assoc/dt_array".into()),
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }

    fn attach(stack: &mut [Frame], result: &mut Option<Ops>, v: Ops) {
        match stack.last_mut() {
            Some(Frame::Item { value, .. }) => *value = Some(v),
            Some(Frame::Assoc(_)) | Some(Frame::Array(_)) => {}
            None => *result = Some(v),
        }
    }
    result.ok_or_else(|| "no data_block in the answer".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_round_trips_through_the_reader() {
        let attrs = Ops::assoc([
            ("domain", Ops::text("a&b<c>.com")),
            ("assign_ns", Ops::strings(&["ns1.x", "ns2.x"])),
            ("empty", Ops::Assoc(Vec::new())),
        ]);
        let xml = request("LOOKUP", "DOMAIN", attrs.clone());
        let back = parse(xml.as_bytes()).unwrap();
        assert_eq!(back.str("action"), Some("LOOKUP"));
        assert_eq!(back.get("attributes"), Some(&attrs));
    }

    #[test]
    fn the_reference_body_is_written_byte_for_byte() {
        let xml = request(
            "LOOKUP",
            "DOMAIN",
            Ops::assoc([("domain", Ops::text("example.com"))]),
        );
        assert_eq!(xml.len(), 405);
        assert!(xml.starts_with("<?xml version='1.0' encoding='UTF-8' standalone='no' ?>"));
    }

    #[test]
    fn replies_are_read_in_any_order_with_whitespace_and_empty_items() {
        let xml = br#"<?xml version='1.0' encoding="UTF-8" standalone="no" ?>
<!DOCTYPE OPS_envelope SYSTEM 'ops.dtd'>
<OPS_envelope><header><version>0.9</version></header><body><data_block>
 <dt_assoc>
   <item key="response_code">211</item>
   <item key="attributes"><dt_assoc><item key="status">taken</item><item key="reason"/></dt_assoc></item>
   <item key="is_success">1</item>
   <item key="response_text">Domain &amp; taken</item>
 </dt_assoc>
</data_block></body></OPS_envelope>"#;
        let v = parse(xml).unwrap();
        assert_eq!(v.str("response_code"), Some("211"));
        assert_eq!(v.str("response_text"), Some("Domain & taken"));
        assert_eq!(v.get("attributes").unwrap().str("status"), Some("taken"));
        assert_eq!(v.get("attributes").unwrap().str("reason"), Some(""));
    }

    #[test]
    fn garbage_and_html_are_refused() {
        assert!(parse(b"<html><body>Forbidden</body></html>").is_err());
        assert!(parse(b"").is_err());
        assert!(parse(b"<OPS_envelope><body><data_block><dt_assoc><item key='a'>").is_err());
    }
}
