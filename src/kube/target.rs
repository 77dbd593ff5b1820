//! What `explain` is asked about: a nodePort (`31015`, `31015/udp`), a destination address
//! and port (`10.96.0.10:53/udp`, `[2001:db8::1]:443`), or a service by name
//! (`ns/name`, `ns/name:port-name`, `ns/name:80`).

use std::net::IpAddr;

use crate::model::Protocol;

/// What to look for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A nodePort on this node's addresses.
    NodePort {
        /// The port.
        port: u16,
        /// Only this protocol, if given.
        protocol: Option<Protocol>,
    },
    /// A destination: a ClusterIP, a LoadBalancer IP, an externalIP, or a node address
    /// with a nodePort.
    Address {
        /// The address.
        ip: IpAddr,
        /// The port.
        port: u16,
        /// Only this protocol, if given (otherwise the one the rules use).
        protocol: Option<Protocol>,
    },
    /// A service, by `namespace/name[:port]`; the port is a port name or a number.
    Service {
        /// Namespace.
        namespace: String,
        /// Service name.
        name: String,
        /// Port name or number, if given.
        port: Option<String>,
    },
}

impl std::str::FromStr for Target {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (body, protocol) = split_protocol(text)?;
        if !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit()) {
            let port = parse_port(body)?;
            return Ok(Target::NodePort { port, protocol });
        }
        if let Some((ip, port)) = address_and_port(body)? {
            return Ok(Target::Address { ip, port, protocol });
        }
        if protocol.is_some() {
            return Err(format!(
                "`{text}`: a protocol goes after a port (`31015/udp`, `10.96.0.10:53/udp`), not after a service name"
            ));
        }
        let (service, port) = match body.split_once(':') {
            Some((s, p)) => (s, Some(p.to_string())),
            None => (body, None),
        };
        match service.split_once('/') {
            Some((ns, name))
                if !ns.is_empty()
                    && !name.is_empty()
                    && !name.contains('/')
                    && port.as_ref().is_none_or(|p| !p.is_empty()) =>
            {
                Ok(Target::Service {
                    namespace: ns.to_string(),
                    name: name.to_string(),
                    port,
                })
            }
            _ => Err(format!(
                "`{text}` is not a nodePort (`31015`, `31015/udp`), an address and port (`10.96.0.10:53`, `[2001:db8::1]:443`) nor a service (`namespace/name[:port]`)"
            )),
        }
    }
}

/// `31015/udp` → (`31015`, udp); no `/PROTO` suffix → (text, None).
fn split_protocol(text: &str) -> Result<(&str, Option<Protocol>), String> {
    let Some((body, name)) = text.rsplit_once('/') else {
        return Ok((text, None));
    };
    // `ns/name` has a slash too: only a protocol name after the last one makes a suffix.
    match Protocol::from_name(name) {
        Some(protocol @ (Protocol::Tcp | Protocol::Udp | Protocol::Sctp)) => {
            Ok((body, Some(protocol)))
        }
        _ if names_a_port(body) => Err(format!(
            "`{text}`: unknown protocol `{name}` (tcp, udp or sctp)"
        )),
        _ => Ok((text, None)),
    }
}

/// `31015` or `ADDR:31015`: text a `/PROTO` suffix can follow (`ns2/svc2` is a service).
fn names_a_port(body: &str) -> bool {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    !body.contains('/')
        && (digits(body) || body.rsplit_once(':').is_some_and(|(_, port)| digits(port)))
}

fn parse_port(text: &str) -> Result<u16, String> {
    match text.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(format!("`{text}` is not a port: ports are 1 to 65535")),
    }
}

/// `IP:PORT` or `[IPv6]:PORT`; `None` when the text is not shaped like one.
fn address_and_port(text: &str) -> Result<Option<(IpAddr, u16)>, String> {
    if let Some(rest) = text.strip_prefix('[') {
        let Some((ip, port)) = rest.split_once("]:") else {
            return Err(format!(
                "`{text}`: an IPv6 address and port are written `[ADDR]:PORT`"
            ));
        };
        let ip: IpAddr = ip
            .parse()
            .map_err(|_| format!("`{ip}` is not an IP address"))?;
        return Ok(Some((ip, parse_port(port)?)));
    }
    let Some((ip, port)) = text.rsplit_once(':') else {
        return Ok(None);
    };
    if ip.contains('/') || !port.bytes().all(|b| b.is_ascii_digit()) || port.is_empty() {
        return Ok(None);
    }
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(_)) => Err(format!(
            "`{text}`: write an IPv6 address and port as `[ADDR]:PORT`"
        )),
        Ok(ip) => Ok(Some((ip, parse_port(port)?))),
        Err(_) if ip.contains(':') => Err(format!(
            "`{text}`: write an IPv6 address and port as `[ADDR]:PORT`"
        )),
        Err(_) if ip.bytes().all(|b| b.is_ascii_digit() || b == b'.') => {
            Err(format!("`{ip}` is not an IP address"))
        }
        Err(_) => Ok(None),
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::NodePort { port, .. } => write!(f, "{port}")?,
            Target::Address {
                ip: IpAddr::V6(ip),
                port,
                ..
            } => write!(f, "[{ip}]:{port}")?,
            Target::Address { ip, port, .. } => write!(f, "{ip}:{port}")?,
            Target::Service {
                namespace,
                name,
                port: Some(port),
            } => return write!(f, "{namespace}/{name}:{port}"),
            Target::Service {
                namespace, name, ..
            } => return write!(f, "{namespace}/{name}"),
        }
        match self {
            Target::NodePort {
                protocol: Some(p), ..
            }
            | Target::Address {
                protocol: Some(p), ..
            } => write!(f, "/{p}"),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn parsed(text: &str) -> Target {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn node_ports_with_and_without_protocol() {
        assert_eq!(
            parsed("31015"),
            Target::NodePort {
                port: 31015,
                protocol: None
            }
        );
        assert_eq!(
            parsed("31015/udp"),
            Target::NodePort {
                port: 31015,
                protocol: Some(Protocol::Udp)
            }
        );
        assert_eq!(
            "99999".parse::<Target>(),
            Err("`99999` is not a port: ports are 1 to 65535".to_string())
        );
        assert!("0".parse::<Target>().is_err());
        assert!("31015/icmp".parse::<Target>().is_err());
    }

    #[test]
    fn addresses_and_ports() {
        assert_eq!(
            parsed("10.96.0.10:53/udp"),
            Target::Address {
                ip: "10.96.0.10".parse().unwrap(),
                port: 53,
                protocol: Some(Protocol::Udp)
            }
        );
        assert_eq!(
            parsed("[2001:db8::1]:443"),
            Target::Address {
                ip: "2001:db8::1".parse().unwrap(),
                port: 443,
                protocol: None
            }
        );
        let unbracketed = "2001:db8::1:443".parse::<Target>().unwrap_err();
        assert!(unbracketed.contains("[ADDR]:PORT"), "{unbracketed}");
        let bad = "10.0.0.300:80".parse::<Target>().unwrap_err();
        assert!(bad.contains("not an IP address"), "{bad}");
        assert!("10.0.0.1:0".parse::<Target>().is_err());
        assert!("[::1]80".parse::<Target>().is_err());
    }

    #[test]
    fn services_by_port_name_or_number() {
        assert_eq!(
            parsed("ns/name:http"),
            Target::Service {
                namespace: "ns".into(),
                name: "name".into(),
                port: Some("http".into())
            }
        );
        assert_eq!(
            parsed("ns/svc:80"),
            Target::Service {
                namespace: "ns".into(),
                name: "svc".into(),
                port: Some("80".into())
            }
        );
        assert!("nginx".parse::<Target>().is_err());
        assert!("ns/name:".parse::<Target>().is_err());
        assert!("ns/name/udp".parse::<Target>().is_err());
        // A namespace ending in a digit is not a port with a protocol suffix.
        assert_eq!(
            parsed("ns2/svc2"),
            Target::Service {
                namespace: "ns2".into(),
                name: "svc2".into(),
                port: None
            }
        );
        assert!("31015/foo".parse::<Target>().is_err());
        assert!("10.0.0.1:80/foo".parse::<Target>().is_err());
    }

    #[test]
    fn the_written_form_parses_back() {
        for text in [
            "31015",
            "31015/udp",
            "10.96.0.10:53/udp",
            "[2001:db8::1]:443",
            "ns/svc",
            "ns/svc:http",
        ] {
            assert_eq!(parsed(text).to_string(), text);
        }
    }
}
