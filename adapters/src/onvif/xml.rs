//! A tiny element tree over `quick-xml`, enough to read SOAP responses.
//!
//! ONVIF devices disagree on namespace prefixes (`tt:`, `ns1:`, `SOAP-ENV:`, `env:`…), so the
//! tree keeps only local names: every lookup is by local name, which is what the ONVIF schemas
//! make unambiguous within one response. The parser bounds depth and element count so that a
//! hostile device cannot make scelle allocate without limit; it is the surface the
//! `soap_response` fuzz target exercises.

use quick_xml::events::Event as XmlEvent;

/// Deepest nesting accepted (real responses stay under 15).
const MAX_DEPTH: usize = 64;
/// Most elements accepted in one response (a thousand recordings is ~20 000 elements).
const MAX_ELEMENTS: usize = 200_000;

/// One XML element: local name, attributes (local names) and text, with its children.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Element>,
}

/// Why a document could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed XML at byte {position}: {message}")]
pub struct XmlError {
    pub position: u64,
    pub message: String,
}

impl Element {
    /// The first direct child with this local name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// All direct children with this local name.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The first element with this local name anywhere below (depth first), or self.
    pub fn find(&self, name: &str) -> Option<&Element> {
        if self.name == name {
            return Some(self);
        }
        self.children.iter().find_map(|c| c.find(name))
    }

    /// Trimmed text of the direct child `name`, if present.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim())
    }

    /// Value of the attribute with this local name.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn local(name: &[u8]) -> String {
    let local = match name.iter().rposition(|&b| b == b':') {
        Some(i) => &name[i + 1..],
        None => name,
    };
    String::from_utf8_lossy(local).into_owned()
}

fn err(position: u64, message: impl Into<String>) -> XmlError {
    XmlError {
        position,
        message: message.into(),
    }
}

fn open(e: &quick_xml::events::BytesStart<'_>, pos: u64) -> Result<Element, XmlError> {
    let mut el = Element {
        name: local(e.name().as_ref()),
        ..Element::default()
    };
    for a in e.attributes() {
        let a = a.map_err(|e| err(pos, e.to_string()))?;
        let key = a.key.as_ref();
        if key == b"xmlns" || key.starts_with(b"xmlns:") {
            continue;
        }
        let value = a.unescape_value().map_err(|e| err(pos, e.to_string()))?;
        el.attrs.push((local(key), value.into_owned()));
    }
    Ok(el)
}

/// Parses a whole document into its root element.
pub fn parse(bytes: &[u8]) -> Result<Element, XmlError> {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    loop {
        let pos = reader.buffer_position();
        let ev = reader
            .read_event()
            .map_err(|e| err(reader.error_position(), e.to_string()))?;
        match ev {
            XmlEvent::Start(_) | XmlEvent::Empty(_) if root.is_some() => {
                return Err(err(pos, "content after the root element"));
            }
            XmlEvent::Start(e) => {
                count += 1;
                if stack.len() >= MAX_DEPTH || count > MAX_ELEMENTS {
                    return Err(err(pos, "document too deep or too large"));
                }
                stack.push(open(&e, pos)?);
            }
            XmlEvent::Empty(e) => {
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err(err(pos, "document too large"));
                }
                let el = open(&e, pos)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            XmlEvent::End(_) => {
                let el = stack
                    .pop()
                    .ok_or_else(|| err(pos, "closing tag without an opening one"))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            XmlEvent::Text(t) => {
                let text = t.decode().map_err(|e| err(pos, e.to_string()))?;
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&text),
                    None if text.trim().is_empty() => {}
                    None => return Err(err(pos, "text outside the root element")),
                }
            }
            XmlEvent::CData(t) => {
                let text = t.decode().map_err(|e| err(pos, e.to_string()))?;
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&text);
                }
            }
            XmlEvent::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().map_err(|e| err(pos, e.to_string()))? {
                    Some(c) => c.to_string(),
                    None => {
                        let name = r.decode().map_err(|e| err(pos, e.to_string()))?;
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .ok_or_else(|| err(pos, format!("unknown entity &{name};")))?
                            .to_string()
                    }
                };
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&resolved);
                }
            }
            XmlEvent::DocType(_) => return Err(err(pos, "DOCTYPE is not allowed in SOAP")),
            XmlEvent::Eof => break,
            XmlEvent::Decl(_) | XmlEvent::PI(_) | XmlEvent::Comment(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(err(
            reader.buffer_position(),
            "document ends inside an element",
        ));
    }
    root.ok_or_else(|| err(0, "empty document"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_local_names_text_and_entities() {
        let doc = br#"<?xml version="1.0"?><a:Env xmlns:a="x"><a:Body k="v"><b:Uri xmlns:b="y">rtsp://h/p?a=1&amp;b=2&#x21;</b:Uri><c/></a:Body></a:Env>"#;
        let root = parse(doc).unwrap();
        assert_eq!(root.name, "Env");
        let body = root.child("Body").unwrap();
        assert_eq!(body.attr("k"), Some("v"));
        assert_eq!(body.child_text("Uri"), Some("rtsp://h/p?a=1&b=2!"));
        assert!(body.child("c").is_some());
    }

    #[test]
    fn refuses_broken_documents() {
        assert!(parse(b"").is_err());
        assert!(parse(b"<a><b></a>").is_err());
        assert!(parse(b"<a>").is_err());
        assert!(parse(b"<a/><b/>").is_err());
        assert!(parse(b"<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>").is_err());
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(parse(deep.as_bytes()).is_err());
    }
}
