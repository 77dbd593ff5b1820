"""Node F: kube-proxy in nftables mode (reference §11, dump G shape), kubelet's iptables-nft leftovers."""
from hashes import nft

POD = "10.244.0.0/16"
NODE_IP = "192.168.122.20"
# (svcPortName for hashing "ns/svc/proto/port", clusterIP, port, nodePort, eTP, [(ip, port, local)])
SVCS = [
    ("default/kubernetes", "https", "10.96.0.1", 443, None, "Cluster", [("192.168.122.10", 6443, False)]),
    ("web/frontend", "http", "10.96.80.80", 80, 30081, "Local", [("10.244.1.30", 8080, True), ("10.244.2.31", 8080, False)]),
    ("web/backend", "http", "10.96.90.90", 80, 30082, "Cluster", [("10.244.1.40", 9090, True), ("10.244.3.41", 9090, False)]),
]

def base(ns_svc, port): return f"{ns_svc}/tcp/{port}"
def cname(prefix, ns_svc, port): b = base(ns_svc, port); return f"{prefix}-{nft(b)}-{b}"
def ename(ns_svc, port, ip, p): b = f"{base(ns_svc, port)}__{ip}/{p}"; return f"endpoint-{nft(b)}-{b}"

def ruleset():
    L = []
    a = L.append
    a("add table ip kube-proxy { comment \"rules for kube-proxy\" ; }")
    a("add set ip kube-proxy cluster-ips { type ipv4_addr ; comment \"Active ClusterIPs\" ; }")
    a("add set ip kube-proxy nodeport-ips { type ipv4_addr ; comment \"IPs that accept NodePort traffic\" ; }")
    a("add map ip kube-proxy firewall-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment \"destinations that are subject to LoadBalancerSourceRanges\" ; }")
    a("add map ip kube-proxy no-endpoint-nodeports { type inet_proto . inet_service : verdict ; comment \"vmap to drop or reject packets to service nodeports with no endpoints\" ; }")
    a("add map ip kube-proxy no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; comment \"vmap to drop or reject packets to services with no endpoints\" ; }")
    a("add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment \"ClusterIP, ExternalIP and LoadBalancer IP traffic\" ; }")
    a("add map ip kube-proxy service-nodeports { type inet_proto . inet_service : verdict ; comment \"NodePort traffic\" ; }")
    for c, spec in [
        ("cluster-ips-check", ""),
        ("filter-prerouting-pre-dnat", "type filter hook prerouting priority dstnat - 10 ; policy accept ;"),
        ("filter-output-pre-dnat", "type filter hook output priority -110 ; policy accept ;"),
        ("filter-forward", "type filter hook forward priority filter ; policy accept ;"),
        ("filter-input", "type filter hook input priority filter ; policy accept ;"),
        ("filter-output", "type filter hook output priority filter ; policy accept ;"),
        ("firewall-check", ""), ("mark-for-masquerade", ""), ("masquerading", ""),
        ("nat-output", "type nat hook output priority -100 ; policy accept ;"),
        ("nat-postrouting", "type nat hook postrouting priority srcnat ; policy accept ;"),
        ("nat-prerouting", "type nat hook prerouting priority dstnat ; policy accept ;"),
        ("nodeport-endpoints-check", ""),
        ("reject-chain", "comment \"helper for @no-endpoint-services / @no-endpoint-nodeports\" ;"),
        ("services", ""), ("service-endpoints-check", "")]:
        a(f"add chain ip kube-proxy {c}" + (f" {{ {spec} }}" if spec else ""))
    a("add rule ip kube-proxy cluster-ips-check ip daddr @cluster-ips reject comment \"Reject traffic to invalid ports of ClusterIPs\"")
    a("add rule ip kube-proxy cluster-ips-check ip daddr 10.96.0.0/12 drop comment \"Drop traffic to unallocated ClusterIPs\"")
    a("add rule ip kube-proxy filter-prerouting-pre-dnat ct state new jump firewall-check")
    a("add rule ip kube-proxy filter-output-pre-dnat ct state new jump firewall-check")
    a("add rule ip kube-proxy filter-forward ct state new jump service-endpoints-check")
    a("add rule ip kube-proxy filter-forward ct state new jump cluster-ips-check")
    a("add rule ip kube-proxy filter-input ct state new jump nodeport-endpoints-check")
    a("add rule ip kube-proxy filter-input ct state new jump service-endpoints-check")
    a("add rule ip kube-proxy filter-output ct state new jump service-endpoints-check")
    a("add rule ip kube-proxy filter-output ct state new jump cluster-ips-check")
    a("add rule ip kube-proxy firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips")
    a("add rule ip kube-proxy mark-for-masquerade mark set mark or 0x4000")
    a("add rule ip kube-proxy masquerading mark and 0x4000 == 0 return")
    a("add rule ip kube-proxy masquerading mark set mark xor 0x4000")
    a("add rule ip kube-proxy masquerading masquerade fully-random")
    a("add rule ip kube-proxy nat-output jump services")
    a("add rule ip kube-proxy nat-postrouting jump masquerading")
    a("add rule ip kube-proxy nat-prerouting jump services")
    a("add rule ip kube-proxy nodeport-endpoints-check ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports")
    a("add rule ip kube-proxy reject-chain reject")
    a("add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips")
    a("add rule ip kube-proxy services ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports")
    a("add rule ip kube-proxy service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services")
    a(f"add element ip kube-proxy nodeport-ips {{ {NODE_IP} }}")
    for ns_svc, pname, cip, port, np, etp, eps in SVCS:
        svc = cname("service", ns_svc, pname)
        a(f"add element ip kube-proxy cluster-ips {{ {cip} }}")
        a(f"add chain ip kube-proxy {svc}")
        for ip, p, _ in eps:
            a(f"add chain ip kube-proxy {ename(ns_svc, pname, ip, p)}")
        a(f"add rule ip kube-proxy {svc} ip daddr {cip} ip saddr != {POD} jump mark-for-masquerade")
        vm = ", ".join(f"{i} : goto {ename(ns_svc, pname, ip, p)}" for i, (ip, p, _) in enumerate(eps))
        a(f"add rule ip kube-proxy {svc} numgen random mod {len(eps)} vmap {{ {vm} }}")
        for ip, p, _ in eps:
            e = ename(ns_svc, pname, ip, p)
            a(f"add rule ip kube-proxy {e} ip saddr {ip} jump mark-for-masquerade")
            a(f"add rule ip kube-proxy {e} meta l4proto tcp dnat to {ip}:{p}")
        a(f"add element ip kube-proxy service-ips {{ {cip} . tcp . {port} : goto {svc} }}")
        if np:
            ext = cname("external", ns_svc, pname)
            a(f"add chain ip kube-proxy {ext}")
            if etp == "Cluster":
                a(f"add rule ip kube-proxy {ext} jump mark-for-masquerade")
                a(f"add rule ip kube-proxy {ext} goto {svc}")
            else:
                a(f"add rule ip kube-proxy {ext} ip saddr {POD} goto {svc} comment \"short-circuit pod traffic\"")
                a(f"add rule ip kube-proxy {ext} fib saddr type local jump mark-for-masquerade comment \"masquerade local traffic\"")
                a(f"add rule ip kube-proxy {ext} fib saddr type local goto {svc} comment \"short-circuit local traffic\"")
                locs = [(ip, p) for ip, p, l in eps if l]
                if locs:
                    loc = cname("local", ns_svc, pname)
                    a(f"add chain ip kube-proxy {loc}")
                    vm = ", ".join(f"{i} : goto {ename(ns_svc, pname, ip, p)}" for i, (ip, p) in enumerate(locs))
                    a(f"add rule ip kube-proxy {loc} numgen random mod {len(locs)} vmap {{ {vm} }}")
                    a(f"add rule ip kube-proxy {ext} goto {loc}")
            a(f"add element ip kube-proxy service-nodeports {{ tcp . {np} : goto {ext} }}")
    return "\n".join(L) + "\n"

KUBELET = """*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-IPTABLES-HINT - [0:0]
:KUBE-KUBELET-CANARY - [0:0]
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-FIREWALL - [0:0]
:KUBE-KUBELET-CANARY - [0:0]
-A INPUT -j KUBE-FIREWALL
-A OUTPUT -j KUBE-FIREWALL
-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-KUBELET-CANARY - [0:0]
COMMIT
"""
