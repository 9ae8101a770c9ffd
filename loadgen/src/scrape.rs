//! Reading the shop's own `/metrics` (Prometheus text): the samples of one page, and
//! the two readings the scenarios take from it, requests by route and time spent in
//! each component.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use shop_domain::Component;

use crate::deploy::Deployment;
use crate::results::hosts;

/// One sample line: `name{label="value",...} 12.5`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample<'a> {
    pub name: &'a str,
    pub labels: Vec<(&'a str, &'a str)>,
    pub value: f64,
}

impl Sample<'_> {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }
}

/// The samples of a Prometheus text page; comments and lines it cannot read are
/// skipped. (The shop's label values hold no commas, quotes or braces.)
pub fn samples(page: &str) -> impl Iterator<Item = Sample<'_>> {
    page.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|line| {
            let (head, value) = line.rsplit_once(' ')?;
            let value = value.trim().parse().ok()?;
            let (name, labels) = match head.split_once('{') {
                Some((name, rest)) => (name, rest.strip_suffix('}')?),
                None => (head, ""),
            };
            let labels = labels
                .split(',')
                .filter(|l| !l.is_empty())
                .filter_map(|label| {
                    let (key, quoted) = label.split_once('=')?;
                    Some((key, quoted.strip_prefix('"')?.strip_suffix('"')?))
                })
                .collect();
            Some(Sample {
                name,
                labels,
                value,
            })
        })
}

/// `shop_http_requests_total` of a page, summed by route.
pub fn requests_by_route(page: &str) -> BTreeMap<String, u64> {
    let mut by_route = BTreeMap::new();
    for sample in samples(page).filter(|s| s.name == "shop_http_requests_total") {
        if let Some(route) = sample.label("route") {
            *by_route.entry(route.to_owned()).or_default() += sample.value as u64;
        }
    }
    by_route
}

/// Calls into one component and the time they took (faults included), all its
/// operations together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct CallTime {
    pub calls: u64,
    pub seconds: f64,
}

impl CallTime {
    /// Mean time per call in microseconds; `None` without calls.
    pub fn mean_us(&self) -> Option<f64> {
        (self.calls > 0).then(|| self.seconds * 1e6 / self.calls as f64)
    }

    /// What happened between `earlier` and this reading.
    pub fn since(&self, earlier: &CallTime) -> CallTime {
        CallTime {
            calls: self.calls.saturating_sub(earlier.calls),
            seconds: (self.seconds - earlier.seconds).max(0.0),
        }
    }
}

/// Time spent in each component `process` hosts, from its page: the component's own
/// edge, not its callers' (which would add the network in split). A monolith hosts
/// every component, and a component's time includes the calls it makes to others
/// (orders' includes payments'); a split service hosts one; the gateway none.
pub fn call_times(process: &str, page: &str) -> BTreeMap<Component, CallTime> {
    let mut times: BTreeMap<Component, CallTime> = BTreeMap::new();
    for sample in samples(page) {
        let field = match sample.name {
            "shop_component_call_duration_seconds_sum" => |t: &mut CallTime, v: f64| t.seconds += v,
            "shop_component_call_duration_seconds_count" => {
                |t: &mut CallTime, v: f64| t.calls += v as u64
            }
            _ => continue,
        };
        let Some(component) = sample
            .label("component")
            .and_then(|c| Component::parse(c).ok())
        else {
            continue;
        };
        if hosts(process, &component.to_string()) {
            field(times.entry(component).or_default(), sample.value);
        }
    }
    times
}

/// Every process's `/metrics` page now, by process name; one that does not answer
/// (down, restarting) is left out.
pub async fn pages(deployment: &Deployment) -> Vec<(String, String)> {
    let client = reqwest::Client::new();
    let mut pages = Vec::new();
    for (name, url) in deployment.named_process_urls().await {
        let page = async {
            client
                .get(format!("{url}/metrics"))
                .timeout(Duration::from_secs(2))
                .send()
                .await?
                .text()
                .await
        };
        if let Ok(page) = page.await {
            pages.push((name, page));
        }
    }
    pages
}

/// Time spent so far in each component each process hosts, by process name.
pub async fn component_times(deployment: &Deployment) -> ByProcess {
    pages(deployment)
        .await
        .into_iter()
        .map(|(process, page)| {
            let times = call_times(&process, &page);
            (process, times)
        })
        .filter(|(_, times)| !times.is_empty())
        .collect()
}

/// Component times by process (`monolith`, `catalog-0`).
pub type ByProcess = BTreeMap<String, BTreeMap<Component, CallTime>>;

/// What each component did between two readings, over the processes read both times
/// (one that missed a reading, down or slow to answer, is left out rather than counted
/// from zero).
pub fn between(before: &ByProcess, after: &ByProcess) -> BTreeMap<Component, CallTime> {
    let mut total: BTreeMap<Component, CallTime> = BTreeMap::new();
    for (process, now) in after {
        let Some(then) = before.get(process) else {
            continue;
        };
        for (component, time) in now {
            let done = time.since(&then.get(component).copied().unwrap_or_default());
            let sum = total.entry(*component).or_default();
            sum.calls += done.calls;
            sum.seconds += done.seconds;
        }
    }
    total.retain(|_, time| time.calls > 0);
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "\
# HELP shop_http_requests HTTP requests answered, by route and status.
# TYPE shop_http_requests counter
shop_http_requests_total{method=\"GET\",route=\"/api/products/{sku}\",status=\"200\"} 12
shop_http_requests_total{method=\"GET\",route=\"/api/products/{sku}\",status=\"503\"} 3
shop_http_requests_total{method=\"POST\",route=\"/internal/catalog/get\",status=\"200\"} 40
shop_http_requests_total{method=\"GET\",route=\"/health/ready\",status=\"200\"} 99
shop_component_calls_total{component=\"catalog\",operation=\"get\",outcome=\"ok\"} 5
shop_component_call_duration_seconds_sum{component=\"catalog\",operation=\"get\"} 0.004
shop_component_call_duration_seconds_count{component=\"catalog\",operation=\"get\"} 40
shop_component_call_duration_seconds_bucket{component=\"catalog\",operation=\"get\",le=\"0.00001\"} 0
shop_component_call_duration_seconds_sum{component=\"catalog\",operation=\"search\"} 0.006
shop_component_call_duration_seconds_count{component=\"catalog\",operation=\"search\"} 10
shop_component_call_duration_seconds_sum{component=\"inventory\",operation=\"stock\"} 0.5
shop_component_call_duration_seconds_count{component=\"inventory\",operation=\"stock\"} 1000
shop_process_info{architecture=\"split\",role=\"catalog\",preset=\"bare\"} 1
";

    #[test]
    fn requests_are_read_by_route_from_the_prometheus_page() {
        let by_route = requests_by_route(PAGE);
        assert_eq!(by_route["/api/products/{sku}"], 15);
        assert_eq!(by_route["/internal/catalog/get"], 40);
        assert_eq!(by_route["/health/ready"], 99);
        assert_eq!(by_route.len(), 3);
    }

    #[test]
    fn a_component_counts_only_where_it_is_hosted() {
        // catalog-0 hosts catalog: inventory's figures there are its calls out.
        let times = call_times("catalog-0", PAGE);
        assert_eq!(times.len(), 1, "{times:?}");
        let catalog = times[&Component::Catalog];
        assert_eq!(catalog.calls, 50);
        assert!(
            (catalog.mean_us().unwrap() - 200.0).abs() < 1e-6,
            "{catalog:?}"
        );
        // The monolith hosts both; the gateway neither.
        let times = call_times("monolith", PAGE);
        assert_eq!(times[&Component::Inventory].mean_us(), Some(500.0));
        assert!(call_times("gateway", PAGE).is_empty());
        assert_eq!(CallTime::default().mean_us(), None);
    }

    #[test]
    fn a_process_read_only_once_is_left_out_of_the_difference() {
        let reading =
            |calls, seconds| BTreeMap::from([(Component::Catalog, CallTime { calls, seconds })]);
        let before = ByProcess::from([
            ("catalog-0".to_owned(), reading(10, 1.0)),
            ("catalog-1".to_owned(), reading(5, 0.5)),
        ]);
        let after = ByProcess::from([
            ("catalog-0".to_owned(), reading(30, 2.0)),
            // catalog-1 did not answer the second time; catalog-2 the first.
            ("catalog-2".to_owned(), reading(1000, 100.0)),
        ]);
        let done = between(&before, &after);
        assert_eq!(
            done[&Component::Catalog],
            CallTime {
                calls: 20,
                seconds: 1.0
            }
        );
        assert!(between(&after, &after).is_empty());
    }

    #[test]
    fn a_reading_since_an_earlier_one_is_the_difference() {
        let before = CallTime {
            calls: 10,
            seconds: 0.5,
        };
        let after = CallTime {
            calls: 30,
            seconds: 1.5,
        };
        assert_eq!(
            after.since(&before),
            CallTime {
                calls: 20,
                seconds: 1.0
            }
        );
        // A restarted process counts from zero again: nothing negative.
        assert_eq!(
            before.since(&after),
            CallTime {
                calls: 0,
                seconds: 0.0
            }
        );
    }
}
