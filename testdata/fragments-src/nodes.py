"""Whole-node dumps (hidden sources) from which the fixtures are cut."""
from kp import Svc, svc_rules, table_text, add

def kube_nat_base(nat, kubelet_mark_drop=True):
    add(nat, "PREROUTING", '-m comment --comment "kubernetes service portals" -j KUBE-SERVICES')
    add(nat, "OUTPUT", '-m comment --comment "kubernetes service portals" -j KUBE-SERVICES')
    add(nat, "POSTROUTING", '-m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING')
    if kubelet_mark_drop:
        add(nat, "KUBE-MARK-DROP", "-j MARK --set-xmark 0x8000/0x8000")
    add(nat, "KUBE-MARK-MASQ", "-j MARK --set-xmark 0x4000/0x4000")
    add(nat, "KUBE-POSTROUTING", "-m mark ! --mark 0x4000/0x4000 -j RETURN")
    add(nat, "KUBE-POSTROUTING", "-j MARK --set-xmark 0x4000/0x0")
    add(nat, "KUBE-POSTROUTING", '-m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully')

def tail(nat):
    add(nat, "KUBE-SERVICES", '-m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS')

LOCALNET = '! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP'
MARKDROP_FW = '-m comment --comment "kubernetes firewall for dropping marked packets" -m mark --mark 0x8000/0x8000 -j DROP'

def filter_hooks_121_124(flt, minor):
    if minor >= 21:
        add(flt, "INPUT", '-m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS')
    add(flt, "INPUT", '-m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES')
    add(flt, "INPUT", "-j KUBE-FIREWALL")
    add(flt, "FORWARD", '-m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD')
    add(flt, "FORWARD", '-m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES')
    add(flt, "FORWARD", '-m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES')
    add(flt, "OUTPUT", '-m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES')
    add(flt, "OUTPUT", "-j KUBE-FIREWALL")
    add(flt, "KUBE-FIREWALL", MARKDROP_FW)
    add(flt, "KUBE-FIREWALL", LOCALNET)
    add(flt, "KUBE-FORWARD", "-m conntrack --ctstate INVALID -j DROP")
    add(flt, "KUBE-FORWARD", '-m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT')
    if minor <= 22:
        add(flt, "KUBE-FORWARD", '-m comment --comment "kubernetes forwarding conntrack pod source rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT')
        add(flt, "KUBE-FORWARD", '-m comment --comment "kubernetes forwarding conntrack pod destination rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT')
    else:
        add(flt, "KUBE-FORWARD", '-m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT')

def filter_hooks_125(flt):
    add(flt, "INPUT", '-m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL')
    add(flt, "INPUT", '-m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS')
    add(flt, "INPUT", '-m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES')
    add(flt, "INPUT", "-j KUBE-FIREWALL")
    add(flt, "FORWARD", '-m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL')
    add(flt, "FORWARD", '-m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD')
    add(flt, "FORWARD", '-m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES')
    add(flt, "FORWARD", '-m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES')
    add(flt, "OUTPUT", '-m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL')
    add(flt, "OUTPUT", '-m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES')
    add(flt, "OUTPUT", "-j KUBE-FIREWALL")
    add(flt, "KUBE-FIREWALL", LOCALNET)
    add(flt, "KUBE-FORWARD", "-m conntrack --ctstate INVALID -j DROP")
    add(flt, "KUBE-FORWARD", '-m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT')
    add(flt, "KUBE-FORWARD", '-m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT')

CANARY = "KUBE-KUBELET-CANARY", "KUBE-PROXY-CANARY"

def iptables_node(era, minor, pod, services, extra_nat=(), hint=False, counters=None, order=("nat", "filter", "mangle")):
    nat, flt = {}, {}
    kube_nat_base(nat, kubelet_mark_drop=minor <= 26)
    for s in services:
        svc_rules(era, s, pod, nat, flt)
    tail(nat)
    for c, r in extra_nat:
        add(nat, c, r)
    if minor >= 25:
        filter_hooks_125(flt)
    else:
        filter_hooks_121_124(flt, minor)
    extra_f = set(CANARY) | {"KUBE-EXTERNAL-SERVICES", "KUBE-NODEPORTS", "KUBE-SERVICES", "KUBE-FORWARD", "KUBE-FIREWALL"}
    if minor >= 25:
        extra_f.add("KUBE-PROXY-FIREWALL")
    mangle_extra = set(CANARY) | ({"KUBE-IPTABLES-HINT"} if hint else set())
    texts = {
        "nat": table_text("nat", nat, set(CANARY) | {"KUBE-NODEPORTS"}, counters),
        "filter": table_text("filter", flt, extra_f, counters),
        "mangle": table_text("mangle", {}, mangle_extra, counters),
    }
    return "".join(texts[t] for t in order)

# --- node A: kube-proxy v1.21, legacy backend (era E2) -------------------------
POD_A = "10.244.0.0/16"
CHECKOUT = Svc("shop/checkout:http", "10.96.142.7", 80, np=31380, etp="Local",
               eps=[("10.244.1.17:8080", True), ("10.244.1.18:8080", True)])
CART = Svc("shop/cart", "10.96.37.200", 80, np=30417, etp="Local", eps=[("10.244.2.31:8080", False)])
API_A = Svc("default/kubernetes:https", "10.96.0.1", 443, eps=[("192.168.56.10:6443", False)])
DNS_A = Svc("kube-system/kube-dns:dns", "10.96.0.10", 53, proto="udp",
            eps=[("10.244.0.2:53", False), ("10.244.1.3:53", True)])
def node_a(): return iptables_node("E2", 21, POD_A, [API_A, DNS_A, CHECKOUT, CART])

# --- node B: v1.23, legacy (E3) ------------------------------------------------
POD_B = "10.42.0.0/16"
STREAM = Svc("media/stream:rtmp", "10.43.118.30", 1935, np=31935, etp="Local",
             eps=[("10.42.1.9:1935", True), ("10.42.3.4:1935", False)])
THUMBS = Svc("media/thumbs:http", "10.43.90.12", 80, np=30880, etp="Local", eps=[("10.42.2.7:8080", False)])
MAPI = Svc("media/api:http", "10.43.7.77", 80, np=32080, etp="Cluster",
           eps=[("10.42.1.12:8000", True), ("10.42.2.15:8000", False)])
API_B = Svc("default/kubernetes:https", "10.43.0.1", 443, eps=[("10.10.0.5:6443", False)])
SNAT_B = ("POSTROUTING", '-s 10.42.0.0/16 ! -d 10.42.0.0/16 -o ens192 -m comment --comment "egress through site gateway (change CHG-2291, do NOT remove it)" -j SNAT --to-source 10.10.0.21')
def node_b(): return iptables_node("E3.23", 23, POD_B, [API_B, STREAM, THUMBS, MAPI], extra_nat=[SNAT_B])

# --- node C: v1.20, legacy (E2) ------------------------------------------------
POD_C = "10.200.0.0/16"
SIP_U = Svc("voip/sip:sip-udp", "10.96.60.60", 5060, np=30060, proto="udp",
            eps=[("10.200.1.5:5060", True), ("10.200.2.6:5060", False)])
SIP_T = Svc("voip/sip:sip-tcp", "10.96.60.60", 5060, np=30060, proto="tcp",
            eps=[("10.200.1.5:5060", True), ("10.200.2.6:5060", False)])
def node_c(): return iptables_node("E2", 20, POD_C, [SIP_U, SIP_T])

# --- node D: v1.27, nf_tables backend (E6) --------------------------------------
POD_D = "10.244.0.0/16"
PAYMENTS = Svc("shop/payments:https", "10.96.200.15", 443, np=30443, etp="Local", eps=[("10.244.2.40:8443", False)])
INGRESS = Svc("ingress-nginx/ingress-nginx-controller:http", "10.96.55.120", 80, np=30080, etp="Local",
              eps=[("10.244.3.21:80", False)], lb="198.51.100.80", hc=32145)
INVOICES = Svc("shop/invoices:http", "10.96.201.33", 80, np=31443, etp="Local", eps=[("10.244.2.41:8080", False)])
API_D = Svc("default/kubernetes:https", "10.96.0.1", 443, eps=[("192.168.100.10:6443", False)])
def node_d(counters=None):
    return iptables_node("E5", 27, POD_D, [API_D, PAYMENTS, INGRESS, INVOICES], hint=True, counters=counters,
                         order=("mangle", "filter", "nat"))

# --- node E: v1.22, legacy (E3, "Balancing rule" comments) -----------------------
POD_E = "10.100.0.0/16"
GATEWAY = Svc("edge/gateway:https", "10.110.40.2", 443, np=31643, etp="Local", eps=[("10.100.4.19:8443", False)])
API_E = Svc("default/kubernetes:https", "10.110.0.1", 443, eps=[("10.0.20.5:6443", False)])
def node_e(counters=None): return iptables_node("E3.22", 22, POD_E, [API_E, GATEWAY], counters=counters)
