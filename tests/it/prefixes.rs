//! Issue 14: a cut dump never gives a confident wrong verdict. Every line-prefix of every
//! shipped node dump (cut at a line end, and cut mid-line) is explained for each of the
//! dump's nodePorts and service addresses; wherever a verdict is not marked partial or
//! undetermined, it must be the verdict the whole dump gives the same connection.

use std::net::IpAddr;

use srcip_rules::kube::{ExplainOptions, Explanation, Target, Verdict, explain};
use srcip_rules::parse::parse_text;

/// The verdict of the connection `src → dst` to `target` in `text`, if found.
fn verdict_in(text: &str, target: &Target, src: IpAddr, dst: IpAddr) -> Option<Verdict> {
    let parsed = parse_text(text);
    let e = explain(
        &parsed.rules(),
        &ExplainOptions {
            target: target.clone(),
            src: Some(src),
            dst: Some(dst),
            node_ips: Vec::new(),
            max_paths: srcip_rules::netfilter::MAX_PATHS,
        },
    );
    let port = e.ports.into_iter().next()?;
    Some(port.classes.first()?.verdict)
}

fn explained(text: &str, target: &Target) -> Explanation {
    let parsed = parse_text(text);
    explain(
        &parsed.rules(),
        &ExplainOptions {
            target: target.clone(),
            src: None,
            dst: None,
            node_ips: Vec::new(),
            max_paths: srcip_rules::netfilter::MAX_PATHS,
        },
    )
}

/// Confident wrong verdicts among the prefixes of `text` for `target`: (prefix length,
/// class, prefix verdict, whole verdict).
fn confident_wrong(text: &str, target: &Target) -> Vec<String> {
    let mut wrong = Vec::new();
    let mut cuts: Vec<usize> = text.match_indices('\n').map(|(i, _)| i + 1).collect();
    // Mid-line cuts too: half way into every line.
    let mut start = 0;
    for &end in &cuts.clone() {
        cuts.push(start + (end - start) / 2);
        start = end;
    }
    cuts.sort_unstable();
    for cut in cuts {
        let Some(prefix) = text.get(..cut) else {
            continue;
        };
        let e = explained(prefix, target);
        for port in &e.ports {
            for class in &port.classes {
                let confident = !port.partial
                    && class.verdict != Verdict::Undetermined
                    && class.branches.iter().all(|b| !b.partial);
                if !confident {
                    continue;
                }
                let whole = verdict_in(text, target, class.source, class.destination);
                if whole != Some(class.verdict) {
                    wrong.push(format!(
                        "cut at byte {cut}: {} → {}: {:?}, whole dump {:?}",
                        class.source, class.destination, class.verdict, whole
                    ));
                }
            }
        }
    }
    wrong
}

/// The `-d ADDRESS/32 … --dport PORT` of the dump's KUBE-SERVICES rules (first ten).
fn service_addresses(text: &str) -> Vec<Target> {
    let mut targets: Vec<Target> = Vec::new();
    for line in text
        .lines()
        .filter(|l| l.starts_with("-A KUBE-SERVICES -d "))
    {
        let words: Vec<&str> = line.split(' ').collect();
        let address = words.get(3).and_then(|a| a.strip_suffix("/32"));
        let port = words
            .iter()
            .position(|w| *w == "--dport")
            .and_then(|i| words.get(i + 1));
        if let (Some(address), Some(port)) = (address, port)
            && let Ok(target) = format!("{address}:{port}").parse::<Target>()
            && !targets.contains(&target)
        {
            targets.push(target);
        }
    }
    targets.truncate(10);
    targets
}

#[test]
fn no_prefix_of_a_shipped_dump_gives_a_confident_wrong_verdict() {
    let mut report = Vec::new();
    let mut checked = 0;
    for entry in std::fs::read_dir("testdata/nodes").expect("testdata/nodes") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "txt") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("dump");
        let whole = parse_text(&text);
        let targets: Vec<Target> = srcip_rules::kube::nodeports::all_node_ports(&whole.rules())
            .iter()
            .map(|p| Target::NodePort {
                port: p.port,
                protocol: Some(p.protocol),
            })
            .collect();
        let targets = targets.into_iter().chain(service_addresses(&text));
        for target in targets {
            checked += 1;
            for w in confident_wrong(&text, &target) {
                report.push(format!("{} {target}: {w}", path.display()));
            }
        }
    }
    assert!(checked > 10);
    assert!(
        report.is_empty(),
        "{} confident wrong verdicts:\n{}",
        report.len(),
        report[..report.len().min(40)].join("\n")
    );
}
