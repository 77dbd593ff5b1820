//! The proxy mode of the shipped mode fixtures (issue 9), of iptables-mode dumps and
//! fragments, of mixed dumps, and what `unsupported` finds about a target in each.

use crate::kube::mode::{
    ModeRuleRole, ProxyMode, ProxyModes, RulesetMode, detect, ipvs_node_port_sets, unsupported,
};
use crate::kube::{Target, explain};
use crate::model::{Family, Protocol};
use crate::parse::parse_text;

fn fixture(name: &str) -> String {
    let path = format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).expect("fixture")
}

fn modes_of(text: &str) -> ProxyModes {
    detect(&parse_text(text).rules())
}

fn only_ruleset(modes: &ProxyModes) -> &RulesetMode {
    assert_eq!(modes.rulesets.len(), 1, "{modes:?}");
    &modes.rulesets[0]
}

/// (mode, line) of each piece of evidence.
fn evidence(mode: &RulesetMode) -> Vec<(String, u32)> {
    mode.evidence
        .iter()
        .map(|s| (s.chain.clone().unwrap_or_default(), s.line))
        .collect()
}

/// The lines and roles of the target rules `unsupported` finds for `target`.
fn target_rules(text: &str, target: &str) -> (ProxyMode, Vec<(u32, ModeRuleRole)>) {
    let parsed = parse_text(text);
    let rules = parsed.rules();
    let modes = detect(&rules);
    let target: Target = target.parse().expect("target");
    let found = unsupported(&rules, &modes, &target, &[]).expect("unsupported");
    let lines = found
        .target_rules
        .iter()
        .map(|r| (r.sighting.line, r.role.clone()))
        .collect();
    (found.mode, lines)
}

#[test]
fn ipvs_mode_is_named_from_kube_node_port_and_its_set_rules_are_found() {
    let text = fixture("nodes/v1.28-ipvs-nodeports-in-ipsets-legacy.txt");
    let modes = modes_of(&text);
    let mode = only_ruleset(&modes);
    assert_eq!(mode.mode, ProxyMode::Ipvs);
    assert!(mode.others.is_empty(), "{:?}", mode.others);
    // nat first: the nodePort chain's first rule, then the LB chain's, then filter's.
    assert_eq!(
        evidence(mode),
        [
            ("KUBE-NODE-PORT".to_string(), 64),
            ("KUBE-LOAD-BALANCER".to_string(), 62),
            ("KUBE-IPVS-FILTER".to_string(), 36),
        ]
    );
    assert_eq!(mode.evidence[0].table, "nat");
    assert_eq!(
        target_rules(&text, "30081"),
        (
            ProxyMode::Ipvs,
            vec![
                (64, ModeRuleRole::IpvsLocalReturn),
                (65, ModeRuleRole::IpvsMark)
            ]
        )
    );
    // No UDP set rule in this dump; a service address gets no rules either.
    assert_eq!(target_rules(&text, "30081/udp").1, []);
    assert_eq!(target_rules(&text, "10.96.0.10:53/udp").1, []);
    assert_eq!(
        ipvs_node_port_sets(Protocol::Sctp),
        ("KUBE-NODE-PORT-LOCAL-SCTP-HASH", "KUBE-NODE-PORT-SCTP-HASH")
    );
}

#[test]
fn kubelet_chains_alone_are_nftables_mode_or_no_kube_proxy() {
    let text = fixture("nodes/v1.31-nftables-mode-kubelet-leftovers-nft.txt");
    let modes = modes_of(&text);
    let mode = only_ruleset(&modes);
    assert_eq!(mode.mode, ProxyMode::NftablesOrNone);
    let chains: Vec<String> = evidence(mode).into_iter().map(|(c, _)| c).collect();
    assert_eq!(
        chains,
        ["KUBE-IPTABLES-HINT", "KUBE-KUBELET-CANARY", "KUBE-FIREWALL"]
    );
    // KUBE-FIREWALL has rules: its first one is cited.
    assert_eq!(mode.evidence[2].line, 21);
    assert!(modes.nft_tables.is_empty());
    assert_eq!(
        target_rules(&text, "30081"),
        (ProxyMode::NftablesOrNone, vec![])
    );
}

#[test]
fn userspace_mode_is_named_and_its_proxy_rules_for_the_target_are_found() {
    let text = fixture("nodes/v1.16-userspace-nodeport-legacy.txt");
    let modes = modes_of(&text);
    let mode = only_ruleset(&modes);
    assert_eq!(mode.mode, ProxyMode::Userspace);
    assert_eq!(
        mode.evidence[0].chain.as_deref(),
        Some("KUBE-NODEPORT-CONTAINER")
    );
    let proxy = |lines: &[u32]| -> Vec<(u32, ModeRuleRole)> {
        lines
            .iter()
            .map(|&l| (l, ModeRuleRole::UserspaceProxy))
            .collect()
    };
    assert_eq!(target_rules(&text, "30080").1, proxy(&[56, 57]));
    assert_eq!(target_rules(&text, "30080/udp").1, proxy(&[]));
    assert_eq!(target_rules(&text, "10.96.214.9:80").1, proxy(&[59, 61]));
    assert_eq!(
        target_rules(&text, "default/nginx").1,
        proxy(&[56, 57, 59, 61])
    );
}

#[test]
fn cilium_chains_without_kube_services_are_cilium_s_replacement() {
    let text = fixture("nodes/cilium-kube-proxy-replacement-no-kube-proxy-nft.txt");
    let modes = modes_of(&text);
    let mode = only_ruleset(&modes);
    assert_eq!(mode.mode, ProxyMode::Cilium);
    assert_eq!(mode.evidence.len(), 1);
    let first = &mode.evidence[0];
    assert_eq!(first.table, "nat");
    assert!(
        first
            .chain
            .as_deref()
            .is_some_and(|c| c.starts_with("CILIUM_")),
        "{first:?}"
    );
}

#[test]
fn iptables_mode_dumps_and_fragments_are_iptables_mode_and_explained() {
    let text = fixture("nodes/v1.28-ext-multi-service-nft.txt");
    let parsed = parse_text(&text);
    let modes = detect(&parsed.rules());
    let mode = only_ruleset(&modes);
    assert_eq!(mode.mode, ProxyMode::Iptables);
    assert_eq!(mode.evidence[0].chain.as_deref(), Some("KUBE-NODEPORTS"));
    let target: Target = "39999".parse().unwrap();
    assert_eq!(unsupported(&parsed.rules(), &modes, &target, &[]), None);
    // A grep fragment with only per-service chains.
    let fragment = "-A KUBE-SVC-ABCDEFGHIJKLMNOP -j KUBE-SEP-ABCDEFGHIJKLMNOP\n\
                    -A KUBE-SEP-ABCDEFGHIJKLMNOP -p tcp -j DNAT --to-destination 10.0.0.1:80\n";
    assert_eq!(modes_of(fragment).mode(), ProxyMode::Iptables);
    // KUBE-SERVICES alone, without any sign of IPVS.
    let services = "*nat\n:KUBE-SERVICES - [0:0]\nCOMMIT\n";
    assert_eq!(modes_of(services).mode(), ProxyMode::Iptables);
}

#[test]
fn rules_of_no_known_proxy_are_unknown_and_explained_as_before() {
    for text in [
        "",
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n",
    ] {
        let parsed = parse_text(text);
        let modes = detect(&parsed.rules());
        assert_eq!(modes.mode(), ProxyMode::Unknown, "{text:?}");
        let target: Target = "30080".parse().unwrap();
        assert_eq!(unsupported(&parsed.rules(), &modes, &target, &[]), None);
    }
}

/// An IPVS-mode nat table with iptables-mode chains beside it; `services_jump` is what
/// KUBE-SERVICES jumps to.
fn mixed_dump(services_jump: &str) -> String {
    format!(
        "*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n:KUBE-NODE-PORT - [0:0]\n\
         :KUBE-NODEPORTS - [0:0]\n:KUBE-SVC-ABCDEFGHIJKLMNOP - [0:0]\n\
         -A PREROUTING -j KUBE-SERVICES\n\
         -A KUBE-SERVICES -m addrtype --dst-type LOCAL -j {services_jump}\n\
         -A KUBE-NODEPORTS -p tcp --dport 30500 -j KUBE-SVC-ABCDEFGHIJKLMNOP\n\
         -A KUBE-SVC-ABCDEFGHIJKLMNOP -j DNAT --to-destination 10.0.0.1:80\nCOMMIT\n"
    )
}

#[test]
fn a_mixed_dump_names_the_mode_kube_services_jumps_into_and_the_other_too() {
    let modes = modes_of(&mixed_dump("KUBE-NODE-PORT"));
    let mode = only_ruleset(&modes);
    assert_eq!(mode.mode, ProxyMode::Ipvs);
    assert_eq!(mode.others.len(), 1);
    assert_eq!(mode.others[0].0, ProxyMode::Iptables);
    assert_eq!(mode.others[0].1.chain.as_deref(), Some("KUBE-NODEPORTS"));

    let modes = modes_of(&mixed_dump("KUBE-NODEPORTS"));
    let mode = only_ruleset(&modes);
    assert_eq!(mode.mode, ProxyMode::Iptables);
    assert_eq!(mode.others[0].0, ProxyMode::Ipvs);
}

#[test]
fn explain_finds_iptables_leftovers_in_an_ipvs_dump_and_says_nothing_unsupported() {
    let text = mixed_dump("KUBE-NODE-PORT");
    let parsed = parse_text(&text);
    let options = crate::kube::ExplainOptions {
        target: "30500".parse().unwrap(),
        src: None,
        dst: None,
        node_ips: Vec::new(),
        max_paths: crate::netfilter::MAX_PATHS,
    };
    let e = explain(&parsed.rules(), &options);
    assert_eq!(e.ports.len(), 1);
    assert_eq!(e.unsupported_mode, None);
    assert_eq!(e.proxy_modes.mode(), ProxyMode::Ipvs);
}

#[test]
fn nft_list_ruleset_text_shows_kube_proxy_s_table_and_the_node_port_s_element() {
    let text = fixture("foreign/v1.31-nftables-mode-nft-list-ruleset.txt");
    let modes = modes_of(&text);
    assert!(modes.rulesets.is_empty());
    assert_eq!(modes.nft_tables.len(), 1);
    let table = &modes.nft_tables[0];
    assert_eq!(
        (table.mode, table.first_line, table.family),
        (ProxyMode::Nftables, 71, Family::Ipv4)
    );
    assert_eq!(
        table.evidence[0].text.as_deref(),
        Some("table ip kube-proxy {")
    );
    let dispatch = |chain: &str| ModeRuleRole::NftDispatch {
        chain: Some(chain.to_string()),
    };
    assert_eq!(
        target_rules(&text, "30081"),
        (
            ProxyMode::Nftables,
            vec![(112, dispatch("external-PLVUX2VM-web/frontend/tcp/http"))]
        )
    );
    assert_eq!(
        target_rules(&text, "30082").1,
        [(113, dispatch("external-T5O6R3H3-web/backend/tcp/http"))]
    );
    assert_eq!(
        target_rules(&text, "10.96.90.90:80").1,
        [(105, dispatch("service-T5O6R3H3-web/backend/tcp/http"))]
    );
    assert_eq!(target_rules(&text, "30081/udp").1, []);
}

#[test]
fn nft_map_elements_dropping_a_node_port_are_found() {
    let text = "table ip kube-proxy {\n\
                \tchain services {\n\t\tjump x\n\t}\n\
                \tmap no-endpoint-nodeports {\n\
                \t\ttype inet_proto . inet_service : verdict\n\
                \t\telements = { tcp . 3001 comment \"ns2/svc2:p80\" : drop }\n\t}\n}\n";
    assert_eq!(
        target_rules(text, "3001"),
        (ProxyMode::Nftables, vec![(7, ModeRuleRole::NftNoEndpoints)])
    );
    // Outside kube-proxy's table, nothing is found.
    let other = "table ip kube-proxy {\n}\ntable ip other {\n\tmap no-endpoint-nodeports {\n\
                 \t\telements = { tcp . 3001 : drop }\n\t}\n}\n";
    assert_eq!(target_rules(other, "3001").1, []);
}

#[test]
fn the_codes_are_distinct() {
    let all = [
        ProxyMode::Iptables,
        ProxyMode::Ipvs,
        ProxyMode::Userspace,
        ProxyMode::Nftables,
        ProxyMode::NftablesOrNone,
        ProxyMode::Cilium,
        ProxyMode::Unknown,
    ];
    let codes: std::collections::BTreeSet<&str> = all.iter().map(|m| m.code()).collect();
    assert_eq!(codes.len(), all.len());
}
