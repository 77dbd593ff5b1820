//! What `explain` is asked about: a nodePort number, or a service by name.

/// What to look for: a nodePort, or a service by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortOrService {
    /// A nodePort number.
    Port(u16),
    /// `namespace/name[:port]`.
    Service {
        /// Namespace.
        namespace: String,
        /// Service name.
        name: String,
        /// Port name, if given.
        port: Option<String>,
    },
}

impl std::str::FromStr for PortOrService {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            return match text.parse::<u16>() {
                Ok(port) if port > 0 => Ok(PortOrService::Port(port)),
                _ => Err(format!("`{text}` is not a port: ports are 1 to 65535")),
            };
        }
        let (service, port) = match text.split_once(':') {
            Some((s, p)) => (s, Some(p.to_string())),
            None => (text, None),
        };
        match service.split_once('/') {
            Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
                Ok(PortOrService::Service {
                    namespace: ns.to_string(),
                    name: name.to_string(),
                    port,
                })
            }
            _ => Err(format!(
                "`{text}` is neither a port number nor a service `namespace/name[:port]`"
            )),
        }
    }
}

impl std::fmt::Display for PortOrService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PortOrService::Port(p) => write!(f, "{p}"),
            PortOrService::Service {
                namespace,
                name,
                port: Some(port),
            } => write!(f, "{namespace}/{name}:{port}"),
            PortOrService::Service {
                namespace, name, ..
            } => write!(f, "{namespace}/{name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PortOrService;

    #[test]
    fn port_numbers_out_of_range_say_so() {
        assert_eq!(
            "31015".parse::<PortOrService>(),
            Ok(PortOrService::Port(31015))
        );
        assert_eq!(
            "99999".parse::<PortOrService>(),
            Err("`99999` is not a port: ports are 1 to 65535".to_string())
        );
        assert!("0".parse::<PortOrService>().is_err());
        assert!("ns/name:http".parse::<PortOrService>().is_ok());
        assert!("nginx".parse::<PortOrService>().is_err());
    }
}
