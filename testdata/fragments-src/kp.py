"""kube-proxy iptables-mode rule text (save form) per era, after reference §5 and §3."""
from hashes import chain, sep

MARK_MASQ = "KUBE-MARK-MASQ"

def q(c):
    # iptables-save quotes a comment unless it is only [A-Za-z0-9_-]
    import re
    return c if re.fullmatch(r"[A-Za-z0-9_-]+", c) else '"%s"' % c

class Svc:
    def __init__(s, name, cip, port, np=None, etp="Cluster", eps=(), proto="tcp", lb=None, hc=None):
        s.name, s.cip, s.port, s.np, s.etp, s.proto, s.lb, s.hc = name, cip, port, np, etp, proto, lb, hc
        s.eps = list(eps)            # [(ip:port, is_local)]
        s.h = chain(name, proto)
    def sep(s, ep): return "KUBE-SEP-" + sep(s.name, ep, s.proto)
    @property
    def local_eps(s): return [e for e, l in s.eps if l]

def prob(i, n):
    left = n - i
    return {2: "0.50000000000", 3: "0.33333333349"}[left]

def add(t, chainname, rule):
    t.setdefault(chainname, []).append(rule)

def svc_rules(era, s, pod, nat, flt):
    """era: 'E2' (1.15-1.21), 'E3.22', 'E3.23', 'E5' (>=1.25). Appends rules to nat/flt dicts."""
    N, P = s.name, s.proto
    svc, xlb, ext, svl = "KUBE-SVC-" + s.h, "KUBE-XLB-" + s.h, "KUBE-EXT-" + s.h, "KUBE-SVL-" + s.h
    cip = f"-d {s.cip}/32 -p {P} -m comment --comment {q(N + ' cluster IP')} -m {P} --dport {s.port}"
    if era == "E2":
        add(nat, "KUBE-SERVICES", f"! -s {pod} {cip} -j {MARK_MASQ}")
        add(nat, "KUBE-SERVICES", f"{cip} -j {svc}")
    else:
        add(nat, "KUBE-SERVICES", f"{cip} -j {svc}")
    if s.lb:
        assert era == "E5"
        add(nat, "KUBE-SERVICES", f"-d {s.lb}/32 -p {P} -m comment --comment {q(N + ' loadbalancer IP')} -m {P} --dport {s.port} -j {ext}")
    # nodePort entry
    if s.np:
        np = f"-p {P} -m comment --comment {q(N)} -m {P} --dport {s.np}"
        if era == "E5":
            add(nat, "KUBE-NODEPORTS", f"{np} -j {ext}")
        elif s.etp == "Local":
            add(nat, "KUBE-NODEPORTS", f"-s 127.0.0.0/8 {np} -j {MARK_MASQ}")
            add(nat, "KUBE-NODEPORTS", f"{np} -j {xlb}")
        elif era == "E2":
            add(nat, "KUBE-NODEPORTS", f"{np} -j {MARK_MASQ}")
            add(nat, "KUBE-NODEPORTS", f"{np} -j {svc}")
        else:
            add(nat, "KUBE-NODEPORTS", f"{np} -j {svc}")
    # cluster chain
    if era != "E2":
        add(nat, svc, f"! -s {pod} {cip} -j {MARK_MASQ}")
        if era.startswith("E3") and s.np and s.etp == "Cluster":
            add(nat, svc, f"-p {P} -m comment --comment {q(N)} -m {P} --dport {s.np} -j {MARK_MASQ}")
    n = len(s.eps)
    for i, (ep, _) in enumerate(s.eps):
        c = q(N + " -> " + ep) if era == "E5" else q(N)
        st = f" -m statistic --mode random --probability {prob(i, n)}" if i < n - 1 else ""
        add(nat, svc, f"-m comment --comment {c}{st} -j {s.sep(ep)}")
    for ep, _ in sorted(s.eps, key=lambda e: s.sep(e[0])):
        add(nat, s.sep(ep), f"-s {ep.split(':')[0]}/32 -m comment --comment {q(N)} -j {MARK_MASQ}")
        add(nat, s.sep(ep), f"-p {P} -m comment --comment {q(N)} -m {P} -j DNAT --to-destination {ep}")
    locs = s.local_eps
    if s.etp == "Local" and era != "E5":
        add(nat, xlb, f"-s {pod} -m comment --comment \"Redirect pods trying to reach external loadbalancer VIP to clusterIP\" -j {svc}")
        add(nat, xlb, f"-m comment --comment \"masquerade LOCAL traffic for {N} LB IP\" -m addrtype --src-type LOCAL -j {MARK_MASQ}")
        add(nat, xlb, f"-m comment --comment \"route LOCAL traffic for {N} LB IP to service chain\" -m addrtype --src-type LOCAL -j {svc}")
        for i, ep in enumerate(locs):
            c = q(f"Balancing rule {i} for {N}") if era in ("E2", "E3.22") else q(N)
            st = f" -m statistic --mode random --probability {prob(i, len(locs))}" if i < len(locs) - 1 else ""
            add(nat, xlb, f"-m comment --comment {c}{st} -j {s.sep(ep)}")
        if not locs:
            add(nat, xlb, f"-m comment --comment \"{N} has no local endpoints\" -j KUBE-MARK-DROP")
    if era == "E5" and (s.np or s.lb):
        if s.etp == "Cluster":
            add(nat, ext, f"-m comment --comment \"masquerade traffic for {N} external destinations\" -j {MARK_MASQ}")
            add(nat, ext, f"-j {svc}")
        else:
            add(nat, ext, f"-s {pod} -m comment --comment \"pod traffic for {N} external destinations\" -j {svc}")
            add(nat, ext, f"-m comment --comment \"masquerade LOCAL traffic for {N} external destinations\" -m addrtype --src-type LOCAL -j {MARK_MASQ}")
            add(nat, ext, f"-m comment --comment \"route LOCAL traffic for {N} external destinations\" -m addrtype --src-type LOCAL -j {svc}")
            if locs:
                add(nat, ext, f"-j {svl}")
                for i, ep in enumerate(locs):
                    st = f" -m statistic --mode random --probability {prob(i, len(locs))}" if i < len(locs) - 1 else ""
                    add(nat, svl, f"-m comment --comment {q(N + ' -> ' + ep)}{st} -j {s.sep(ep)}")
            else:
                if s.lb:
                    add(flt, "KUBE-EXTERNAL-SERVICES", f"-d {s.lb}/32 -p {P} -m comment --comment \"{N} has no local endpoints\" -m {P} --dport {s.port} -j DROP")
                if s.np:
                    add(flt, "KUBE-EXTERNAL-SERVICES", f"-p {P} -m comment --comment \"{N} has no local endpoints\" -m addrtype --dst-type LOCAL -m {P} --dport {s.np} -j DROP")
    if s.hc:
        add(flt, "KUBE-NODEPORTS", f"-p tcp -m comment --comment \"{N} health check node port\" -m tcp --dport {s.hc} -j ACCEPT")

BUILTIN = {
    "nat": ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
    "filter": ["INPUT", "FORWARD", "OUTPUT"],
    "mangle": ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
    "raw": ["PREROUTING", "OUTPUT"],
}

def table_text(name, chains, extra_chains=(), counters=None):
    """chains: dict chain -> [rule]; builtins first in their order, user chains sorted."""
    counters = counters or {}
    out = [f"*{name}"]
    users = sorted((set(chains) | set(extra_chains)) - set(BUILTIN[name]))
    for b in BUILTIN[name]:
        out.append(f":{b} ACCEPT [0:0]")
    for u in users:
        out.append(f":{u} - [0:0]")
    for c in BUILTIN[name] + users:
        for r in chains.get(c, []):
            line = f"-A {c} {r}"
            pre = counters.get(line)
            out.append(f"[{pre}] {line}" if pre else line)
    out.append("COMMIT")
    return "\n".join(out) + "\n"
