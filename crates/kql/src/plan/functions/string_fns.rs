//! String functions that work a row at a time: split, replace_string, replace_regex,
//! extract, extract_all, trim*, indexof, countof, reverse, strrep, url and base64
//! codecs, parse_url, parse_path, parse_csv, hashes, new_guid, strcmp, translate.

use std::cell::RefCell;
use std::collections::HashMap;

use base64::Engine;
use regex::Regex;
use serde_json::{json, Map, Value as Json};

use super::rowfn::{t_dynamic, t_guid, t_long, t_string, Def};
use super::value::V;

pub static DEFS: &[Def] = &[
    Def::new("strcat_delim", 2, 64, t_string, strcat_delim),
    Def::new("split", 2, 3, t_dynamic, split),
    Def::new("replace_string", 3, 3, t_string, replace_string),
    Def::new("replace", 3, 3, t_string, replace_regex),
    Def::new("replace_regex", 3, 3, t_string, replace_regex),
    Def::new("extract", 3, 3, t_string, extract),
    Def::new("extract_all", 2, 3, t_dynamic, extract_all),
    Def::new("trim", 2, 2, t_string, |a| trim(a, true, true)),
    Def::new("trim_start", 2, 2, t_string, |a| trim(a, true, false)),
    Def::new("trim_end", 2, 2, t_string, |a| trim(a, false, true)),
    Def::new("indexof", 2, 5, t_long, indexof),
    Def::new("countof", 2, 3, t_long, countof),
    Def::new("reverse", 1, 1, t_string, |a| {
        V::Str(a[0].text().chars().rev().collect())
    }),
    Def::new("strrep", 2, 3, t_string, strrep),
    Def::new("url_encode", 1, 1, t_string, |a| {
        V::Str(url_encode(&a[0].text()))
    }),
    Def::new("url_encode_component", 1, 1, t_string, |a| {
        V::Str(url_encode(&a[0].text()))
    }),
    Def::new("url_decode", 1, 1, t_string, |a| url_decode(&a[0].text())),
    Def::new("base64_encode_tostring", 1, 1, t_string, |a| {
        V::Str(base64::engine::general_purpose::STANDARD.encode(a[0].text().as_bytes()))
    }),
    Def::new("base64_decode_tostring", 1, 1, t_string, |a| {
        match base64::engine::general_purpose::STANDARD.decode(a[0].text().trim().as_bytes()) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(s) => V::Str(s),
                Err(_) => V::Null,
            },
            Err(_) => V::Null,
        }
    }),
    Def::new("parse_url", 1, 1, t_dynamic, parse_url),
    Def::new("parse_path", 1, 1, t_dynamic, parse_path),
    Def::new("parse_csv", 1, 1, t_dynamic, parse_csv),
    Def::new("hash", 1, 2, t_long, hash),
    Def::new("hash_sha256", 1, 1, t_string, |a| {
        let d = ring::digest::digest(&ring::digest::SHA256, a[0].text().as_bytes());
        V::Str(d.as_ref().iter().map(|b| format!("{b:02x}")).collect())
    }),
    Def::new("hash_md5", 1, 1, t_string, |a| {
        // Kusto's hash_md5 is MD5; ring has none, so this is SHA-1 cut to 16 bytes. It
        // is stable but will not match Kusto's values.
        let d = ring::digest::digest(
            &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
            a[0].text().as_bytes(),
        );
        V::Str(
            d.as_ref()[..16]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        )
    }),
    Def::new("new_guid", 0, 0, t_guid, |_| {
        V::Str(uuid::Uuid::new_v4().to_string())
    })
    .volatile(),
    Def::new("toguid", 1, 1, t_guid, |a| {
        match uuid::Uuid::parse_str(a[0].text().trim()) {
            Ok(u) => V::Str(u.to_string()),
            Err(_) => V::Null,
        }
    }),
    Def::new("strcmp", 2, 2, t_long, |a| {
        V::Long(match a[0].text().cmp(&a[1].text()) {
            std::cmp::Ordering::Less => -1,
            std::cmp::Ordering::Equal => 0,
            std::cmp::Ordering::Greater => 1,
        })
    }),
    Def::new("translate", 3, 3, t_string, translate),
    Def::new("tohex", 1, 2, t_string, tohex),
    Def::new("string_size", 1, 1, t_long, |a| {
        V::Long(a[0].text().len() as i64)
    }),
    Def::new("isascii", 1, 1, super::rowfn::t_bool, |a| {
        V::Bool(a[0].text().is_ascii())
    }),
    Def::new("isutf8", 1, 1, super::rowfn::t_bool, |_| V::Bool(true)),
    Def::new("make_string", 1, 64, t_string, |a| {
        let mut out = String::new();
        for v in a {
            match v.array() {
                Some(items) => items
                    .iter()
                    .filter_map(|j| j.as_u64().and_then(|c| char::from_u32(c as u32)))
                    .for_each(|c| out.push(c)),
                None => {
                    if let Some(c) = v.i64().and_then(|c| char::from_u32(c as u32)) {
                        out.push(c)
                    }
                }
            }
        }
        V::Str(out)
    }),
    Def::new("to_utf8", 1, 1, t_dynamic, |a| {
        V::Dyn(Json::Array(
            a[0].text().chars().map(|c| json!(c as u32)).collect(),
        ))
    }),
    Def::new("unicode_codepoints_from_string", 1, 1, t_dynamic, |a| {
        V::Dyn(Json::Array(
            a[0].text().chars().map(|c| json!(c as u32)).collect(),
        ))
    }),
];

thread_local! {
    static REGEXES: RefCell<HashMap<String, Option<Regex>>> = RefCell::new(HashMap::new());
}

/// A compiled regex, cached per thread (patterns are nearly always constants).
pub fn regex(pattern: &str) -> Option<Regex> {
    REGEXES.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.len() > 256 {
            cache.clear();
        }
        cache
            .entry(pattern.to_string())
            .or_insert_with(|| Regex::new(pattern).ok())
            .clone()
    })
}

fn strcat_delim(a: &[V]) -> V {
    let delim = a[0].text();
    V::Str(
        a[1..]
            .iter()
            .map(|v| v.text().into_owned())
            .collect::<Vec<_>>()
            .join(&delim),
    )
}

fn split(a: &[V]) -> V {
    let s = a[0].text();
    let d = a[1].text();
    let parts: Vec<Json> = if d.is_empty() {
        vec![Json::String(s.to_string())]
    } else {
        s.split(d.as_ref())
            .map(|p| Json::String(p.into()))
            .collect()
    };
    match a.get(2) {
        Some(i) => {
            let Some(i) = i.i64() else { return V::Null };
            match usize::try_from(i).ok().and_then(|i| parts.get(i)) {
                Some(p) => V::Dyn(Json::Array(vec![p.clone()])),
                None => V::Dyn(Json::Array(vec![])),
            }
        }
        None => V::Dyn(Json::Array(parts)),
    }
}

fn replace_string(a: &[V]) -> V {
    let lookup = a[1].text();
    if lookup.is_empty() {
        return V::Str(a[0].text().into_owned());
    }
    V::Str(a[0].text().replace(lookup.as_ref(), &a[2].text()))
}

/// `\1` in a Kusto rewrite pattern is `${1}` in Rust's regex crate.
fn rewrite(pattern: &str) -> String {
    let mut out = String::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek().is_some_and(|n| n.is_ascii_digit()) => {
                let mut n = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    n.push(*d);
                    chars.next();
                }
                out.push_str(&format!("${{{n}}}"));
            }
            '$' => out.push_str("$$"),
            other => out.push(other),
        }
    }
    out
}

fn replace_regex(a: &[V]) -> V {
    match regex(&a[1].text()) {
        Some(re) => V::Str(
            re.replace_all(&a[0].text(), rewrite(&a[2].text()).as_str())
                .into_owned(),
        ),
        None => V::Null,
    }
}

fn extract(a: &[V]) -> V {
    let (Some(re), Some(group)) = (regex(&a[0].text()), a[1].i64()) else {
        return V::Null;
    };
    let text = a[2].text();
    match re
        .captures(&text)
        .and_then(|c| c.get(group.max(0) as usize))
    {
        Some(m) => V::Str(m.as_str().to_string()),
        None => V::Str(String::new()),
    }
}

fn extract_all(a: &[V]) -> V {
    let Some(re) = regex(&a[0].text()) else {
        return V::Null;
    };
    let (groups, text): (Option<Vec<usize>>, _) = match a.len() {
        3 => (
            a[1].array().map(|g| {
                g.iter()
                    .filter_map(|x| x.as_u64().map(|x| x as usize))
                    .collect()
            }),
            a[2].text(),
        ),
        _ => (None, a[1].text()),
    };
    let n = re.captures_len() - 1;
    let groups = groups.unwrap_or_else(|| if n == 0 { vec![0] } else { (1..=n).collect() });
    let mut out = vec![];
    for caps in re.captures_iter(&text) {
        let cell = |g: usize| Json::String(caps.get(g).map(|m| m.as_str()).unwrap_or("").into());
        if groups.len() == 1 {
            out.push(cell(groups[0]));
        } else {
            out.push(Json::Array(groups.iter().map(|g| cell(*g)).collect()));
        }
    }
    if out.is_empty() {
        return V::Null;
    }
    V::Dyn(Json::Array(out))
}

fn trim(a: &[V], start: bool, end: bool) -> V {
    let pattern = a[0].text();
    let mut text = a[1].text().into_owned();
    if start {
        if let Some(re) = regex(&format!("^(?:{pattern})+")) {
            text = re.replace(&text, "").into_owned();
        }
    }
    if end {
        if let Some(re) = regex(&format!("(?:{pattern})+$")) {
            text = re.replace(&text, "").into_owned();
        }
    }
    V::Str(text)
}

fn indexof(a: &[V]) -> V {
    let s: Vec<char> = a[0].text().chars().collect();
    let lookup: Vec<char> = a[1].text().chars().collect();
    let start = a.get(2).and_then(V::i64).unwrap_or(0);
    if start < 0 || start as usize > s.len() {
        return V::Null;
    }
    let length = a.get(3).and_then(V::i64).unwrap_or(-1);
    let occurrence = a.get(4).and_then(V::i64).unwrap_or(1);
    if occurrence <= 0 {
        return V::Null;
    }
    let end = if length < 0 {
        s.len()
    } else {
        (start as usize + length as usize).min(s.len())
    };
    let mut seen = 0;
    let mut i = start as usize;
    while i + lookup.len() <= end {
        if s[i..i + lookup.len()] == lookup[..] {
            seen += 1;
            if seen == occurrence {
                return V::Long(i as i64);
            }
        }
        i += 1;
    }
    V::Long(-1)
}

fn countof(a: &[V]) -> V {
    let text = a[0].text();
    let search = a[1].text();
    let kind = a.get(2).map(|k| k.text().into_owned());
    if kind.as_deref() == Some("regex") {
        return match regex(&search) {
            Some(re) => V::Long(re.find_iter(&text).count() as i64),
            None => V::Null,
        };
    }
    if search.is_empty() {
        return V::Long(0);
    }
    // Plain search counts overlapping matches ("aaaa" has "aa" three times).
    let mut count = 0;
    let mut from = 0;
    while let Some(i) = text[from..].find(search.as_ref()) {
        count += 1;
        from += i + text[from + i..]
            .chars()
            .next()
            .map(char::len_utf8)
            .unwrap_or(1);
    }
    V::Long(count)
}

fn strrep(a: &[V]) -> V {
    let n = a[1].i64().unwrap_or(0).clamp(0, 1024) as usize;
    let delim = a.get(2).map(|d| d.text().into_owned()).unwrap_or_default();
    V::Str(vec![a[0].text().into_owned(); n].join(&delim))
}

/// Kusto's url_encode: letters, digits and `-_.!*()` stay, a space is `+`, every other
/// byte is `%xx` in lower-case hex.
fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'a'..=b'z'
            | b'A'..=b'Z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'!'
            | b'*'
            | b'('
            | b')' => out.push(b as char),
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02x}")),
        }
    }
    out
}

fn url_decode(s: &str) -> V {
    let plus = s.replace('+', " ");
    match percent_encoding::percent_decode_str(&plus).decode_utf8() {
        Ok(d) => V::Str(d.into_owned()),
        Err(_) => V::Null,
    }
}

fn parse_url(a: &[V]) -> V {
    let text = a[0].text();
    let Ok(u) = url::Url::parse(&text) else {
        return V::Dyn(json!({}));
    };
    let mut query = Map::new();
    for (k, v) in u.query_pairs() {
        query.insert(k.into_owned(), Json::String(v.into_owned()));
    }
    V::Dyn(json!({
        "Scheme": u.scheme(),
        "Host": u.host_str().unwrap_or(""),
        "Port": u.port().map(|p| p.to_string()).unwrap_or_default(),
        "Path": u.path(),
        "Username": u.username(),
        "Password": u.password().unwrap_or(""),
        "Query Parameters": query,
        "Fragment": u.fragment().unwrap_or(""),
    }))
}

fn parse_path(a: &[V]) -> V {
    let text = a[0].text().into_owned();
    let (scheme, rest) = match text.split_once("://") {
        Some((s, r)) => (s.to_string(), r.to_string()),
        None => (String::new(), text.clone()),
    };
    let sep = if rest.contains('\\') { '\\' } else { '/' };
    let (dir, file) = match rest.rfind(sep) {
        Some(i) => (rest[..i].to_string(), rest[i + 1..].to_string()),
        None => (String::new(), rest.clone()),
    };
    let root = if rest.len() > 1 && rest.as_bytes()[1] == b':' {
        rest[..2].to_string()
    } else if rest.starts_with(sep) {
        sep.to_string()
    } else {
        String::new()
    };
    let (file, stream) = match file.split_once(':') {
        Some((f, s)) => (f.to_string(), s.to_string()),
        None => (file, String::new()),
    };
    let extension = file
        .rsplit_once('.')
        .map(|(_, e)| e.to_string())
        .unwrap_or_default();
    let dir_name = dir.rsplit(sep).next().unwrap_or("").to_string();
    V::Dyn(json!({
        "Scheme": scheme,
        "RootPath": root,
        "DirectoryPath": dir,
        "DirectoryName": dir_name,
        "Filename": file,
        "Extension": extension,
        "AlternateDataStreamName": stream,
    }))
}

fn parse_csv(a: &[V]) -> V {
    let text = a[0].text();
    let mut fields = vec![];
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if cur.is_empty() => quoted = true,
            (',', false) => fields.push(Json::String(std::mem::take(&mut cur))),
            ('\n', false) => break,
            (other, _) => cur.push(other),
        }
    }
    fields.push(Json::String(cur));
    V::Dyn(Json::Array(fields))
}

fn hash(a: &[V]) -> V {
    use std::hash::Hasher;
    if a[0].is_null() {
        return V::Null;
    }
    let mut h = twox_hash::XxHash64::with_seed(0);
    match &a[0] {
        V::Long(v) => h.write(&v.to_le_bytes()),
        V::Real(v) => h.write(&v.to_le_bytes()),
        other => h.write(other.text().as_bytes()),
    }
    let v = h.finish() as i64;
    match a.get(1).and_then(V::i64) {
        Some(m) if m > 0 => V::Long(v.rem_euclid(m)),
        Some(_) => V::Null,
        None => V::Long(v),
    }
}

fn translate(a: &[V]) -> V {
    let from: Vec<char> = a[0].text().chars().collect();
    let to: Vec<char> = a[1].text().chars().collect();
    let out = a[2]
        .text()
        .chars()
        .filter_map(|c| match from.iter().position(|f| *f == c) {
            // An empty replacement list deletes; a short one repeats its last character.
            Some(_) if to.is_empty() => None,
            Some(i) => Some(*to.get(i).unwrap_or(to.last().unwrap_or(&c))),
            None => Some(c),
        })
        .collect();
    V::Str(out)
}

fn tohex(a: &[V]) -> V {
    let Some(v) = a[0].i64() else { return V::Null };
    let s = format!("{v:x}");
    match a.get(1).and_then(V::i64) {
        Some(w) => V::Str(format!("{s:0>width$}", width = w.max(0) as usize)),
        None => V::Str(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> V {
        V::Str(x.into())
    }

    #[test]
    fn countof_overlaps_plain_but_not_regex() {
        assert_eq!(countof(&[s("aaaa"), s("aa")]), V::Long(3));
        assert_eq!(countof(&[s("aaaa"), s("aa"), s("regex")]), V::Long(2));
    }

    #[test]
    fn rewrite_turns_backslash_groups_into_rust_groups() {
        assert_eq!(rewrite(r"\1-x$"), "${1}-x$$");
    }

    #[test]
    fn url_encode_is_lower_hex() {
        assert_eq!(
            url_encode("https://www.bing.com/ a"),
            "https%3a%2f%2fwww.bing.com%2f+a"
        );
    }
}
