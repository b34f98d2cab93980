//! A small Prometheus registry: named counters and gauges with labels, rendered in
//! the text exposition format. Handles are `Arc<AtomicU64>` so hot paths only do an
//! atomic add; the registry lock is taken when a series is first created.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
}

#[derive(Default)]
struct Family {
    help: &'static str,
    kind: Option<Kind>,
    series: BTreeMap<String, Arc<AtomicU64>>,
}

/// Process-wide metrics. Cheap to clone.
#[derive(Clone, Default)]
pub struct Metrics {
    families: Arc<Mutex<BTreeMap<&'static str, Family>>>,
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// A counter series; the same name and labels always return the same handle.
    pub fn counter(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[(&str, &str)],
    ) -> Arc<AtomicU64> {
        self.series(name, help, Kind::Counter, labels)
    }

    /// A gauge series holding an unsigned value.
    pub fn gauge(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[(&str, &str)],
    ) -> Arc<AtomicU64> {
        self.series(name, help, Kind::Gauge, labels)
    }

    /// Drops every series of every family that carries this label pair.
    pub fn remove_labelled(&self, key: &str, value: &str) {
        let needle = format!("{key}=\"{}\"", escape(value));
        let mut families = self.families.lock().unwrap();
        for family in families.values_mut() {
            family
                .series
                .retain(|labels, _| !labels.split(',').any(|l| l == needle));
        }
    }

    fn series(
        &self,
        name: &'static str,
        help: &'static str,
        kind: Kind,
        labels: &[(&str, &str)],
    ) -> Arc<AtomicU64> {
        let key = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
            .collect::<Vec<_>>()
            .join(",");
        let mut families = self.families.lock().unwrap();
        let family = families.entry(name).or_default();
        family.help = help;
        family.kind = Some(kind);
        family.series.entry(key).or_default().clone()
    }

    /// The Prometheus text exposition of every series.
    pub fn render(&self) -> String {
        let families = self.families.lock().unwrap();
        let mut out = String::new();
        for (name, family) in families.iter() {
            let kind = match family.kind {
                Some(Kind::Gauge) => "gauge",
                _ => "counter",
            };
            let _ = writeln!(out, "# HELP {name} {}", family.help);
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (labels, value) in &family.series {
                let v = value.load(Ordering::Relaxed);
                if labels.is_empty() {
                    let _ = writeln!(out, "{name} {v}");
                } else {
                    let _ = writeln!(out, "{name}{{{labels}}} {v}");
                }
            }
        }
        out
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_families_and_labels() {
        let m = Metrics::new();
        m.counter(
            "eddy_hub_events_in_total",
            "Events appended.",
            &[("hub", "a\"b")],
        )
        .fetch_add(3, Ordering::Relaxed);
        m.counter(
            "eddy_hub_events_in_total",
            "Events appended.",
            &[("hub", "a\"b")],
        )
        .fetch_add(2, Ordering::Relaxed);
        m.gauge("eddy_up", "Up.", &[]).store(1, Ordering::Relaxed);
        let text = m.render();
        assert!(text.contains("# TYPE eddy_hub_events_in_total counter"));
        assert!(
            text.contains("eddy_hub_events_in_total{hub=\"a\\\"b\"} 5"),
            "{text}"
        );
        assert!(text.contains("eddy_up 1"));
        m.remove_labelled("hub", "a\"b");
        assert!(!m.render().contains("a\\\"b"));
    }
}
