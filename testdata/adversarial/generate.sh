#!/usr/bin/env bash
# Writes the large adversarial inputs (too big to keep in git) into DIR, one file per case.
# The small ones live beside this script; testdata/adversarial/README.md lists them all and
# tests/it/adversarial.rs runs every case under a time and memory bound.
#
#   testdata/adversarial/generate.sh DIR [CASE...]
#
# With no CASE, every large case is written; `small` writes the small cases (kept in git)
# again. Needs only bash, awk and head.
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 DIR [CASE...]" >&2
  exit 2
fi
dir=$1
shift
mkdir -p "$dir"

# The nat table's entry: PREROUTING and OUTPUT into KUBE-SERVICES, which sends the node's
# own addresses to KUBE-NODEPORTS. $1: extra chain declarations (one per line).
nat_head() {
  printf '*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n:KUBE-NODEPORTS - [0:0]\n'
}
nat_entry() {
  printf -- '-A PREROUTING -j KUBE-SERVICES\n-A OUTPUT -j KUBE-SERVICES\n'
  printf -- '-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\n'
}

# Chains L0..L(N-1) on nodePort 30000's path, each jumping twice to the next: 2^N paths
# through the same N chains, one outcome. Then the nodePort's DNAT.
diamond() {
  local n=$1
  {
    nat_head
    awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) printf ":L%d - [0:0]\n", i }'
    nat_entry
    printf -- '-A KUBE-NODEPORTS -p tcp -m comment --comment "adv/diamond:p" -m tcp --dport 30000 -j L0\n'
    printf -- '-A KUBE-NODEPORTS -p tcp -m comment --comment "adv/diamond:p" -m tcp --dport 30000 -j DNAT --to-destination 198.18.0.10:8080\n'
    awk -v n="$n" 'BEGIN { for (i = 0; i < n - 1; i++) printf "-A L%d -j L%d\n-A L%d -j L%d\n", i, i + 1, i, i + 1 }'
    printf 'COMMIT\n'
  } >"$dir/diamond-$n.txt"
}

# N rules in a row that the evaluator cannot decide (an unknown match module), each
# jumping to an empty chain: 2^N distinct paths (each its own set of assumptions).
forks() {
  local n=$1
  {
    nat_head
    printf ':FORKS - [0:0]\n:NOOP - [0:0]\n'
    nat_entry
    printf -- '-A KUBE-NODEPORTS -p tcp -m comment --comment "adv/forks:p" -m tcp --dport 30000 -j FORKS\n'
    printf -- '-A KUBE-NODEPORTS -p tcp -m comment --comment "adv/forks:p" -m tcp --dport 30000 -j DNAT --to-destination 198.18.0.10:8080\n'
    awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) printf "-A FORKS -m geoip --src-cc X%d -j NOOP\n", i }'
    printf 'COMMIT\n'
  } >"$dir/forks-$n.txt"
}

# Chains D0..D(N-1), each jumping to the next (N levels of nesting), then the DNAT.
deep() {
  local n=$1
  {
    nat_head
    awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) printf ":D%d - [0:0]\n", i }'
    nat_entry
    printf -- '-A KUBE-NODEPORTS -p tcp -m comment --comment "adv/deep:p" -m tcp --dport 30000 -j D0\n'
    printf -- '-A KUBE-NODEPORTS -p tcp -m comment --comment "adv/deep:p" -m tcp --dport 30000 -j DNAT --to-destination 198.18.0.10:8080\n'
    awk -v n="$n" 'BEGIN { for (i = 0; i < n - 1; i++) printf "-A D%d -j D%d\n", i, i + 1 }'
    printf 'COMMIT\n'
  } >"$dir/deep-$n.txt"
}

# LOOP-A jumps to LOOP-B, which jumps back to LOOP-A: a real cycle.
cycle() {
  {
    nat_head
    printf ':LOOP-A - [0:0]\n:LOOP-B - [0:0]\n'
    nat_entry
    printf -- '-A KUBE-NODEPORTS -p tcp -m comment --comment "adv/cycle:p" -m tcp --dport 30000 -j LOOP-A\n'
    printf -- '-A LOOP-A -j LOOP-B\n-A LOOP-B -j LOOP-A\n'
    printf 'COMMIT\n'
  } >"$dir/cycle.txt"
}

# 200,000 chains, each jumping to the next, on nodePort 30000's path.
deep_200000() {
  local n=200000
  {
    nat_head
    awk -v n=$n 'BEGIN { for (i = 0; i < n; i++) printf ":D%d - [0:0]\n", i }'
    nat_entry
    printf -- '-A KUBE-NODEPORTS -p tcp -m comment --comment "adv/deep:p" -m tcp --dport 30000 -j D0\n'
    awk -v n=$n 'BEGIN { for (i = 0; i < n - 1; i++) printf "-A D%d -j D%d\n", i, i + 1 }'
    printf 'COMMIT\n'
  } >"$dir/deep-200000.txt"
}

# 195,999 nodePorts: ports 2 to 65334 for each of tcp, udp and sctp, one service each
# (`adv/svc-PORT-PROTO:p`). Port 1 and ports above 65334 are not there.
nodeports_196000() {
  {
    nat_head
    printf ':KUBE-SVC-ADV - [0:0]\n'
    nat_entry
    awk 'BEGIN {
      split("tcp udp sctp", protos, " ")
      for (p = 1; p <= 3; p++)
        for (port = 2; port <= 65334; port++)
          printf "-A KUBE-NODEPORTS -p %s -m comment --comment \"adv/svc-%d-%s:p\" -m %s --dport %d -j KUBE-SVC-ADV\n", protos[p], port, protos[p], protos[p], port
    }'
    printf -- '-A KUBE-SVC-ADV -j DNAT --to-destination 198.18.0.10:8080\n'
    printf 'COMMIT\n'
  } >"$dir/nodeports-196000.txt"
}

# 100,000 nat tables one after another (`*nat … COMMIT` repeated: each one a ruleset),
# the last one with nodePort 30000.
rulesets_100000() {
  local n=100000
  {
    awk -v n=$n 'BEGIN {
      for (i = 1; i < n; i++)
        printf "*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-NODEPORTS - [0:0]\n-A PREROUTING -j KUBE-NODEPORTS\nCOMMIT\n"
    }'
    nat_head
    nat_entry
    printf -- '-A KUBE-NODEPORTS -p tcp -m comment --comment "adv/last:p" -m tcp --dport 30000 -j DNAT --to-destination 198.18.0.10:8080\n'
    printf 'COMMIT\n'
  } >"$dir/rulesets-100000.txt"
}

# 100,000 rules jumping to 100,000 distinct chains that are not in the dump (inspect lists
# missing jump targets: it once searched its list for each one, 14 s).
missing_targets_100000() {
  {
    printf '*nat\n:PREROUTING ACCEPT [0:0]\n'
    awk 'BEGIN { for (i = 0; i < 100000; i++) printf "-A PREROUTING -j MISSING-%d\n", i }'
    printf 'COMMIT\n'
  } >"$dir/missing-targets-100000.txt"
}

# A nat table cut before its COMMIT after 30,000 nodePorts, each jumping to one of 200,000
# chains declared empty above (their rules would have come after the cut): each chain on a
# path may lack rules, which was decided by searching the table's chains (ports: 15 s).
cut_nodeports_30000() {
  {
    nat_head
    awk 'BEGIN { for (i = 0; i < 200000; i++) printf ":KUBE-SVC-CUT%d - [0:0]\n", i }'
    nat_entry
    awk 'BEGIN { for (p = 20000; p < 50000; p++) printf "-A KUBE-NODEPORTS -p tcp -m comment --comment \"adv/cut-%d:p\" -m tcp --dport %d -j KUBE-SVC-CUT%d\n", p, p, p * 7 % 200000 }'
  } >"$dir/cut-nodeports-30000.txt"
}

# 60,000 nodePorts (ports 1 to 20,000 for each of tcp, udp and sctp) whose services have
# no endpoints: only a filter KUBE-EXTERNAL-SERVICES REJECT rule each, besides one nat
# nodePort (30000, namespace adv). Each was looked up in the list of those found (ports: 5 s).
rejected_nodeports_60000() {
  {
    nat_head
    printf ':KUBE-SVC-ADV - [0:0]\n'
    nat_entry
    printf -- '-A KUBE-NODEPORTS -p tcp -m comment --comment "adv/real:p" -m tcp --dport 30000 -j KUBE-SVC-ADV\n'
    printf -- '-A KUBE-SVC-ADV -j DNAT --to-destination 198.18.0.10:8080\n'
    printf 'COMMIT\n*filter\n:INPUT ACCEPT [0:0]\n:KUBE-EXTERNAL-SERVICES - [0:0]\n'
    printf -- '-A INPUT -m conntrack --ctstate NEW -j KUBE-EXTERNAL-SERVICES\n'
    awk 'BEGIN {
      split("tcp udp sctp", protos, " ")
      for (port = 1; port <= 20000; port++)
        for (p = 1; p <= 3; p++)
          printf "-A KUBE-EXTERNAL-SERVICES -p %s -m comment --comment \"none/s%d:p has no endpoints\" -m %s --dport %d -j REJECT\n", protos[p], port, protos[p], port
    }'
    printf 'COMMIT\n'
  } >"$dir/rejected-nodeports-60000.txt"
}

# One nodePort whose service chain jumps to 50,000 endpoint chains (the first is always
# taken, so one path): the service's endpoints were deduplicated by searching the list so
# far, twice (explain: 5.4 s).
endpoints_50000() {
  local n=50000
  {
    nat_head
    printf ':KUBE-SVC-ADV - [0:0]\n'
    awk -v n=$n 'BEGIN { for (i = 0; i < n; i++) printf ":KUBE-SEP-%d - [0:0]\n", i }'
    nat_entry
    printf -- '-A KUBE-NODEPORTS -p tcp -m comment --comment "adv/big:p" -m tcp --dport 30000 -j KUBE-SVC-ADV\n'
    awk -v n=$n 'BEGIN { for (i = 0; i < n; i++) printf "-A KUBE-SVC-ADV -j KUBE-SEP-%d\n", i }'
    awk -v n=$n 'BEGIN { for (i = 0; i < n; i++) printf "-A KUBE-SEP-%d -p tcp -j DNAT --to-destination 10.%d.%d.%d:80\n", i, int(i / 65536), int(i / 256) % 256, i % 256 }'
    printf 'COMMIT\n'
  } >"$dir/endpoints-50000.txt"
}

# A LoadBalancer IP whose firewall chain allows 100,000 source ranges (/32s): the prefixes
# tested were merged by searching those merged so far (explain 203.0.113.10:80: 3 s).
source_ranges_100000() {
  {
    nat_head
    printf ':KUBE-FW-ADV - [0:0]\n:KUBE-SVC-ADV - [0:0]\n'
    nat_entry
    printf -- '-A KUBE-SERVICES -d 203.0.113.10/32 -p tcp -m comment --comment "adv/lb:p loadbalancer IP" -m tcp --dport 80 -j KUBE-FW-ADV\n'
    awk 'BEGIN { for (i = 0; i < 100000; i++) printf "-A KUBE-FW-ADV -s 12.%d.%d.%d/32 -j KUBE-SVC-ADV\n", int(i / 65536), int(i / 256) % 256, i % 256 }'
    printf -- '-A KUBE-SVC-ADV -j DNAT --to-destination 198.18.0.10:8080\n'
    printf 'COMMIT\n'
  } >"$dir/source-ranges-100000.txt"
}

# 20 MB of lines that are not iptables-save: `y`, ten million times.
yes_20mb() {
  (yes || true) | head -c 20000000 >"$dir/yes-20mb.txt"
}

# A 2 MiB rule line (words `a b a b …` after a valid start), between valid lines.
long_line() {
  {
    printf '*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j ACCEPT\n-A PREROUTING -m comment --comment '
    awk 'BEGIN { for (i = 0; i < 1048576; i++) printf "a " }'
    printf '\nCOMMIT\n'
  } >"$dir/long-line.txt"
}

cases=("$@")
if [ ${#cases[@]} -eq 0 ]; then
  cases=(deep-200000 nodeports-196000 rulesets-100000 missing-targets-100000 cut-nodeports-30000 rejected-nodeports-60000 endpoints-50000 source-ranges-100000 yes-20mb long-line)
fi
for case in "${cases[@]}"; do
  case $case in
    deep-200000) deep_200000 ;;
    nodeports-196000) nodeports_196000 ;;
    rulesets-100000) rulesets_100000 ;;
    missing-targets-100000) missing_targets_100000 ;;
    cut-nodeports-30000) cut_nodeports_30000 ;;
    rejected-nodeports-60000) rejected_nodeports_60000 ;;
    endpoints-50000) endpoints_50000 ;;
    source-ranges-100000) source_ranges_100000 ;;
    yes-20mb) yes_20mb ;;
    long-line) long_line ;;
    small)
      diamond 21
      diamond 60
      forks 12
      forks 30
      deep 65
      cycle
      ;;
    *)
      echo "unknown case: $case" >&2
      exit 2
      ;;
  esac
done
