//! Ingress quota per hub, as token buckets holding one second of allowance (the way
//! a throughput unit caps events/s and bytes/s).

use std::time::Instant;

pub(crate) struct Quota {
    events_per_sec: Option<u64>,
    bytes_per_sec: Option<u64>,
    event_tokens: f64,
    byte_tokens: f64,
    last: Instant,
}

impl Quota {
    pub fn new(events_per_sec: Option<u64>, bytes_per_sec: Option<u64>) -> Option<Quota> {
        if events_per_sec.is_none() && bytes_per_sec.is_none() {
            return None;
        }
        Some(Quota {
            events_per_sec,
            bytes_per_sec,
            event_tokens: events_per_sec.unwrap_or(0) as f64,
            byte_tokens: bytes_per_sec.unwrap_or(0) as f64,
            last: Instant::now(),
        })
    }

    /// Takes allowance for a send, or says which limit it would break. A send larger
    /// than a whole second's allowance passes when the bucket is full, so big batches
    /// are slowed down, never refused forever.
    pub fn try_take(&mut self, now: Instant, events: u64, bytes: u64) -> Result<(), String> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        if let Some(rate) = self.events_per_sec {
            self.event_tokens = (self.event_tokens + elapsed * rate as f64).min(rate as f64);
            if self.event_tokens < events as f64 && self.event_tokens < rate as f64 {
                return Err(format!("{rate} events/s"));
            }
        }
        if let Some(rate) = self.bytes_per_sec {
            self.byte_tokens = (self.byte_tokens + elapsed * rate as f64).min(rate as f64);
            if self.byte_tokens < bytes as f64 && self.byte_tokens < rate as f64 {
                return Err(format!("{rate} bytes/s"));
            }
        }
        self.event_tokens -= events as f64;
        self.byte_tokens -= bytes as f64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn refills_over_time_and_refuses_beyond() {
        let t0 = Instant::now();
        let mut q = Quota::new(Some(100), None).unwrap();
        assert!(q.try_take(t0, 60, 0).is_ok());
        assert!(q.try_take(t0, 60, 0).is_err(), "only 40 left");
        assert!(
            q.try_take(t0 + Duration::from_millis(200), 60, 0).is_ok(),
            "40 + 20 refilled"
        );
        assert!(q.try_take(t0 + Duration::from_millis(200), 1, 0).is_err());
    }

    #[test]
    fn oversized_send_passes_on_a_full_bucket() {
        let t0 = Instant::now();
        let mut q = Quota::new(None, Some(1000)).unwrap();
        assert!(q.try_take(t0, 1, 5000).is_ok());
        assert!(
            q.try_take(t0 + Duration::from_secs(1), 1, 10).is_err(),
            "in debt"
        );
    }
}
