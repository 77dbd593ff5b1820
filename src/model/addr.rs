//! Address, port and protocol values as rules state them.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

/// An address test's value: `10.0.0.0/8`, `::1/128`, or (rare) a non-contiguous dotted mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Address {
    /// A prefix, the form iptables-save prints for every contiguous mask.
    Net(IpNet),
    /// `addr/mask` with a mask that is not a prefix; iptables-save prints it dotted.
    Masked {
        /// The address (already masked by the kernel).
        addr: IpAddr,
        /// The mask.
        mask: IpAddr,
    },
}

impl Address {
    /// True if `ip` lies inside this address/mask.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match self {
            Address::Net(net) => net.contains(&ip),
            Address::Masked { addr, mask } => match (addr, mask, ip) {
                (IpAddr::V4(a), IpAddr::V4(m), IpAddr::V4(i)) => {
                    u32::from(*a) & u32::from(*m) == u32::from(i) & u32::from(*m)
                }
                (IpAddr::V6(a), IpAddr::V6(m), IpAddr::V6(i)) => {
                    u128::from(*a) & u128::from(*m) == u128::from(i) & u128::from(*m)
                }
                _ => false,
            },
        }
    }

    /// The prefix, when this is one.
    pub fn net(&self) -> Option<IpNet> {
        match self {
            Address::Net(net) => Some(*net),
            Address::Masked { .. } => None,
        }
    }

    /// True for an IPv6 address.
    pub fn is_ipv6(&self) -> bool {
        match self {
            Address::Net(net) => matches!(net, IpNet::V6(_)),
            Address::Masked { addr, .. } => addr.is_ipv6(),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Net(net) => write!(f, "{net}"),
            Address::Masked { addr, mask } => write!(f, "{addr}/{mask}"),
        }
    }
}

/// An inclusive port range; a single port has `first == last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortRange {
    /// Lowest port.
    pub first: u16,
    /// Highest port.
    pub last: u16,
}

impl PortRange {
    /// A single port.
    pub fn single(port: u16) -> Self {
        PortRange {
            first: port,
            last: port,
        }
    }

    /// True if `port` is in the range.
    pub fn contains(&self, port: u16) -> bool {
        self.first <= port && port <= self.last
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}:{}", self.first, self.last)
        }
    }
}

/// A protocol number as iptables reads it (C's `strtoul` with base 0, at most 255): an
/// optional `+`, then hexadecimal after `0x`, octal after a leading `0`, else decimal.
fn number_as_iptables_reads_it(text: &str) -> Option<u8> {
    let unsigned = text.strip_prefix('+').unwrap_or(text);
    let (digits, radix) = if let Some(hex) = unsigned
        .strip_prefix("0x")
        .or_else(|| unsigned.strip_prefix("0X"))
    {
        (hex, 16)
    } else if unsigned.len() > 1 && unsigned.starts_with('0') {
        (&unsigned[1..], 8)
    } else {
        (unsigned, 10)
    };
    // from_str_radix would take a second sign.
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    u8::from_str_radix(digits, radix).ok()
}

/// The `-p` value: a protocol by name or number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// `tcp` (6).
    Tcp,
    /// `udp` (17).
    Udp,
    /// `sctp` (132).
    Sctp,
    /// `icmp` (1).
    Icmp,
    /// `ipv6-icmp` / `icmpv6` (58).
    Icmpv6,
    /// `all` (0): any protocol.
    All,
    /// Any other protocol, by number.
    Number(u8),
}

impl Protocol {
    /// Reads a protocol name as iptables-save prints it, or a number.
    pub fn from_name(name: &str) -> Option<Self> {
        // iptables-save prints lower case; only odd input pays for lowering it.
        if name.bytes().any(|b| b.is_ascii_uppercase()) {
            return Self::from_lowercase(&name.to_ascii_lowercase());
        }
        Self::from_lowercase(name)
    }

    fn from_lowercase(name: &str) -> Option<Self> {
        Some(match name {
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            "sctp" => Protocol::Sctp,
            "icmp" => Protocol::Icmp,
            "ipv6-icmp" | "icmpv6" | "icmp6" => Protocol::Icmpv6,
            "all" => Protocol::All,
            other => match number_as_iptables_reads_it(other) {
                Some(n) => Protocol::from_number(n),
                None => return Protocol::from_other_name(other),
            },
        })
    }

    /// The protocol numbered `n`: one value per protocol, however it was written (`6`,
    /// `006` and `tcp` are all [`Protocol::Tcp`]).
    pub fn from_number(n: u8) -> Self {
        match n {
            6 => Protocol::Tcp,
            17 => Protocol::Udp,
            132 => Protocol::Sctp,
            1 => Protocol::Icmp,
            58 => Protocol::Icmpv6,
            0 => Protocol::All,
            other => Protocol::Number(other),
        }
    }

    /// Names from /etc/protocols that iptables-save may print for other protocols.
    fn from_other_name(name: &str) -> Option<Self> {
        let number = match name {
            "igmp" => 2,
            "ipip" | "ipencap" => 4,
            "gre" => 47,
            "esp" => 50,
            "ah" => 51,
            "udplite" => 136,
            "vrrp" => 112,
            "ospf" => 89,
            _ => return None,
        };
        Some(Protocol::Number(number))
    }

    /// The protocol's number.
    pub fn number(self) -> u8 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
            Protocol::Icmp => 1,
            Protocol::Icmpv6 => 58,
            Protocol::All => 0,
            Protocol::Number(n) => n,
        }
    }

    /// True if a packet of protocol `other` matches this `-p` value.
    pub fn matches(self, other: Protocol) -> bool {
        self == Protocol::All || self.number() == other.number()
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Protocol::Tcp => f.write_str("tcp"),
            Protocol::Udp => f.write_str("udp"),
            Protocol::Sctp => f.write_str("sctp"),
            Protocol::Icmp => f.write_str("icmp"),
            Protocol::Icmpv6 => f.write_str("ipv6-icmp"),
            Protocol::All => f.write_str("all"),
            Protocol::Number(n) => write!(f, "{n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_address_contains_by_mask() {
        let a = Address::Masked {
            addr: "10.0.1.0".parse().unwrap(),
            mask: "255.0.255.0".parse().unwrap(),
        };
        assert!(a.contains("10.7.1.9".parse().unwrap()));
        assert!(!a.contains("10.7.2.9".parse().unwrap()));
    }

    #[test]
    fn protocol_numbers_read_as_iptables_reads_them() {
        // Found by the fuzzer: `-p 00000000000` was Number(0), printed back as `0`, which
        // reads as All. A protocol is one value however its number is written.
        let read = |text: &str| Protocol::from_name(text);
        assert_eq!(read("00000000000"), Some(Protocol::All));
        assert_eq!(read("0"), Some(Protocol::All));
        assert_eq!(read("006"), Some(Protocol::Tcp));
        assert_eq!(read("+17"), Some(Protocol::Udp));
        assert_eq!(read("0x11"), Some(Protocol::Udp));
        assert_eq!(read("0X84"), Some(Protocol::Sctp));
        assert_eq!(read("010"), Some(Protocol::Number(8)));
        assert_eq!(read("47"), Some(Protocol::Number(47)));
        assert_eq!(read("gre"), Some(Protocol::Number(47)));
        for bad in ["256", "08", "0x", "0x100", "++6", "+", "-6", "6a"] {
            assert_eq!(read(bad), None, "{bad}");
        }
        // Every number prints as text that reads back as the same protocol.
        for n in 0..=255u8 {
            let protocol = Protocol::from_number(n);
            assert_eq!(protocol.number(), n);
            assert_eq!(read(&protocol.to_string()), Some(protocol), "{n}");
        }
    }

    #[test]
    fn protocol_all_matches_everything() {
        assert!(Protocol::All.matches(Protocol::Udp));
        assert!(Protocol::from_name("6").unwrap().matches(Protocol::Tcp));
        assert!(!Protocol::Udp.matches(Protocol::Tcp));
    }
}
