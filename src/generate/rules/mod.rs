//! Rule text per kube-proxy era: which chains a node has and the save-form arguments of
//! every rule in them. The filter table's rules are in [`filter`], the rules for service
//! addresses (ClusterIP masquerade, externalIPs, LoadBalancer IPs) in [`addresses`].

mod addresses;
mod filter;

use std::net::Ipv4Addr;

use super::hash::{endpoint_hash, service_port_hash};
use super::probability::{WrittenDecimals, probability_text};
use super::{KubeVersion, NodeSpec, Service, TrafficPolicy};

/// Comment of the nat/filter hook rules into `KUBE-SERVICES`.
const PORTALS: &str = "kubernetes service portals";
/// Comment of the filter hook rules into `KUBE-EXTERNAL-SERVICES`.
const EXTERNAL_PORTALS: &str = "kubernetes externally-visible service portals";
/// Comment of the `KUBE-SERVICES` tail call into `KUBE-NODEPORTS`.
const NODEPORTS_TAIL: &str =
    "kubernetes service nodeports; NOTE: this must be the last rule in this chain";
/// Comment of the "redirect pods" rule in `KUBE-XLB-…` chains.
const XLB_REDIRECT_PODS: &str =
    "Redirect pods trying to reach external loadbalancer VIP to clusterIP";
/// The masquerade mark (bit 14) and the drop mark (bit 15).
const MASQ_MARK: &str = "0x4000/0x4000";
const DROP_MARK: &str = "0x8000/0x8000";
/// `sessionAffinity: ClientIP` default timeout.
const AFFINITY_SECONDS: u32 = 10800;

/// What a chain's rules are made from. Per-service chains are produced on demand, so a
/// 50,000-service dump is streamed rather than held in memory.
#[derive(Debug, Clone)]
pub(crate) enum ChainContent {
    /// Rules known up front (global chains, filter chains).
    Fixed(Vec<String>),
    /// nat `KUBE-SERVICES`: cluster-IP rules of every service, then the nodePorts tail call.
    NatServices,
    /// nat `KUBE-NODEPORTS`: the nodePort rules of every service.
    NatNodePorts,
    /// `KUBE-SVC-…` of the service at this index.
    Svc(usize),
    /// `KUBE-XLB-…` (≤1.23, policy Local).
    Xlb(usize),
    /// `KUBE-EXT-…` (≥1.24).
    Ext(usize),
    /// `KUBE-SVL-…` (≥1.24, policy Local).
    Svl(usize),
    /// `KUBE-FW-…`: the LoadBalancer source-range chain (≤1.23 for every LB IP, later only
    /// with `loadBalancerSourceRanges`).
    Fw(usize),
    /// `KUBE-SEP-…` of (service index, endpoint index).
    Sep(usize, usize),
}

/// A chain of one table: name and contents.
pub(crate) struct ChainPlan {
    pub(crate) name: String,
    pub(crate) content: ChainContent,
}

/// One table: built-in chains (policy `ACCEPT`) in kernel order, then user chains.
pub(crate) struct TablePlan {
    pub(crate) name: &'static str,
    pub(crate) builtins: Vec<ChainPlan>,
    /// Sorted by name, as iptables-save prints them.
    pub(crate) user_chains: Vec<ChainPlan>,
}

/// A service port with its derived names.
struct ServicePlan<'a> {
    service: &'a Service,
    /// `ns/svc:port`, as written in comments and hashed.
    port_name: String,
    protocol: &'static str,
    hash: String,
    /// `KUBE-SEP-…` suffix per endpoint, parallel to `service.endpoints`.
    endpoint_hashes: Vec<String>,
}

impl ServicePlan<'_> {
    fn has_endpoints(&self) -> bool {
        !self.service.endpoints.is_empty()
    }

    fn has_local_endpoints(&self) -> bool {
        self.service.endpoints.iter().any(|endpoint| endpoint.local)
    }

    fn is_local_policy(&self) -> bool {
        self.service.external_policy == TrafficPolicy::Local
    }

    /// A nodePort, an externalIP or a LoadBalancer IP: kube-proxy's `ExternallyAccessible`,
    /// which decides whether ≥1.24 writes a `KUBE-EXT-…` chain.
    fn is_externally_accessible(&self) -> bool {
        let service = self.service;
        service.node_port.is_some()
            || !service.external_ips.is_empty()
            || !service.load_balancer_ips.is_empty()
    }

    fn has_source_ranges(&self) -> bool {
        !self.service.load_balancer_source_ranges.is_empty()
    }

    /// `-d <IP>/32 -p <proto> -m comment --comment "<svc> <what>" -m <proto> --dport <port>`:
    /// the match of the service port on one of its addresses.
    fn address_match(&self, address: Ipv4Addr, what: &str) -> String {
        let protocol = self.protocol;
        format!(
            "-d {address}/32 -p {protocol} {} -m {protocol} --dport {}",
            comment(&format!("{} {what}", self.port_name)),
            self.service.port
        )
    }

    fn local_endpoint_indexes(&self) -> Vec<usize> {
        let endpoints = &self.service.endpoints;
        (0..endpoints.len())
            .filter(|&i| endpoints[i].local)
            .collect()
    }
}

/// A node's rules, ready to be listed table by table.
pub(crate) struct NodePlan<'a> {
    node: &'a NodeSpec,
    services: Vec<ServicePlan<'a>>,
    /// `--cluster-cidr` as printed, e.g. `198.18.0.0/16`.
    cluster_cidr: Option<String>,
}

/// `--comment` text as iptables-save prints it: bare if only `[A-Za-z0-9_-]`, otherwise
/// double-quoted with `"` and `\` escaped.
fn quote(comment: &str) -> String {
    let bare = !comment.is_empty()
        && comment
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        return comment.to_string();
    }
    let mut quoted = String::with_capacity(comment.len() + 2);
    quoted.push('"');
    for c in comment.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

/// `-m comment --comment "<text>"`.
/// The pair of rules that sends node-local sources (`--src-type LOCAL`, 127/8 included)
/// through KUBE-MARK-MASQ and then to the cluster-wide chain. XLB (≥1.15) and EXT (≥1.24)
/// chains both have it; only the comments differ.
fn push_local_source_rules(masquerade: &str, route: &str, hash: &str, out: &mut Vec<String>) {
    out.push(format!(
        "{} -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ",
        comment(masquerade)
    ));
    out.push(format!(
        "{} -m addrtype --src-type LOCAL -j KUBE-SVC-{hash}",
        comment(route)
    ));
}

fn comment(text: &str) -> String {
    format!("-m comment --comment {}", quote(text))
}

fn chain(name: &str, content: ChainContent) -> ChainPlan {
    ChainPlan {
        name: name.to_string(),
        content,
    }
}

fn fixed(name: &str, rules: Vec<String>) -> ChainPlan {
    chain(name, ChainContent::Fixed(rules))
}

fn empty(name: &str) -> ChainPlan {
    fixed(name, Vec::new())
}

impl<'a> NodePlan<'a> {
    pub(crate) fn new(node: &'a NodeSpec) -> Self {
        let services = node
            .services
            .iter()
            .map(|service| {
                let port_name = service.port_name_for(node.version);
                let protocol = service.protocol.as_str();
                let hash = service_port_hash(&port_name, protocol);
                let endpoint_hashes = service
                    .endpoints
                    .iter()
                    .map(|endpoint| {
                        let address = format!("{}:{}", endpoint.ip, endpoint.port);
                        endpoint_hash(&port_name, protocol, &address)
                    })
                    .collect();
                ServicePlan {
                    service,
                    port_name,
                    protocol,
                    hash,
                    endpoint_hashes,
                }
            })
            .collect();
        NodePlan {
            node,
            services,
            cluster_cidr: node.cluster_cidr.map(|cidr| cidr.trunc().to_string()),
        }
    }

    fn version(&self) -> KubeVersion {
        self.node.version
    }

    /// E1–E2: cluster-IP masquerade rules in `KUBE-SERVICES`, Cluster nodePorts marked in
    /// `KUBE-NODEPORTS`.
    fn masquerade_in_kube_services(&self) -> bool {
        self.version() <= KubeVersion::V1_21
    }

    /// ≤1.23: Local services use `KUBE-XLB-…`; later `KUBE-EXT-…`/`KUBE-SVL-…`.
    fn uses_xlb(&self) -> bool {
        self.version() <= KubeVersion::V1_23
    }

    /// ≥1.25: a Local service without local endpoints is dropped in the filter table.
    fn drops_in_filter(&self) -> bool {
        self.version() >= KubeVersion::V1_28
    }

    /// ≥1.24: LoadBalancer IPs and externalIPs jump to `KUBE-EXT-…`; `KUBE-FW-…` exists only
    /// for `loadBalancerSourceRanges`.
    fn uses_ext(&self) -> bool {
        !self.uses_xlb()
    }

    /// Whether the service's LB IPs go through a `KUBE-FW-…` chain (reference §5.5): always
    /// ≤1.23, only with source ranges later; never without endpoints.
    fn uses_fw_chain(&self, plan: &ServicePlan<'_>) -> bool {
        plan.has_endpoints()
            && !plan.service.load_balancer_ips.is_empty()
            && (self.uses_xlb() || plan.has_source_ranges())
    }

    /// A source range contains the node IP: kube-proxy then also accepts the LB IPs as sources.
    fn allows_from_node(&self, plan: &ServicePlan<'_>) -> bool {
        self.node.node_ip.is_some_and(|ip| {
            plan.service
                .load_balancer_source_ranges
                .iter()
                .any(|range| range.contains(&ip))
        })
    }

    /// ≤1.19: LB IPs without endpoints are rejected in filter `KUBE-SERVICES` (hooked from
    /// INPUT then); later in `KUBE-EXTERNAL-SERVICES` (reference §5.7).
    fn rejects_lb_in_kube_services(&self) -> bool {
        self.version() <= KubeVersion::V1_14
    }

    /// kubelet still creates `KUBE-MARK-DROP` and its `KUBE-FIREWALL` mark rule (≤1.26).
    fn has_kubelet_mark_drop(&self) -> bool {
        self.version() <= KubeVersion::V1_24
    }

    /// Canary chains: kube-proxy ≥1.17, kubelet likewise.
    fn has_canaries(&self) -> bool {
        self.version() >= KubeVersion::V1_21
    }

    fn omits_endpoint_comments(&self) -> bool {
        self.node.large_cluster && self.version() >= KubeVersion::V1_23
    }

    fn decimals(&self) -> WrittenDecimals {
        if self.version() <= KubeVersion::V1_14 {
            WrittenDecimals::Five
        } else {
            WrittenDecimals::Ten
        }
    }

    /// The tables in the order the back-end's iptables-save prints them.
    pub(crate) fn tables(&self) -> Vec<TablePlan> {
        match self.node.backend {
            super::Backend::Legacy => vec![self.mangle(), self.nat(), self.filter()],
            super::Backend::Nft => vec![self.mangle(), self.filter(), self.nat()],
        }
    }

    fn mangle(&self) -> TablePlan {
        let builtins = ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"]
            .into_iter()
            .map(empty)
            .collect();
        let mut user_chains = Vec::new();
        if self.version() >= KubeVersion::V1_28 {
            user_chains.push(empty("KUBE-IPTABLES-HINT"));
        }
        if self.has_canaries() {
            user_chains.push(empty("KUBE-KUBELET-CANARY"));
            user_chains.push(empty("KUBE-PROXY-CANARY"));
        }
        sorted_table("mangle", builtins, user_chains)
    }

    fn nat(&self) -> TablePlan {
        let portals = vec![format!("{} -j KUBE-SERVICES", comment(PORTALS))];
        let mut postrouting = vec![format!(
            "{} -j KUBE-POSTROUTING",
            comment("kubernetes postrouting rules")
        )];
        postrouting.extend(self.node.extra_nat_postrouting.iter().cloned());
        let builtins = vec![
            fixed("PREROUTING", portals.clone()),
            empty("INPUT"),
            fixed("OUTPUT", portals),
            fixed("POSTROUTING", postrouting),
        ];

        let mut user_chains = vec![
            fixed(
                "KUBE-MARK-MASQ",
                vec![format!("-j MARK --set-xmark {MASQ_MARK}")],
            ),
            chain("KUBE-NODEPORTS", ChainContent::NatNodePorts),
            fixed("KUBE-POSTROUTING", self.kube_postrouting()),
            chain("KUBE-SERVICES", ChainContent::NatServices),
        ];
        if self.has_kubelet_mark_drop() {
            user_chains.push(fixed(
                "KUBE-MARK-DROP",
                vec![format!("-j MARK --set-xmark {DROP_MARK}")],
            ));
        }
        if self.has_canaries() {
            user_chains.push(empty("KUBE-KUBELET-CANARY"));
            user_chains.push(empty("KUBE-PROXY-CANARY"));
        }
        for (index, plan) in self.services.iter().enumerate() {
            if !plan.has_endpoints() {
                continue;
            }
            let hash = &plan.hash;
            user_chains.push(chain(&format!("KUBE-SVC-{hash}"), ChainContent::Svc(index)));
            if self.uses_fw_chain(plan) {
                user_chains.push(chain(&format!("KUBE-FW-{hash}"), ChainContent::Fw(index)));
            }
            if self.uses_xlb() {
                if plan.is_local_policy() {
                    let name = format!("KUBE-XLB-{hash}");
                    user_chains.push(chain(&name, ChainContent::Xlb(index)));
                }
            } else {
                if plan.is_externally_accessible() {
                    let name = format!("KUBE-EXT-{hash}");
                    user_chains.push(chain(&name, ChainContent::Ext(index)));
                }
                let wants_svl = plan.has_local_endpoints() || !self.drops_in_filter();
                if plan.is_local_policy() && wants_svl {
                    let name = format!("KUBE-SVL-{hash}");
                    user_chains.push(chain(&name, ChainContent::Svl(index)));
                }
            }
            for (endpoint, endpoint_hash) in plan.endpoint_hashes.iter().enumerate() {
                let name = format!("KUBE-SEP-{endpoint_hash}");
                user_chains.push(chain(&name, ChainContent::Sep(index, endpoint)));
            }
        }
        sorted_table("nat", builtins, user_chains)
    }

    fn kube_postrouting(&self) -> Vec<String> {
        let snat = comment("kubernetes service traffic requiring SNAT");
        if self.version() <= KubeVersion::V1_14 {
            // Before #92035; `--random-fully` only from 1.16.
            vec![format!("{snat} -m mark --mark {MASQ_MARK} -j MASQUERADE")]
        } else {
            vec![
                format!("-m mark ! --mark {MASQ_MARK} -j RETURN"),
                "-j MARK --set-xmark 0x4000/0x0".to_string(),
                format!("{snat} -j MASQUERADE --random-fully"),
            ]
        }
    }

    /// Appends the rule arguments of `content` to `out`.
    pub(crate) fn chain_rules(&self, content: &ChainContent, out: &mut Vec<String>) {
        match content {
            ChainContent::Fixed(rules) => out.extend(rules.iter().cloned()),
            ChainContent::NatServices => self.nat_services(out),
            ChainContent::NatNodePorts => self.nat_nodeports(out),
            ChainContent::Svc(index) => self.svc_rules(&self.services[*index], out),
            ChainContent::Xlb(index) => self.xlb_rules(&self.services[*index], out),
            ChainContent::Ext(index) => self.ext_rules(&self.services[*index], out),
            ChainContent::Svl(index) => self.svl_rules(&self.services[*index], out),
            ChainContent::Fw(index) => self.fw_rules(&self.services[*index], out),
            ChainContent::Sep(index, endpoint) => {
                self.sep_rules(&self.services[*index], *endpoint, out);
            }
        }
    }

    fn nat_services(&self, out: &mut Vec<String>) {
        for plan in self.services.iter().filter(|plan| plan.has_endpoints()) {
            if self.masquerade_in_kube_services()
                && let Some(rule) = self.cluster_ip_masquerade(plan)
            {
                out.push(rule);
            }
            out.push(format!(
                "{} -j KUBE-SVC-{}",
                cluster_ip_match(plan),
                plan.hash
            ));
            self.external_ip_rules(plan, out);
            self.load_balancer_ip_rules(plan, out);
        }
        out.push(format!(
            "{} -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS",
            comment(NODEPORTS_TAIL)
        ));
    }

    fn nat_nodeports(&self, out: &mut Vec<String>) {
        for plan in self.services.iter().filter(|plan| plan.has_endpoints()) {
            let Some(node_port) = plan.service.node_port else {
                continue;
            };
            let protocol = plan.protocol;
            let node_port = format!(
                "-p {protocol} {} -m {protocol} --dport {node_port}",
                comment(&plan.port_name),
            );
            let hash = &plan.hash;
            if !self.uses_xlb() {
                out.push(format!("{node_port} -j KUBE-EXT-{hash}"));
            } else if plan.is_local_policy() {
                // #57942: masquerade localhost sources so replies are not martian.
                out.push(format!("-s 127.0.0.0/8 {node_port} -j KUBE-MARK-MASQ"));
                out.push(format!("{node_port} -j KUBE-XLB-{hash}"));
            } else {
                if self.masquerade_in_kube_services() {
                    out.push(format!("{node_port} -j KUBE-MARK-MASQ"));
                }
                out.push(format!("{node_port} -j KUBE-SVC-{hash}"));
            }
        }
    }

    /// `-m comment --comment "…" ` on a jump to an endpoint chain, or nothing in
    /// large-cluster mode. ≥1.24 names the endpoint in the comment.
    fn endpoint_jump_comment(&self, plan: &ServicePlan<'_>, endpoint: usize) -> String {
        if self.omits_endpoint_comments() {
            return String::new();
        }
        if self.version() >= KubeVersion::V1_24 {
            let target = &plan.service.endpoints[endpoint];
            let text = format!("{} -> {}:{}", plan.port_name, target.ip, target.port);
            format!("{} ", comment(&text))
        } else {
            format!("{} ", comment(&plan.port_name))
        }
    }

    /// Affinity checks, then the probability-weighted jumps to `endpoints`.
    fn endpoint_jumps(
        &self,
        plan: &ServicePlan<'_>,
        endpoints: &[usize],
        balancing_comments: bool,
        out: &mut Vec<String>,
    ) {
        if plan.service.session_affinity {
            for &endpoint in endpoints {
                let sep = format!("KUBE-SEP-{}", plan.endpoint_hashes[endpoint]);
                out.push(format!(
                    "{}-m recent --rcheck --seconds {AFFINITY_SECONDS} --reap --name {sep} --mask 255.255.255.255 --rsource -j {sep}",
                    self.endpoint_jump_comment(plan, endpoint)
                ));
            }
        }
        let count = endpoints.len();
        for (position, &endpoint) in endpoints.iter().enumerate() {
            let comment_args = if balancing_comments {
                let text = format!("Balancing rule {position} for {}", plan.port_name);
                format!("{} ", comment(&text))
            } else {
                self.endpoint_jump_comment(plan, endpoint)
            };
            let statistic = if position + 1 < count {
                let probability = probability_text(count - position, self.decimals());
                format!("-m statistic --mode random --probability {probability} ")
            } else {
                String::new()
            };
            out.push(format!(
                "{comment_args}{statistic}-j KUBE-SEP-{}",
                plan.endpoint_hashes[endpoint]
            ));
        }
    }

    fn svc_rules(&self, plan: &ServicePlan<'_>, out: &mut Vec<String>) {
        if !self.masquerade_in_kube_services() {
            if let Some(rule) = self.cluster_ip_masquerade(plan) {
                out.push(rule);
            }
            if self.uses_xlb() && !plan.is_local_policy() {
                // 1.22–1.23: the Cluster externalIPs' and nodePort's masquerade rules live here.
                for &address in &plan.service.external_ips {
                    let matched = plan.address_match(address, "external IP");
                    out.push(self.external_ip_masquerade(&matched));
                }
                if let Some(node_port) = plan.service.node_port {
                    let protocol = plan.protocol;
                    out.push(format!(
                        "-p {protocol} {} -m {protocol} --dport {node_port} -j KUBE-MARK-MASQ",
                        comment(&plan.port_name),
                    ));
                }
            }
        }
        let all: Vec<usize> = (0..plan.service.endpoints.len()).collect();
        self.endpoint_jumps(plan, &all, false, out);
    }

    fn xlb_rules(&self, plan: &ServicePlan<'_>, out: &mut Vec<String>) {
        let hash = &plan.hash;
        if let Some(cidr) = &self.cluster_cidr {
            out.push(format!(
                "-s {cidr} {} -j KUBE-SVC-{hash}",
                comment(XLB_REDIRECT_PODS)
            ));
        }
        if self.version() >= KubeVersion::V1_21 {
            // #77523 (1.15): LOCAL sources are masqueraded and sent to all endpoints.
            let masquerade = format!("masquerade LOCAL traffic for {} LB IP", plan.port_name);
            let route = format!(
                "route LOCAL traffic for {} LB IP to service chain",
                plan.port_name
            );
            push_local_source_rules(&masquerade, &route, hash, out);
        }
        let local = plan.local_endpoint_indexes();
        if local.is_empty() {
            out.push(self.no_local_endpoints_mark_drop(plan));
            return;
        }
        let balancing_comments = self.version() <= KubeVersion::V1_21;
        self.endpoint_jumps(plan, &local, balancing_comments, out);
    }

    fn no_local_endpoints_mark_drop(&self, plan: &ServicePlan<'_>) -> String {
        let text = format!("{} has no local endpoints", plan.port_name);
        format!("{} -j KUBE-MARK-DROP", comment(&text))
    }

    fn ext_rules(&self, plan: &ServicePlan<'_>, out: &mut Vec<String>) {
        let hash = &plan.hash;
        let name = &plan.port_name;
        if !plan.is_local_policy() {
            let text = format!("masquerade traffic for {name} external destinations");
            out.push(format!("{} -j KUBE-MARK-MASQ", comment(&text)));
            out.push(format!("-j KUBE-SVC-{hash}"));
            return;
        }
        if let Some(cidr) = &self.cluster_cidr {
            let text = format!("pod traffic for {name} external destinations");
            out.push(format!("-s {cidr} {} -j KUBE-SVC-{hash}", comment(&text)));
        }
        let masquerade = format!("masquerade LOCAL traffic for {name} external destinations");
        let route = format!("route LOCAL traffic for {name} external destinations");
        push_local_source_rules(&masquerade, &route, hash, out);
        if plan.has_local_endpoints() || !self.drops_in_filter() {
            out.push(format!("-j KUBE-SVL-{hash}"));
        }
    }

    fn svl_rules(&self, plan: &ServicePlan<'_>, out: &mut Vec<String>) {
        let local = plan.local_endpoint_indexes();
        if local.is_empty() {
            out.push(self.no_local_endpoints_mark_drop(plan));
            return;
        }
        self.endpoint_jumps(plan, &local, false, out);
    }

    fn sep_rules(&self, plan: &ServicePlan<'_>, endpoint: usize, out: &mut Vec<String>) {
        let target = &plan.service.endpoints[endpoint];
        let protocol = plan.protocol;
        let comment_args = if self.omits_endpoint_comments() {
            String::new()
        } else {
            format!("{} ", comment(&plan.port_name))
        };
        let affinity = if plan.service.session_affinity {
            format!(
                "-m recent --set --name KUBE-SEP-{} --mask 255.255.255.255 --rsource ",
                plan.endpoint_hashes[endpoint]
            )
        } else {
            String::new()
        };
        out.push(format!(
            "-s {}/32 {comment_args}-j KUBE-MARK-MASQ",
            target.ip
        ));
        out.push(format!(
            "-p {protocol} {comment_args}{affinity}-m {protocol} -j DNAT --to-destination {}:{}",
            target.ip, target.port
        ));
    }
}

/// `-d <clusterIP>/32 -p <proto> -m comment --comment "<svc> cluster IP" -m <proto> --dport <port>`.
fn cluster_ip_match(plan: &ServicePlan<'_>) -> String {
    let protocol = plan.protocol;
    format!(
        "-d {}/32 -p {protocol} {} -m {protocol} --dport {}",
        plan.service.cluster_ip,
        comment(&format!("{} cluster IP", plan.port_name)),
        plan.service.port
    )
}

fn sorted_table(
    name: &'static str,
    builtins: Vec<ChainPlan>,
    mut user_chains: Vec<ChainPlan>,
) -> TablePlan {
    user_chains.sort_by(|a, b| a.name.cmp(&b.name));
    // Two services sharing a hash would declare the same chain twice, which
    // iptables-restore rejects; keep the first.
    user_chains.dedup_by(|later, earlier| later.name == earlier.name);
    TablePlan {
        name,
        builtins,
        user_chains,
    }
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn comments_are_quoted_unless_plain_words() {
        assert_eq!(quote("ns1/svc1:p80"), "\"ns1/svc1:p80\"");
        assert_eq!(quote("plain-word_1"), "plain-word_1");
        assert_eq!(quote("say \"hi\""), "\"say \\\"hi\\\"\"");
    }
}
