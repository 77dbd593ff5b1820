//! Tests of `--redact`'s replacement.

use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn a_chain_declaration_is_redacted_like_the_rules_of_the_chain() {
    let text = ":KUBE-EXT-BTVQPHN42D4J3FOU - [0:0]\n-A KUBE-EXT-BTVQPHN42D4J3FOU -j KUBE-MARK-MASQ\n:KUBE-SVC-BTVQPHN42D4J3FOU - [0:0]\n";
    let out = Redactor::new(b"k").text(text);
    assert!(!out.contains("BTVQPHN42D4J3FOU"), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    let declared = lines[0].split(' ').next().unwrap().trim_start_matches(':');
    let ruled = lines[1].split(' ').nth(1).unwrap();
    assert_eq!(declared, ruled, "{out}");
    assert!(lines[2].starts_with(":KUBE-SVC-"), "{out}");
}

#[test]
fn kept_ranges_are_their_own_stand_ins() {
    let mut r = Redactor::new(b"k");
    for a in [
        "127.0.0.1",
        "127.255.0.9",
        "169.254.169.254",
        "192.0.2.10",
        "198.51.100.7",
        "203.0.113.2",
        "198.19.0.10",
        "0.0.0.0",
        "255.255.255.255",
        "224.0.0.1",
        "::1",
        "::",
        "fe80::1",
        "2001:db8::5",
        "ff02::1",
    ] {
        assert_eq!(r.address(ip(a)), ip(a), "{a}");
    }
}

#[test]
fn private_addresses_stay_private_and_others_never_land_in_a_kept_range() {
    let mut r = Redactor::new(b"k");
    let net = |s: &str| s.parse::<ipnet::IpNet>().unwrap();
    for i in 0..2000u32 {
        let a = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (i * 7919)));
        assert!(net("10.0.0.0/8").contains(&r.address(a)));
        let public = IpAddr::V4(Ipv4Addr::from(i.wrapping_mul(2_654_435_761)));
        let kept = KEPT_V4.iter().chain(PRIVATE_V4).any(|&(n, l)| {
            ipnet::Ipv4Net::new(n, l).unwrap().contains(&match public {
                IpAddr::V4(p) => p,
                IpAddr::V6(_) => unreachable!(),
            })
        });
        if !kept {
            let mapped = r.address(public);
            for &(n, l) in KEPT_V4.iter().chain(PRIVATE_V4) {
                let IpAddr::V4(m) = mapped else {
                    unreachable!()
                };
                assert!(
                    !ipnet::Ipv4Net::new(n, l).unwrap().contains(&m),
                    "{public} → {mapped} in {n}/{l}"
                );
            }
        }
    }
    assert!(net("fc00::/7").contains(&r.address(ip("fd00:10:244::5"))));
}

#[test]
fn the_permutation_preserves_shared_prefixes_exactly() {
    let mut r = Redactor::new(b"k");
    let pairs = [
        ("10.244.1.5", "10.244.1.6"),
        ("10.244.1.5", "10.245.0.1"),
        ("8.8.8.8", "8.8.4.4"),
        ("172.20.1.1", "172.31.0.1"),
        ("fd00:1::5", "fd00:2::5"),
    ];
    for (a, b) in pairs {
        let shared = |x: IpAddr, y: IpAddr| match (x, y) {
            (IpAddr::V4(x), IpAddr::V4(y)) => (u32::from(x) ^ u32::from(y)).leading_zeros(),
            (IpAddr::V6(x), IpAddr::V6(y)) => (u128::from(x) ^ u128::from(y)).leading_zeros(),
            _ => unreachable!(),
        };
        let (ma, mb) = (r.address(ip(a)), r.address(ip(b)));
        assert_eq!(shared(ip(a), ip(b)), shared(ma, mb), "{a} {b} → {ma} {mb}");
    }
}

#[test]
fn the_key_decides_the_stand_ins() {
    let mut a = Redactor::new(b"one");
    let mut b = Redactor::new(b"one");
    let mut c = Redactor::new(b"two");
    let x = ip("10.244.1.5");
    assert_eq!(a.address(x), b.address(x));
    assert_ne!(a.address(x), c.address(x));
    assert_eq!(
        a.name(NameKind::Service, "web"),
        b.name(NameKind::Service, "web")
    );
    assert_ne!(
        a.name(NameKind::Service, "web"),
        c.name(NameKind::Service, "web")
    );
}

#[test]
fn text_replacements_keep_lines_prefixes_masks_and_ports() {
    let mut r = Redactor::new(b"k");
    let text = "-A KUBE-SEP-SXIVWICOYRO3J4NJ -s 10.180.0.1/32 -m comment --comment \"ns1/svc1:p80 -> 10.180.0.1:80\" -j KUBE-MARK-MASQ\n\
                -A KUBE-SVC-XPGD46QRK7WJZT7O ! -s 10.0.0.0/8 -d 172.30.0.41/32 -m recent --name KUBE-SEP-SXIVWICOYRO3J4NJ --mask 255.255.255.255 -j X\n\
                -A Y -s 10.1.0.0/255.255.0.255 -d [fd00::1]:80 -j DNAT --to-destination [fd00::1]:80\n";
    let out = r.text(text);
    assert_eq!(out.lines().count(), 3);
    let hash = r.name(NameKind::ChainHash, "SXIVWICOYRO3J4NJ");
    assert_eq!(out.matches(&format!("KUBE-SEP-{hash}")).count(), 2, "{out}");
    let pod = r.address(ip("10.180.0.1"));
    assert!(out.contains(&format!("-s {pod}/32")), "{out}");
    assert!(out.contains(&format!("-> {pod}:80\"")), "{out}");
    let ns = r.name(NameKind::Namespace, "ns1");
    let svc = r.name(NameKind::Service, "svc1");
    let port = r.name(NameKind::Port, "p80");
    assert!(out.contains(&format!("\"{ns}/{svc}:{port} -> ")), "{out}");
    let IpAddr::V4(net) = r.address(ip("10.0.0.0")) else {
        unreachable!()
    };
    assert!(
        out.contains(&format!(
            "! -s {}/8",
            Ipv4Addr::from(u32::from(net) & 0xff00_0000)
        )),
        "{out}"
    );
    assert!(out.contains("--mask 255.255.255.255"), "{out}");
    assert!(out.contains("/255.255.0.255 "), "{out}");
    let v6 = r.address(ip("fd00::1"));
    assert!(out.contains(&format!("[{v6}]:80")), "{out}");
    assert!(!out.contains("ns1") && !out.contains("svc1") && !out.contains("10.180.0.1"));
    assert!(out.contains("KUBE-MARK-MASQ"));
}

#[test]
fn standard_names_and_non_addresses_are_left_alone() {
    let mut r = Redactor::new(b"k");
    let text = "# Generated by iptables-nft-save v1.8.9 (nf_tables) on Sun Nov 22 11:23:46 2026\n\
                -A KUBE-SERVICES -m comment --comment \"default/kubernetes:https cluster IP\" -m statistic --mode random --probability 0.50000000000 -j KUBE-SVC-NPX46M4PTMTKRN6Y\n\
                -A X -m comment --comment \"kube-system/kube-dns:dns-tcp\" -m mark --mark 0x4000/0x4000 -i eth0.100 [0:0]\n";
    let out = r.text(text);
    assert!(out.contains("v1.8.9 (nf_tables) on Sun Nov 22 11:23:46 2026"));
    assert!(out.contains("\"default/kubernetes:https cluster IP\""));
    assert!(out.contains("\"kube-system/kube-dns:dns-tcp\""));
    assert!(out.contains("0.50000000000 -j KUBE-SVC-") && !out.contains("NPX46M4PTMTKRN6Y"));
    assert!(out.contains("0x4000/0x4000 -i eth0.100 [0:0]"));
}
