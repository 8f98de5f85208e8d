//! The service's metrics in the Prometheus text format: counters, a latency
//! histogram and the policy version. A handful of atomics and one small
//! map behind a lock (its keys are bounded: routes, statuses, verdicts and
//! the policies' rule and campaign names).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5,
];

/// Every metric `GET /metrics` reports.
#[derive(Default)]
pub struct Metrics {
    /// (route, status) → requests.
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    /// Per route: counts per bucket (and one for +Inf), the sum in µs.
    latency: Mutex<BTreeMap<&'static str, ([u64; BUCKETS.len() + 1], u64)>>,
    /// `verdict` / `rule` / `campaign` → decisions.
    decisions: Mutex<BTreeMap<(&'static str, String), u64>>,
    pub rejected_records: AtomicU64,
    pub shadow_differences: AtomicU64,
    pub shadow_failures: AtomicU64,
    pub log: std::sync::Arc<crate::decision_log::LogCounters>,
    pub reloads: AtomicU64,
    pub reload_failures: AtomicU64,
    /// The version serving now, and the shadow's.
    pub versions: Mutex<(String, Option<String>)>,
}

impl Metrics {
    pub fn request(&self, route: &'static str, status: u16, took: Duration) {
        if let Ok(mut requests) = self.requests.lock() {
            *requests.entry((route, status)).or_default() += 1;
        }
        if let Ok(mut latency) = self.latency.lock() {
            let (counts, sum) = latency.entry(route).or_insert(([0; BUCKETS.len() + 1], 0));
            let seconds = took.as_secs_f64();
            let bucket = BUCKETS.iter().position(|b| seconds <= *b).unwrap_or(BUCKETS.len());
            if let Some(count) = counts.get_mut(bucket) {
                *count += 1;
            }
            *sum += took.as_micros() as u64;
        }
    }

    /// Counts one decision: its verdict, and each rule and campaign that fired.
    pub fn decision(&self, decision: &qlp_runtime::Decision) {
        let Ok(mut decisions) = self.decisions.lock() else {
            return;
        };
        *decisions.entry(("verdict", decision.verdict.to_string())).or_default() += 1;
        for fired in &decision.fired {
            *decisions.entry(("rule", fired.rule.clone())).or_default() += 1;
            if let Some(campaign) = &fired.campaign {
                *decisions.entry(("campaign", campaign.clone())).or_default() += 1;
            }
        }
        for shadow in &decision.shadow {
            *decisions.entry(("shadow_rule", shadow.rule.clone())).or_default() += 1;
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let help = |out: &mut String, name: &str, kind: &str, text: &str| {
            let _ = writeln!(out, "# HELP {name} {text}\n# TYPE {name} {kind}");
        };
        help(
            &mut out,
            "qlp_http_requests_total",
            "counter",
            "HTTP requests by route and status.",
        );
        if let Ok(requests) = self.requests.lock() {
            for ((route, status), n) in requests.iter() {
                let _ = writeln!(
                    out,
                    "qlp_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
        }
        help(
            &mut out,
            "qlp_http_request_duration_seconds",
            "histogram",
            "Time to answer a request, by route.",
        );
        if let Ok(latency) = self.latency.lock() {
            for (route, (counts, sum)) in latency.iter() {
                let mut cumulative = 0;
                for (bound, count) in BUCKETS.iter().zip(counts.iter()) {
                    cumulative += count;
                    let _ = writeln!(
                        out,
                        "qlp_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {cumulative}"
                    );
                }
                cumulative += counts.last().copied().unwrap_or(0);
                let _ = writeln!(
                    out,
                    "qlp_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {cumulative}"
                );
                let _ = writeln!(
                    out,
                    "qlp_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                    *sum as f64 / 1e6
                );
                let _ = writeln!(
                    out,
                    "qlp_http_request_duration_seconds_count{{route=\"{route}\"}} {cumulative}"
                );
            }
        }
        if let Ok(decisions) = self.decisions.lock() {
            for (kind, text) in [
                ("verdict", "Decisions by verdict."),
                ("rule", "Decisions in which the rule fired."),
                ("campaign", "Decisions in which a rule of the campaign fired."),
                (
                    "shadow_rule",
                    "Decisions in which the rule in shadow would have fired (not in the verdict).",
                ),
            ] {
                let name = format!("qlp_decisions_by_{kind}_total");
                help(&mut out, &name, "counter", text);
                for ((k, value), n) in decisions.iter().filter(|((k, _), _)| *k == kind) {
                    let _ = writeln!(out, "{name}{{{k}=\"{}\"}} {n}", escape(value));
                }
            }
        }
        let counters = [
            (
                "qlp_rejected_records_total",
                "Records refused (invalid JSON or not fitting the schema).",
                &self.rejected_records,
            ),
            (
                "qlp_shadow_differences_total",
                "Decisions the shadow policies would have made differently.",
                &self.shadow_differences,
            ),
            (
                "qlp_shadow_failures_total",
                "Records the shadow policies could not decide.",
                &self.shadow_failures,
            ),
            (
                "qlp_decision_log_written_total",
                "Decision log entries written.",
                &self.log.written,
            ),
            (
                "qlp_decision_log_dropped_total",
                "Decision log entries dropped because the log writer fell behind.",
                &self.log.dropped,
            ),
            (
                "qlp_policy_reloads_total",
                "Policy sets swapped in after the start.",
                &self.reloads,
            ),
            (
                "qlp_policy_reload_failures_total",
                "Policy sets refused because they do not check.",
                &self.reload_failures,
            ),
        ];
        for (name, text, counter) in counters {
            help(&mut out, name, "counter", text);
            let _ = writeln!(out, "{name} {}", counter.load(Ordering::Relaxed));
        }
        help(
            &mut out,
            "qlp_policy_info",
            "gauge",
            "The policy set serving (1), and the shadow's.",
        );
        if let Ok(versions) = self.versions.lock() {
            let _ = writeln!(out, "qlp_policy_info{{role=\"live\",version=\"{}\"}} 1", versions.0);
            if let Some(shadow) = &versions.1 {
                let _ = writeln!(out, "qlp_policy_info{{role=\"shadow\",version=\"{shadow}\"}} 1");
            }
        }
        out
    }
}

/// A label value as the exposition format quotes it.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_histogram_is_cumulative_and_counts_every_request() {
        let metrics = Metrics::default();
        metrics.request("decide", 200, Duration::from_micros(50));
        metrics.request("decide", 200, Duration::from_millis(3));
        metrics.request("decide", 400, Duration::from_secs(5));
        let text = metrics.render();
        assert!(
            text.contains("qlp_http_requests_total{route=\"decide\",status=\"200\"} 2"),
            "{text}"
        );
        assert!(text.contains("le=\"0.0001\"} 1"), "{text}");
        assert!(text.contains("le=\"0.005\"} 2"), "{text}");
        assert!(text.contains("le=\"2.5\"} 2"), "{text}");
        assert!(text.contains("le=\"+Inf\"} 3"), "{text}");
        assert!(
            text.contains("qlp_http_request_duration_seconds_count{route=\"decide\"} 3"),
            "{text}"
        );
    }
}
