//! The filter table of a node: its hook jumps, kubelet's and kube-proxy's chains, and the
//! REJECT/DROP rules of services without (local) endpoints.

#[allow(unused_imports)]
use super::*;

/// A node's filter rules written per service, by chain.
#[derive(Default)]
struct FilterServiceRules {
    /// filter `KUBE-SERVICES`: REJECT for cluster IPs (and ≤1.19 LB IPs) without endpoints.
    services: Vec<String>,
    /// `KUBE-EXTERNAL-SERVICES`: REJECT (no endpoints) and ≥1.25 DROP (no local endpoints)
    /// for externalIPs, LB IPs and nodePorts.
    external: Vec<String>,
    /// filter `KUBE-NODEPORTS`: the health-check ACCEPT rules.
    nodeports: Vec<String>,
    /// `KUBE-PROXY-FIREWALL` (≥1.25): DROP for LB traffic that `KUBE-FW-…` did not accept.
    proxy_firewall: Vec<String>,
}

impl NodePlan<'_> {
    pub(super) fn filter(&self) -> TablePlan {
        let version = self.version();
        let new_portals = format!("-m conntrack --ctstate NEW {}", comment(PORTALS));
        let new_external = format!("-m conntrack --ctstate NEW {}", comment(EXTERNAL_PORTALS));
        let proxy_firewall = format!(
            "-m conntrack --ctstate NEW {} -j KUBE-PROXY-FIREWALL",
            comment("kubernetes load balancer firewall")
        );
        let health_checks = format!(
            "{} -j KUBE-NODEPORTS",
            comment("kubernetes health check service ports")
        );
        let forward = format!("{} -j KUBE-FORWARD", comment("kubernetes forwarding rules"));

        let mut input = Vec::new();
        let mut forward_rules = Vec::new();
        let mut output = Vec::new();
        if version >= KubeVersion::V1_28 {
            input.push(proxy_firewall.clone());
            forward_rules.push(proxy_firewall.clone());
            output.push(proxy_firewall);
        }
        if version <= KubeVersion::V1_14 {
            input.push(format!("{new_portals} -j KUBE-SERVICES"));
        } else {
            input.push(health_checks);
        }
        input.push(format!("{new_external} -j KUBE-EXTERNAL-SERVICES"));
        input.push("-j KUBE-FIREWALL".to_string());
        forward_rules.push(forward);
        forward_rules.push(format!("{new_portals} -j KUBE-SERVICES"));
        if version >= KubeVersion::V1_21 {
            forward_rules.push(format!("{new_external} -j KUBE-EXTERNAL-SERVICES"));
        }
        output.push(format!("{new_portals} -j KUBE-SERVICES"));
        output.push("-j KUBE-FIREWALL".to_string());

        let builtins = vec![
            fixed("INPUT", input),
            fixed("FORWARD", forward_rules),
            fixed("OUTPUT", output),
        ];

        let FilterServiceRules {
            services,
            external,
            nodeports,
            proxy_firewall,
        } = self.filter_service_rules();
        let mut user_chains = vec![
            fixed("KUBE-EXTERNAL-SERVICES", external),
            fixed("KUBE-FIREWALL", self.kube_firewall()),
            fixed("KUBE-FORWARD", self.kube_forward()),
            fixed("KUBE-SERVICES", services),
        ];
        if self.has_canaries() {
            user_chains.push(empty("KUBE-KUBELET-CANARY"));
            user_chains.push(empty("KUBE-PROXY-CANARY"));
        }
        if version >= KubeVersion::V1_21 {
            user_chains.push(fixed("KUBE-NODEPORTS", nodeports));
        }
        if version >= KubeVersion::V1_28 {
            user_chains.push(fixed("KUBE-PROXY-FIREWALL", proxy_firewall));
        }
        sorted_table("filter", builtins, user_chains)
    }

    fn kube_firewall(&self) -> Vec<String> {
        let mut rules = Vec::new();
        if self.has_kubelet_mark_drop() {
            rules.push(format!(
                "{} -m mark --mark {DROP_MARK} -j DROP",
                comment("kubernetes firewall for dropping marked packets")
            ));
        }
        if self.version() >= KubeVersion::V1_21 {
            // CVE-2020-8558; kubelet from 1.16.11/1.17.7/1.18.4.
            rules.push(format!(
                "! -s 127.0.0.0/8 -d 127.0.0.0/8 {} -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP",
                comment("block incoming localnet connections")
            ));
        }
        rules
    }

    fn kube_forward(&self) -> Vec<String> {
        let version = self.version();
        let mut rules = Vec::new();
        if version >= KubeVersion::V1_21 {
            rules.push("-m conntrack --ctstate INVALID -j DROP".to_string());
        }
        rules.push(format!(
            "{} -m mark --mark {MASQ_MARK} -j ACCEPT",
            comment("kubernetes forwarding rules")
        ));
        let established = "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT";
        if version >= KubeVersion::V1_23 {
            rules.push(format!(
                "{} {established}",
                comment("kubernetes forwarding conntrack rule")
            ));
            return rules;
        }
        let source_comment = comment("kubernetes forwarding conntrack pod source rule");
        let destination_comment = comment("kubernetes forwarding conntrack pod destination rule");
        if version >= KubeVersion::V1_21 {
            rules.push(format!("{source_comment} {established}"));
            rules.push(format!("{destination_comment} {established}"));
        } else if let Some(cidr) = &self.cluster_cidr {
            // ≤1.17: only with --cluster-cidr, and matching it.
            rules.push(format!("-s {cidr} {source_comment} {established}"));
            rules.push(format!("-d {cidr} {destination_comment} {established}"));
        }
        rules
    }

    /// Filter rules per service (reference §3.3, §5.5, §5.7), per chain in kube-proxy's order:
    /// for each service its cluster IP, externalIPs, LB IPs, nodePort, health-check port.
    fn filter_service_rules(&self) -> FilterServiceRules {
        let mut rules = FilterServiceRules::default();
        for plan in &self.services {
            let service = plan.service;
            let protocol = plan.protocol;
            let reject = "-j REJECT --reject-with icmp-port-unreachable";
            if !plan.has_endpoints() {
                let what = "has no endpoints";
                rules.services.push(format!(
                    "{} {reject}",
                    plan.address_match(service.cluster_ip, what)
                ));
                for &address in &service.external_ips {
                    let rule = plan.address_match(address, what);
                    rules.external.push(format!("{rule} {reject}"));
                }
                for &address in &service.load_balancer_ips {
                    let rule = format!("{} {reject}", plan.address_match(address, what));
                    if self.rejects_lb_in_kube_services() {
                        rules.services.push(rule);
                    } else {
                        rules.external.push(rule);
                    }
                }
                if let Some(node_port) = service.node_port {
                    let comment_args = comment(&format!("{} {what}", plan.port_name));
                    rules.external.push(format!(
                        "-p {protocol} {comment_args} -m addrtype --dst-type LOCAL -m {protocol} --dport {node_port} {reject}"
                    ));
                }
            } else if plan.is_local_policy()
                && !plan.has_local_endpoints()
                && self.drops_in_filter()
            {
                let what = "has no local endpoints";
                let addresses = service
                    .external_ips
                    .iter()
                    .chain(&service.load_balancer_ips);
                for &address in addresses {
                    let rule = plan.address_match(address, what);
                    rules.external.push(format!("{rule} -j DROP"));
                }
                if let Some(node_port) = service.node_port {
                    let drop = comment(&format!("{} {what}", plan.port_name));
                    rules.external.push(format!(
                        "-p {protocol} {drop} -m addrtype --dst-type LOCAL -m {protocol} --dport {node_port} -j DROP"
                    ));
                }
            }
            if self.drops_in_filter() && self.uses_fw_chain(plan) {
                let what = format!("traffic not accepted by KUBE-FW-{}", plan.hash);
                for &address in &service.load_balancer_ips {
                    let rule = plan.address_match(address, &what);
                    rules.proxy_firewall.push(format!("{rule} -j DROP"));
                }
            }
            if let Some(port) = service.health_check_node_port
                && self.version() >= KubeVersion::V1_21
            {
                let accept = comment(&format!("{} health check node port", plan.port_name));
                rules
                    .nodeports
                    .push(format!("-p tcp {accept} -m tcp --dport {port} -j ACCEPT"));
            }
        }
        rules
    }
}
