//! The nat rules for a service's addresses: the ClusterIP masquerade rule, externalIPs and
//! LoadBalancer IPs (with their KUBE-FW chains), per era.

#[allow(unused_imports)]
use super::*;

impl NodePlan<'_> {
    /// `! -s <cidr> -d <clusterIP>/32 … "<svc> cluster IP" … -j KUBE-MARK-MASQ`, if a
    /// cluster CIDR is known.
    pub(super) fn cluster_ip_masquerade(&self, plan: &ServicePlan<'_>) -> Option<String> {
        let cidr = self.cluster_cidr.as_ref()?;
        Some(format!(
            "! -s {cidr} {} -j KUBE-MARK-MASQ",
            cluster_ip_match(plan)
        ))
    }

    /// `KUBE-SERVICES` rules for the service's externalIPs (reference §5.6).
    pub(super) fn external_ip_rules(&self, plan: &ServicePlan<'_>, out: &mut Vec<String>) {
        let hash = &plan.hash;
        for &address in &plan.service.external_ips {
            let matched = plan.address_match(address, "external IP");
            if self.uses_ext() {
                out.push(format!("{matched} -j KUBE-EXT-{hash}"));
            } else if self.version() <= KubeVersion::V1_14 {
                // ≤1.18: externalTrafficPolicy is ignored; everything is masqueraded and
                // only off-machine traffic (not bridged, not LOCAL) or traffic to a local
                // address is sent to the service.
                out.push(format!("{matched} -j KUBE-MARK-MASQ"));
                out.push(format!(
                    "{matched} -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j KUBE-SVC-{hash}"
                ));
                out.push(format!(
                    "{matched} -m addrtype --dst-type LOCAL -j KUBE-SVC-{hash}"
                ));
            } else if plan.is_local_policy() {
                out.push(format!("{matched} -j KUBE-XLB-{hash}"));
            } else {
                if self.masquerade_in_kube_services() {
                    // 1.21: masquerade what does not come from a pod (everything without a
                    // detector); 1.22–1.23 write this rule into KUBE-SVC instead.
                    out.push(self.external_ip_masquerade(&matched));
                }
                out.push(format!("{matched} -j KUBE-SVC-{hash}"));
            }
        }
    }

    /// `! -s <cluster CIDR> <match> -j KUBE-MARK-MASQ`, or unconditional without a detector.
    pub(super) fn external_ip_masquerade(&self, matched: &str) -> String {
        match &self.cluster_cidr {
            Some(cidr) => format!("! -s {cidr} {matched} -j KUBE-MARK-MASQ"),
            None => format!("{matched} -j KUBE-MARK-MASQ"),
        }
    }

    /// `KUBE-SERVICES` rules for the service's LoadBalancer IPs (reference §5.5).
    pub(super) fn load_balancer_ip_rules(&self, plan: &ServicePlan<'_>, out: &mut Vec<String>) {
        let hash = &plan.hash;
        let target = if self.uses_fw_chain(plan) {
            format!("KUBE-FW-{hash}")
        } else {
            format!("KUBE-EXT-{hash}")
        };
        for &address in &plan.service.load_balancer_ips {
            let matched = plan.address_match(address, "loadbalancer IP");
            out.push(format!("{matched} -j {target}"));
        }
    }

    /// `KUBE-FW-…`: the source-range check of the LB IPs (reference §5.5).
    ///
    /// ≤1.23 marks Cluster traffic for masquerade first, sends allowed sources to `KUBE-SVC-…`
    /// or `KUBE-XLB-…` and marks the rest for dropping; kube-proxy writes this block once per
    /// LB IP into the same chain. 1.24 sends allowed sources to `KUBE-EXT-…` and still marks
    /// the rest; ≥1.25 ends with a comment-only rule and leaves the drop to filter
    /// `KUBE-PROXY-FIREWALL`.
    pub(super) fn fw_rules(&self, plan: &ServicePlan<'_>, out: &mut Vec<String>) {
        let hash = &plan.hash;
        let name = &plan.port_name;
        let lb_comment = comment(&format!("{name} loadbalancer IP"));
        let ranges: Vec<String> = plan
            .service
            .load_balancer_source_ranges
            .iter()
            .map(|range| range.trunc().to_string())
            .collect();
        let lb_ips = &plan.service.load_balancer_ips;
        if self.uses_xlb() {
            let chosen = if plan.is_local_policy() {
                format!("KUBE-XLB-{hash}")
            } else {
                format!("KUBE-SVC-{hash}")
            };
            for &address in lb_ips {
                if !plan.is_local_policy() {
                    out.push(format!("{lb_comment} -j KUBE-MARK-MASQ"));
                }
                if ranges.is_empty() {
                    out.push(format!("{lb_comment} -j {chosen}"));
                } else {
                    for range in &ranges {
                        out.push(format!("-s {range} {lb_comment} -j {chosen}"));
                    }
                    if self.allows_from_node(plan) {
                        out.push(format!("-s {address}/32 {lb_comment} -j {chosen}"));
                    }
                }
                out.push(format!("{lb_comment} -j KUBE-MARK-DROP"));
            }
            return;
        }
        for range in &ranges {
            out.push(format!("-s {range} {lb_comment} -j KUBE-EXT-{hash}"));
        }
        if self.allows_from_node(plan) {
            for address in lb_ips {
                out.push(format!("-s {address}/32 {lb_comment} -j KUBE-EXT-{hash}"));
            }
        }
        if self.drops_in_filter() {
            let text = format!("other traffic to {name} will be dropped by KUBE-PROXY-FIREWALL");
            out.push(comment(&text));
        } else {
            out.push(format!("{lb_comment} -j KUBE-MARK-DROP"));
        }
    }
}
