//! kube-proxy's chain-name hashes: `base32(sha256(text))`, first 16 characters.

use data_encoding::BASE32_NOPAD;
use sha2::{Digest, Sha256};

/// The 16-character suffix kube-proxy derives from `text` (iptables mode, every version).
fn hash_suffix(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let mut encoded = BASE32_NOPAD.encode(&digest);
    encoded.truncate(16);
    encoded
}

/// Suffix shared by a service port's `KUBE-SVC-`, `KUBE-XLB-`, `KUBE-EXT-`, `KUBE-SVL-` and
/// `KUBE-FW-` chains: `portProtoHash(svcPortName, proto)`.
pub(crate) fn service_port_hash(service_port_name: &str, protocol: &str) -> String {
    hash_suffix(&format!("{service_port_name}{protocol}"))
}

/// Suffix of an endpoint's `KUBE-SEP-` chain; `endpoint` is `"IP:port"`.
pub(crate) fn endpoint_hash(service_port_name: &str, protocol: &str, endpoint: &str) -> String {
    hash_suffix(&format!("{service_port_name}{protocol}{endpoint}"))
}

#[cfg(test)]
mod tests {
    use super::{endpoint_hash, service_port_hash};

    #[track_caller]
    fn check_service(name: &str, protocol: &str, expected: &str) {
        assert_eq!(
            service_port_hash(name, protocol),
            expected,
            "{name}{protocol}"
        );
    }

    #[test]
    fn service_hashes_match_the_verified_table() {
        check_service("ns1/svc1:p80", "tcp", "XPGD46QRK7WJZT7O");
        check_service("ns2/svc2:p80", "tcp", "GNZBNJ2PO5MGZ6GT");
        check_service("ns2b/svc2b:p80", "tcp", "PAZTZYUUMV5KCDZL");
        check_service("ns3/svc3:p80", "tcp", "X27LE4BHSL4DOUIK");
        check_service("ns4/svc4:p80", "tcp", "4SW47YFZTEDKD3PK");
        check_service("ns1/svc1", "tcp", "AQI2S6QIMU7PVVRP");
        check_service(
            "test/nginx-externaltrafficpolicy:80-80-tcp",
            "tcp",
            "3LS5F4HE6J2O753K",
        );
        check_service("default/test-svc", "tcp", "QKNQQNIN727HO3XU");
        check_service("default/nginx-ext:", "tcp", "ICKQE4PTG2WGVXBF");
        check_service("default/bind9api-svc:", "tcp", "WQWT4GQ6ZB7LS4MD");
        check_service("default/nginx", "tcp", "2CMXP7HKUVJN7L6M");
        check_service("default/nginx2:80-80", "tcp", "EX5NGL4HWP5OZFVK");
        check_service("ns1/svc1:p80", "udp", "OJWW7NSBVZTDHXNW");
    }

    #[test]
    fn endpoint_hashes_match_the_running_example() {
        let cases = [
            ("ns1/svc1:p80", "10.180.0.1:80", "SXIVWICOYRO3J4NJ"),
            ("ns1/svc1:p80", "10.180.2.1:80", "ZX7GRIZKSNUQ3LAJ"),
            ("ns2/svc2:p80", "10.180.0.2:80", "RS4RBKLTHTF2IUXJ"),
            ("ns2/svc2:p80", "10.180.2.2:80", "YVURCJ2PNPRIOEBP"),
            ("ns3/svc3:p80", "10.180.0.3:80", "OYPFS5VJICHGATKP"),
        ];
        for (name, endpoint, expected) in cases {
            assert_eq!(
                endpoint_hash(name, "tcp", endpoint),
                expected,
                "{name} {endpoint}"
            );
        }
    }
}
