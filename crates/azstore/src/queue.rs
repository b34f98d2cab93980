//! Azure Storage queues: create, put, get (with a visibility timeout) and delete.
//! Message text is sent as given; Kusto's queues carry base64 of JSON.

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use quick_xml::events::Event;

use crate::{send, Result, StorageError};

#[derive(Debug, Clone)]
pub struct Queue {
    http: reqwest::Client,
    /// `https://account.queue.core.windows.net/name`, no query.
    url: String,
    sas: String,
}

/// A message taken from a queue; invisible to others until its visibility timeout.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueMessage {
    pub id: String,
    pub pop_receipt: String,
    pub text: String,
    pub dequeue_count: u32,
}

impl Queue {
    pub(crate) fn new(http: reqwest::Client, url: String, sas: String) -> Queue {
        Queue { http, url, sas }
    }

    /// The queue's URL with the SAS, as clients are given it.
    pub fn url_with_sas(&self) -> String {
        format!("{}?{}", self.url, self.sas)
    }

    /// Creates the queue; an existing one is fine.
    pub async fn create(&self) -> Result<()> {
        send(
            self.http.put(self.url_with_sas()),
            &format!("create queue {}", self.url),
            &[409],
        )
        .await?;
        Ok(())
    }

    pub async fn put(&self, text: &str) -> Result<()> {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><QueueMessage><MessageText>{}</MessageText></QueueMessage>",
            quick_xml::escape::escape(text)
        );
        send(
            self.http
                .post(format!("{}/messages?{}", self.url, self.sas))
                .header("content-type", "application/xml")
                .body(body),
            &format!("put message on {}", self.url),
            &[],
        )
        .await?;
        Ok(())
    }

    /// Takes up to `max` (1..=32) messages, hidden for `visibility_secs`.
    pub async fn get(&self, max: u32, visibility_secs: u32) -> Result<Vec<QueueMessage>> {
        let what = format!("get messages from {}", self.url);
        let resp = send(
            self.http.get(format!(
                "{}/messages?numofmessages={}&visibilitytimeout={visibility_secs}&{}",
                self.url,
                max.clamp(1, 32),
                self.sas
            )),
            &what,
            &[],
        )
        .await?;
        let body = resp.text().await.map_err(|source| StorageError::Http {
            what: what.clone(),
            source,
        })?;
        parse_messages(&body).map_err(|message| StorageError::Xml { what, message })
    }

    pub async fn delete(&self, msg: &QueueMessage) -> Result<()> {
        let receipt = utf8_percent_encode(&msg.pop_receipt, NON_ALPHANUMERIC);
        send(
            self.http.delete(format!(
                "{}/messages/{}?popreceipt={receipt}&{}",
                self.url, msg.id, self.sas
            )),
            &format!("delete message from {}", self.url),
            &[404],
        )
        .await?;
        Ok(())
    }
}

/// Reads `<QueueMessagesList><QueueMessage><MessageId>...` into messages.
fn parse_messages(xml: &str) -> std::result::Result<Vec<QueueMessage>, String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out = vec![];
    let mut current: Option<QueueMessage> = None;
    let mut field = String::new();
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).to_string();
                if name == "QueueMessage" {
                    current = Some(QueueMessage::default());
                }
                field = name;
            }
            Event::Text(t) => {
                let text = t.decode().map_err(|e| e.to_string())?;
                let text = quick_xml::escape::unescape(&text).map_err(|e| e.to_string())?;
                if let Some(m) = current.as_mut() {
                    match field.as_str() {
                        "MessageId" => m.id.push_str(&text),
                        "PopReceipt" => m.pop_receipt.push_str(&text),
                        "MessageText" => m.text.push_str(&text),
                        "DequeueCount" => m.dequeue_count = text.trim().parse().unwrap_or(0),
                        _ => {}
                    }
                }
            }
            Event::GeneralRef(r) => {
                // Entities such as &amp; arrive as their own events.
                let name = String::from_utf8_lossy(r.as_ref()).to_string();
                let text = quick_xml::escape::unescape(&format!("&{name};"))
                    .map_err(|e| e.to_string())?
                    .to_string();
                if let Some(m) = current.as_mut() {
                    match field.as_str() {
                        "PopReceipt" => m.pop_receipt.push_str(&text),
                        "MessageText" => m.text.push_str(&text),
                        _ => {}
                    }
                }
            }
            Event::End(e) => {
                if e.name().as_ref() == b"QueueMessage" {
                    if let Some(m) = current.take() {
                        out.push(m);
                    }
                }
                field.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_parse_with_entities() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?><QueueMessagesList><QueueMessage><MessageId>a1</MessageId><InsertionTime>x</InsertionTime><PopReceipt>AgAA+/x&amp;y==</PopReceipt><DequeueCount>2</DequeueCount><MessageText>eyJhIjoxfQ==</MessageText></QueueMessage><QueueMessage><MessageId>b2</MessageId><PopReceipt>p</PopReceipt><DequeueCount>1</DequeueCount><MessageText>&lt;x&gt;</MessageText></QueueMessage></QueueMessagesList>"#;
        let m = parse_messages(xml).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].id, "a1");
        assert_eq!(m[0].pop_receipt, "AgAA+/x&y==");
        assert_eq!(m[0].dequeue_count, 2);
        assert_eq!(m[0].text, "eyJhIjoxfQ==");
        assert_eq!(m[1].text, "<x>");
        assert!(parse_messages("<QueueMessagesList/>").unwrap().is_empty());
    }
}
