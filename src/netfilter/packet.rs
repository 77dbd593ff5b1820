//! A new connection's first packet as the evaluator sees it, and the node it arrives at.

use std::net::IpAddr;

use crate::model::Protocol;

/// Where a packet comes from, which decides the first netfilter hook it meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    /// Arrives from the network (another host, or a pod through its veth): nat PREROUTING.
    Remote,
    /// Sent by a process on the node itself: nat OUTPUT.
    Local,
}

/// The first packet of a new connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Packet {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Transport protocol.
    pub protocol: Protocol,
    /// Source port (an ephemeral port: no kube-proxy rule tests it).
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// Which hook it enters by.
    pub origin: Origin,
    /// The interface it arrived on, when known (`-i` tests are undecidable without it).
    pub in_interface: Option<String>,
    /// The interface it leaves by, when known (`-o` tests).
    pub out_interface: Option<String>,
}

impl Packet {
    /// A TCP packet from `src` to `dst:dport` with no interface information.
    pub fn tcp(src: IpAddr, dst: IpAddr, dport: u16, origin: Origin) -> Self {
        Packet {
            src,
            dst,
            protocol: Protocol::Tcp,
            sport: 40000,
            dport,
            origin,
            in_interface: None,
            out_interface: None,
        }
    }
}

/// What the evaluator knows about the node: which addresses are its own (`addrtype LOCAL`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Host {
    /// The node's addresses besides loopback (which is always local).
    pub local_addresses: Vec<IpAddr>,
}

impl Host {
    /// True if `ip` is an address of this node: all of 127.0.0.0/8, `::1`, and the node's own.
    pub fn is_local(&self, ip: IpAddr) -> bool {
        ip.is_loopback() || self.local_addresses.contains(&ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_range_and_node_addresses_are_local() {
        let host = Host {
            local_addresses: vec!["192.168.0.2".parse().unwrap()],
        };
        assert!(host.is_local("127.0.0.1".parse().unwrap()));
        assert!(host.is_local("127.5.0.9".parse().unwrap()));
        assert!(host.is_local("::1".parse().unwrap()));
        assert!(host.is_local("192.168.0.2".parse().unwrap()));
        assert!(!host.is_local("192.168.0.3".parse().unwrap()));
    }
}
