//! Per-phase benchmarks on a generated 5,000-service kube-proxy dump (≈10 MB):
//! line splitting, the structure pass (`explain`'s parse), the full parse (`inspect`'s,
//! typing and checking every rule), typing every rule again with `RuleReader::body`, and
//! explaining one nodePort. `cargo bench --bench phases`; the CLI against `grep` on a
//! 50,000-service dump is `benches/compare.sh`.

use std::sync::LazyLock;

use srcip_rules::generate::{Backend, KubeVersion, dump_to_string, synthetic};
use srcip_rules::kube::Target;
use srcip_rules::kube::{ExplainOptions, explain};
use srcip_rules::model::RuleId;
use srcip_rules::parse::{parse_structure_text, parse_text};

fn main() {
    divan::main();
}

static DUMP: LazyLock<String> =
    LazyLock::new(|| dump_to_string(&synthetic(5_000, KubeVersion::V1_28, Backend::Nft)));

/// The first nodePort of the nat table's KUBE-NODEPORTS chain.
static PORT: LazyLock<u16> = LazyLock::new(|| {
    let nat = DUMP.find("*nat").expect("a nat table");
    let rule = DUMP[nat..]
        .lines()
        .find(|l| l.starts_with("-A KUBE-NODEPORTS"))
        .expect("a nodePort rule");
    let after = rule.split("--dport ").nth(1).expect("--dport");
    after.split(' ').next().unwrap().parse().expect("a port")
});

#[divan::bench]
fn lines() -> usize {
    count_lines(divan::black_box(&DUMP))
}

fn count_lines(text: &str) -> usize {
    text.lines().filter(|l| !l.is_empty()).count()
}

#[divan::bench]
fn structure_pass() -> usize {
    parse_structure_text(divan::black_box(&DUMP))
        .dump
        .rules
        .len()
}

#[divan::bench]
fn full_parse() -> usize {
    parse_text(divan::black_box(&DUMP)).dump.rules.len()
}

#[divan::bench]
fn rule_body_every_rule(bencher: divan::Bencher<'_, '_>) {
    let parsed = parse_text(&DUMP);
    let rules = parsed.rules();
    bencher.bench_local(|| {
        (0..parsed.dump.rules.len() as u32)
            .filter(|&i| rules.body(RuleId(i)).is_ok())
            .count()
    });
}

#[divan::bench]
fn explain_one_port(bencher: divan::Bencher<'_, '_>) {
    let parsed = parse_structure_text(&DUMP);
    let options = ExplainOptions {
        target: Target::NodePort {
            port: *PORT,
            protocol: None,
        },
        src: None,
        dst: None,
        node_ips: Vec::new(),
        max_paths: srcip_rules::netfilter::MAX_PATHS,
    };
    bencher.bench_local(|| explain(&parsed.rules(), &options).ports.len());
}
